-- The key of the wake-up channels (docs/events.md, "Channels"). PostgreSQL
-- checks nothing on LISTEN: anyone may listen on any channel name. So a
-- channel's name carries, after the subject's, world's or gateway's id, a
-- keyed hash of that id (src/wake_channels.c): only dtmv.listen() hands a
-- client its names, and nobody can work out another's from an id.
--
-- One row, made from the server's strong random source by the replayed
-- replay/85_events.sql (dtmv.rotate_channel_key makes a new one). It is
-- not dumped: a restored database gets a key of its own, and its clients
-- call dtmv.listen() again when they reconnect, as they always do.
CREATE TABLE dtmv.channel_key (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	secret bytea NOT NULL CHECK (pg_catalog.length(secret) >= 32)
);
COMMENT ON TABLE dtmv.channel_key IS
	'the secret that wake-up channel names are derived with (one row, never shown to clients, not dumped)';
ALTER TABLE dtmv.channel_key ENABLE ROW LEVEL SECURITY;

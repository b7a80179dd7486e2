-- Events across systems (REQ-SI-01, REQ-MV-04; docs/federation.md, "Events
-- across systems"): how far this system has relayed the events of each
-- remote system to each of its users who let it read there for her.

-- One row per (remote system, local user) the relay serves: the last event
-- id of that system relayed into this system's log for her. It moves in the
-- same transaction as the relayed events' inserts, so that each remote
-- event is relayed exactly once, whatever fails when.
CREATE TABLE dtmv.remote_event_cursors (
	system_no integer NOT NULL REFERENCES dtmv.systems ON DELETE CASCADE,
	subject_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	last_remote_id bigint,
	channel text,
	relayed bigint NOT NULL DEFAULT 0,
	lost integer NOT NULL DEFAULT 0,
	relayed_at timestamptz,
	PRIMARY KEY (system_no, subject_id)
);
COMMENT ON TABLE dtmv.remote_event_cursors IS
	'how far the events of a remote system were relayed into this system''s log for one of its users (REQ-SI-01, REQ-MV-04)';
COMMENT ON COLUMN dtmv.remote_event_cursors.last_remote_id IS
	'the last event id of the remote system relayed for her (NULL: not started; the relay starts at that system''s horizon)';
COMMENT ON COLUMN dtmv.remote_event_cursors.channel IS
	'the channel the relay''s link listens on at the remote system for her: a notification on it makes the relay pull her events';
COMMENT ON COLUMN dtmv.remote_event_cursors.relayed IS 'how many events were relayed for her from that system';
COMMENT ON COLUMN dtmv.remote_event_cursors.relayed_at IS 'when the cursor last moved';
COMMENT ON COLUMN dtmv.remote_event_cursors.lost IS 'how many times events were pruned there before they were relayed (an event remote_events_lost each)';

ALTER TABLE dtmv.remote_event_cursors ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.remote_event_cursors', '');

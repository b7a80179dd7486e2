-- Events from the physical world to metaverse clients, and commands back
-- (REQ-DT-06, REQ-MV-03, REQ-MV-04, scenario 7.2.1). See docs/events.md.
--
-- Two tables make the log. A writer appends its event to dtmv.event_inbox in
-- the transaction of the state change it records; once that transaction has
-- committed, a single orderer (the background worker, or a worker started
-- for a reader when dtmv is not preloaded; src/event_order.c) moves it to
-- dtmv.events and gives it its place in the delivery order, event_id. Ids
-- are handed out only to committed events, by one orderer at a time, each
-- batch above the last: so a reader that continues after the last id it got
-- can never skip one, whatever commits when. NOTIFY only wakes clients.

-- What a writer's call returns: the event's entry number, unique and known
-- at once; its place in the delivery order comes after its commit.
CREATE SEQUENCE dtmv.event_entries;
COMMENT ON SEQUENCE dtmv.event_entries IS 'entry numbers of events, given when they are written';

-- Events written by transactions, committed or not, that have no place in
-- the delivery order yet. No foreign keys: checking one would lock the
-- twin's registry row on every report, the hottest write path there is.
CREATE TABLE dtmv.event_inbox (
	entry_id bigint PRIMARY KEY,
	twin dtmv.twin_id,
	subject_id bigint,
	kind text NOT NULL CHECK (dtmv._is_identifier(kind)),
	payload jsonb NOT NULL DEFAULT '{}',
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK (twin IS NOT NULL OR subject_id IS NOT NULL)
);
COMMENT ON TABLE dtmv.event_inbox IS
	'events just written, waiting for their place in the delivery order (given once their transaction has committed)';

-- The delivery order: only the orderer inserts here, moving rows from the
-- inbox. dtmv.drop_twin deletes a twin's events; an event whose twin is
-- gone is readable by nobody.
CREATE TABLE dtmv.events (
	event_id bigint PRIMARY KEY,
	entry_id bigint NOT NULL,
	twin dtmv.twin_id,
	subject_id bigint,
	kind text NOT NULL,
	payload jsonb NOT NULL,
	created_at timestamptz NOT NULL
);

-- For pruning by age. BRIN: events are appended in time order, and a BRIN
-- entry costs next to nothing per insert.
CREATE INDEX events_created ON dtmv.events USING brin (created_at);
COMMENT ON TABLE dtmv.events IS
	'the durable event log in delivery order: what happened to twins (REQ-DT-06, REQ-MV-04)';
COMMENT ON COLUMN dtmv.events.event_id IS
	'the place in the delivery order, given after the event committed; what dtmv.events_since returns as id';
COMMENT ON COLUMN dtmv.events.entry_id IS 'the entry number the writer got back (dtmv.report and others)';
COMMENT ON COLUMN dtmv.events.subject_id IS 'set for an event addressed to one subject only (a sync answer); NULL: for every reader of the twin';

-- The last event id given. No row before the first (pg_dump then restores
-- it without clashing with a row made by CREATE EXTENSION), and restored
-- with the log, so that new events get larger ids in a restored database.
CREATE TABLE dtmv.event_order (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	last_id bigint NOT NULL
);
COMMENT ON TABLE dtmv.event_order IS 'the last place given in the delivery order of events';

-- One row once events were pruned (none before, as for event_order).
CREATE TABLE dtmv.event_retention (
	only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
	pruned_through bigint NOT NULL
);
COMMENT ON TABLE dtmv.event_retention IS 'the id up to which events were pruned: a client behind it must resynchronise';

-- Which actions a kind of twin offers, and what each does to the desired
-- state: as dtmv ships them (builtin) and as dtmv_admin defined them. A
-- definition stands beside the built-in row of its action, and wins; no
-- definition changes a built-in row, so that a restore (which dumps only
-- the rows that are not built in, CREATE EXTENSION making the others) never
-- meets two rows for one key. A withdrawn row beside a built-in one hides
-- it. Clients read the view dtmv.kind_actions: one row per action offered.
CREATE TABLE dtmv.kind_action_definitions (
	kind text NOT NULL,
	action text NOT NULL CHECK (dtmv._is_identifier(action)),
	desired_patch jsonb,
	builtin boolean NOT NULL DEFAULT false,
	withdrawn boolean NOT NULL DEFAULT false,
	PRIMARY KEY (kind, action, builtin),
	CONSTRAINT kind_action_definitions_withdrawn_check CHECK (NOT withdrawn OR (NOT builtin AND desired_patch IS NULL))
);
-- Its comments: sql/install/replay/85_events.sql (install and update alike).
-- The built-in rows are made by sql/install/replay/85_events.sql.

CREATE TABLE dtmv.commands (
	command_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	twin dtmv.twin_id NOT NULL REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	subject_id bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	action text NOT NULL,
	args jsonb NOT NULL DEFAULT '{}',
	status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'delivered', 'succeeded', 'failed')),
	result jsonb,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	delivered_at timestamptz,
	acked_at timestamptz,
	-- what interact merged into the desired state, and ack_command merges
	-- into the reported one: the action as defined when it was asked for
	desired_patch jsonb
);
CREATE INDEX commands_open ON dtmv.commands (command_id) WHERE status IN ('queued', 'delivered');
-- a gateway takes the open commands of the twins it serves
CREATE INDEX commands_open_twin ON dtmv.commands (twin, command_id) WHERE status IN ('queued', 'delivered');
COMMENT ON TABLE dtmv.commands IS 'virtual-side actions for physical objects (open the door), for the gateway to carry out and acknowledge';
COMMENT ON COLUMN dtmv.commands.desired_patch IS
	'the action''s desired-state patch when the command was queued: merged into desired then, into reported when acknowledged';
ALTER TABLE dtmv.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.commands ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.kind_action_definitions ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.events', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.event_inbox', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.event_order', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.event_entries', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.event_retention', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.kind_action_definitions', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('dtmv.commands', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.commands_command_id_seq', '');

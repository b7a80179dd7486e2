-- The priority sync queue (REQ-DT-07, REQ-DT-08, scenario 7.1.3).
-- See docs/sync.md for the semantics. Requesting, claiming, completing and
-- requeueing are in C (src/sync_queue.c), and so are the advisory locks
-- (src/sync_lock.c).
--
-- Every request is a row of sync_requests; three partial indexes on it are
-- the queue, and keep costs independent of the backlog:
--   sync_requests_pending  one twin's waiting requests, most urgent first,
--                          found without looking at any other twin's
--   sync_requests_running  what runs on a twin; unique: at most one run per
--                          twin, ever, whatever a bug elsewhere might try
--   sync_requests_queue    for each twin with pending requests and nothing
--                          running, its oldest one (the twin's place in
--                          line), under the gateway that serves the twin:
--                          what a gateway's claim reads, oldest first. A
--                          busy twin's backlog is not in it.
-- sync_schedule says when each periodically synchronised twin falls due.

CREATE TABLE dtmv.sync_requests (
	request_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	twin dtmv.twin_id NOT NULL REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	subject_id bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	priority integer NOT NULL,
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'superseded', 'rejected')),
	batch bigint,
	requested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at timestamptz,
	finished_at timestamptz,
	lease_until timestamptz,
	session_lock boolean,
	gateway_pid integer,
	ready boolean NOT NULL DEFAULT false CHECK (NOT ready OR status = 'pending'),
	gateway bigint		-- a dtmv.gateways key (99_keys.sql)
);
CREATE INDEX sync_requests_pending ON dtmv.sync_requests (twin, priority DESC, request_id)
	WHERE status = 'pending';
CREATE UNIQUE INDEX sync_requests_running ON dtmv.sync_requests (twin) WHERE status = 'running';
CREATE INDEX sync_requests_queue ON dtmv.sync_requests (gateway, request_id) WHERE ready;
COMMENT ON TABLE dtmv.sync_requests IS
	'requests to synchronise a twin with its physical object, and their answers (REQ-DT-07, REQ-DT-08)';
COMMENT ON COLUMN dtmv.sync_requests.subject_id IS 'who asked; NULL for a periodic sync queued by the twin system';
COMMENT ON COLUMN dtmv.sync_requests.batch IS
	'the running request whose completion answers this pending one (set when that request was claimed)';
COMMENT ON COLUMN dtmv.sync_requests.ready IS
	'the oldest pending request of a twin on which nothing runs: the twin''s place in its gateway''s queue';
COMMENT ON COLUMN dtmv.sync_requests.gateway IS
	'of a ready request: the gateway that serves its twin, whose queue it is in (NULL: none serves it yet)';

CREATE TABLE dtmv.sync_schedule (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	next_due timestamptz NOT NULL
);
CREATE INDEX sync_schedule_due ON dtmv.sync_schedule (next_due);
COMMENT ON TABLE dtmv.sync_schedule IS 'when each twin with a sync period next falls due (REQ-DT-07)';
ALTER TABLE dtmv.sync_requests ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_requests', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_requests_request_id_seq', '');
-- sync_schedule is not dumped: restoring twin_registry rebuilds it (its trigger).

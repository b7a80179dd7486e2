-- Federation (REQ-SI-01, REQ-SI-02b; docs/federation.md): which local
-- service subject stands for each remote system, the users of remote
-- systems known here, and the sync requests this system placed at others
-- for its users.

-- A remote system's links here, each a local system subject, kept apart:
-- subject_id, whom a user delegates to (dtmv.delegate) to let this system
-- speak for her there (calls out: a subject without a login); login_id, the
-- subject whose login the other system's link uses here (calls in: it acts
-- only for that system's users, dtmv.act_for_link, never with act_as). One
-- subject for both would let the other side act_as every user who
-- delegated for calls out.
CREATE TABLE dtmv.system_links (
	system_no integer PRIMARY KEY REFERENCES dtmv.systems ON DELETE CASCADE,
	subject_id bigint UNIQUE REFERENCES dtmv.subjects ON DELETE CASCADE,
	login_id bigint UNIQUE REFERENCES dtmv.subjects ON DELETE CASCADE,
	CHECK (subject_id IS NOT NULL OR login_id IS NOT NULL),
	CHECK (subject_id <> login_id)
);
COMMENT ON TABLE dtmv.system_links IS
	'the local system subjects that stand for a remote system: whom users delegate to for calls there (subject_id), and its link''s login here (login_id) (REQ-SI-01)';

-- Users of another system, as subjects here: "alice@mv1". Only that
-- system's link acts as them, and only as them.
CREATE TABLE dtmv.remote_users (
	subject_id bigint PRIMARY KEY REFERENCES dtmv.subjects ON DELETE CASCADE,
	system_no integer NOT NULL REFERENCES dtmv.systems ON DELETE CASCADE,
	name text NOT NULL CHECK (name <> '' AND strpos(name, '@') = 0),
	UNIQUE (system_no, name)
);
COMMENT ON TABLE dtmv.remote_users IS
	'subjects that are users of a remote system (name@system): only that system''s link acts as them (REQ-SI-02b)';

-- A sync request placed at another system for a user of this one: its id
-- here comes from the same sequence as local requests, so that
-- dtmv.sync_status(id) knows where to ask.
CREATE TABLE dtmv.remote_sync_requests (
	request_id bigint PRIMARY KEY,
	system_no integer NOT NULL REFERENCES dtmv.systems ON DELETE CASCADE,
	remote_request_id bigint NOT NULL,
	subject_id bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	twin dtmv.twin_id NOT NULL,
	requested_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE dtmv.remote_sync_requests IS
	'sync requests placed at the twin''s system for users of this one: local id, system and id there (REQ-SI-02b, REQ-DT-07)';
-- the same request there again (still pending: the same id there) keeps its
-- id here: one id here for each there, also when asked twice at once
CREATE UNIQUE INDEX remote_sync_requests_there ON dtmv.remote_sync_requests (system_no, remote_request_id);

-- A command placed at another system for a user of this one (dtmv.interact
-- of a remote twin): its id here comes from the same sequence as local
-- commands, so that dtmv.command_status(id) knows where to ask.
CREATE TABLE dtmv.remote_commands (
	command_id bigint PRIMARY KEY,
	system_no integer NOT NULL REFERENCES dtmv.systems ON DELETE CASCADE,
	remote_command_id bigint NOT NULL,
	subject_id bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	twin dtmv.twin_id NOT NULL,
	action text NOT NULL,
	requested_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE dtmv.remote_commands IS
	'commands placed at the twin''s system for users of this one: local id, system and id there (REQ-SI-02b, REQ-DT-06)';
ALTER TABLE dtmv.remote_commands ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.remote_commands', '');

ALTER TABLE dtmv.system_links ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.remote_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.remote_sync_requests ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.system_links', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.remote_users', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.remote_sync_requests', '');

-- The role links to other systems log in as, here (docs/federation.md, "The
-- link inside mv1"): never a superuser, so that dblink requires the
-- password of the user mapping and that the other side asks for it. NOLOGIN
-- and given to no one: only the SECURITY DEFINER function that opens a link
-- (dtmv._link_connect) acts as it. Roles outlive the extension: made only
-- where missing.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'dtmv_link') THEN
		CREATE ROLE dtmv_link NOLOGIN;
	END IF;
END
$$;

-- Subjects: who holds rights (REQ-DT-05). A user, a system (metaverse, twin
-- or 3rd-party service) or a group of subjects.

CREATE TABLE dtmv.subjects (
	subject_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name <> ''),
	kind text NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'system', 'group')),
	login regrole UNIQUE,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK (kind <> 'group' OR login IS NULL)
);
COMMENT ON TABLE dtmv.subjects IS
	'who holds rights: users, systems and groups; a user or system may be mapped to a login role (REQ-DT-05)';

CREATE TABLE dtmv.group_members (
	group_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	member_id bigint NOT NULL REFERENCES dtmv.subjects ON DELETE CASCADE,
	PRIMARY KEY (group_id, member_id),
	CHECK (group_id <> member_id)
);
CREATE INDEX ON dtmv.group_members (member_id);
COMMENT ON TABLE dtmv.group_members IS
	'membership of subjects in groups; a member holds every right of its groups, and is denied what they are denied';

-- Clients read these relations only through RLS (policies: replay/70_policies.sql).
ALTER TABLE dtmv.subjects ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.group_members ENABLE ROW LEVEL SECURITY;
-- pg_dump keeps the data of these (the extension recreates the relations).
SELECT pg_catalog.pg_extension_config_dump('dtmv.subjects', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.subjects_subject_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.group_members', '');

-- Row-level security on the registry and rights relations (REQ-DT-05).
-- Clients only read relations, always through RLS; every write goes through
-- a function that checks rights itself. EXECUTE privileges for every file
-- come last, in 99_privileges.sql.

GRANT SELECT ON dtmv.subjects, dtmv.group_members, dtmv.systems, dtmv.twins, dtmv.twin_states,
	dtmv.worlds, dtmv.world_twins, dtmv.sync_priorities, dtmv.grants TO dtmv_user;
-- dtmv.twins runs as the invoker: it needs the base table's columns, all but acl.
GRANT SELECT (id, system_no, kind, name, properties, model_uri, sync_period, sync_priority,
			  created_by, created_at, updated_at) ON dtmv.twin_registry TO dtmv_user;

ALTER TABLE dtmv.twin_registry ENABLE ROW LEVEL SECURITY;
CREATE POLICY twins_discover ON dtmv.twin_registry FOR SELECT TO dtmv_user
	USING (acl && (SELECT dtmv.acl_probe(0)) AND NOT acl && (SELECT dtmv.acl_veto(0)));
COMMENT ON POLICY twins_discover ON dtmv.twin_registry IS 'a twin is visible to subjects with the discover right on it';

ALTER TABLE dtmv.twin_states ENABLE ROW LEVEL SECURITY;
-- A per-row check: state is read a twin at a time, and a subquery on
-- twin_registry here would need the acl column, which clients cannot read.
CREATE POLICY twin_states_read ON dtmv.twin_states FOR SELECT TO dtmv_user
	USING (dtmv._effective_rights(twin) & 2 <> 0);
COMMENT ON POLICY twin_states_read ON dtmv.twin_states IS 'a twin''s state is visible to subjects with the read right on it';

ALTER TABLE dtmv.world_twins ENABLE ROW LEVEL SECURITY;
CREATE POLICY world_twins_discover ON dtmv.world_twins FOR SELECT TO dtmv_user
	USING (EXISTS (SELECT 1 FROM dtmv.twins t WHERE t.id = twin));
COMMENT ON POLICY world_twins_discover ON dtmv.world_twins IS 'which world uses a twin is visible with discover on the twin';

ALTER TABLE dtmv.grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY grants_own_or_admin ON dtmv.grants FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (twin IS NOT NULL AND dtmv._effective_rights(twin) & 32 <> 0)
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY grants_own_or_admin ON dtmv.grants IS
	'a subject sees its own (and its groups'') rights, the rights on twins it administers, dtmv_admin sees all';

ALTER TABLE dtmv.sync_priorities ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_priorities_own_or_admin ON dtmv.sync_priorities FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR dtmv._effective_rights(twin) & 32 <> 0);
COMMENT ON POLICY sync_priorities_own_or_admin ON dtmv.sync_priorities IS
	'a subject sees its own priorities and those on twins it administers';

ALTER TABLE dtmv.subjects ENABLE ROW LEVEL SECURITY;
CREATE POLICY subjects_self_groups_systems ON dtmv.subjects FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[]) OR kind = 'system'
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY subjects_self_groups_systems ON dtmv.subjects IS
	'a subject sees itself, its groups and the system subjects; dtmv_admin sees all; users do not see other users';

ALTER TABLE dtmv.group_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY group_members_own ON dtmv.group_members FOR SELECT TO dtmv_user
	USING (member_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY group_members_own ON dtmv.group_members IS
	'a subject sees its own memberships; dtmv_admin sees all';

-- The directories of systems and worlds are public to dtmv users: they are
-- what a metaverse system searches to find where twins live (REQ-DT-03,
-- REQ-SI-02b). RLS is still on, so that a later policy narrows them safely.
ALTER TABLE dtmv.systems ENABLE ROW LEVEL SECURITY;
CREATE POLICY systems_directory ON dtmv.systems FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY systems_directory ON dtmv.systems IS 'the directory of systems is readable by every dtmv user';
ALTER TABLE dtmv.worlds ENABLE ROW LEVEL SECURITY;
CREATE POLICY worlds_directory ON dtmv.worlds FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY worlds_directory ON dtmv.worlds IS 'the directory of worlds is readable by every dtmv user';

-- pg_dump keeps the data of these tables (the extension recreates them).
SELECT pg_catalog.pg_extension_config_dump('dtmv.subjects', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.subjects_subject_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.group_members', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.systems', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.twin_registry', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.twin_states', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.worlds', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.worlds_world_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.world_twins', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_priorities', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.grants', '');

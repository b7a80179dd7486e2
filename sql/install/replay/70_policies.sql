-- Row-level security on the registry and rights relations (REQ-DT-05).
-- Clients only read relations, always through RLS; every write goes through
-- a function that checks rights itself. EXECUTE privileges for every file
-- come last, in 99_privileges.sql.

GRANT SELECT ON dtmv.subjects, dtmv.group_members, dtmv.systems, dtmv.twins, dtmv.twin_states,
	dtmv.worlds, dtmv.world_twins, dtmv.sync_priorities, dtmv.grants TO dtmv_user;

-- dtmv.twins runs as the invoker: it needs the base table's columns, all but acl.
GRANT SELECT (id, system_no, kind, name, properties, model_uri, sync_period, sync_priority,
			  created_by, created_at, updated_at) ON dtmv.twin_registry TO dtmv_user;

DROP POLICY IF EXISTS twins_discover ON dtmv.twin_registry;
CREATE POLICY twins_discover ON dtmv.twin_registry FOR SELECT TO dtmv_user
	USING (acl OPERATOR(pg_catalog.&&) (SELECT dtmv.acl_probe(0))
		   AND NOT acl OPERATOR(pg_catalog.&&) (SELECT dtmv.acl_veto(0)));
COMMENT ON POLICY twins_discover ON dtmv.twin_registry IS 'a twin is visible to subjects with the discover right on it';

-- A per-row check: state is read a twin at a time, and a subquery on
-- twin_registry here would need the acl column, which clients cannot read.
DROP POLICY IF EXISTS twin_states_read ON dtmv.twin_states;
CREATE POLICY twin_states_read ON dtmv.twin_states FOR SELECT TO dtmv_user
	USING (dtmv._holds(twin, 'read'));
COMMENT ON POLICY twin_states_read ON dtmv.twin_states IS 'a twin''s state is visible to subjects with the read right on it';

DROP POLICY IF EXISTS world_twins_discover ON dtmv.world_twins;
CREATE POLICY world_twins_discover ON dtmv.world_twins FOR SELECT TO dtmv_user
	USING (EXISTS (SELECT 1 FROM dtmv.twins t WHERE t.id = twin));
COMMENT ON POLICY world_twins_discover ON dtmv.world_twins IS 'which world uses a twin is visible with discover on the twin';

DROP POLICY IF EXISTS grants_own_or_admin ON dtmv.grants;
CREATE POLICY grants_own_or_admin ON dtmv.grants FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv._own_subjects())::bigint[])
		   OR (twin IS NOT NULL AND dtmv._holds(twin, 'admin'))
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY grants_own_or_admin ON dtmv.grants IS
	'a subject sees its own (and its groups'') rights, the rights on twins it administers, dtmv_admin sees all';

DROP POLICY IF EXISTS sync_priorities_own_or_admin ON dtmv.sync_priorities;
CREATE POLICY sync_priorities_own_or_admin ON dtmv.sync_priorities FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv._own_subjects())::bigint[])
		   OR dtmv._holds(twin, 'admin'));
COMMENT ON POLICY sync_priorities_own_or_admin ON dtmv.sync_priorities IS
	'a subject sees its own priorities and those on twins it administers';

DROP POLICY IF EXISTS subjects_self_groups_systems ON dtmv.subjects;
CREATE POLICY subjects_self_groups_systems ON dtmv.subjects FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[]) OR kind = 'system'
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY subjects_self_groups_systems ON dtmv.subjects IS
	'a subject sees itself, its groups and the system subjects; dtmv_admin sees all; users do not see other users';

DROP POLICY IF EXISTS group_members_own ON dtmv.group_members;
CREATE POLICY group_members_own ON dtmv.group_members FOR SELECT TO dtmv_user
	USING (member_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (SELECT dtmv._outer_has_role('dtmv_admin')));
COMMENT ON POLICY group_members_own ON dtmv.group_members IS
	'a subject sees its own memberships; dtmv_admin sees all';

DROP POLICY IF EXISTS systems_directory ON dtmv.systems;
CREATE POLICY systems_directory ON dtmv.systems FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY systems_directory ON dtmv.systems IS 'the directory of systems is readable by every dtmv user';

DROP POLICY IF EXISTS worlds_directory ON dtmv.worlds;
CREATE POLICY worlds_directory ON dtmv.worlds FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY worlds_directory ON dtmv.worlds IS 'the directory of worlds is readable by every dtmv user';

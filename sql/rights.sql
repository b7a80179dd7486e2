-- Subjects and access rights (REQ-DT-05): RLS on plain SELECTs, checks in
-- functions, groups, revoke wins, and who may act as whom.
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_carol LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_gw LOGIN IN ROLE dtmv_gateway;
CREATE ROLE regress_admin LOGIN IN ROLE dtmv_admin;
-- Only dtmv_admin creates subjects.
SET ROLE regress_alice;
SELECT dtmv.create_subject('mallory');
SET ROLE regress_admin;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('alice', 'regress_alice')),
	(dtmv.create_subject('bob', 'regress_bob')),
	(dtmv.create_subject('carol', 'regress_carol')),
	(dtmv.create_subject('home gateway', 'regress_gw', 'system')),
	(dtmv.create_group('family'))) s;
SELECT dtmv.add_member('family', 'bob');
SELECT dtmv.add_member('bob', 'carol');          -- bob is not a group
RESET ROLE;

SET ROLE regress_alice;
SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'DOOR-1') AS door \gset
SELECT dtmv.create_twin('fridge', 'Fridge') AS fridge \gset
RESET ROLE;
-- The creator holds every right; nobody else holds any.
SET ROLE regress_alice;
SELECT dtmv.my_rights(:'door'), dtmv.has_right(:'door', 'admin');
SELECT count(*) AS alice_sees FROM dtmv.twins;
SET ROLE regress_bob;
SELECT dtmv.my_rights(:'door') AS bob_rights, dtmv.has_right(:'door', 'discover');
SELECT count(*) AS bob_sees FROM dtmv.twins;
SELECT count(*) AS bob_sees_states FROM dtmv.twin_states;
SELECT count(*) AS bob_sees_base FROM dtmv.twin_registry;
SELECT acl FROM dtmv.twin_registry;              -- the acl column is not readable
-- (The twin's id is new each run, so these show only the SQLSTATE; the
-- message has the form shown for the made-up id below.)
\set VERBOSITY sqlstate
SELECT dtmv.twin_info(:'door');
SELECT dtmv.grant(:'door', 'bob', 'read');       -- needs admin
SELECT dtmv.update_twin(:'door', name => 'mine');
\set VERBOSITY default
-- A twin that does not exist looks exactly like one bob may not see.
SELECT dtmv_test.attempt(format('SELECT dtmv.twin_info(%L)', dtmv.twin_id_generate(dtmv.twin_system(:'door'))));
-- A twin id of a system that is not registered here says so (federation).
SELECT dtmv.twin_info('0192f0c4-5a1e-8abc-8000-2a0000000001');

-- discover: the registry entry, no state.
SET ROLE regress_alice;
SELECT dtmv.grant(:'door', 'bob', 'discover');
SET ROLE regress_bob;
SELECT name FROM dtmv.twins;
SELECT count(*) AS bob_sees_states FROM dtmv.twin_states;
SELECT dtmv.twin_info(:'door') ? 'reported' AS info_has_state, dtmv.twin_info(:'door') ->> 'rights' AS rights;
SELECT name FROM dtmv.search_twins();

-- read (implies discover): state and binding too.
SET ROLE regress_alice;
SELECT dtmv.grant(:'door', 'bob', 'read');
SET ROLE regress_bob;
SELECT physical_binding FROM dtmv.twin_states;
SELECT dtmv.twin_info(:'door') ->> 'physical_binding' AS binding;
SELECT dtmv.has_right(:'door', 'read,discover') AS read_discover, dtmv.has_right(:'door', 'read,interact') AS read_interact;
SELECT dtmv.has_right(:'door', 'read, fly');

-- Groups: carol gets what family is granted.
SET ROLE regress_admin;
SELECT dtmv.add_member('family', 'carol');
SET ROLE regress_alice;
SELECT dtmv.grant(:'fridge', 'family', 'interact');
SET ROLE regress_carol;
SELECT name FROM dtmv.twins;
SELECT dtmv.my_rights(:'fridge') AS carol_fridge_rights;
-- Revoke wins: a revoke for carol beats the grant to her group ...
SET ROLE regress_alice;
SELECT dtmv.revoke(:'fridge', 'carol', 'read');
SET ROLE regress_carol;
SELECT dtmv.my_rights(:'fridge') AS carol_after_revoke;
SELECT count(*) AS carol_sees_states FROM dtmv.twin_states;
-- ... and a revoke for the group beats bob's own grant.
SET ROLE regress_admin;
SELECT dtmv.add_member('family', 'bob');
SET ROLE regress_alice;
SELECT dtmv.revoke(:'door', 'family', 'discover');
SET ROLE regress_bob;
SELECT dtmv.my_rights(:'door') AS bob_after_group_revoke;
SELECT name FROM dtmv.twins;                     -- the fridge, through family, not the door
-- Granting again at the same place lifts that place's revoke of what is
-- granted (discover); the rest of that revoke (read and up) still stands.
SET ROLE regress_alice;
SELECT dtmv.grant(:'door', 'family', 'discover');
SET ROLE regress_bob;
SELECT dtmv.my_rights(:'door') AS bob_after_regrant;
SET ROLE regress_admin;
SELECT dtmv.remove_member('family', 'bob');
SET ROLE regress_bob;
SELECT dtmv.my_rights(:'fridge') AS bob_fridge_after_leaving;

-- System-wide rights: only dtmv_admin grants them; a twin revoke still wins
-- (carol is denied read on the fridge herself, and on the door through family).
SET ROLE regress_alice;
SELECT dtmv.grant_system('carol', 'read');
SET ROLE regress_admin;
SELECT dtmv.grant_system('carol', 'read');
SET ROLE regress_carol;
SELECT dtmv.my_rights(:'door') AS carol_door, dtmv.my_rights(:'fridge') AS carol_fridge;
SET ROLE regress_admin;
SELECT dtmv.remove_member('family', 'carol');
SET ROLE regress_carol;
SELECT dtmv.my_rights(:'door') AS carol_door_outside_family;
SELECT name FROM dtmv.twins WHERE id IN (:'door', :'fridge') ORDER BY name;
-- A system-wide revoke wins over every twin grant.
SET ROLE regress_admin;
SELECT dtmv.revoke_system('bob', 'discover');
SET ROLE regress_bob;
SELECT dtmv.my_rights(:'door') AS bob_door, count(*) AS bob_sees FROM dtmv.twins;
SET ROLE regress_admin;
SELECT dtmv.grant_system('bob', 'discover');     -- lifts it again
SET ROLE regress_bob;
SELECT dtmv.my_rights(:'door') AS bob_door;

-- Who sees which grants: your own, and all on twins you administer.
SET ROLE regress_bob;
SELECT s.name, g.twin IS NULL AS system_wide, g.granted, g.revoked
  FROM dtmv.grants g JOIN dtmv.subjects s USING (subject_id) ORDER BY 1, 2;
SET ROLE regress_alice;
SELECT count(*) AS grants_alice_sees FROM dtmv.grants;
-- Users do not see other users; they see themselves and their groups.
SET ROLE regress_carol;
SELECT name, kind FROM dtmv.subjects ORDER BY name;

-- Acting as someone else: only dtmv_gateway, only for users who delegated
-- to it (the limits of a delegation: sql/agents.sql), only for the
-- transaction. Alice and carol delegate every right; bob does not.
SET ROLE regress_alice;
SELECT dtmv.delegate('home gateway', 'discover,read,interact,sync,control,admin');
SET ROLE regress_carol;
SELECT dtmv.delegate('home gateway', 'discover,read,interact,sync,control,admin');
SET ROLE regress_bob;
SELECT dtmv.act_as('alice');
SELECT dtmv._set_acting_subject(1);
SET dtmv.subject = 'alice';                      -- the dtmv prefix is reserved, no such setting
SELECT dtmv.whoami();
RESET ROLE;
SET ROLE regress_gw;
BEGIN;
SELECT dtmv.whoami();
SELECT dtmv.act_as('alice');
SELECT dtmv.whoami(), count(*) AS sees FROM dtmv.twins;
ROLLBACK;
BEGIN;
SELECT dtmv.act_as('family');                    -- a group delegates nothing: the same refusal as any name
ROLLBACK;
BEGIN;
SELECT dtmv.act_as('nobody');                    -- the same refusal as for bob: no name is told
ROLLBACK;
BEGIN;
SELECT dtmv.act_as('bob');                       -- bob did not delegate
ROLLBACK;
SELECT dtmv.whoami();                            -- over with the transaction
BEGIN;
SELECT dtmv.act_as('carol');
SELECT dtmv.my_rights(:'door');
COMMIT;
SELECT dtmv.whoami();
-- Rolling back to a savepoint undoes an act_as() made after it, as for SET
-- LOCAL; a savepoint released hands it to the enclosing one.
BEGIN;
SELECT dtmv.act_as('alice');
SAVEPOINT before_carol;
SELECT dtmv.act_as('carol');
SELECT dtmv.whoami() AS acting_in_savepoint;
ROLLBACK TO before_carol;
SELECT dtmv.whoami() AS after_rollback_to;
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
SELECT dtmv.act_as('carol');
RELEASE inner_sp;
SELECT dtmv.whoami() AS after_release;
ROLLBACK TO outer_sp;
SELECT dtmv.whoami() AS after_outer_rollback;
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT dtmv.act_as('carol');
ROLLBACK TO s;
SELECT dtmv.whoami() AS own_self_again;
COMMIT;
RESET ROLE;

-- Wake-ups go to exactly the readers the rights test finds (sql/readers_match.inc).
\i sql/readers_match.inc

-- The rights are read through their indexes, always: in a session started
-- with ignore_system_indexes (which any role may set), a system-wide revoke
-- still wins over bob's twin grants, and carol's system-wide read still
-- counts (a heap scan would have found no system-wide row at all).
\c -reuse-previous=on "options='-c ignore_system_indexes=on'"
SET search_path = public, dtmv;
SHOW ignore_system_indexes;
SET ROLE regress_admin;
SELECT dtmv.revoke_system('bob', 'discover');
SET ROLE regress_bob;
SELECT dtmv.my_rights(:'door') AS bob_door, count(*) AS bob_sees FROM dtmv.twins;
SET ROLE regress_carol;
SELECT dtmv.my_rights(:'door') AS carol_door;
RESET ROLE;
SELECT (SELECT subject_id FROM dtmv.subjects WHERE name = 'carol') = ANY (r) AS carol_among_door_readers,
	   (SELECT subject_id FROM dtmv.subjects WHERE name = 'bob') = ANY (r) AS bob_among_them
  FROM dtmv._acl_readers((SELECT acl FROM dtmv.twin_registry WHERE id = :'door')) r;

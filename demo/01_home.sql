-- A home with a few twins; two users with different rights see different
-- things (REQ-DT-01..05, REQ-MV-01).
\set SHOW_CONTEXT never
\pset null '(null)'
CREATE EXTENSION IF NOT EXISTS dtmv CASCADE;
ALTER DATABASE dtmv_demo SET search_path = "$user", public, dtmv;
SET search_path = public, dtmv;
-- Release 0.1 (which the update test plays this demo on) had no gateway
-- scoping, bindings to confirm or delegations: those steps need 0.2.
SELECT extversion <> '0.1' AS since_0_2 FROM pg_extension WHERE extname = 'dtmv' \gset

-- Logins: alice owns the home, bob is a guest, the home gateway speaks for
-- the physical side, and an administrator maps logins to subjects.
CREATE ROLE demo_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE demo_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE demo_gateway LOGIN IN ROLE dtmv_gateway;
CREATE ROLE demo_admin LOGIN IN ROLE dtmv_admin;
SET ROLE demo_admin;
SELECT dtmv.create_subject('alice', 'demo_alice');
SELECT dtmv.create_subject('bob', 'demo_bob');
SELECT dtmv.create_subject('home gateway', 'demo_gateway', 'system');
SELECT dtmv.create_group('household');
SELECT dtmv.add_member('household', 'alice');
\if :since_0_2
-- The home gateway serves the devices of alice's twins, and only those.
SELECT dtmv.register_gateway('home gateway', 'alice');
\endif
RESET ROLE;

-- Alice registers the twins of her home and a world that uses them. The
-- door and the fridge are bound (serial numbers) through her home gateway;
-- each binding waits for the gateway to find the device there.
SET ROLE demo_alice;
SELECT dtmv.create_twin('door', 'Front door', '{"room": "hall", "offers": ["open", "view_camera"]}',
						model_uri => 'models/door.glb', physical_binding => 'ACME-DOOR-0001',
						sync_period => '1 minute') AS door \gset
SELECT dtmv.create_twin('fridge', 'Kitchen fridge', '{"room": "kitchen"}',
						physical_binding => 'FROSTY-77') AS fridge \gset
SELECT dtmv.create_twin('sofa', 'Living-room sofa', '{"room": "living"}') AS sofa \gset
SELECT dtmv.create_twin('lamp', 'Reading lamp', '{"room": "living"}') AS lamp \gset
SELECT dtmv.create_world('Alice''s home') AS home \gset
SELECT dtmv.use_twin(:home, id) FROM dtmv.twins;
SELECT name, kind, dtmv.twin_system(id) = dtmv.local_system() AS local, properties FROM dtmv.twins ORDER BY id;
RESET ROLE;
\if :since_0_2
\echo '--- the home gateway finds the door and the fridge connected: it confirms their bindings'
SET ROLE demo_gateway;
SELECT s.physical_binding, dtmv.confirm_binding(s.physical_binding) = s.twin AS confirmed
  FROM dtmv.served_twins() s ORDER BY s.physical_binding;
RESET ROLE;
\endif
SET ROLE demo_alice;

-- Bob, a guest, may see the living room and read the lamp; nothing else.
SELECT dtmv.grant(:'sofa', 'bob', 'discover');
SELECT dtmv.grant(:'lamp', 'bob', 'read');
-- The household (alice's family) may interact with the door.
SELECT dtmv.grant(:'door', 'household', 'interact');
RESET ROLE;

\echo '--- what alice sees'
SET ROLE demo_alice;
SELECT name, dtmv.my_rights(id) AS rights FROM dtmv.twins ORDER BY id;
SELECT jsonb_pretty(dtmv.twin_info(:'door') - '{id,created_at,updated_at}'::text[]) AS door_for_alice;

\echo '--- what bob sees: two twins, the state of only one'
SET ROLE demo_bob;
SELECT name, dtmv.my_rights(id) AS rights FROM dtmv.twins ORDER BY id;
SELECT t.name, s.reported FROM dtmv.twin_states s JOIN dtmv.twins t ON t.id = s.twin;
SELECT name FROM dtmv.search_twins(properties => '{"room": "living"}');
\echo '--- bob asking for the door is refused, naming the missing right'
\set ON_ERROR_STOP 0
SELECT dtmv.twin_info(:'door');
SELECT dtmv.act_as('alice');
\set ON_ERROR_STOP 1

\if :since_0_2
\echo '--- alice lets the home gateway act for her, to discover and read only'
SET ROLE demo_alice;
SELECT dtmv.delegate('home gateway', 'discover,read');
SELECT * FROM dtmv.my_delegations();
\endif
\echo '--- the gateway acts for alice, for one transaction, with at most what she delegated'
SET ROLE demo_gateway;
BEGIN;
SELECT dtmv.act_as('alice');
SELECT dtmv.whoami(), count(*) AS twins_visible, dtmv.my_rights(:'door') AS rights_on_door FROM dtmv.twins;
COMMIT;
SELECT dtmv.whoami(), count(*) AS twins_visible FROM dtmv.twins;

\echo '--- alice revokes the lamp from bob: the revoke wins'
SET ROLE demo_alice;
SELECT dtmv.revoke(:'lamp', 'bob', 'discover');
SET ROLE demo_bob;
SELECT name FROM dtmv.twins ORDER BY id;
RESET ROLE;

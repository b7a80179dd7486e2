-- Twin registry: systems, twins, state, worlds, search (REQ-DT-02..04, REQ-MV-01)
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_reg_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_reg_admin LOGIN IN ROLE dtmv_admin;
SET ROLE regress_reg_admin;
SELECT dtmv.create_subject('reg_alice', 'regress_reg_alice') > 0 AS created;
RESET ROLE;

-- A role not mapped to a subject cannot create twins.
CREATE ROLE regress_reg_nobody LOGIN IN ROLE dtmv_user;
SET ROLE regress_reg_nobody;
SELECT dtmv.create_twin('door', 'Front door');
RESET ROLE;

SET ROLE regress_reg_alice;
SELECT dtmv.whoami();
CREATE TEMP TABLE home (label text PRIMARY KEY, id dtmv.twin_id);
INSERT INTO home VALUES
	('door', dtmv.create_twin('door', 'Front door', '{"floor": 0, "vendor": "Acme"}',
							  model_uri => 'models/door.glb', physical_binding => 'ACME-DOOR-0001',
							  sync_period => '5 minutes', sync_priority => 3)),
	('fridge', dtmv.create_twin('fridge', 'Kitchen fridge', '{"floor": 0, "vendor": "Frosty"}')),
	('lamp', dtmv.create_twin('lamp', 'Desk lamp 100%_bright', '{"floor": 1}'));

-- The twins are maintained by the local twin system (REQ-DT-02).
SELECT count(*) AS local_twins FROM home h JOIN dtmv.systems s ON s.system_no = dtmv.twin_system(h.id)
 WHERE s.is_local AND s.kind = 'twin';
SELECT kind, name, properties, model_uri, sync_period, sync_priority FROM dtmv.twins ORDER BY id;

-- twin_info: everything the caller may read (REQ-DT-04).
SELECT jsonb_pretty(info - '{id,system,system_name,created_at,updated_at}'::text[]) AS info
  FROM home, dtmv.twin_info(id) info WHERE label = 'door';
SELECT (dtmv.twin_info(id) ->> 'system')::int = dtmv.twin_system(id) AS system_matches
  FROM home WHERE label = 'door';

-- search_twins (REQ-DT-03): by kind, name substring, properties, system.
SELECT name FROM dtmv.search_twins(kind => 'door');
SELECT name FROM dtmv.search_twins(name => 'FRIDGE');
SELECT name FROM dtmv.search_twins(name => '100%_');   -- % and _ are literal
SELECT name FROM dtmv.search_twins(name => '100%x');
SELECT name FROM dtmv.search_twins(properties => '{"floor": 0}');
SELECT name FROM dtmv.search_twins(properties => '{"floor": 0}', kind => 'fridge');
SELECT count(*) FROM dtmv.search_twins(system => dtmv.local_system());
-- another system's twins are searched there (docs/federation.md): one that
-- is not registered here is an error, not an empty answer
SELECT dtmv_test.attempt(format('SELECT count(*) FROM dtmv.search_twins(system => %s)', dtmv.local_system() + 1))
	   LIKE '42704: system % is not registered here%' AS unregistered_system;
SELECT count(*) FROM dtmv.search_twins(max => 2);

-- update_twin needs control; the creator has admin, which implies it.
SELECT dtmv.update_twin(id, name => 'Front door (main)') FROM home WHERE label = 'door';
SELECT name FROM dtmv.twins WHERE id = (SELECT id FROM home WHERE label = 'door');

-- Worlds: one twin can be used in several worlds (scenario 7.1.3).
SELECT dtmv.create_world('reg home') AS home_world \gset
SELECT dtmv.create_world('reg showroom') AS showroom_world \gset
SELECT dtmv.use_twin(:home_world, id) FROM home;
SELECT dtmv.use_twin(:showroom_world, id) FROM home WHERE label = 'door';
SELECT dtmv.twin_info(id) -> 'worlds' AS worlds FROM home WHERE label = 'door';
SELECT w.name, count(*) FROM dtmv.world_twins wt JOIN dtmv.worlds w USING (world_id) GROUP BY w.name ORDER BY w.name;

-- Bad input is refused with the constraint's SQLSTATE, and nothing is stored.
\set VERBOSITY terse
SELECT dtmv.create_twin('Door!', 'bad kind');
SELECT dtmv.create_twin('door', '');
SELECT dtmv.create_twin('door', 'array props', '[1,2]');
SELECT dtmv.create_twin('door', 'zero period', sync_period => '0 s');
SELECT dtmv.create_twin('door', 'empty serial', physical_binding => '');
\set VERBOSITY default
SELECT count(*) AS twins_after_bad_input FROM dtmv.twins;

-- drop_twin removes the twin and all that hangs on it.
SELECT dtmv.drop_twin(id) FROM home WHERE label = 'lamp';
SELECT count(*) AS twins, (SELECT count(*) FROM dtmv.world_twins) AS uses FROM dtmv.twins;
RESET ROLE;

-- Registering a remote system needs dtmv_admin.
SET ROLE regress_reg_alice;
SELECT dtmv.register_system('remote factory twins', 'twin', 77);
SET ROLE regress_reg_admin;
SELECT dtmv.register_system('remote factory twins', 'twin', 77);
RESET ROLE;
SELECT name, kind, is_local FROM dtmv.systems WHERE system_no = 77;

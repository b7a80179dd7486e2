-- Least privilege between parties (issue 14; docs/rights.md, "Trust
-- model"): a gateway speaks only for the devices bound through it, a
-- binding routes nothing until the gateway finds the device, and a service
-- acts for a user only as far as the user delegated.
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_ag_admin LOGIN IN ROLE dtmv_admin;
CREATE ROLE regress_ag_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_ag_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_ag_mallory LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_ag_gw_a LOGIN IN ROLE dtmv_gateway;
CREATE ROLE regress_ag_gw_b LOGIN IN ROLE dtmv_gateway;
CREATE ROLE regress_ag_mv LOGIN IN ROLE dtmv_gateway;
SET ROLE regress_ag_admin;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('ag_alice', 'regress_ag_alice')),
	(dtmv.create_subject('ag_bob', 'regress_ag_bob')),
	(dtmv.create_subject('ag_mallory', 'regress_ag_mallory')),
	(dtmv.create_subject('ag_gw_a', 'regress_ag_gw_a', 'system')),
	(dtmv.create_subject('ag_gw_b', 'regress_ag_gw_b', 'system')),
	(dtmv.create_subject('ag_mv', 'regress_ag_mv', 'system'))) s;
-- Each home's gateway serves the devices of its owner: alice's, bob's.
SELECT dtmv.register_gateway('ag_gw_a', 'ag_alice') > 0 AS a, dtmv.register_gateway('ag_gw_b', 'ag_bob') > 0 AS b;
-- A gateway is a system subject mapped to a login; only dtmv_admin registers one.
SELECT dtmv_test.attempt($$SELECT dtmv.register_gateway('ag_mallory', 'ag_mallory')$$);
SET ROLE regress_ag_mallory;
SELECT dtmv_test.attempt($$SELECT dtmv.register_gateway('ag_mv', 'ag_mallory')$$);

-- ---- A binding is proven (item 2) ----
-- Mallory binds the serial of alice's real door first, to a twin of hers.
-- Nothing tells her whether the serial is bound, and nothing stops alice.
SELECT dtmv.create_twin('door', 'Not my door', physical_binding => 'AG-DOOR') AS squat \gset
-- She cannot route it through alice's gateway.
SELECT dtmv_test.attempt(format('SELECT dtmv.bind_device(%L, %L, %L)', :'squat', 'AG-DOOR', 'ag_gw_a'));
SELECT physical_binding, gateway IS NULL AS through_no_gateway, binding_confirmed_at IS NULL AS pending
  FROM dtmv.twin_states WHERE twin = :'squat';
SET ROLE regress_ag_alice;
SELECT dtmv.event_horizon() AS start \gset
-- (this failed with 23505 on the code before)
SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'AG-DOOR') AS door \gset
SELECT dtmv.create_twin('lamp', 'Lamp', physical_binding => 'AG-LAMP') AS lamp \gset
SELECT physical_binding, gateway IS NOT NULL AS through_her_gateway, binding_confirmed_at IS NULL AS pending
  FROM dtmv.twin_states WHERE twin = :'door';
-- Pending: the gateway does not speak for the door yet.
SET ROLE regress_ag_gw_a;
SELECT dtmv_test.attempt(format('SELECT dtmv.report(%L, %L)', :'door', 'doorbell'));
SELECT physical_binding, confirmed_at IS NULL AS pending FROM dtmv.served_twins() ORDER BY 1;
-- The door is connected to it: the gateway confirms alice's binding, the
-- one pending through it (mallory's names no gateway).
SELECT dtmv.confirm_binding('AG-DOOR') = :'door' AS door_served, dtmv.confirm_binding('AG-LAMP') = :'lamp' AS lamp_served;
SELECT dtmv_test.attempt($$SELECT dtmv.confirm_binding('AG-DOOR')$$);   -- nothing pending any more
SELECT dtmv.twin_by_binding('AG-DOOR') = :'door' AS routes_to_alices_door;
SELECT dtmv.report(:'door', 'doorbell', '{"camera": "cam/1.jpg"}') > 0 AS reported;
-- The squat routes nothing: mallory's command reaches no gateway.
SET ROLE regress_ag_mallory;
SELECT dtmv.interact(:'squat', 'open') AS squat_cmd \gset
SET ROLE regress_ag_gw_a;
SELECT count(*) AS commands_for_alices_gateway FROM dtmv.next_commands();
SET ROLE regress_ag_mallory;
SELECT dtmv.command_status(:squat_cmd) AS squat_command;
-- A gateway looks up only its own devices.
SET ROLE regress_ag_gw_b;
SELECT dtmv_test.attempt($$SELECT dtmv.twin_by_binding('AG-DOOR')$$);

-- ---- Gateways serve what is theirs (item 1) ----
-- Bob's gateway forges a report on alice's door, moves it, takes her
-- commands and her syncs: each is refused, or finds nothing.
SELECT dtmv_test.attempt(format('SELECT dtmv.report(%L, %L, %L)', :'door', 'doorbell', '{"door": "open"}'));
SELECT dtmv_test.attempt(format('SELECT dtmv.sync_location(%L, ST_MakePoint(1, 1, 1))', :'door'));
SET ROLE regress_ag_alice;
SELECT dtmv.interact(:'door', 'open') AS cmd \gset
SELECT dtmv.request_sync(:'door') AS req \gset
SET ROLE regress_ag_gw_b;
SELECT count(*) AS commands_taken FROM dtmv.next_commands();
SELECT count(*) AS commands_seen FROM dtmv.commands;
SELECT dtmv_test.attempt(format('SELECT dtmv.ack_command(%s, true)', :cmd));
SELECT dtmv_test.attempt('SELECT dtmv.ack_command(999999, true)');      -- the same for none
SELECT dtmv_test.attempt(format('SELECT dtmv.command_status(%s)', :cmd));
SELECT count(*) AS claimed FROM dtmv.claim_sync();
SELECT dtmv_test.attempt(format('SELECT dtmv.complete_sync(%s, true)', :req));
SELECT dtmv_test.attempt('SELECT dtmv.complete_sync(999999, true)');    -- the same for none
SELECT dtmv_test.attempt(format('SELECT dtmv.sync_status(%s)', :req));
SELECT count(*) AS requests_seen FROM dtmv.sync_requests;
-- Each gateway hears its own commands' channel, no other.
SELECT count(*) AS channels, count(*) FILTER (WHERE c LIKE 'dtmv_g%') AS command_channels FROM dtmv.listen() c;
UNLISTEN *;
-- Alice's gateway does all of it.
SET ROLE regress_ag_gw_a;
SELECT command_id = :cmd AS taken, action, physical_binding FROM dtmv.next_commands();
SELECT dtmv.ack_command(:cmd, true) > 0 AS acknowledged;
SELECT request_id = :req AS claimed FROM dtmv.claim_sync(session_lock => false);
SELECT dtmv.sync_status(:req) AS status;
SELECT dtmv.complete_sync(:req, true, '{"door": "closed"}');
SET ROLE regress_ag_alice;
SELECT reported FROM dtmv.twin_states WHERE twin = :'door';
-- A gateway program that speaks to some of its gateway's devices names
-- them: its claims and commands are for their twins only, the other twins
-- wait for the program that has their devices (the door asked first).
SELECT dtmv.request_sync(:'door') AS door_req, dtmv.request_sync(:'lamp') AS lamp_req \gset
SELECT dtmv.interact(:'door', 'open') AS door_cmd \gset
SET ROLE regress_ag_gw_a;
SELECT count(*) AS claimed_for_no_device FROM dtmv.claim_sync('1 minute', false, '{AG-NOTHING}');
SELECT request_id = :lamp_req AS lamp_claimed FROM dtmv.claim_sync('1 minute', false, '{AG-LAMP}');
SELECT count(*) AS lamp_commands FROM dtmv.next_commands(10, '1 minute', '{AG-LAMP}');
SELECT dtmv.sync_status(:door_req) AS door_sync, dtmv.command_status(:door_cmd) AS door_command;
SELECT request_id = :door_req AS door_claimed
  FROM dtmv.claim_sync(lease => '1 minute', session_lock => false, bindings => '{AG-DOOR}');
SELECT command_id = :door_cmd AS door_command_taken, physical_binding
  FROM dtmv.next_commands(max => 10, redeliver_after => '1 minute', bindings => '{AG-DOOR,AG-LAMP}');
SELECT dtmv.complete_sync(:door_req, true), dtmv.complete_sync(:lamp_req, true), dtmv.ack_command(:door_cmd, true) > 0 AS acked;

-- ---- Acting for someone is delegated (item 1's act_as escalation) ----
-- Bob's gateway acts as alice to make itself admin of her door: refused,
-- alice never delegated to it; a subject that does not exist is refused
-- alike, so no name is told.
SET ROLE regress_ag_gw_b;
BEGIN;
SELECT dtmv_test.attempt($$SELECT dtmv.act_as('ag_alice')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.act_as('no such user')$$);
SELECT dtmv.whoami();
ROLLBACK;
-- Alice lets a metaverse service discover and read, nothing more.
SET ROLE regress_ag_alice;
SELECT dtmv.delegate('ag_mv', 'discover,read');
SELECT service, rights FROM dtmv.my_delegations();
SELECT dtmv_test.attempt($$SELECT dtmv.delegate('ag_bob')$$);           -- a user is not a service
SELECT dtmv_test.attempt($$SELECT dtmv.delegate('ag_mv', '')$$);        -- nothing to allow
SELECT dtmv.create_space('AG home', 'site', anchor_lon => 4.83, anchor_lat => 45.76) AS site \gset
SET ROLE regress_ag_mv;
SELECT subject, rights FROM dtmv.delegated_to_me();
BEGIN;
SELECT dtmv.act_as('ag_alice');
SELECT dtmv.whoami(), dtmv.my_rights(:'door') AS rights_on_her_door, count(*) AS twins_seen FROM dtmv.twins;
SELECT count(*) AS door_state_read FROM dtmv.twin_states WHERE twin = :'door';
SELECT count(*) > 0 AS events_read FROM dtmv.events_since(:start);
-- within alice's rights, but outside the delegation: refused
SELECT dtmv_test.attempt(format('SELECT dtmv.grant(%L, %L, %L)', :'door', 'ag_mv', 'admin'));
SELECT dtmv_test.attempt(format('SELECT dtmv.interact(%L, %L)', :'door', 'open'));
SELECT dtmv_test.attempt(format('SELECT dtmv.place(%L, %s, ST_MakePoint(1, 1, 0))', :'lamp', :site));
-- acts in her name that no right on a twin covers need admin delegated
SELECT dtmv_test.attempt($$SELECT dtmv.create_twin('lamp', 'made by the service')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.create_world('a world of the service')$$);
-- and no widening: a delegation is the user's own act
SELECT dtmv_test.attempt($$SELECT dtmv.delegate('ag_mv', 'admin')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.undelegate('ag_mv')$$);
COMMIT;
SELECT dtmv.whoami() AS itself_again, dtmv.has_right(:'door', 'discover') AS holds_nothing_itself;
-- Discover only: the state and the events are out of reach.
SET ROLE regress_ag_alice;
SELECT dtmv.delegate('ag_mv', 'discover');
SET ROLE regress_ag_mv;
BEGIN;
SELECT dtmv.act_as('ag_alice');
SELECT dtmv.my_rights(:'door') AS rights_on_her_door, count(*) AS twins_seen FROM dtmv.twins;
SELECT count(*) AS door_state_read FROM dtmv.twin_states WHERE twin = :'door';
SELECT count(*) AS events_read FROM dtmv.events_since(:start);
SELECT count(*) AS found FROM dtmv.search_twins(kind => 'door');
-- nor her own rows: her commands, her sync requests
SELECT (SELECT count(*) FROM dtmv.commands) AS commands_seen, (SELECT count(*) FROM dtmv.sync_requests) AS requests_seen;
COMMIT;
-- With admin delegated, a service still grants nothing to itself: what it
-- holds ends with the delegation.
SET ROLE regress_ag_alice;
SELECT dtmv.delegate('ag_mv', 'discover,read,admin');
SET ROLE regress_ag_mv;
BEGIN;
SELECT dtmv.act_as('ag_alice');
SELECT dtmv_test.attempt(format('SELECT dtmv.grant(%L, %L, %L)', :'lamp', 'ag_mv', 'admin'));
SELECT dtmv_test.attempt(format('SELECT dtmv.grant(%L, %L, %L)', :'lamp', 'ag_bob', 'read'));
COMMIT;
-- Alice withdraws it: the next act_as is refused.
SET ROLE regress_ag_alice;
SELECT dtmv.undelegate('ag_mv') AS withdrawn;
SELECT count(*) AS delegations_left FROM dtmv.my_delegations();
SET ROLE regress_ag_mv;
BEGIN;
SELECT dtmv_test.attempt($$SELECT dtmv.act_as('ag_alice')$$);
ROLLBACK;

-- ---- A gateway of a group serves the twins the group administers ----
-- Carol and dave share a building gateway. Dave binds a twin of his own to
-- the serial of carol's boiler: refused (the group does not administer
-- his twin), so the gateway cannot be led to confirm his squat.
RESET ROLE;
CREATE ROLE regress_ag_carol LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_ag_dave LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_ag_gw_c LOGIN IN ROLE dtmv_gateway;
SET ROLE regress_ag_admin;
SELECT count(*) FROM (VALUES (dtmv.create_subject('ag_carol', 'regress_ag_carol')),
	(dtmv.create_subject('ag_dave', 'regress_ag_dave')), (dtmv.create_subject('ag_gw_c', 'regress_ag_gw_c', 'system')),
	(dtmv.create_group('ag_building'))) s;
SELECT dtmv.add_member('ag_building', 'ag_carol'), dtmv.add_member('ag_building', 'ag_dave');
SELECT dtmv.register_gateway('ag_gw_c', 'ag_building') > 0 AS registered;
SET ROLE regress_ag_dave;
SELECT dtmv.create_twin('boiler', 'Not my boiler') AS dave_squat \gset
SELECT dtmv_test.attempt(format('SELECT dtmv.bind_device(%L, %L, %L)', :'dave_squat', 'AG-BOILER', 'ag_gw_c'));
SET ROLE regress_ag_carol;
SELECT dtmv.create_twin('boiler', 'Boiler') AS boiler \gset
SELECT dtmv.grant(:'boiler', 'ag_building', 'admin');   -- the household's: dave sees and may unbind it
SELECT dtmv.bind_device(:'boiler', 'AG-BOILER');
SET ROLE regress_ag_gw_c;
SELECT dtmv.confirm_binding('AG-BOILER') = :'boiler' AS carols_boiler_served;
-- Given another owner, a gateway serves nothing it served for the one before.
SET ROLE regress_ag_admin;
SELECT dtmv.register_gateway('ag_gw_c', 'ag_dave') > 0 AS owner_changed;
SET ROLE regress_ag_gw_c;
SELECT count(*) FILTER (WHERE confirmed_at IS NOT NULL) AS served FROM dtmv.served_twins();
-- A twin's lock is never held by a prepared transaction (no session to end).
SET ROLE regress_ag_carol;
BEGIN;
SELECT dtmv.request_sync(:'boiler') > 0 AS requested;
PREPARE TRANSACTION 'ag_holds_a_twin';
RESET ROLE;
SELECT count(*) AS prepared FROM pg_prepared_xacts WHERE gid = 'ag_holds_a_twin';

-- ---- dtmv_admin ----
-- binds and confirms in one call, through a gateway it names
SET ROLE regress_ag_bob;
SELECT dtmv.create_twin('lamp', 'Bob''s lamp') AS bob_lamp \gset
SET ROLE regress_ag_admin;
SELECT dtmv.confirm_binding('AG-BOB-LAMP', :'bob_lamp', 'ag_gw_b') = :'bob_lamp' AS bound_and_confirmed;
SET ROLE regress_ag_gw_b;
SELECT physical_binding, confirmed_at IS NOT NULL AS confirmed FROM dtmv.served_twins();
-- Unregistered, a gateway serves nothing.
SET ROLE regress_ag_admin;
SELECT dtmv.unregister_gateway('ag_gw_a');
SET ROLE regress_ag_gw_a;
SELECT dtmv_test.attempt(format('SELECT dtmv.report(%L, %L)', :'door', 'doorbell'));
SELECT count(*) AS served FROM dtmv.served_twins();
RESET ROLE;

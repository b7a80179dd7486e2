-- The actions each kind of twin offers (docs/events.md, "Actions"): built
-- in, defined, redefined and withdrawn by dtmv_admin; what dtmv users read
-- (dtmv.kind_actions, one row per action offered), what interact takes and
-- what ack_command reports. Through pg_dump and pg_restore: t/004_dump_restore.pl.
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_act_admin LOGIN IN ROLE dtmv_admin;
CREATE ROLE regress_act_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_act_gw LOGIN IN ROLE dtmv_gateway;
SET ROLE regress_act_admin;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('act_alice', 'regress_act_alice')),
	(dtmv.create_subject('act_gw', 'regress_act_gw', 'system'))) s;
SELECT dtmv.register_gateway('act_gw', 'act_alice') > 0 AS registered;
SET ROLE regress_act_alice;
SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'ACT-DOOR') AS door \gset
SELECT dtmv.create_twin('lamp', 'Desk lamp', physical_binding => 'ACT-LAMP') AS lamp \gset
SET ROLE regress_act_gw;
SELECT dtmv.confirm_binding('ACT-DOOR') = :'door' AS door_served, dtmv.confirm_binding('ACT-LAMP') = :'lamp' AS lamp_served;
-- What the gateway takes, carries out and acknowledges, as it is told.
CREATE FUNCTION pg_temp.carry_out() RETURNS SETOF text LANGUAGE sql AS $$
	SELECT c.action || ' ' || CASE WHEN dtmv.ack_command(c.command_id, true) > 0 THEN 'done' END
	  FROM dtmv.next_commands() c ORDER BY c.command_id
$$;
-- The twins' state, for alice.
CREATE FUNCTION pg_temp.state() RETURNS TABLE (name text, desired jsonb, reported jsonb) LANGUAGE sql AS $$
	SELECT t.name, dtmv.twin_info(t.id) -> 'desired', dtmv.twin_info(t.id) -> 'reported'
	  FROM dtmv.twins t WHERE t.name IN ('Front door', 'Desk lamp') ORDER BY t.name
$$;

-- ---- Built in ----
SET ROLE regress_act_alice;
SELECT kind, action, desired_patch, builtin FROM dtmv.kind_actions
 WHERE kind IN ('door', 'lamp', 'robot') ORDER BY kind, action;
-- Only dtmv_admin defines and withdraws actions.
SELECT dtmv_test.attempt($$SELECT dtmv.define_action('door', 'open', '{"door": "ajar"}')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.withdraw_action('door', 'open')$$);
-- How they are kept is dtmv's own business.
SELECT dtmv_test.attempt($$SELECT count(*) FROM dtmv.kind_action_definitions$$);

-- ---- Redefined: a built-in action with another desired state ----
SET ROLE regress_act_admin;
SELECT dtmv.define_action('door', 'open', '{"door": "wide open"}');
SELECT dtmv.define_action('door', 'knock', '{"knocked": true}');
-- Users see one row per action, the definition where there is one.
SET ROLE regress_act_alice;
SELECT kind, action, desired_patch, builtin FROM dtmv.kind_actions WHERE kind = 'door' ORDER BY action;
-- The built-in row stays as dtmv ships it, beside the definition (what a
-- dump keeps is the definition; CREATE EXTENSION makes the built-in row).
RESET ROLE;
SELECT kind, action, desired_patch, builtin, withdrawn FROM dtmv.kind_action_definitions
 WHERE kind = 'door' AND action = 'open' ORDER BY builtin;
-- interact takes the action as redefined.
SET ROLE regress_act_alice;
SELECT dtmv.interact(:'door', 'open') > 0 AS asked_to_open;
SELECT dtmv.interact(:'door', 'knock') > 0 AS asked_to_knock;
SELECT * FROM pg_temp.state();
-- Redefined again while the commands wait: a command is carried out as it
-- was asked for, and the reported state follows what interact made desired.
SET ROLE regress_act_admin;
SELECT dtmv.define_action('door', 'open', '{"door": "ajar"}');
SET ROLE regress_act_gw;
SELECT * FROM pg_temp.carry_out();
SET ROLE regress_act_alice;
SELECT * FROM pg_temp.state();

-- ---- Withdrawn: a defined action, and a built-in one ----
SET ROLE regress_act_alice;
SELECT dtmv.interact(:'door', 'knock') > 0 AS asked_to_knock_again;
SELECT dtmv.interact(:'lamp', 'off') > 0 AS asked_to_switch_off;
SET ROLE regress_act_admin;
SELECT dtmv.withdraw_action('door', 'knock');
SELECT dtmv.withdraw_action('door', 'lock');
SELECT dtmv.withdraw_action('lamp', 'off');
SELECT dtmv_test.attempt($$SELECT dtmv.withdraw_action('door', 'lock')$$);
SET ROLE regress_act_alice;
SELECT kind, action, desired_patch, builtin FROM dtmv.kind_actions WHERE kind IN ('door', 'lamp') ORDER BY kind, action;
-- No longer offered: interact says what the kind offers (22023).
SELECT dtmv.interact(:'door', 'lock');
-- Commands asked for before the withdrawal are still carried out as asked.
SET ROLE regress_act_gw;
SELECT * FROM pg_temp.carry_out();
SET ROLE regress_act_alice;
SELECT * FROM pg_temp.state();
-- A withdrawn built-in action is hidden by a row beside the built-in one.
RESET ROLE;
SELECT kind, action, desired_patch, builtin, withdrawn FROM dtmv.kind_action_definitions
 WHERE (kind, action) IN (('door', 'lock'), ('door', 'knock'), ('lamp', 'off')) ORDER BY kind, action, builtin;

-- ---- Offered again ----
-- define_action offers a withdrawn action again, with the patch it is given;
-- a Thing Model that names a withdrawn built-in action, as built in.
SET ROLE regress_act_admin;
SELECT dtmv.define_action('door', 'lock', '{"door": "locked", "bolt": "double"}');
SELECT dtmv.define_kind_from_thing_model('{"@context": "https://www.w3.org/2022/wot/td/v1.1", "@type": "tm:ThingModel",
	"title": "Lamp", "actions": {"off": {"title": "Switch off"}, "dim": {"title": "Dim"}}}', kind => 'lamp') AS kind;
SET ROLE regress_act_alice;
SELECT kind, action, desired_patch, builtin FROM dtmv.kind_actions WHERE kind IN ('door', 'lamp') ORDER BY kind, action;
-- The Thing Description lists the actions offered, once each.
SELECT string_agg(a, ', ' ORDER BY a) AS td_actions FROM jsonb_object_keys(dtmv.thing_description(:'door') -> 'actions') a;

-- ---- Bad definitions are refused, and change nothing ----
SET ROLE regress_act_admin;
SELECT dtmv_test.attempt($$SELECT dtmv.define_action('robot-arm', 'wave')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.define_action('door', 'Open!')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.define_action('door', 'open', '[{"door": "open"}]')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.define_action('door', 'open', '"open"')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.define_action(NULL, 'open')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.withdraw_action('door', NULL)$$);
SET ROLE regress_act_alice;
SELECT action, desired_patch FROM dtmv.kind_actions WHERE kind = 'door' AND action = 'open';

-- Leave the built-in kinds as they were for the files after this one.
RESET ROLE;
DELETE FROM dtmv.kind_action_definitions WHERE kind IN ('door', 'lamp') AND NOT builtin;
DELETE FROM dtmv.thing_models WHERE kind = 'lamp' AND NOT builtin;

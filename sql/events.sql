-- Events and commands (REQ-DT-06, REQ-MV-03, REQ-MV-04, scenario 7.2.1), in
-- one session; concurrent commits are in test/isolation/specs/event_catch_up.spec
-- and real LISTEN sessions in t/002_door.pl.
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_ev_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_ev_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_ev_gw LOGIN IN ROLE dtmv_gateway;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('ev_alice', 'regress_ev_alice')),
	(dtmv.create_subject('ev_bob', 'regress_ev_bob')),
	(dtmv.create_subject('ev_gateway', 'regress_ev_gw', 'system'))) s;
SELECT subject_id AS alice FROM dtmv.subjects WHERE name = 'ev_alice' \gset
SELECT subject_id AS bob FROM dtmv.subjects WHERE name = 'ev_bob' \gset
-- The home gateway serves alice's devices (sql/agents.sql: gateways and bindings).
SELECT dtmv.register_gateway('ev_gateway', 'ev_alice') AS gateway \gset

SET ROLE regress_ev_alice;
SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'EV-DOOR') AS door \gset
SELECT dtmv.create_twin('lamp', 'Lamp', physical_binding => 'EV-LAMP') AS lamp \gset
SELECT dtmv.create_world('ev home') AS home \gset
SELECT dtmv.use_twin(:home, :'door');
SELECT dtmv.grant(:'lamp', 'ev_bob', 'read');   -- bob may read the lamp, not the door
-- Each channel's name is its kind and id, and a tag keyed with a secret
-- that clients cannot read: nobody works out another's channel from an id.
RESET ROLE;
SELECT dtmv._channel('s', :alice) AS ch_alice, dtmv._channel('s', :bob) AS ch_bob,
	   dtmv._channel('w', :home) AS ch_home, dtmv._channel('g', :gateway) AS ch_gateway \gset
SELECT :'ch_alice' ~ ('^dtmv_s' || :alice || '_[0-9a-f]{24}$') AS subject_channel_tagged,
	   :'ch_home' ~ ('^dtmv_w' || :home || '_[0-9a-f]{24}$') AS world_channel_tagged,
	   :'ch_gateway' ~ ('^dtmv_g' || :gateway || '_[0-9a-f]{24}$') AS gateway_channel_tagged,
	   split_part(:'ch_alice', '_', 3) <> split_part(:'ch_bob', '_', 3) AS tags_differ;
SET ROLE regress_ev_alice;
-- Clients listen on their own channel (and their worlds'); a gateway on its commands too.
SELECT count(*) = 2 AS alice_channels FROM dtmv.listen() c
 WHERE c IN (:'ch_alice', :'ch_home');
-- ... and cannot work out the name of anyone else's
SELECT dtmv_test.attempt($$SELECT dtmv._channel('s', 1)$$);
SELECT dtmv_test.attempt($$SELECT count(*) FROM dtmv.channel_key$$);
SET ROLE regress_ev_gw;
SELECT dtmv.confirm_binding('EV-DOOR') = :'door' AS door_served, dtmv.confirm_binding('EV-LAMP') = :'lamp' AS lamp_served;
SELECT count(*) AS gateway_hears_its_commands FROM dtmv.listen() c WHERE c = :'ch_gateway';
UNLISTEN *;
RESET ROLE;
UNLISTEN *;
-- Which channels an event on each twin wakes: only its readers', and worlds whose owner reads it.
SELECT (:'ch_alice') = ANY (c) AS door_wakes_alice, (:'ch_home') = ANY (c) AS and_her_home,
	   (:'ch_bob') = ANY (c) AS and_bob
  FROM dtmv_test._event_channels(:'door', NULL) c;
SELECT (:'ch_alice') = ANY (c) AS lamp_wakes_alice, (:'ch_bob') = ANY (c) AS and_bob,
	   (:'ch_home') = ANY (c) AS and_her_home
  FROM dtmv_test._event_channels(:'lamp', NULL) c;
SELECT dtmv_test._event_channels(:'door', :bob) = ARRAY[(:'ch_bob')] AS addressed_wakes_only_bob;
-- The orderer (src/event_order.c) over a batch: committed events get the
-- next ids in entry order, at most max of them, and each channel they wake
-- is woken once. Run here in this session's transaction (as the worker
-- runs it in its own).
SELECT o.ordered >= 0 AS earlier_files_events_ordered FROM dtmv._order_events(10000, false) o;
SELECT dtmv.event_horizon() AS before_batch \gset
SELECT dtmv._append_event(:'door', NULL, 'batch_door', '{}') AS entry_door \gset
SELECT dtmv._append_event(:'lamp', NULL, 'batch_lamp', '{}') AS entry_lamp \gset
SELECT dtmv._append_event(:'door', :bob, 'batch_bob', '{}') AS entry_bob \gset
SELECT :entry_door < :entry_lamp AND :entry_lamp < :entry_bob AS entries_in_writing_order;
SELECT count(*) AS in_the_inbox FROM dtmv.event_inbox;
SELECT count(*) AS in_the_log FROM dtmv.events WHERE event_id > :before_batch;
-- (Subjects of other test files that read every twin hear them too, so the
-- channels are counted against what each event wakes on its own.)
SELECT ARRAY[(:'ch_alice'), (:'ch_bob'), (:'ch_home')] <@ array_agg(c) AS batch_wakes_alice_bob_home,
	   NOT (:'ch_bob') = ANY (dtmv_test._event_channels(:'door', NULL)) AS but_not_bob_for_the_door
  FROM unnest(dtmv_test._event_channels(:'door', NULL) || dtmv_test._event_channels(:'lamp', NULL)) c;
SELECT count(DISTINCT c) AS door_channels FROM unnest(dtmv_test._event_channels(:'door', NULL)) c \gset
SELECT count(DISTINCT c) AS lamp_bob_channels
  FROM unnest(dtmv_test._event_channels(:'lamp', NULL) || dtmv_test._event_channels(:'door', :bob)) c \gset
BEGIN;
SELECT o.ordered AS first_only, o.woken = :door_channels AS its_channels FROM dtmv._order_events(1, true) o;
SELECT o.ordered AS the_other_two, o.woken = :lamp_bob_channels AS each_channel_once FROM dtmv._order_events(100, true) o;
SELECT o.ordered AS nothing_left, o.woken AS channels_woken FROM dtmv._order_events(100, true) o;
COMMIT;
SELECT array_agg(kind ORDER BY event_id) AS in_entry_order,
	   min(event_id) = :before_batch + 1 AND max(event_id) = :before_batch + 3 AS next_ids,
	   dtmv.event_horizon() = :before_batch + 3 AS horizon_follows
  FROM dtmv.events WHERE event_id > :before_batch;
SELECT bool_and(entry_id IN (:entry_door, :entry_lamp, :entry_bob)) AS entries_kept
  FROM dtmv.events WHERE event_id > :before_batch;
-- An orderer needs a snapshot per statement: not in REPEATABLE READ.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM dtmv._order_events(100, false);
ROLLBACK;
DELETE FROM dtmv.events WHERE event_id > :before_batch;  -- the rest of this file counts events

-- A client starts at the horizon, then catches up.
SET ROLE regress_ev_alice;
SELECT dtmv.event_horizon() AS alice_start \gset
SET ROLE regress_ev_bob;
SELECT dtmv.event_horizon() AS bob_start \gset

-- The gateway reports a guest at the door: the reported state and the event
-- are written together (REQ-MV-04).
SET ROLE regress_ev_alice;
SELECT dtmv.report(:'door', 'doorbell', '{}');  -- only gateways report
SET ROLE regress_ev_gw;
SELECT dtmv.report(:'door', 'doorbell', '{"doorbell": "ringing", "camera": "cam/front/0001.jpg"}') AS doorbell_entry \gset
SELECT dtmv.report(:'lamp', 'light', '{"light": "on"}') > 0 AS reported;
SELECT dtmv.report(:'door', 'bad', '[1]');
SELECT dtmv.report(:'door', 'bad', '"a string"');
SELECT dtmv.report('0192f0c4-5a1e-8abc-8000-2a00000000ff', 'doorbell', '{}');  -- no such twin: not served (42501)
-- An event kind is an identifier: 22023, saying what one is.
SELECT dtmv.report(:'door', 'Not A Kind', '{}');
-- What an identifier is (^[a-z][a-z0-9_]*$, checked in C).
SELECT k, dtmv._is_identifier(k)
  FROM unnest(ARRAY['a', 'door_bell2', 'z9_', '', '1a', '_a', 'Door', 'door-bell', 'door bell', 'dörr']) k;
-- A constraint added later is enforced too (the compiled ones are dropped
-- when the table changes), and so is its removal.
RESET ROLE;
ALTER TABLE dtmv.event_inbox ADD CONSTRAINT regress_no_tests CHECK (kind <> 'test');
SET ROLE regress_ev_gw;
SELECT dtmv.report(:'door', 'test', '{}');
RESET ROLE;
ALTER TABLE dtmv.event_inbox DROP CONSTRAINT regress_no_tests;
SET ROLE regress_ev_gw;
SELECT dtmv.report(:'door', 'test', '{}') > 0 AS reported_once_allowed;
-- Rows written from C fire AFTER row triggers, as INSERT and UPDATE would;
-- any other kind of trigger is refused rather than skipped.
RESET ROLE;
CREATE FUNCTION regress_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER regress_stmt AFTER INSERT ON dtmv.event_inbox FOR EACH STATEMENT EXECUTE FUNCTION regress_noop();
SET ROLE regress_ev_gw;
SELECT dtmv.report(:'door', 'doorbell', '{}');
RESET ROLE;
DROP TRIGGER regress_stmt ON dtmv.event_inbox;
CREATE TRIGGER regress_stmt AFTER UPDATE ON dtmv.twin_states FOR EACH STATEMENT EXECUTE FUNCTION regress_noop();
SET ROLE regress_ev_gw;
SELECT dtmv.report(:'door', 'doorbell', '{}');
RESET ROLE;
DROP TRIGGER regress_stmt ON dtmv.twin_states;
DROP FUNCTION regress_noop();
SET ROLE regress_ev_gw;
-- A read-only transaction writes nothing, as for INSERT and UPDATE.
BEGIN READ ONLY;
SELECT dtmv.report(:'door', 'doorbell', '{}');
ROLLBACK;
SET ROLE regress_ev_alice;
SELECT kind, payload FROM dtmv.events_since(:alice_start) ORDER BY id;
-- What report returned is the event's entry number; events_since gives it too.
SELECT entry_id = :doorbell_entry AS the_reported_entry FROM dtmv.events_since(:alice_start, 1);
SELECT dtmv.twin_info(:'door') -> 'reported' ->> 'camera' AS camera_through_the_twin;
-- Bob catches up only what he may read: the lamp, not the door.
SET ROLE regress_ev_bob;
SELECT kind, payload FROM dtmv.events_since(:bob_start);
SELECT count(*) AS bob_sees_in_log FROM dtmv.events;
-- Paging: max bounds a batch; the next batch starts after its last id.
SET ROLE regress_ev_alice;
SELECT id AS first_id FROM dtmv.events_since(:alice_start, 1) \gset
SELECT kind FROM dtmv.events_since(:first_id, 1);

-- Commands: alice presses "open" on the door's twin (REQ-DT-06).
SELECT dtmv.interact(:'door', 'fly');
SELECT dtmv.interact(:'lamp', 'open');
SELECT dtmv.interact(:'door', 'open') AS cmd \gset
SELECT desired ->> 'door' AS desired, reported ->> 'door' AS reported FROM dtmv.twin_states WHERE twin = :'door';
SELECT dtmv.command_status(:cmd);
SET ROLE regress_ev_bob;
\set VERBOSITY sqlstate
SELECT dtmv.interact(:'lamp', 'on');            -- read is not interact: 42501
\set VERBOSITY default
SELECT dtmv.command_status(:cmd);
-- The gateway takes the command, opens the door and acknowledges.
SET ROLE regress_ev_gw;
SELECT command_id = :cmd AS taken, action, requested_by FROM dtmv.next_commands();
SELECT count(*) AS nothing_left FROM dtmv.next_commands();
SELECT dtmv.ack_command(:cmd, true, '{"opened_in_ms": 850}') > 0 AS acknowledged;
SELECT dtmv.ack_command(:cmd, true);
\set VERBOSITY sqlstate
SELECT dtmv.ack_command(:cmd, NULL);                -- neither success nor failure: 22004
SELECT * FROM dtmv.events_since(NULL);              -- not "nothing new": 22004
\set VERBOSITY default
SET ROLE regress_ev_alice;
SELECT desired ->> 'door' AS desired, reported ->> 'door' AS reported FROM dtmv.twin_states WHERE twin = :'door';
SELECT kind, payload - 'command' AS payload FROM dtmv.events_since(:alice_start) WHERE kind LIKE 'command%';
SELECT dtmv.command_status(:cmd);

-- Sync answers are events addressed to each requester.
SELECT dtmv.grant(:'lamp', 'ev_bob', 'sync');
SET ROLE regress_ev_bob;
SELECT dtmv.request_sync(:'lamp') AS bob_req \gset
SET ROLE regress_ev_alice;
SELECT dtmv.request_sync(:'lamp') AS alice_req \gset
SET ROLE regress_ev_gw;
SELECT request_id = :bob_req AS bob_runs FROM dtmv.claim_sync();
SELECT dtmv.complete_sync(:bob_req, true, '{"light": "off"}');
SET ROLE regress_ev_bob;
SELECT kind, payload ->> 'status' AS status FROM dtmv.events_since(:bob_start) WHERE kind = 'sync_answer';
SET ROLE regress_ev_alice;
SELECT kind, payload ->> 'status' AS status FROM dtmv.events_since(:alice_start) WHERE kind = 'sync_answer';

-- Retention: pruned events are gone, and a client behind them is told so.
RESET ROLE;
UPDATE dtmv.events SET created_at = created_at - interval '8 days';
SELECT dtmv.prune_events('7 days') > 0 AS pruned;
SET ROLE regress_ev_alice;
\set VERBOSITY sqlstate
SELECT * FROM dtmv.events_since(:alice_start);
\set VERBOSITY default
SELECT count(*) AS after_horizon FROM dtmv.events_since(dtmv.event_horizon());
RESET ROLE;

-- Retention of acknowledged commands: only dtmv_admin prunes; open ones stay.
SET ROLE regress_ev_alice;
\set VERBOSITY sqlstate
SELECT dtmv.prune_commands('0 seconds');            -- not an admin: 42501
\set VERBOSITY default
SELECT dtmv.interact(:'door', 'close') AS open_cmd \gset
RESET ROLE;
SELECT dtmv.prune_commands('1 hour') AS recent_kept;
UPDATE dtmv.commands SET acked_at = acked_at - interval '2 hours' WHERE acked_at IS NOT NULL;
SELECT dtmv.prune_commands('1 hour') > 0 AS old_pruned;
SELECT command_id = :open_cmd AS only_the_open_one_left, status FROM dtmv.commands;
SELECT dtmv.prune_commands(NULL);

-- Scenario 3 (7.1.3), scheduling integration: one twin used in three worlds,
-- three users ask to synchronise it; only one integration runs at a time, the
-- highest priority runs, every requester gets an answer and only one succeeds
-- (REQ-DT-07, REQ-DT-08).
\set SHOW_CONTEXT never
SET search_path = public, dtmv;
SELECT extversion <> '0.1' AS since_0_2 FROM pg_extension WHERE extname = 'dtmv' \gset
CREATE ROLE demo_kim LOGIN IN ROLE dtmv_user;
CREATE ROLE demo_lee LOGIN IN ROLE dtmv_user;
CREATE ROLE demo_max LOGIN IN ROLE dtmv_user;
CREATE ROLE demo_factory_gw LOGIN IN ROLE dtmv_gateway;
SET ROLE demo_admin;
SELECT dtmv.create_subject(u, ('demo_' || u)::regrole) FROM unnest('{kim,lee,max}'::text[]) u;
SELECT dtmv.create_subject('factory gateway', 'demo_factory_gw', 'system');
\if :since_0_2
-- The factory's gateway serves the devices of alice's factory.
SELECT dtmv.register_gateway('factory gateway', 'alice');
\endif
RESET ROLE;

\echo '--- the factory robot is used in three worlds at once'
SET ROLE demo_alice;
SELECT dtmv.create_twin('robot', 'Welding robot W-7', '{"site": "factory"}',
						physical_binding => 'ROBO-W7-0042') AS robot \gset
\if :since_0_2
-- alice may bind through two gateways now (her household's, her factory's): she names one
SELECT dtmv.bind_device(:'robot', 'ROBO-W7-0042', 'factory gateway');
SET ROLE demo_factory_gw;
SELECT dtmv.confirm_binding('ROBO-W7-0042') = :'robot' AS robot_served_by_the_factory_gateway;
SET ROLE demo_alice;
\endif
SELECT dtmv.use_twin(dtmv.create_world(w), :'robot')
  FROM unnest('{Factory floor,Training world,Maintenance world}'::text[]) w;
SELECT dtmv.twin_info(:'robot') -> 'worlds' AS worlds;
-- The priority characteristic (REQ-DT-08): the maintenance engineer first.
SELECT dtmv.grant(:'robot', u, 'sync') FROM unnest('{kim,lee,max}'::text[]) u;
SELECT dtmv.set_sync_priority(:'robot', 'kim', 2);     -- trainee, training world
SELECT dtmv.set_sync_priority(:'robot', 'lee', 5);     -- operator, factory floor
SELECT dtmv.set_sync_priority(:'robot', 'max', 9);     -- maintenance engineer
RESET ROLE;

\echo '--- three users ask to integrate the twin with the real robot'
SET ROLE demo_kim;
SELECT dtmv.request_sync(:'robot') AS kim_req \gset
SET ROLE demo_max;
SELECT dtmv.request_sync(:'robot') AS max_req \gset
SET ROLE demo_lee;
SELECT dtmv.request_sync(:'robot') AS lee_req \gset

\echo '--- the factory gateway claims: the highest priority runs, the others wait in its batch'
SET ROLE demo_factory_gw;
SELECT request_id, requested_by, priority, batch_size FROM dtmv.claim_sync();
SELECT count(*) AS a_second_claim_finds FROM dtmv.claim_sync();   -- one integration per robot

\echo '--- while max''s sync (9) runs, lee (5) cannot request another one'
SET ROLE demo_lee;
\set ON_ERROR_STOP 0
SELECT dtmv.request_sync(:'robot');
\set ON_ERROR_STOP 1

\echo '--- the gateway integrates the twin with the robot and completes'
SET ROLE demo_factory_gw;
SELECT dtmv.complete_sync(:max_req, true, '{"arm": "parked", "weld_temp_c": 21, "cycle": 1182}');

\echo '--- every requester gets an answer; only one succeeded'
SET ROLE demo_kim;
SELECT dtmv.whoami() AS requester, dtmv.sync_status(:kim_req) AS answer;
SET ROLE demo_lee;
SELECT dtmv.whoami() AS requester, dtmv.sync_status(:lee_req) AS answer;
SET ROLE demo_max;
SELECT dtmv.whoami() AS requester, dtmv.sync_status(:max_req) AS answer;
SET ROLE demo_alice;
SELECT reported FROM dtmv.twin_states WHERE twin = :'robot';
RESET ROLE;

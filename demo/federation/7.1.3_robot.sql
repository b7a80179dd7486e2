-- Scenario 7.1.3 across systems: scheduling integration. One robot arm of
-- the factory's twin system is used from two metaverse systems (kim in
-- mv1's training world, lee in mv2's factory floor) and by the factory's
-- own maintenance engineer. Each asks for the twin to be integrated with
-- the real robot, through her own system; the factory decides: one
-- integration at a time, the highest priority first, and every requester,
-- wherever she asked, gets an answer (REQ-DT-07, REQ-DT-08, REQ-SI-01).
-- Played after systems.sql.
\echo
\echo '################ 7.1.3 one robot arm of the factory, used from two metaverse systems'
\echo '--- at the factory: the robot, its gateway, and who may integrate it, at which priority'
\c postgres - :host :factory_port
SET ROLE factory_fiona;
SELECT dtmv.create_twin('robot_arm', 'Welding robot W-7', '{"cell": 3}', physical_binding => 'ROBO-W7-0042') AS robot \gset
SELECT dtmv.bind_device(:'robot', 'ROBO-W7-0042', 'factory gateway') \g /dev/null
SET ROLE factory_gw;
SELECT demo.expect(dtmv.confirm_binding('ROBO-W7-0042') = :'robot', 'the factory gateway serves the robot');
SET ROLE factory_fiona;
SELECT dtmv.grant(:'robot', s, 'discover,read,sync') FROM unnest('{kim@mv1,lee@mv2,max}'::text[]) s \g /dev/null
-- kim, a trainee in mv1's training world, 2; lee, an operator on mv2's
-- factory floor, 5; max, maintenance on site, 9
SELECT dtmv.set_sync_priority(:'robot', s, p) FROM (VALUES ('kim@mv1', 2), ('lee@mv2', 5), ('max', 9)) v(s, p) \g /dev/null
SELECT s.name AS subject, p.priority
  FROM dtmv.sync_priorities p JOIN dtmv.subjects s USING (subject_id)
 WHERE p.twin = :'robot' ORDER BY p.priority;
RESET ROLE;

\echo '--- kim asks through mv1, lee through mv2, max at the factory'
\c postgres - :host :mv_port
SET ROLE mv1_kim;
SELECT dtmv.delegate('factory', 'discover,read,sync') \g /dev/null
SELECT demo.expect(dtmv.twin_info(:'robot') ->> 'name' = 'Welding robot W-7', 'kim sees the robot through mv1');
SELECT dtmv.request_sync(:'robot') AS kim_req \gset
\c mv2 - :host :mv_port
SET ROLE mv2_lee;
SELECT dtmv.delegate('factory', 'discover,read,sync') \g /dev/null
SELECT dtmv.request_sync(:'robot') AS lee_req \gset
\c postgres - :host :factory_port
SET ROLE factory_max;
SELECT dtmv.request_sync(:'robot') AS max_req \gset

\echo '--- the factory gateway claims: the highest priority runs, the others join its batch'
SET ROLE factory_gw;
SELECT request_id AS running, requested_by, priority, batch_size FROM dtmv.claim_sync(session_lock => false) \gset
SELECT demo.expect(:'requested_by' = 'max' AND :batch_size = 3, 'max (9) runs; kim@mv1 and lee@mv2 wait in its batch');
SELECT demo.expect(NOT EXISTS (SELECT FROM dtmv.claim_sync(session_lock => false)), 'one integration of the robot at a time');
SELECT dtmv.complete_sync(:running, true, '{"arm": "parked", "cycle": 1182}');

\echo '--- every requester gets an answer at her own system; one sync ran for all three'
SET ROLE factory_max;
SELECT demo.expect(dtmv.sync_status(:max_req) = 'succeeded', 'max''s sync succeeded');
\c postgres - :host :mv_port
SET ROLE mv1_kim;
SELECT demo.expect(dtmv.sync_status(:kim_req) = 'superseded', 'kim, at mv1: superseded by the sync that ran');
SELECT demo.expect(dtmv.twin_info(:'robot') -> 'reported' ->> 'arm' = 'parked', 'kim sees the real robot''s state at mv1');
\c mv2 - :host :mv_port
SET ROLE mv2_lee;
SELECT demo.expect(dtmv.sync_status(:lee_req) = 'superseded', 'lee, at mv2: superseded by the sync that ran');
RESET ROLE;

-- Scenario 7.2.1 across systems: a guest at the physical door, seen from the
-- virtual world. The door's twin lives in the home's twin system; alice is
-- a user of the metaverse system mv1 (alice@mv1 at home). The homeowner
-- shares the door with her metaverse self; through mv1 she reads it and
-- asks for it to be synchronised with the real door, and the home's gateway
-- does it (REQ-SI-01, REQ-SI-02b, REQ-MV-04). Played after systems.sql.
\echo
\echo '################ 7.2.1 a guest at the door of the home, seen from mv1'
\echo '--- at home: the homeowner and her gateway; the door is connected'
\c postgres - :host :home_port
SET ROLE home_alice;
SELECT dtmv.create_twin('door', 'Front door', '{"room": "hall"}', physical_binding => 'DOOR-0001') AS door \gset
SELECT dtmv.bind_device(:'door', 'DOOR-0001', 'home gateway') \g /dev/null
SET ROLE home_gw;
SELECT demo.expect(dtmv.confirm_binding('DOOR-0001') = :'door', 'the home gateway serves the front door');
\echo '--- at home: alice shares the door with her metaverse self, alice@mv1'
SET ROLE home_alice;
SELECT dtmv.grant(:'door', 'alice@mv1', 'discover,read,sync,interact') \g /dev/null
RESET ROLE;

\echo '--- at mv1: alice lets mv1 act for her at home, and finds her door there'
\c postgres - :host :mv_port
SET ROLE mv1_alice;
SELECT dtmv.delegate('home', 'discover,read,sync,interact') \g /dev/null
SELECT id = :'door' AS her_door, name, system_no = :home_no AS at_home FROM dtmv.search_all_twins(kind => 'door');
SELECT demo.expect(dtmv.twin_info(:'door') ->> 'name' = 'Front door', 'alice reads the door of her home through mv1');
SELECT demo.expect(dtmv.twin_system(:'door') = :home_no, 'the door''s id names the home system');
\echo '--- at mv1: her client follows her events; mv1 relays the home''s events on twins she may read'
SELECT dtmv.event_horizon() AS seen \gset
SELECT demo.wait_until(format('SELECT EXISTS (SELECT FROM dtmv.remote_event_cursors WHERE system_no = %s)', :home_no),
					   'mv1 relays the home''s events to alice');

\echo '--- at mv1: she asks for the door to be synchronised with the real one'
SELECT dtmv.request_sync(:'door') AS req \gset
SELECT demo.expect(dtmv.sync_status(:req) = 'pending', 'her request waits at home');

\echo '--- at home: the gateway claims the sync, reads the real door, completes'
\c postgres - :host :home_port
SET ROLE home_gw;
SELECT request_id AS home_req, requested_by FROM dtmv.claim_sync(session_lock => false) \gset
SELECT demo.expect(:'requested_by' = 'alice@mv1', 'the home gateway runs the sync alice@mv1 asked for');
SELECT dtmv.complete_sync(:home_req, true, '{"door": "closed", "doorbell": "idle"}');

\echo '--- at mv1: her request succeeded; the twin shows the real door'
\c postgres - :host :mv_port
SET ROLE mv1_alice;
SELECT demo.expect(dtmv.sync_status(:req) = 'succeeded', 'alice''s sync, asked at mv1, succeeded at home');
SELECT demo.expect(dtmv.twin_info(:'door') -> 'reported' ->> 'door' = 'closed', 'mv1 shows the real door''s state');

\echo '--- at home: a guest rings; the gateway reports it'
\c postgres - :host :home_port
SET ROLE home_gw;
SELECT dtmv.report(:'door', 'doorbell', '{"camera": "cam/front/0001.jpg"}') IS NOT NULL AS reported \gset

\echo '--- at mv1: alice''s client catches up: the doorbell, through mv1''s own log'
\c postgres - :host :mv_port
SET ROLE mv1_alice;
SELECT demo.wait_until(format('SELECT EXISTS (SELECT FROM dtmv.events_since(%s) WHERE twin = %L AND kind = %L)',
							  :seen, :'door', 'doorbell'),
					   'the doorbell at home reaches alice''s client at mv1');
SELECT kind, payload FROM dtmv.events_since(:seen) WHERE twin = :'door' ORDER BY event_id;

\echo '--- at mv1: alice opens the door for her guest, from the virtual world'
SELECT dtmv.interact(:'door', 'open') AS cmd \gset
SELECT demo.expect(dtmv.command_status(:cmd) = 'queued', 'her command waits at home for the gateway');

\echo '--- at home: the gateway takes the command, opens the real door, acknowledges'
\c postgres - :host :home_port
SET ROLE home_gw;
SELECT command_id AS home_cmd, action, requested_by FROM dtmv.next_commands() \gset
SELECT demo.expect(:'action' = 'open' AND :'requested_by' = 'alice@mv1', 'the gateway opens the door for alice@mv1');
SELECT dtmv.ack_command(:home_cmd, true) \g /dev/null

\echo '--- at mv1: the command succeeded; the door is open, and her client heard it'
\c postgres - :host :mv_port
SET ROLE mv1_alice;
SELECT demo.expect(dtmv.command_status(:cmd) = 'succeeded', 'alice''s command, given at mv1, succeeded at home');
SELECT demo.expect(dtmv.twin_info(:'door') -> 'reported' ->> 'door' = 'open', 'mv1 shows the real door open');
SELECT demo.wait_until(format('SELECT EXISTS (SELECT FROM dtmv.events_since(%s) WHERE twin = %L AND kind = %L)',
							  :seen, :'door', 'command_succeeded'),
					   'the door''s command_succeeded event reaches alice''s client at mv1');

\echo '--- at mv1: bob, whom no one at home granted anything, sees nothing of the door'
SET ROLE mv1_bob;
SELECT dtmv.delegate('home', 'discover,read,sync,interact') \g /dev/null
SELECT demo.expect(NOT EXISTS (SELECT FROM dtmv.search_all_twins(kind => 'door')), 'bob finds no door through mv1');
SELECT demo.expect(NOT EXISTS (SELECT FROM dtmv.events_since(0) WHERE twin = :'door'), 'bob hears nothing of the door');
-- the errors home gives bob@mv1, as if he had asked there
\set ON_ERROR_STOP 0
\set VERBOSITY terse
SELECT dtmv.twin_info(:'door');
SELECT dtmv.request_sync(:'door');
\set VERBOSITY default
\set ON_ERROR_STOP 1
RESET ROLE;

-- Scenarios 7.3.1 (constructing a 3D spatial map), 7.3.2 (location
-- synchronisation) and 7.3.3 (localization in the spatial map) across
-- systems: the factory's map is built and kept at the factory's twin
-- system; kim, a user of the metaverse system mv1, sees it, follows the
-- robot's move and asks what is at her position, through mv1 (REQ-MV-04,
-- REQ-MV-05, REQ-SI-01, REQ-SI-02b). A space is named by its id at its own
-- system and the system's number (system =>). Played after systems.sql and
-- 7.1.3 (the robot).
\echo
\echo '################ 7.3.1-7.3.3 the factory''s map, kept at the factory, used from mv1'
\echo '--- at the factory: its site and hall, the robot in it, a survey tablet that may map it'
\c postgres - :host :factory_port
CREATE ROLE factory_tablet LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('survey tablet', 'factory_tablet', 'system') IS NOT NULL AS made \gset
SET ROLE factory_fiona;
SELECT dtmv.create_space('Factory', 'site', anchor_lon => 4.8357, anchor_lat => 45.7640, anchor_alt => 172, heading => 15) AS site \gset
SELECT dtmv.create_space('Hall A, ground floor', 'floor', :site, z_min => 0, z_max => 6) AS hall \gset
SELECT dtmv.place(:'robot', :hall, ST_MakePoint(2, 2, 0.9)) \g /dev/null
SELECT dtmv.grant_space(:site, 'survey tablet', 'control') \g /dev/null
-- kim (mv1) may see the hall and what is in it
SELECT dtmv.grant_space(:hall, 'kim@mv1', 'discover,read') \g /dev/null
RESET ROLE;
SELECT dtmv.register_system('RoboCare maintenance', 'third_party', 777001) IS NOT NULL AS made \gset
SELECT dtmv.register_service(777001, 'Robot maintenance hotline', 'maintenance', :site,
							 ST_MakeEnvelope(0, 0, 40, 20, 0), 0, 6, 'remote diagnosis and spare parts') IS NOT NULL AS made \gset

\echo '--- 7.3.1 at the factory: the tablet walks the hall, uploads captures; the map is built'
SET ROLE factory_tablet;
SELECT dtmv.submit_capture(:hall, ST_MakePoint(12, 4, 1.4), 'media/hall-a/0001.jpg', '{ROBO-W7-0042}') \g /dev/null
SELECT dtmv.submit_capture(:hall, ST_MakePoint(25, 9, 1.4), 'media/hall-a/0002.jpg', '{PRESS-P3-0007}') \g /dev/null
SELECT dtmv.build_map(:hall) AS twins_mapped;

\echo '--- 7.3.1 at mv1: kim sees the factory''s map (GeoJSON, WGS84), made there'
\c postgres - :host :mv_port
SET ROLE mv1_kim;
SELECT f ->> 'id' = :'robot' AS robot, f -> 'properties' ->> 'name' AS name, f -> 'geometry' ->> 'type' AS geometry
  FROM jsonb_array_elements(dtmv.spatial_map(:hall, system => :factory_no) -> 'features') f ORDER BY 2;
SELECT demo.expect(jsonb_array_length(dtmv.spatial_map(:hall, system => :factory_no) -> 'features') >= 1,
				   'kim sees the factory''s hall map through mv1');
-- her client starts following her events; mv1 relays the factory's to her
-- from its first pull for her on (within dtmv.relay_interval of her delegation)
SELECT dtmv.event_horizon() AS seen \gset
SELECT demo.wait_until(format('SELECT EXISTS (SELECT FROM dtmv.remote_event_cursors WHERE system_no = %s)', :factory_no),
					   'mv1 relays the factory''s events to kim');

\echo '--- 7.3.2 at the factory: the robot drives to the next cell; its gateway syncs the location'
\c postgres - :host :factory_port
SET ROLE factory_gw;
SELECT dtmv.sync_location(:'robot', ST_MakePoint(18.5, 6, 0.9)) IS NOT NULL AS synced \gset

\echo '--- 7.3.2 at mv1: the move reaches kim''s client, and the map'
\c postgres - :host :mv_port
SET ROLE mv1_kim;
SELECT demo.wait_until(format('SELECT EXISTS (SELECT FROM dtmv.events_since(%s) WHERE twin = %L AND kind = %L)',
							  :seen, :'robot', 'location'),
					   'the robot''s location event reaches kim''s client at mv1');
SELECT demo.expect((SELECT (f -> 'geometry' -> 'coordinates' ->> 0)::float8 = 18.5
					  FROM jsonb_array_elements(dtmv.spatial_map(:hall, frame => 'local', system => :factory_no) -> 'features') f
					 WHERE f ->> 'id' = :'robot'),
				   'the map at mv1 shows the robot where it moved');

\echo '--- 7.3.3 at mv1: kim, with AR glasses in front of the robot, asks what is here'
SELECT name, kind, round(distance::numeric, 2) AS metres
  FROM dtmv.localize(:hall, ST_MakePoint(17, 6, 1.6), 10, 5, system => :factory_no);
SELECT demo.expect(EXISTS (SELECT FROM dtmv.localize(:hall, ST_MakePoint(17, 6, 1.6), 10, 5, system => :factory_no)
							WHERE twin = :'robot'),
				   'kim localizes the robot at her position, through mv1');
SELECT demo.expect(EXISTS (SELECT FROM dtmv.services_at(:hall, ST_MakePoint(18.5, 6, 0.9), system => :factory_no)
							WHERE name = 'Robot maintenance hotline'),
				   'and the maintenance service that covers its spot');
\echo '--- at mv1: bob, with no right in the factory, sees none of its twins there'
SET ROLE mv1_bob;
SELECT dtmv.delegate('factory', 'discover,read') \g /dev/null
SELECT demo.expect(NOT EXISTS (SELECT FROM dtmv.localize(:hall, ST_MakePoint(17, 6, 1.6), 50, 10, system => :factory_no)
								WHERE twin IS NOT NULL),
				   'bob localizes no twin of the factory through mv1');
RESET ROLE;

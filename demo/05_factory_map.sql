-- Scenarios 5 to 7 (7.3.1, 7.3.2, 7.3.3) on a small factory: a device's
-- captures become a 3D spatial map, a robot's move is synchronised, and a
-- user (and a 3rd party) ask what is at a position (REQ-MV-04, REQ-MV-05).
\set SHOW_CONTEXT never
SET search_path = public, dtmv;
SELECT extversion <> '0.1' AS since_0_2 FROM pg_extension WHERE extname = 'dtmv' \gset
CREATE ROLE demo_tablet LOGIN IN ROLE dtmv_user;
SET ROLE demo_admin;
SELECT dtmv.create_subject('survey tablet', 'demo_tablet', 'system');
RESET ROLE;

\echo '--- alice sets up her factory: a site anchored to WGS84, two floors'
SET ROLE demo_alice;
SELECT dtmv.create_space('Alice''s factory', 'site', anchor_lon => 4.8357, anchor_lat => 45.7640,
						 anchor_alt => 172, heading => 15) AS factory \gset
SELECT dtmv.create_space('Hall A, ground floor', 'floor', :factory, z_min => 0, z_max => 6) AS hall \gset
SELECT dtmv.create_space('Offices, first floor', 'floor', :factory, z_min => 6, z_max => 9) AS offices \gset
SELECT ST_AsText(dtmv.to_wgs84(:factory, ST_MakePoint(100, 0, 0))) AS "100 m along the site's x axis, in WGS84";
SELECT dtmv.create_twin('robot', 'Welding robot W-7b', physical_binding => 'ROBO-W7-0099') AS robot \gset
\if :since_0_2
SELECT dtmv.bind_device(:'robot', 'ROBO-W7-0099', 'factory gateway');
SET ROLE demo_factory_gw;
SELECT dtmv.confirm_binding('ROBO-W7-0099') = :'robot' AS robot_served_by_the_factory_gateway;
SET ROLE demo_alice;
\endif
-- The robot was unloaded by the gate; the survey tablet may map (control) what is in the factory.
SELECT dtmv.place(:'robot', :hall, ST_MakePoint(2, 2, 0.9));
SELECT dtmv.grant_space(:factory, 'survey tablet', 'control');

\echo '--- scenario 5 (7.3.1): the tablet walks the hall and uploads captures'
SET ROLE demo_tablet;
SELECT dtmv.submit_capture(:hall, ST_MakePoint(12, 4, 1.4), 'media/hall-a/0001.jpg', '{ROBO-W7-0099}');
SELECT dtmv.submit_capture(:hall, ST_MakePoint(25, 9, 1.4), 'media/hall-a/0002.jpg', '{PRESS-P3-0007,CNC-M2-0311}');
SELECT dtmv.build_map(:hall) AS twins_mapped;
SELECT name, kind FROM dtmv.twins ORDER BY name;
\echo '--- the 3D spatial map, as GeoJSON (RFC 7946: WGS84 longitude, latitude, height; local metres in the properties)'
SELECT jsonb_pretty(dtmv.spatial_map(:hall));
\if :since_0_2
\echo '--- the same in the site''s own metres (z up)'
SELECT jsonb_pretty(dtmv.spatial_map(:hall, frame => 'local') -> 'features' -> 0 -> 'geometry') AS first_twin_in_local_metres;
\echo '--- for GIS tools (GDAL, QGIS): where the twins are in WGS84 3D (EPSG:4979)'
SELECT name, ST_AsText(position, 9) AS position, GeometryType(footprint) AS footprint FROM dtmv.twin_positions_wgs84 ORDER BY name;
\echo '--- alice publishes her factory''s frame as an SRID in spatial_ref_sys (every role of the database may read its anchor then)'
SET ROLE demo_alice;
SELECT dtmv.publish_site_crs(:factory) AS site_srid;
SELECT ST_AsText(ST_Transform(ST_SetSRID(ST_MakePoint(100, 0, 0), dtmv.site_srid(:factory)), 4979), 9) AS "100 m along x, by ST_Transform";
\endif

\echo '--- scenario 6 (7.3.2): the robot drives itself to the next cell; its gateway syncs the location'
SET ROLE demo_factory_gw;
SELECT dtmv.sync_location(:'robot', ST_MakePoint(18.5, 6, 0.9)) AS acknowledgement_event;
SET ROLE demo_alice;
SELECT kind, payload FROM dtmv.events WHERE twin = :'robot' AND kind = 'location';
SELECT f -> 'geometry' AS robot_on_the_map
  FROM jsonb_array_elements(dtmv.spatial_map(:hall) -> 'features') f WHERE f ->> 'id' = :'robot';

\echo '--- scenario 7 (7.3.3): a maintenance company offers services on the ground floor'
RESET ROLE;
SELECT dtmv.register_system('RoboCare maintenance', 'third_party', 777001);
SELECT dtmv.register_service(777001, 'Robot maintenance hotline', 'maintenance', :factory,
							 ST_MakeEnvelope(0, 0, 40, 20, 0), 0, 6, 'remote diagnosis and spare parts');
\echo '--- alice, wearing AR glasses in front of the robot, asks what is here'
SET ROLE demo_alice;
SELECT name, kind, round(distance::numeric, 2) AS metres FROM dtmv.localize(:hall, ST_MakePoint(17, 6, 1.6), 10, 5);
\echo '--- the same question upstairs finds the robot too far (3D), and no service'
SELECT name, kind, round(distance::numeric, 2) AS metres FROM dtmv.localize(:offices, ST_MakePoint(18, 6, 7.5), 3, 5);
\echo '--- bob, with no right in the factory, sees none of its twins'
SET ROLE demo_bob;
SELECT count(*) AS twins_bob_sees FROM dtmv.localize(:hall, ST_MakePoint(17, 6, 1.6), 50, 10) WHERE twin IS NOT NULL;
\echo '--- an authorised 3rd party (alice lets the home gateway discover the hall) asks remotely'
\echo '--- which services cover the robot''s spot'
SET ROLE demo_alice;
SELECT dtmv.grant_space(:hall, 'home gateway', 'discover');
SET ROLE demo_gateway;
SELECT name, kind, description FROM dtmv.services_at(:hall, ST_MakePoint(18.5, 6, 0.9));
RESET ROLE;

-- Spatial: frames, placing, location sync, localization, services, captures
-- and the map (scenarios 7.3.1, 7.3.2, 7.3.3; REQ-MV-04, REQ-MV-05).
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_sp_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sp_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sp_robot LOGIN IN ROLE dtmv_gateway;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('sp_alice', 'regress_sp_alice')),
	(dtmv.create_subject('sp_bob', 'regress_sp_bob')),
	(dtmv.create_subject('sp_robot', 'regress_sp_robot', 'system'))) s;
-- the robot's own gateway serves alice's devices (sql/agents.sql)
SELECT dtmv.register_gateway('sp_robot', 'sp_alice') > 0 AS registered;

-- A factory site anchored in Lyon, its axes turned 30 degrees from north, two floors.
SET ROLE regress_sp_alice;
SELECT dtmv.create_space('sp factory', 'site', anchor_lon => 4.85, anchor_lat => 45.75,
						 anchor_alt => 170, heading => 30) AS site \gset
SELECT dtmv.create_space('ground floor', 'floor', :site, z_min => 0, z_max => 4) AS floor0 \gset
SELECT dtmv.create_space('first floor', 'floor', :site, z_min => 4, z_max => 8) AS floor1 \gset

-- Local <-> WGS84: round trip within a millimetre over a 1 km site.
SELECT max(ST_3DDistance(dtmv.to_local(:site, dtmv.to_wgs84(:site, p)), p)) < 0.001 AS round_trip_under_1mm
  FROM (SELECT ST_MakePoint(x, y, z) AS p
		  FROM generate_series(-1000, 1000, 250) x, generate_series(-1000, 1000, 250) y, (VALUES (0), (35.5)) z(z)) pts;
-- The anchor is the origin; 1000 m along the site's y axis is 1000 m on the ground, bearing 30 degrees.
SELECT round(ST_X(g)::numeric, 6) AS lon, round(ST_Y(g)::numeric, 6) AS lat, ST_Z(g) AS alt
  FROM dtmv.to_wgs84(:site, ST_MakePoint(0, 0, 0)) g;
SELECT round(ST_DistanceSphere(dtmv.to_wgs84(:site, ST_MakePoint(0, 0, 0)),
							   dtmv.to_wgs84(:site, ST_MakePoint(0, 1000, 0)))::numeric, 0) AS metres_on_ground,
	   round(degrees(ST_Azimuth(ST_Force2D(dtmv.to_wgs84(:site, ST_MakePoint(0, 0, 0)))::geography,
								ST_Force2D(dtmv.to_wgs84(:site, ST_MakePoint(0, 1000, 0)))::geography))::numeric, 1) AS bearing;
-- The site's frame is a CRS of its own (dtmv.site_crs, WKT2 as PROJ reads
-- it), which dtmv converts through without PostGIS's spatial_ref_sys:
-- making a site writes nothing there (sql/frames.sql). The same place as
-- the frame's definition computed apart: turn the axes clockwise by the
-- heading, then the transverse Mercator projection centred on the anchor,
-- then the anchor's height (to 1e-9 degree, 1e-6 m).
CREATE TEMP TABLE frame_points AS
	SELECT p, ST_Transform(ST_Rotate(p, -radians(30), 0::float8, 0::float8),
						   '+proj=tmerc +lat_0=45.75 +lon_0=4.85 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs',
						   '+proj=longlat +datum=WGS84 +no_defs') AS ref
	  FROM (SELECT ST_MakePoint(x, y, 3.5) AS p
			  FROM generate_series(-1000, 1000, 500) x, generate_series(-1000, 1000, 500) y) pts;
SELECT dtmv.site_srid(:site) IS NULL AS no_srid,
	   bool_and(ST_DWithin(ST_Force2D(dtmv.to_wgs84(:site, p)), ST_SetSRID(ST_Force2D(ref), 4326), 1e-9)
				AND abs(ST_Z(dtmv.to_wgs84(:site, p)) - (ST_Z(p) + 170)) < 1e-6) AS to_wgs84_places_it
  FROM frame_points;
-- Published by its creator (dtmv.publish_site_crs), the frame has an SRID
-- in spatial_ref_sys: ST_Transform works on it, both ways, as to_wgs84 does.
SELECT dtmv.publish_site_crs(:site) AS site_srid \gset
SELECT :site_srid BETWEEN 910000 AND 998999 AS srid_from_910000, dtmv.site_srid(:site) = :site_srid AS site_srid,
	   dtmv.site_srid(:floor1) = :site_srid AS a_floor_has_its_site_frame,
	   auth_name, auth_srid = :site AS auth_srid_is_the_site, srtext = dtmv.site_crs(:site) AS srtext_is_site_crs
  FROM spatial_ref_sys WHERE srid = :site_srid;
SELECT bool_and(ST_DWithin(ST_Force2D(ST_Transform(ST_SetSRID(p, :site_srid), 4979)), ST_SetSRID(ST_Force2D(ref), 4979), 1e-9)
				AND abs(ST_Z(ST_Transform(ST_SetSRID(p, :site_srid), 4979)) - (ST_Z(p) + 170)) < 1e-6) AS st_transform_places_it,
	   bool_and(ST_Equals(dtmv.to_wgs84(:site, p), ST_SetSRID(ST_Transform(ST_SetSRID(p, :site_srid), 4979), 4326))) AS to_wgs84_is_st_transform,
	   max(ST_3DDistance(ST_SetSRID(ST_Transform(ST_Transform(ST_SetSRID(p, :site_srid), 4979), :site_srid), 0), p)) < 1e-6 AS and_back
  FROM frame_points;
-- a WGS84 3D point (EPSG:4979) comes back as well as a 4326 one
SELECT ST_AsText(dtmv.to_local(:site, ST_SetSRID(dtmv.to_wgs84(:site, ST_MakePoint(16.04, 7.03, 0.9)), 4979)), 6) AS from_4979;

-- A site's frame reaches 100 km from its anchor along each axis (docs/spatial.md):
-- the round trip holds to the millimetre out there; beyond it, 22023.
SELECT max(ST_3DDistance(dtmv.to_local(:site, dtmv.to_wgs84(:site, p)), p)) < 0.001 AS round_trip_at_the_edge
  FROM (SELECT ST_MakePoint(x, y, z) AS p
		  FROM (VALUES (-99999.99), (0), (99999.99)) x(x), (VALUES (-99999.99), (0), (99999.99)) y(y),
			   (VALUES (-99999.99), (99999.99)) z(z)) pts;
\set VERBOSITY terse
SELECT dtmv.to_wgs84(:site, 'POINT Z (1e20 0 0)');
SELECT dtmv.to_wgs84(:site, ST_MakePoint(0, 0, 100000.001));
SELECT dtmv.to_local(:site, ST_SetSRID(ST_MakePoint(151.21, -33.87, 0), 4326));          -- Sydney
SELECT dtmv.to_local(:site, ST_SetSRID(ST_MakePoint(4.85, 47.1, 0), 4326));              -- 150 km north
SELECT dtmv.create_space('too far', 'floor', :site, outline => ST_MakeEnvelope(0, 0, 1e6, 10, 0));
SELECT dtmv.create_space('too high', 'floor', :site, z_min => 0, z_max => 1e20);
SELECT dtmv.create_space('sky site', 'site', anchor_lon => 4.85, anchor_lat => 45.75, anchor_alt => 1e20);
SELECT dtmv.create_space('no heading', 'site', anchor_lon => 4.85, anchor_lat => 45.75, heading => 'NaN');
\set VERBOSITY default

-- Bad geometry is refused with 22023 and says why.
CREATE TEMP TABLE bad (label text, g geometry);
INSERT INTO bad VALUES ('wgs84 srid', ST_SetSRID(ST_MakePoint(4.85, 45.75, 0), 4326)),
					   ('2d', ST_MakePoint(1, 2)),
					   ('nan', ST_MakePoint('NaN'::float8, 1, 1)),
					   ('a line', ST_MakeLine(ST_MakePoint(0, 0, 0), ST_MakePoint(1, 1, 1))),
					   ('with m', ST_MakePoint(1, 1, 1, 5)),
					   ('empty', 'POINT Z EMPTY'::geometry);
SELECT dtmv.create_twin('robot', 'Welding robot', physical_binding => 'ROBOT-1') AS robot \gset
\set VERBOSITY terse
SELECT dtmv.place(:'robot', :floor0, g) FROM bad WHERE label = 'wgs84 srid';
SELECT dtmv.place(:'robot', :floor0, g) FROM bad WHERE label = '2d';
SELECT dtmv.place(:'robot', :floor0, g) FROM bad WHERE label = 'nan';
SELECT dtmv.place(:'robot', :floor0, g) FROM bad WHERE label = 'a line';
SELECT dtmv.place(:'robot', :floor0, g) FROM bad WHERE label = 'with m';  -- the column is PointZ
SELECT dtmv.place(:'robot', :floor0, g) FROM bad WHERE label = 'empty';
SELECT dtmv.place(:'robot', :floor0, NULL);
SELECT dtmv.localize(:site, ST_MakePoint(1, 2), 5);
\set VERBOSITY default

-- Twins on two floors: a press right above the robot, on the first floor.
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1));
-- Its footprint: a closed solid in its own frame (metres around its position).
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1), orientation => '{90, 0, 0}',
				  footprint => dtmv.footprint_box(1.2, 0.8, 1.5));
SELECT GeometryType(footprint) AS footprint, ST_IsClosed(footprint) AS closed,
	   ST_XMax(footprint::box3d) AS half_width, ST_ZMax(footprint::box3d) AS height, orientation
  FROM dtmv.twin_positions WHERE twin = :'robot';
-- For GIS tools, twin_positions_wgs84 has it in WGS84 3D (EPSG:4979), the
-- footprint as placed: turned by the yaw (90 degrees: its 1.2 m width now
-- along the site's y axis) and standing on the position. Back in the site's
-- frame through its SRID, the box spans x 9.6 .. 10.4, y 9.4 .. 10.6, z 1 .. 2.5.
SELECT ST_SRID(position) AS srid, ST_AsText(position, 9) = ST_AsText(dtmv.to_wgs84(:site, ST_MakePoint(10, 10, 1)), 9) AS position_is_to_wgs84,
	   GeometryType(footprint) AS footprint,
	   concat_ws(' ', round(ST_XMin(b)::numeric, 6), round(ST_XMax(b)::numeric, 6), round(ST_YMin(b)::numeric, 6),
				 round(ST_YMax(b)::numeric, 6), round(ST_ZMin(b)::numeric, 6), round(ST_ZMax(b)::numeric, 6)) AS local_box,
	   name, local_x, local_y, local_z
  FROM dtmv.twin_positions_wgs84, LATERAL (SELECT ST_Transform(footprint, :site_srid)::box3d AS b) x
 WHERE twin = :'robot';
-- GDAL and QGIS find its geometries and their SRID in geometry_columns.
SELECT f_geometry_column, coord_dimension, srid, type FROM geometry_columns
 WHERE f_table_schema = 'dtmv' AND f_table_name = 'twin_positions_wgs84' ORDER BY 1;
\set VERBOSITY terse
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1), footprint => ST_MakeEnvelope(0, 0, 1, 1, 0));
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1), footprint => ST_SetSRID(dtmv.footprint_box(1, 1, 1), 4326));
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1),
				  footprint => 'POLYHEDRALSURFACE Z (((0 0 0,0 1 0,1 1 0,1 0 0,0 0 0)))'::geometry);  -- one face: open
SELECT dtmv.footprint_box(0, 1, 1);
SELECT dtmv.footprint_box('NaN', 1, 1);
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1), orientation => '{90, 0}');
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1), orientation => '{90, 0, Infinity}');
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1), orientation => '{90, NULL, 0}');
-- every entry point that takes local coordinates refuses them outside the frame
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(100000.5, 10, 1));
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1), footprint => dtmv.footprint_box(1e6, 1, 1));
SELECT dtmv.sync_location(:'robot', 'POINT Z (1e20 1e20 1)');
SELECT dtmv.submit_capture(:floor0, ST_MakePoint(0, -1e9, 1), 'media/far.jpg');
SELECT dtmv.localize(:site, ST_MakePoint(0, 0, -2e5), 5);
SELECT dtmv.services_at(:site, ST_MakePoint(1e300, 0, 0));
SELECT ST_AsText(position), ST_Area(cell) AS cell_area FROM dtmv.twin_positions WHERE twin = :'robot';
\set VERBOSITY default
SELECT dtmv.create_twin('press', 'Press upstairs') AS press \gset
SELECT dtmv.place(:'press', :floor1, ST_MakePoint(10, 10, 5));
SELECT dtmv.create_twin('cabinet', 'Cabinet') AS cabinet \gset
SELECT dtmv.place(:'cabinet', :floor0, ST_MakePoint(11.5, 10, 1));
-- 3D: the press is 4 m above, so not within 2 m of the robot's spot; the cabinet is.
SELECT name, round(distance::numeric, 3) AS distance FROM dtmv.localize(:site, ST_MakePoint(10, 10, 1), 2);
SELECT name, round(distance::numeric, 3) AS distance FROM dtmv.localize(:site, ST_MakePoint(10, 10, 1), 5);

-- Nearest first equals a brute-force 3D sort, over 300 twins scattered on two floors.
SELECT count(dtmv.place(dtmv.create_twin('crate', 'crate ' || i),
						CASE WHEN i % 2 = 0 THEN :floor0 ELSE :floor1 END,
						ST_MakePoint(((i * 37) % 100)::float8 - 50, ((i * 53) % 80)::float8 - 40, (i % 2) * 4 + (i % 3) * 0.7)))
  FROM generate_series(1, 300) i;
-- (Distances, not ids: equal distances may come in either order.)
SELECT (SELECT array_agg(round(distance::numeric, 9) ORDER BY n)
		  FROM dtmv.localize(:site, ST_MakePoint(3, -7, 2.5), 1000, 25)
			   WITH ORDINALITY AS l(twin, name, kind, distance, service_id, n)
		 WHERE twin IS NOT NULL)
	 = (SELECT array_agg(round(d::numeric, 9) ORDER BY d) FROM (
			SELECT ST_3DDistance(t.position, ST_MakePoint(3, -7, 2.5)) AS d
			  FROM dtmv.twin_positions t WHERE t.site = :site ORDER BY 1 LIMIT 25) b) AS same_as_brute_force;
-- Rights: bob may discover only the cabinet; localize and the map show him only that.
SELECT dtmv.grant(:'cabinet', 'sp_bob', 'discover');
SET ROLE regress_sp_bob;
SELECT name FROM dtmv.localize(:site, ST_MakePoint(10, 10, 1), 5);
SELECT jsonb_array_length(dtmv.spatial_map(:site) -> 'features') AS features_bob_sees,
	   dtmv.spatial_map(:site, frame => 'local') -> 'features' -> 0 -> 'geometry' AS geometry;
-- By default the map is RFC 7946 GeoJSON: WGS84 longitude, latitude and
-- height, exactly to_wgs84's (to 1e-9 degree); the local coordinates and
-- the frame in the properties, the frame's anchor in a member of its own.
SELECT jsonb_pretty(dtmv.spatial_map(:site) - 'space' #- '{frame,srid}' #- '{features,0,id}' #- '{features,0,properties,moved_at}'
					#- '{features,0,properties,space}' #- '{features,0,properties,site}') AS map;
SELECT f -> 'geometry' = ST_AsGeoJSON(ST_SetSRID(dtmv.to_wgs84(:site, ST_MakePoint(11.5, 10, 1)), 4979), 9, 0)::jsonb AS geometry_is_to_wgs84,
	   (f -> 'properties' ->> 'site')::bigint = :site AS site, (m -> 'frame' ->> 'srid')::int = :site_srid AS srid
  FROM dtmv.spatial_map(:site) m, jsonb_array_elements(m -> 'features') f;
\set VERBOSITY terse
SELECT dtmv.spatial_map(:site, frame => 'utm');
\set VERBOSITY default
SELECT count(*) AS wgs84_positions_bob_sees FROM dtmv.twin_positions_wgs84;
SELECT count(*) AS positions_bob_sees FROM dtmv.twin_positions;
\set VERBOSITY sqlstate
SELECT dtmv.sync_location(:'cabinet', ST_MakePoint(1, 1, 1));   -- discover is not control: 42501
-- refused before the space is looked up: a stranger learns nothing of spaces
SELECT dtmv.place(:'cabinet', -1, ST_MakePoint(1, 1, 1));        -- 42501, not 42704
\set VERBOSITY default

-- Rights on a space cover the twins in it: discover on the first floor lets
-- bob see the press (and the crates up there), not the ground floor's twins.
SET ROLE regress_sp_bob;
SELECT dtmv.grant_space(:floor1, 'sp_bob', 'discover');          -- only the site's creator
SET ROLE regress_sp_alice;
SELECT dtmv.grant_space(:floor1, 'sp_bob', 'discover');
SET ROLE regress_sp_bob;
SELECT name FROM dtmv.localize(:site, ST_MakePoint(10, 10, 1), 5);
SELECT count(*) AS first_floor_twins_bob_sees FROM dtmv.twins WHERE kind IN ('press', 'crate');
SELECT dtmv.has_right(:'press', 'discover') AS press, dtmv.has_right(:'robot', 'discover') AS robot;
-- A twin moved to another floor is covered by that floor's rights.
SET ROLE regress_sp_alice;
SELECT dtmv.place(:'robot', :floor1, ST_MakePoint(10, 10, 5));
SET ROLE regress_sp_bob;
SELECT dtmv.has_right(:'robot', 'discover') AS robot_upstairs;
SET ROLE regress_sp_alice;
SELECT dtmv.place(:'robot', :floor0, ST_MakePoint(10, 10, 1));
SET ROLE regress_sp_bob;
SELECT dtmv.has_right(:'robot', 'discover') AS robot_back_downstairs;
-- A revoke on the site (above both floors) wins over the floor grant and the twin grant.
SET ROLE regress_sp_alice;
SELECT dtmv.revoke_space(:site, 'sp_bob', 'discover');
SET ROLE regress_sp_bob;
SELECT count(*) AS bob_sees_after_site_revoke FROM dtmv.localize(:site, ST_MakePoint(10, 10, 1), 50);
SET ROLE regress_sp_alice;
SELECT dtmv.clear_space_rights(:site, 'sp_bob');
SELECT dtmv.clear_space_rights(:floor1, 'sp_bob');
SET ROLE regress_sp_bob;
SELECT name FROM dtmv.localize(:site, ST_MakePoint(10, 10, 1), 5);

-- Where a twin is decides who holds rights on it through the spaces: control
-- on a twin moves it within its space, but putting it in another space takes
-- admin on the twin and control on that space (else a control holder could
-- place it in a site of its own and grant itself admin there).
SET ROLE regress_sp_alice;
SELECT dtmv.grant(:'cabinet', 'sp_bob', 'control');
SET ROLE regress_sp_bob;
SELECT dtmv.create_space('bob site', 'site', anchor_lon => 4.85, anchor_lat => 45.75) AS bob_site \gset
\set VERBOSITY sqlstate
SELECT dtmv.place(:'cabinet', :bob_site, ST_MakePoint(0, 0, 0));     -- not admin of the cabinet: 42501
\set VERBOSITY default
SELECT dtmv.place(:'cabinet', :floor0, ST_MakePoint(11.5, 10, 1)) AS moved_within_its_space;
SELECT dtmv.my_rights(:'cabinet') AS bob_cabinet;
SELECT dtmv.create_twin('lamp', 'Bob''s lamp') AS bob_lamp \gset
\set VERBOSITY sqlstate
SELECT dtmv.place(:'bob_lamp', :floor0, ST_MakePoint(1, 1, 1));     -- no control on alice's floor: 42501
\set VERBOSITY default
SELECT dtmv.place(:'bob_lamp', :bob_site, ST_MakePoint(1, 1, 1)) AS in_his_own_site;
SET ROLE regress_sp_alice;
SELECT dtmv.grant_space(:floor0, 'sp_bob', 'control');
SET ROLE regress_sp_bob;
SELECT dtmv.place(:'bob_lamp', :floor0, ST_MakePoint(1, 1, 1)) AS with_control_on_the_floor;
SET ROLE regress_sp_alice;
SELECT dtmv.revoke_space(:site, 'sp_bob', 'control');
SET ROLE regress_sp_bob;
\set VERBOSITY sqlstate
SELECT dtmv.place(:'bob_lamp', :floor1, ST_MakePoint(1, 1, 5));     -- revoked on the site: 42501
\set VERBOSITY default
-- Mapping a space takes control on it too (its captures place twins there).
\set VERBOSITY sqlstate
SELECT dtmv.submit_capture(:floor1, ST_MakePoint(2, 2, 5), 'media/bob-0001.jpg', '{BOB-LAMP-1}');  -- 42501
SELECT dtmv.build_map(:floor1);                                     -- 42501
\set VERBOSITY default
SET ROLE regress_sp_alice;
SELECT dtmv.clear_space_rights(:site, 'sp_bob'), dtmv.clear_space_rights(:floor0, 'sp_bob');
SELECT dtmv.revoke(:'cabinet', 'sp_bob', 'control');
RESET ROLE;
DELETE FROM dtmv.twin_registry WHERE id = :'bob_lamp';

-- Scenario 7.3.2: the robot moves by itself; its gateway syncs the location.
SET ROLE regress_sp_alice;
SELECT dtmv.event_horizon() AS start \gset
SET ROLE regress_sp_robot;
SELECT dtmv.confirm_binding('ROBOT-1') = :'robot' AS robot_served;
-- (y has 17 significant digits: the event carries every one of them)
SELECT dtmv.sync_location(:'robot', ST_MakePoint(10.5, 10.200000000000001, 1)) > :start AS acknowledged;
SELECT dtmv.sync_location(:'robot', ST_MakePoint(30, 12, 1)) > :start AS acknowledged;
SET ROLE regress_sp_alice;
SELECT kind, payload FROM dtmv.events_since(:start) WHERE twin = :'robot';
-- Read on the ground floor lets bob catch up the robot's moves too.
SELECT dtmv.grant_space(:floor0, 'sp_bob', 'read');
SET ROLE regress_sp_bob;
SELECT kind, payload -> 'position' AS position FROM dtmv.events_since(:start) WHERE twin = :'robot';
SET ROLE regress_sp_alice;
SELECT dtmv.clear_space_rights(:floor0, 'sp_bob');
SELECT ST_AsText(position) FROM dtmv.twin_positions WHERE twin = :'robot';
SELECT dtmv.spatial_map(:floor0, 'local') -> 'features' @> jsonb_build_array(jsonb_build_object('id', :'robot',
		'geometry', jsonb_build_object('type', 'Point', 'coordinates', '[30, 12, 1]'::jsonb))) AS map_updated;

-- Scenario 7.3.3: services covering a position, by outline and height.
RESET ROLE;
SELECT dtmv.register_system('sp maintenance co', 'third_party', 4242);
SELECT dtmv.register_service(4242, 'Robot maintenance', 'maintenance', :site,
							 ST_MakeEnvelope(0, 0, 40, 40, 0), 0, 4) AS maint \gset
SELECT dtmv.register_service(4242, 'Press training', 'training', :site,
							 ST_MakeEnvelope(0, 0, 40, 40, 0), 4, 8) AS training \gset
\set VERBOSITY terse
SELECT dtmv.register_service(4242, 'Everywhere', 'x', :site, ST_MakeEnvelope(-1e7, 0, 10, 10, 0));
SELECT dtmv.register_service(4242, 'Stratosphere', 'x', :site, ST_MakeEnvelope(0, 0, 10, 10, 0), 0, 'Infinity');
\set VERBOSITY default
-- Only subjects who may discover the space learn its services: bob, not yet.
SET ROLE regress_sp_bob;
\set VERBOSITY terse
SELECT name FROM dtmv.services_at(:site, ST_MakePoint(10, 10, 1));
\set VERBOSITY default
SET ROLE regress_sp_alice;
SELECT dtmv.grant_space(:site, 'sp_bob', 'discover');
SET ROLE regress_sp_bob;
SELECT name FROM dtmv.services_at(:site, ST_MakePoint(10, 10, 1));
SELECT name FROM dtmv.services_at(:site, ST_MakePoint(10, 10, 5));
SELECT name FROM dtmv.services_at(:site, ST_MakePoint(50, 10, 1));
SELECT name, kind, service_id IS NOT NULL AS is_service FROM dtmv.localize(:site, ST_MakePoint(11.5, 10, 1), 1);
SET ROLE regress_sp_alice;
SELECT dtmv.clear_space_rights(:site, 'sp_bob');
RESET ROLE;
CREATE ROLE regress_sp_nobody LOGIN IN ROLE dtmv_user;
SET ROLE regress_sp_nobody;
SELECT name FROM dtmv.services_at(:site, ST_MakePoint(10, 10, 1));

-- Scenario 7.3.1: a device uploads captures; building the map places the
-- known serial and creates a twin pending confirmation for the unknown one.
SET ROLE regress_sp_alice;
SELECT dtmv.submit_capture(:floor0, ST_MakePoint(20, 5, 1.5), 'media/scan-0001.jpg', '{ROBOT-1,CNC-77}') > 0 AS captured;
SELECT dtmv.submit_capture(:floor0, ST_MakePoint(20, 5), 'media/scan-0002.jpg');
SELECT dtmv.build_map(:floor0) AS twins_mapped;
SELECT dtmv.build_map(:floor0) AS nothing_new;
SELECT ST_AsText(position) FROM dtmv.twin_positions WHERE twin = :'robot';
SELECT r.kind, r.name, ST_AsText(p.position)
  FROM dtmv.twin_states s JOIN dtmv.twin_registry r ON r.id = s.twin JOIN dtmv.twin_positions p ON p.twin = s.twin
 WHERE s.physical_binding = 'CNC-77';
SELECT count(*) AS unconfirmed_on_map
  FROM jsonb_array_elements(dtmv.spatial_map(:floor0) -> 'features') f
 WHERE f -> 'properties' ->> 'kind' = 'unconfirmed';
RESET ROLE;
-- The twin made for the unknown serial is confirmed by its owner.
SET ROLE regress_sp_alice;
SELECT s.twin AS cnc FROM dtmv.twin_states s WHERE s.physical_binding = 'CNC-77' \gset
SELECT dtmv.confirm_twin(:'cnc', 'cnc_machine', 'CNC machine M2');
SELECT kind, name FROM dtmv.twins WHERE id = :'cnc';
\set VERBOSITY sqlstate
SELECT dtmv.confirm_twin(:'cnc', 'cnc_machine', 'again');   -- not pending any more: 55000
\set VERBOSITY default
RESET ROLE;

-- Wake-ups go to exactly the readers the rights test finds (sql/readers_match.inc).
\i sql/readers_match.inc

-- A revoke binds the creator of a site too (issue 14): dtmv_admin denies
-- alice control on the first floor of her own site; it then takes no twin
-- from her, until the denial is cleared.
SET ROLE regress_sp_alice;
SELECT dtmv.create_twin('crate', 'Crate') AS crate \gset
RESET ROLE;
SELECT dtmv.revoke_space(:floor1, 'sp_alice', 'control');
SET ROLE regress_sp_alice;
\set VERBOSITY sqlstate
SELECT dtmv.place(:'crate', :floor1, ST_MakePoint(1, 1, 5));
-- nor may she lift it herself, by clearing or granting over it
SELECT dtmv.clear_space_rights(:floor1, 'sp_alice');
SELECT dtmv.grant_space(:floor1, 'sp_alice', 'control');
-- and with admin revoked on her site, she manages no rights there
RESET ROLE;
SELECT dtmv.revoke_space(:site, 'sp_alice', 'admin');
SET ROLE regress_sp_alice;
SELECT dtmv.grant_space(:site, 'sp_bob', 'discover');
\set VERBOSITY default
RESET ROLE;
SELECT dtmv.clear_space_rights(:site, 'sp_alice');
SELECT dtmv.clear_space_rights(:floor1, 'sp_alice');
SET ROLE regress_sp_alice;
SELECT dtmv.place(:'crate', :floor1, ST_MakePoint(1, 1, 5));
SELECT dtmv.drop_twin(:'crate');
RESET ROLE;

-- Who reads a twin is worked out from the grants its acl can match (issue
-- 14, item 5): the system-wide grants and the grants on the spaces it is
-- in, each through an index; the grants of other spaces are not read. A
-- lamp on the ground floor, read by alice (its creator), carol through a
-- group's read on the floor, the viewer through a system-wide read, and not
-- by dave, granted read on the site but denied it on the floor.
CREATE ROLE regress_sp_carol LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sp_dave LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sp_viewer LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sp_mallory LOGIN IN ROLE dtmv_user;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('sp_carol', 'regress_sp_carol')),
	(dtmv.create_subject('sp_dave', 'regress_sp_dave')),
	(dtmv.create_subject('sp_viewer', 'regress_sp_viewer')),
	(dtmv.create_subject('sp_mallory', 'regress_sp_mallory')),
	(dtmv.create_group('sp_crew'))) s;
SELECT dtmv.add_member('sp_crew', 'sp_carol');
SELECT dtmv.grant_system('sp_viewer', 'read');
SET ROLE regress_sp_alice;
SELECT dtmv.create_twin('lamp', 'Lamp') AS lamp \gset
SELECT dtmv.place(:'lamp', :floor0, ST_MakePoint(3, 3, 1));
SELECT dtmv.grant_space(:floor0, 'sp_crew', 'read');
SELECT dtmv.grant_space(:site, 'sp_dave', 'read');
SELECT dtmv.revoke_space(:floor0, 'sp_dave', 'read');
RESET ROLE;
-- the lamp's readers, and how many grants (index entries) working them out read
CREATE TEMP VIEW grant_entries_read AS
	SELECT sum(pg_stat_get_xact_tuples_returned(i.indexrelid)) AS n
	  FROM pg_index i WHERE i.indrelid = 'dtmv.grants'::regclass;
BEGIN;
SELECT n AS entries FROM grant_entries_read \gset
SELECT dtmv_test._twin_readers(:'lamp') AS lamp_readers \gset
SELECT n - :entries AS entries_before FROM grant_entries_read \gset
COMMIT;
-- (this file's subjects; rights.sql's hold read system-wide too)
SELECT string_agg(s.name, ', ' ORDER BY s.name) AS lamp_readers
  FROM dtmv.subjects s WHERE s.subject_id = ANY (:'lamp_readers'::bigint[]) AND s.name LIKE 'sp\_%';
-- mallory makes 200 sites of her own and grants rights on each: admin to
-- herself, read to dave and to the crew; a denial of read to the viewer
SET ROLE regress_sp_mallory;
CREATE TEMP TABLE mallory_sites AS
	SELECT dtmv.create_space('mallory ' || n, 'site', anchor_lon => 0, anchor_lat => 0) AS site
	  FROM generate_series(1, 200) n;
SELECT count(dtmv.grant_space(site, 'sp_mallory', 'admin')), count(dtmv.grant_space(site, 'sp_dave', 'read')),
	   count(dtmv.grant_space(site, 'sp_crew', 'read')), count(dtmv.revoke_space(site, 'sp_viewer', 'read'))
  FROM mallory_sites;
RESET ROLE;
-- the same readers, from no more grants than before (fewer if the first
-- read stepped over dead rows of earlier grants and marked them)
BEGIN;
SELECT n AS entries FROM grant_entries_read \gset
SELECT dtmv_test._twin_readers(:'lamp') = :'lamp_readers' AS same_readers;
SELECT n - :entries <= :entries_before AS no_more_grants_read, :entries_before < 20 AS few_grants_read
  FROM grant_entries_read;
COMMIT;
-- and exactly those the rights test finds, for every twin
\i sql/readers_match.inc

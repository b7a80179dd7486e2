-- A site's frame in PostGIS's spatial_ref_sys: written only when someone who
-- controls the site publishes it, under a free SRID that dtmv keeps and
-- checks on every use; dtmv converts without it (docs/spatial.md,
-- "Publishing a site's frame").
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_fr_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_fr_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_fr_outsider LOGIN;   -- a role of the database, not a dtmv user
-- refusals, with the ids of spaces (which the tests before decide) masked
CREATE FUNCTION pg_temp.attempt(q text) RETURNS text LANGUAGE sql
	AS $$ SELECT regexp_replace(dtmv_test.attempt(q), '(space|site) [0-9]+', '\1 <id>', 'g') $$;
SELECT count(*) FROM (VALUES (dtmv.create_subject('fr_alice', 'regress_fr_alice')),
							 (dtmv.create_subject('fr_bob', 'regress_fr_bob'))) s;

-- Alice's home: its anchor is where she lives.
SET ROLE regress_fr_alice;
SELECT dtmv.create_space('fr home', 'site', anchor_lon => 2.2944813, anchor_lat => 48.8583701,
						 anchor_alt => 80, heading => 12) AS home \gset
SELECT dtmv.create_space('fr kitchen', 'room', :home) AS kitchen \gset
SELECT dtmv.create_twin('lamp', 'fr lamp') AS lamp \gset
SELECT dtmv.place(:'lamp', :kitchen, ST_MakePoint(3, 4, 1));
RESET ROLE;
-- Nothing of it outside dtmv's tables: spatial_ref_sys, which PostGIS lets
-- every role read, holds no row of it; dtmv's own tables are closed to a
-- role that is not a dtmv user.
SET ROLE regress_fr_outsider;
SELECT count(*) AS rows_with_the_anchor FROM spatial_ref_sys
 WHERE srtext LIKE '%48.8583701%' OR (auth_name = 'dtmv' AND auth_srid = :home);
SELECT pg_temp.attempt('SELECT anchor_lat FROM dtmv.spaces') AS spaces,
	   pg_temp.attempt(format('SELECT dtmv.site_crs(%s)', :home)) AS site_crs;
RESET ROLE;
-- Yet dtmv places its twins in WGS84 (to_wgs84, the view, the map), and
-- site_srid says it has no SRID.
SET ROLE regress_fr_alice;
SELECT dtmv.site_srid(:home) IS NULL AS no_srid,
	   ST_AsText(dtmv.to_wgs84(:home, ST_MakePoint(0, 0, 0)), 7) AS anchor,
	   (SELECT ST_AsText(position, 7) FROM dtmv.twin_positions_wgs84 WHERE twin = :'lamp')
		 = ST_AsText(dtmv.to_wgs84(:home, ST_MakePoint(3, 4, 1)), 7) AS view_places_it,
	   (SELECT m #> '{features,0,geometry,coordinates}' FROM dtmv.spatial_map(:home) m)
		 = ST_AsGeoJSON(dtmv.to_wgs84(:home, ST_MakePoint(3, 4, 1)), 9, 0)::jsonb -> 'coordinates' AS map_places_it,
	   dtmv.spatial_map(:home) #> '{frame,srid}' AS map_srid;

-- Publishing: the site's creator (or dtmv_admin), for a site, not a room.
SET ROLE regress_fr_bob;
SELECT pg_temp.attempt(format('SELECT dtmv.publish_site_crs(%s)', :home)) AS bob_publishes;
SET ROLE regress_fr_alice;
SELECT pg_temp.attempt(format('SELECT dtmv.publish_site_crs(%s)', :kitchen)) AS a_room;
SELECT pg_temp.attempt('SELECT dtmv.publish_site_crs(-1)') AS no_such_space;
-- Another writer of spatial_ref_sys took the lowest free SRID from 910000
-- first: the frame gets the next free one.
RESET ROLE;
SELECT min(c) AS taken FROM generate_series(910000, 998999) c
 WHERE NOT EXISTS (SELECT 1 FROM spatial_ref_sys r WHERE r.srid = c) \gset
INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext) VALUES (:taken, 'squatter', 1, 'GEOGCRS["squatter"]');
SET ROLE regress_fr_alice;
SELECT dtmv.publish_site_crs(:home) AS home_srid \gset
SELECT :home_srid > :taken AS a_free_srid, dtmv.site_srid(:kitchen) = :home_srid AS site_srid,
	   auth_name, auth_srid = :home AS auth_srid_is_the_site, srtext = dtmv.site_crs(:home) AS srtext_is_site_crs,
	   proj4text IS NULL AS no_proj4text
  FROM spatial_ref_sys WHERE srid = :home_srid;
SELECT dtmv.publish_site_crs(:home) = :home_srid AS publishing_again_keeps_it;
-- Now every role reads the anchor: that is what publishing means.
SET ROLE regress_fr_outsider;
SELECT count(*) AS rows_with_the_anchor FROM spatial_ref_sys WHERE srtext LIKE '%48.8583701%';
-- GIS tools place local geometry by the SRID, where dtmv does.
SET ROLE regress_fr_alice;
SELECT ST_AsText(ST_Transform(ST_SetSRID(ST_MakePoint(3, 4, 1), :home_srid), 4979), 9)
	   = ST_AsText(dtmv.to_wgs84(:home, ST_MakePoint(3, 4, 1)), 9) AS st_transform_places_it;

-- The row is checked on every use: changed by another writer, the site has
-- no SRID until it is published again (under the same SRID, still free).
RESET ROLE;
UPDATE spatial_ref_sys SET srtext = replace(srtext, '48.8583701', '48.9') WHERE srid = :home_srid;
SELECT dtmv.site_srid(:home) IS NULL AS not_its_frame;
SET ROLE regress_fr_alice;
SELECT dtmv.publish_site_crs(:home) = :home_srid AS published_again_there;
SELECT dtmv.site_srid(:home) = :home_srid AS site_srid;
-- taken over by another writer (another authority), the SRID is no longer
-- the site's; published again, the frame gets another one
RESET ROLE;
UPDATE spatial_ref_sys SET auth_name = 'mine' WHERE srid = :home_srid;
SELECT dtmv.site_srid(:home) IS NULL AS not_its_row;
SET ROLE regress_fr_alice;
SELECT dtmv.publish_site_crs(:home) AS new_srid \gset
SELECT :new_srid <> :home_srid AS another_srid, dtmv.site_srid(:home) = :new_srid AS site_srid,
	   (SELECT auth_name FROM spatial_ref_sys WHERE srid = :home_srid) AS old_row_left_to_its_writer;
RESET ROLE;
DELETE FROM spatial_ref_sys WHERE srid IN (:taken, :home_srid);

-- The site re-anchored (no function of dtmv does it; the owner of its tables
-- can): the published row follows, and so does every conversion, in a
-- backend that had converted through the old anchor too.
SET ROLE regress_fr_alice;
SELECT ST_AsText(dtmv.to_wgs84(:home, ST_MakePoint(100, 0, 0)), 9) AS before_move \gset
RESET ROLE;
UPDATE dtmv.spaces SET heading = 13, anchor_alt = 81 WHERE space_id = :home;
SET ROLE regress_fr_alice;
SELECT ST_AsText(dtmv.to_wgs84(:home, ST_MakePoint(100, 0, 0)), 9) <> :'before_move' AS moved,
	   ST_AsText(dtmv.to_wgs84(:home, ST_MakePoint(100, 0, 0)), 9)
	   = ST_AsText(ST_Transform(ST_SetSRID(ST_MakePoint(100, 0, 0), :new_srid), 4979), 9) AS as_st_transform,
	   dtmv.site_srid(:home) = :new_srid AS same_srid,
	   (SELECT srtext FROM spatial_ref_sys WHERE srid = :new_srid) = dtmv.site_crs(:home) AS row_follows,
	   dtmv.site_crs(:home) LIKE '%+zoff=-81"%' AS new_height;

-- Unpublishing: the row goes (only the site's own), site_srid is NULL.
SET ROLE regress_fr_bob;
SELECT pg_temp.attempt(format('SELECT dtmv.unpublish_site_crs(%s)', :home)) AS bob_unpublishes;
SET ROLE regress_fr_alice;
SELECT dtmv.unpublish_site_crs(:home) AS was_published;
SELECT dtmv.unpublish_site_crs(:home) AS again, dtmv.site_srid(:home) IS NULL AS no_srid,
	   (SELECT count(*) FROM spatial_ref_sys WHERE srid = :new_srid OR srtext LIKE '%48.8583701%') AS rows_left;
-- A deleted site takes its published frame with it.
SELECT dtmv.create_space('fr shed', 'site', anchor_lon => 2.3, anchor_lat => 48.86) AS shed \gset
SELECT dtmv.publish_site_crs(:shed) AS shed_srid \gset
RESET ROLE;
DELETE FROM dtmv.spaces WHERE space_id = :shed;
SELECT count(*) AS shed_rows_left FROM spatial_ref_sys WHERE srid = :shed_srid;

-- No SRID free: 54000, nothing written.
BEGIN;
INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext)
	SELECT c, 'filler', c, 'x' FROM generate_series(910000, 998999) c
	 WHERE NOT EXISTS (SELECT 1 FROM spatial_ref_sys r WHERE r.srid = c);
SET LOCAL ROLE regress_fr_alice;
SELECT pg_temp.attempt(format('SELECT dtmv.publish_site_crs(%s)', :home)) AS none_free;
ROLLBACK;

-- A site of 0.1 with no frame (an infinite heading; the owner of the tables
-- sets one here) and a position 0.1 stored far outside today's frame:
-- to_wgs84 and publishing refuse with 22023; the view and the map leave the
-- twin without WGS84 geometry (NULL), the others' still there, no XX000.
SET ROLE regress_fr_alice;
SELECT dtmv.create_twin('lamp', 'fr far lamp') AS far_lamp \gset
SELECT dtmv.place(:'far_lamp', :kitchen, ST_MakePoint(5, 5, 1));
RESET ROLE;
UPDATE dtmv.twin_positions SET position = 'POINT Z (1e20 0 0)' WHERE twin = :'far_lamp';
SET ROLE regress_fr_alice;
SELECT name, position IS NULL AS no_position, footprint IS NULL AS no_footprint, local_x
  FROM dtmv.twin_positions_wgs84 WHERE site = :home ORDER BY name;
SELECT f #>> '{properties,name}' AS name, f -> 'geometry' AS geometry, f #>> '{properties,local_x}' AS local_x
  FROM jsonb_array_elements(dtmv.spatial_map(:home) -> 'features') f ORDER BY 1;
RESET ROLE;
UPDATE dtmv.spaces SET heading = 'Infinity' WHERE space_id = :home;
SET ROLE regress_fr_alice;
SELECT count(*) AS twins, count(position) AS with_wgs84_position FROM dtmv.twin_positions_wgs84 WHERE site = :home;
SELECT jsonb_agg(f -> 'geometry') AS geometries FROM jsonb_array_elements(dtmv.spatial_map(:home) -> 'features') f;
SELECT pg_temp.attempt(format('SELECT dtmv.to_wgs84(%s, ST_MakePoint(1, 1, 1))', :home)) AS to_wgs84;
SELECT pg_temp.attempt(format('SELECT dtmv.to_local(%s, ST_SetSRID(ST_MakePoint(2.3, 48.86, 80), 4326))', :home)) AS to_local;
SELECT pg_temp.attempt(format('SELECT dtmv.publish_site_crs(%s)', :home)) AS publish;
SELECT dtmv.site_srid(:home) IS NULL AS no_srid;

-- Site ids past 88999 (910000 + id would pass PostGIS's last SRID, 998999)
-- publish as well: the SRID is the lowest free one, not derived from the id.
RESET ROLE;
SELECT last_value AS seq_last, is_called AS seq_called FROM dtmv.spaces_space_id_seq \gset
SELECT setval('dtmv.spaces_space_id_seq', 100000);
SET ROLE regress_fr_alice;
SELECT dtmv.create_space('fr far site', 'site', anchor_lon => 2.3, anchor_lat => 48.86) AS far_site \gset
SELECT :far_site > 100000 AS a_high_id, dtmv.publish_site_crs(:far_site) BETWEEN 910000 AND 998999 AS published;
SELECT dtmv.site_srid(:far_site) IS NOT NULL AS site_srid;
SELECT dtmv.unpublish_site_crs(:far_site) AS unpublished;
RESET ROLE;
SELECT setval('dtmv.spaces_space_id_seq', :seq_last, :'seq_called'::boolean) > 0 AS sequence_restored;

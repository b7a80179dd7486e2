-- The sites whose frame is published in PostGIS's spatial_ref_sys, and the
-- SRID each got (docs/spatial.md, "Publishing a site's frame").
--
-- spatial_ref_sys is readable by every role of the database, and its rows
-- are dumped with PostGIS's and outlive DROP EXTENSION dtmv: a frame's WKT
-- holds the site's anchor, for a home its position. So dtmv converts
-- without it (src/frames.c) and writes a site's frame there only when
-- someone who controls the site asks (dtmv.publish_site_crs). The SRID is
-- the lowest free one from 910000 up, found when it is published and kept
-- here; dtmv.site_srid checks on every use that the row is still the
-- site's own (auth_name 'dtmv', auth_srid the site, srtext its frame).
-- (New in 0.2, it runs after every run-once file of 0.1, 95_commerce.sql
-- the last, as the update from 0.1 runs it: the extension's list of dumped
-- tables is then in the same order either way.)
CREATE TABLE dtmv.published_frames (
	site bigint PRIMARY KEY REFERENCES dtmv.spaces ON DELETE CASCADE,
	srid integer NOT NULL UNIQUE CHECK (srid BETWEEN 910000 AND 998999),
	published_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	published_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE dtmv.published_frames IS
	'the sites whose frame (and so anchor) is published in spatial_ref_sys, readable there by every role, with the SRID each holds';
ALTER TABLE dtmv.published_frames ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.published_frames', '');

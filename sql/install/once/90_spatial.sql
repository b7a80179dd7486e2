-- Spatial: sites with a local 3D frame, twins placed in them, location
-- synchronisation, localization, 3rd-party service coverage, captures and
-- the 3D spatial map (scenarios 7.3.1, 7.3.2, 7.3.3; REQ-MV-04, REQ-MV-05).
-- See docs/spatial.md.
--
-- Geometry is PostGIS geometry with SRID 0 in the site's local frame:
-- metres, x east and y north of the site's own axes, z up. A site is
-- anchored to WGS84 by a point (longitude, latitude, altitude) and a heading
-- (degrees clockwise from true north to the site's +y axis).

CREATE TABLE dtmv.spaces (
	space_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL CHECK (name <> ''),
	kind text NOT NULL CHECK (kind IN ('site', 'floor', 'room', 'area')),
	parent bigint REFERENCES dtmv.spaces ON DELETE CASCADE,
	site bigint NOT NULL,
	anchor_lon double precision,
	anchor_lat double precision,
	anchor_alt double precision,
	heading double precision NOT NULL DEFAULT 0,
	z_min double precision,
	z_max double precision,
	outline geometry(Polygon, 0),
	created_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK ((kind = 'site') = (parent IS NULL)),
	-- (the bounds are quoted, so that they take the columns' type: the
	-- operator is float8's own, not one for double precision and integer
	-- that the database owner may have put in public; likewise below)
	CHECK (kind <> 'site' OR (anchor_lon BETWEEN '-180' AND '180' AND anchor_lat BETWEEN '-85' AND '85'
							  AND anchor_alt IS NOT NULL)),
	CHECK (z_min IS NULL OR z_max IS NULL OR z_min < z_max)
);
CREATE INDEX spaces_parent ON dtmv.spaces (parent);
COMMENT ON TABLE dtmv.spaces IS
	'sites (a factory, a home) with a local frame anchored to WGS84, and their floors, rooms and areas';
COMMENT ON COLUMN dtmv.spaces.site IS 'the site whose local frame the space and its twins use (itself for a site)';

-- Where twins are. The exact position is not indexed; the index holds a
-- coarse cell (the 2 m grid square around it), which changes only when the
-- twin crosses into another square: most moves are HOT updates that touch
-- no index. Nearest-neighbour search walks the cells in 2D distance order,
-- which is a lower bound of the 3D distance, and stops once it exceeds the
-- k-th best exact 3D distance.
CREATE TABLE dtmv.twin_positions (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	site bigint NOT NULL REFERENCES dtmv.spaces ON DELETE CASCADE,
	space bigint NOT NULL REFERENCES dtmv.spaces ON DELETE CASCADE,
	position geometry(PointZ, 0) NOT NULL,
	cell geometry(Polygon, 0) NOT NULL,
	orientation double precision[],
	footprint geometry,
	moved_at timestamptz NOT NULL DEFAULT pg_catalog.now()
) WITH (fillfactor = 70);
CREATE INDEX twin_positions_cell ON dtmv.twin_positions USING gist (site, cell);
COMMENT ON TABLE dtmv.twin_positions IS
	'where each placed twin is: exact PointZ (not indexed) and a coarse 2 m cell (indexed) in its site''s frame';

-- Services of 3rd-party systems, with a coverage area in a site: an outline
-- and a height range (REQ-MV-05).
CREATE TABLE dtmv.services (
	service_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	system_no integer NOT NULL REFERENCES dtmv.systems,
	name text NOT NULL CHECK (name <> ''),
	kind text NOT NULL,
	description text,
	site bigint REFERENCES dtmv.spaces ON DELETE CASCADE,
	area geometry(Polygon, 0),
	z_min double precision,
	z_max double precision,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK ((site IS NULL) = (area IS NULL)),
	CHECK (z_min IS NULL OR z_max IS NULL OR z_min < z_max)
);
CREATE INDEX services_area ON dtmv.services USING gist (site, area);
COMMENT ON TABLE dtmv.services IS
	'services offered by 3rd-party systems, optionally covering an area of a site between two heights (REQ-MV-05..07)';

-- Captures from devices (scenario 7.3.1) and the map built from them.
CREATE TABLE dtmv.captures (
	capture_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	space bigint NOT NULL REFERENCES dtmv.spaces ON DELETE CASCADE,
	device_position geometry(PointZ, 0) NOT NULL,
	orientation double precision[],
	media_uri text NOT NULL,
	serials text[] NOT NULL DEFAULT '{}',
	submitted_by bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	submitted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	processed_at timestamptz
);
CREATE INDEX captures_unprocessed ON dtmv.captures (space, capture_id) WHERE processed_at IS NULL;
COMMENT ON TABLE dtmv.captures IS
	'what devices upload to build a spatial map: media, the device''s position and orientation, serial numbers seen (scenario 7.3.1)';
ALTER TABLE dtmv.spaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.services ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.twin_positions ENABLE ROW LEVEL SECURITY;
ALTER TABLE dtmv.captures ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('dtmv.spaces', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.spaces_space_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.twin_positions', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.services', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.services_service_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.captures', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.captures_capture_id_seq', '');

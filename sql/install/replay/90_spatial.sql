-- Spatial: sites with a local 3D frame, twins placed in them, location
-- synchronisation, localization, 3rd-party service coverage, captures and
-- the 3D spatial map (scenarios 7.3.1, 7.3.2, 7.3.3; REQ-MV-04, REQ-MV-05).
-- See docs/spatial.md.
--
-- Geometry is PostGIS geometry with SRID 0 in the site's local frame:
-- metres, x east and y north of the site's own axes, z up. A site is
-- anchored to WGS84 by a point (longitude, latitude, altitude) and a heading
-- (degrees clockwise from true north to the site's +y axis).
--
-- PostGIS is named with its schema, written @postgis@ (PostgreSQL 15 has no
-- @extschema:postgis@): the install and update scripts run this file through
-- a DO block that puts in the schema PostGIS is installed in
-- (sql/install/replay.sh). No function here searches that schema: it is
-- public as often as not, which the database owner may write (docs/rights.md,
-- "No path to superuser"). So every PostGIS type, function and operator is
-- named with @postgis@ and called with arguments of exactly its parameters'
-- types (0::float8, not 0), since an overload planted beside it that matched
-- the call better would be the one called.

-- In C (src/geometry.c): it checks every position given to dtmv, on the
-- location update path too.
CREATE OR REPLACE FUNCTION dtmv._require_point3d(pos @postgis@.geometry, what text DEFAULT 'position') RETURNS @postgis@.geometry
	AS 'MODULE_PATHNAME', 'dtmv_require_point3d' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._require_point3d(@postgis@.geometry, text) IS
	'internal: the position if it is a finite PointZ (no M) in a local frame (SRID 0); 22023 otherwise (22004 for NULL)';

CREATE OR REPLACE FUNCTION dtmv.create_space(name text, kind text, parent bigint DEFAULT NULL,
								  anchor_lon double precision DEFAULT NULL, anchor_lat double precision DEFAULT NULL,
								  anchor_alt double precision DEFAULT 0, heading double precision DEFAULT 0,
								  z_min double precision DEFAULT NULL, z_max double precision DEFAULT NULL,
								  outline @postgis@.geometry DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	root bigint;
	id bigint;
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'create spaces');
	IF create_space.parent IS NOT NULL THEN
		SELECT s.site INTO root FROM dtmv.spaces s WHERE s.space_id = create_space.parent;
		IF root IS NULL THEN
			RAISE EXCEPTION 'space % does not exist', parent USING ERRCODE = 'undefined_object';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM dtmv.spaces s WHERE s.space_id = create_space.parent AND s.created_by = me)
		   AND NOT dtmv._outer_has_role('dtmv_admin') THEN
			RAISE EXCEPTION 'permission denied: only the creator of space % may add spaces to it', parent
				USING ERRCODE = 'insufficient_privilege';
		END IF;
	END IF;
	IF outline IS NOT NULL AND (@postgis@.ST_SRID(outline) <> 0 OR @postgis@.GeometryType(outline) <> 'POLYGON') THEN
		RAISE EXCEPTION 'an outline is a polygon in the site''s local frame (SRID 0)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM dtmv._require_in_frame(outline, 'space''s outline'), dtmv._require_heights_in_frame(z_min, z_max);
	IF create_space.parent IS NULL AND NOT (abs(heading) < 'Infinity' AND abs(anchor_alt) <= dtmv._frame_extent()) THEN
		RAISE EXCEPTION 'a site''s heading is finite degrees and its anchor_alt metres between % and %, not heading %, anchor_alt %',
			-dtmv._frame_extent(), dtmv._frame_extent(), heading, anchor_alt
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO dtmv.spaces (name, kind, parent, site, anchor_lon, anchor_lat, anchor_alt, heading,
							 z_min, z_max, outline, created_by)
	VALUES (create_space.name, create_space.kind, create_space.parent, coalesce(root, 0),
			CASE WHEN create_space.parent IS NULL THEN create_space.anchor_lon END,
			CASE WHEN create_space.parent IS NULL THEN create_space.anchor_lat END,
			CASE WHEN create_space.parent IS NULL THEN create_space.anchor_alt END,
			coalesce(create_space.heading, 0), create_space.z_min, create_space.z_max,
			@postgis@.ST_Force2D(create_space.outline), me)
	RETURNING space_id INTO id;
	IF create_space.parent IS NULL THEN
		UPDATE dtmv.spaces s SET site = id WHERE s.space_id = id;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.create_space(text, text, bigint, double precision, double precision, double precision,
									  double precision, double precision, double precision, @postgis@.geometry) IS
	'a site (anchored to WGS84 by a point and a heading) or a floor, room or area inside one (with a height range and outline)';

-- A space and every space above it, up to its site.
CREATE OR REPLACE FUNCTION dtmv._space_ancestry(space bigint) RETURNS TABLE (space_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	WITH RECURSIVE up(id) AS (
		SELECT s.space_id FROM dtmv.spaces s WHERE s.space_id = _space_ancestry.space
		UNION
		SELECT s.parent FROM dtmv.spaces s JOIN up ON s.space_id = up.id WHERE s.parent IS NOT NULL
	)
	SELECT id FROM up
$$;
COMMENT ON FUNCTION dtmv._space_ancestry(bigint) IS 'internal: a space and all spaces above it';

CREATE OR REPLACE FUNCTION dtmv._require_space_owner(space bigint) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	-- The creator manages rights while she holds admin there: a revoke binds
	-- her too (_space_right), of admin or of what implies it.
	IF NOT (EXISTS (SELECT 1 FROM dtmv.spaces s JOIN dtmv.spaces site ON site.space_id = s.site
					 WHERE s.space_id = _require_space_owner.space AND site.created_by = dtmv.current_subject())
			AND dtmv._space_right(space, 5))
	   AND NOT dtmv._outer_has_role('dtmv_admin') THEN
		RAISE EXCEPTION 'permission denied: only the creator of the site of space % manages rights on it', space
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_space_owner(bigint) IS 'internal: 42501 unless the acting subject created the space''s site and holds admin there (not revoked), or is dtmv_admin';

-- A revoke on a space that applies to the caller (to her or to a group of
-- hers) is lifted only by dtmv_admin: a site's creator would otherwise
-- clear, or grant over, a denial meant for her.
CREATE OR REPLACE FUNCTION dtmv._require_not_own_revoke(space bigint, subject text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT dtmv._outer_has_role('dtmv_admin')
	   AND EXISTS (SELECT 1 FROM dtmv.grants g
				    WHERE g.space_id = _require_not_own_revoke.space AND g.revoked <> 0
					  AND g.subject_id = dtmv._subject_id(subject)
					  AND g.subject_id = ANY (dtmv.current_subjects())) THEN
		RAISE EXCEPTION 'permission denied: a revoke on space % that applies to you is lifted only by dtmv_admin', space
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_not_own_revoke(bigint, text) IS
	'internal: 42501 if the subject is the acting one or a group of it and holds a revoke on the space, unless dtmv_admin';

CREATE OR REPLACE FUNCTION dtmv.grant_space(space bigint, subject text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_space_owner(space);
	PERFORM dtmv._require_not_own_revoke(space, subject);
	PERFORM dtmv._change_rights(subject, rights, false, space => space);
END
$$;
COMMENT ON FUNCTION dtmv.grant_space(bigint, text, text) IS
	'grant rights on every twin placed in a space or below it; for the creator of its site or dtmv_admin (REQ-DT-05)';

CREATE OR REPLACE FUNCTION dtmv.revoke_space(space bigint, subject text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_space_owner(space);
	PERFORM dtmv._change_rights(subject, rights, true, space => space);
END
$$;
COMMENT ON FUNCTION dtmv.revoke_space(bigint, text, text) IS
	'deny rights on every twin in a space or below it, winning over any grant; for the creator of its site or dtmv_admin';

CREATE OR REPLACE FUNCTION dtmv.clear_space_rights(space bigint, subject text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_space_owner(space);
	PERFORM dtmv._require_not_own_revoke(space, subject);
	PERFORM dtmv._clear_rights(dtmv._subject_id(subject), NULL, space);
END
$$;
COMMENT ON FUNCTION dtmv.clear_space_rights(bigint, text) IS
	'forget every grant and revoke of a subject on a space; for the creator of its site or dtmv_admin';

-- A subject refuses grants on a space as on a twin (dtmv.refuse_grants):
-- it holds no right on what is in the space until it accepts again. A
-- grant racing with it meets it on the grant's row (dtmv._set_rights).
CREATE OR REPLACE FUNCTION dtmv.refuse_space_grants(space bigint) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF (SELECT x.created_by FROM dtmv.spaces x WHERE x.space_id = dtmv._site_of(space))	-- 42704 if no such space
	   IS NOT DISTINCT FROM dtmv.current_subject() THEN
		RAISE EXCEPTION 'a subject does not refuse grants on a space of a site it created'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Refusing denies the subject every right in the space, as the site''s creator too.';
	END IF;
	PERFORM dtmv._set_refusal(NULL, space, true);
END
$$;
COMMENT ON FUNCTION dtmv.refuse_space_grants(bigint) IS
	'the acting subject refuses grants on a space: it holds no right on what is in it (grants to its groups, above or system-wide included) and later grants to it there fail with 42501, until dtmv.accept_space_grants; revokes stay; 42704 if there is no such space';

CREATE OR REPLACE FUNCTION dtmv.accept_space_grants(space bigint) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._site_of(space);	-- 42704 if there is no such space
	PERFORM dtmv._set_refusal(NULL, space, false);
END
$$;
COMMENT ON FUNCTION dtmv.accept_space_grants(bigint) IS
	'the acting subject accepts grants on a space again, after dtmv.refuse_space_grants';

-- May the acting subject exercise right number r (rights.h: 0 discover .. 5 admin) on
-- what is in a space? The same test as for a twin, on the keys a twin placed
-- there would carry: r granted on the space or a space above it or
-- system-wide, or the creator of its site; and, for the creator too, not
-- revoked at any of those places (a revoke wins over any grant).
CREATE OR REPLACE FUNCTION dtmv._space_right(space bigint, r integer, subjects bigint[] DEFAULT NULL) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	subs bigint[] := coalesce(subjects, dtmv.current_subjects());	-- another subject and its groups, or the acting one
	keys bigint[];
	probe bigint[];
	veto bigint[];
BEGIN
	keys := ARRAY(SELECT k::bigint FROM generate_series(0, 5) k)
			|| ARRAY(SELECT dtmv._acl_space_key(a.space_id, k) FROM dtmv._space_ancestry(space) a, generate_series(0, 5) k);
	-- the acting subject's keys are limited to what a service acting for it was delegated
	SELECT k.probe, k.veto INTO probe, veto
	  FROM (SELECT * FROM dtmv._keys_for(subjects) WHERE subjects IS NOT NULL
			UNION ALL SELECT * FROM dtmv._acting_keys() WHERE subjects IS NULL) k
	 WHERE k.r = _space_right.r;
	-- Denied at the space or above it (a veto key), or system-wide (no probe
	-- key at all): for everyone, the site's creator too.
	IF veto IS NULL OR keys && veto OR pg_catalog.cardinality(probe) = 0 THEN
		RETURN false;
	END IF;
	RETURN keys && probe
		OR EXISTS (SELECT 1 FROM dtmv.spaces s JOIN dtmv.spaces site ON site.space_id = s.site
					WHERE s.space_id = _space_right.space AND site.created_by = ANY (subs));
END
$$;
COMMENT ON FUNCTION dtmv._space_right(bigint, integer, bigint[]) IS
	'internal: whether the acting subject (or the given subjects) holds right number r on what is in a space (r on it, above it or system-wide, or its site''s creator; in either case not revoked there)';

-- 42501 unless the acting subject may control what is in a space (or is
-- dtmv_admin): to place twins in it, to map it, to have things delivered there.
CREATE OR REPLACE FUNCTION dtmv._require_space_control(space bigint, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT dtmv._space_right(space, 4) AND NOT dtmv._outer_has_role('dtmv_admin') THEN
		RAISE EXCEPTION 'permission denied: control on space % is required to % it', space, what
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'The creator of its site grants it with dtmv.grant_space.';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_space_control(bigint, text) IS
	'internal: 42501 unless the acting subject holds control on what is in a space, or is dtmv_admin';

-- The site of a space (itself for a site); 42704 if there is no such space.
CREATE OR REPLACE FUNCTION dtmv._site_of(space bigint) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	site bigint;
BEGIN
	SELECT x.site INTO site FROM dtmv.spaces x WHERE x.space_id = _site_of.space;
	IF site IS NULL THEN
		RAISE EXCEPTION 'space % does not exist', space USING ERRCODE = 'undefined_object';
	END IF;
	RETURN site;
END
$$;
COMMENT ON FUNCTION dtmv._site_of(bigint) IS 'internal: the site of a space; 42704 if the space does not exist';

-- How far a site's frame reaches (src/geometry.h: GEOMETRY_FRAME_EXTENT):
-- every local coordinate lies within this many metres of the anchor.
CREATE OR REPLACE FUNCTION dtmv._frame_extent() RETURNS double precision
	AS 'MODULE_PATHNAME', 'dtmv_frame_extent' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._frame_extent() IS 'internal: how far a site''s local frame reaches from its anchor, in metres, along each axis';

-- 22023: what was given (a geometry or heights) lies outside the site's
-- frame, as src/geometry.c says it of a point.
CREATE OR REPLACE FUNCTION dtmv._outside_frame(what text, given text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'a % is outside the site''s frame: %', what, given
		USING ERRCODE = 'invalid_parameter_value',
			  DETAIL = format('Local coordinates are metres from the site''s anchor, each between %s and %s.',
							  -dtmv._frame_extent(), dtmv._frame_extent());
END
$$;
COMMENT ON FUNCTION dtmv._outside_frame(text, text) IS 'internal: 22023, a value outside the reach of a site''s frame';

-- What a point gets from _require_point3d, for the other local geometries
-- (an outline, a service area, a footprint): finite coordinates within the
-- frame's extent.
CREATE OR REPLACE FUNCTION dtmv._require_in_frame(g @postgis@.geometry, what text) RETURNS @postgis@.geometry
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	b @postgis@.box3d := g::@postgis@.box3d;
BEGIN
	-- (NaN is greater than every number: refused too)
	IF NOT greatest(abs(@postgis@.ST_XMin(b)), abs(@postgis@.ST_XMax(b)), abs(@postgis@.ST_YMin(b)),
					abs(@postgis@.ST_YMax(b)), abs(@postgis@.ST_ZMin(b)), abs(@postgis@.ST_ZMax(b))) <= dtmv._frame_extent() THEN
		PERFORM dtmv._outside_frame(what, @postgis@.ST_AsText(g));
	END IF;
	RETURN g;
END
$$;
COMMENT ON FUNCTION dtmv._require_in_frame(@postgis@.geometry, text) IS
	'internal: the local geometry if its coordinates are finite and within the frame''s extent of the anchor; 22023 otherwise';

-- The height range of a space or a service, likewise (either may be NULL).
CREATE OR REPLACE FUNCTION dtmv._require_heights_in_frame(z_min double precision, z_max double precision) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT greatest(abs(coalesce(z_min, 0)), abs(coalesce(z_max, 0))) <= dtmv._frame_extent() THEN
		PERFORM dtmv._outside_frame('height range', format('z_min %s, z_max %s', z_min, z_max));
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_heights_in_frame(double precision, double precision) IS
	'internal: 22023 unless a height range (z_min, z_max, either NULL) is finite and within the frame''s extent';

-- A site's local frame as a coordinate reference system, in WKT2 (ISO
-- 19162:2019) as PROJ reads it: a projected CRS derived from a transverse
-- Mercator projection of WGS84 centred on the anchor with scale 1 (metres
-- near the site are metres on the ground), its axes turned by the heading
-- and its heights counted from the anchor's. The deriving conversion is a
-- PROJ affine map (no EPSG method turns the axes and shifts heights in
-- one): x = E cos h - N sin h, y = E sin h + N cos h, z = height - anchor_alt.
-- Written in C (src/frames.c), the one definition that to_wgs84, to_local,
-- spatial_map and twin_positions_wgs84 convert through, with PROJ, cached
-- per backend, without spatial_ref_sys (docs/spatial.md, "Frames").
CREATE OR REPLACE FUNCTION dtmv._frame_crs(site bigint, anchor_lon double precision, anchor_lat double precision,
										   anchor_alt double precision, heading double precision) RETURNS text
	AS 'MODULE_PATHNAME', 'dtmv_frame_crs' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._frame_crs(bigint, double precision, double precision, double precision, double precision) IS
	'internal: the WKT2 of the frame of a site with this anchor and heading; 22023 if they make no frame (a site of 0.1 with an infinite heading or a NaN anchor_alt)';

-- Geometry converted between a site's frame and WGS84 3D through that
-- definition: local geometry (SRID 0, any type) to SRID 4979 (longitude,
-- latitude, height above the ellipsoid), or, to_wgs84 false, WGS84 geometry
-- (SRID 4326 or 4979, with heights) to local (SRID 0). NULL when the site
-- has no frame, or a coordinate is not finite or lies outside the frame's
-- reach (a position stored by 0.1 may: twin_positions_wgs84 and
-- spatial_map leave it without WGS84 geometry rather than fail).
CREATE OR REPLACE FUNCTION dtmv._frame_convert(g @postgis@.geometry, site bigint, anchor_lon double precision,
											   anchor_lat double precision, anchor_alt double precision,
											   heading double precision, to_wgs84 boolean) RETURNS @postgis@.geometry
	AS 'MODULE_PATHNAME', 'dtmv_frame_convert' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._frame_convert(@postgis@.geometry, bigint, double precision, double precision, double precision,
										double precision, boolean) IS
	'internal: geometry of a site''s frame (SRID 0) in WGS84 3D (SRID 4979), or back; NULL outside the frame or for a site without one';

CREATE OR REPLACE FUNCTION dtmv.site_crs(space bigint) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT dtmv._frame_crs(x.space_id, x.anchor_lon, x.anchor_lat, x.anchor_alt, x.heading)
	  FROM dtmv.spaces x WHERE x.space_id = dtmv._site_of(site_crs.space)
$$;
COMMENT ON FUNCTION dtmv.site_crs(bigint) IS
	'the local frame of a space''s site as a coordinate reference system (WKT2, as PROJ reads it): what GDAL''s -a_srs and QGIS''s custom CRS take to place local coordinates';

-- Publishing a site's frame: its row in PostGIS's spatial_ref_sys, so that
-- ST_Transform, GDAL and QGIS place local geometry by an SRID. That table
-- is readable by every role of the database and dumped with PostGIS's rows,
-- and the WKT holds the anchor (for a home, where it is): nothing is
-- written there unless someone who controls the site asks. The row is
-- written by this function alone, with numbers of the site only (its id,
-- its frame's WKT from _frame_crs), into the table named with PostGIS's
-- schema; true if the SRID is the site's now, false if another row holds it.
CREATE OR REPLACE FUNCTION dtmv._write_frame_row(site bigint, srid integer) RETURNS boolean
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	INSERT INTO @postgis@.spatial_ref_sys AS r (srid, auth_name, auth_srid, srtext, proj4text)
	SELECT _write_frame_row.srid, 'dtmv', x.space_id::integer,
		   dtmv._frame_crs(x.space_id, x.anchor_lon, x.anchor_lat, x.anchor_alt, x.heading), NULL
	  FROM dtmv.spaces x WHERE x.space_id = _write_frame_row.site AND x.kind = 'site'
	ON CONFLICT (srid) DO UPDATE SET srtext = excluded.srtext, proj4text = NULL
		WHERE r.auth_name = 'dtmv' AND r.auth_srid = excluded.auth_srid
	RETURNING true
$$;
COMMENT ON FUNCTION dtmv._write_frame_row(bigint, integer) IS
	'internal: write (or bring up to date) a site''s frame in spatial_ref_sys under this SRID; false if another row holds it';

CREATE OR REPLACE FUNCTION dtmv.publish_site_crs(site bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	s record;
	id integer;
BEGIN
	PERFORM dtmv._require_not_acting('publish a site''s frame');
	-- (locked: one publish or unpublish of a site at a time)
	SELECT x.space_id, x.kind INTO s FROM dtmv.spaces x WHERE x.space_id = publish_site_crs.site FOR NO KEY UPDATE;
	IF s.space_id IS NULL THEN
		RAISE EXCEPTION 'space % does not exist', site USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM dtmv._require_space_owner(s.space_id);
	IF s.kind <> 'site' THEN
		RAISE EXCEPTION 'space % is a %, not a site: a frame is its site''s', site, s.kind
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Publish its site, %s.', dtmv._site_of(s.space_id));
	END IF;
	-- (22023 for a site without a frame, before anything is written)
	PERFORM dtmv.site_crs(s.space_id);
	-- the SRID it holds, or had: still its own, or free again
	SELECT p.srid INTO id FROM dtmv.published_frames p WHERE p.site = s.space_id;
	IF id IS NULL OR NOT coalesce(dtmv._write_frame_row(s.space_id, id), false) THEN
		id := NULL;
		-- the lowest free SRID from 910000 up (PostGIS ships none there but
		-- 900913 below, and takes SRIDs up to 998999); taken meanwhile by
		-- another transaction's row, the next
		FOR id IN SELECT c.srid FROM pg_catalog.generate_series(910000, 998999) c(srid)
				   WHERE NOT EXISTS (SELECT 1 FROM @postgis@.spatial_ref_sys r WHERE r.srid = c.srid)
					 AND NOT EXISTS (SELECT 1 FROM dtmv.published_frames p WHERE p.srid = c.srid) LOOP
			EXIT WHEN coalesce(dtmv._write_frame_row(s.space_id, id), false);
			id := NULL;
		END LOOP;
		IF id IS NULL THEN
			RAISE EXCEPTION 'no SRID is free for the frame of site %', s.space_id
				USING ERRCODE = 'program_limit_exceeded',
					  DETAIL = 'spatial_ref_sys holds a row for every SRID from 910000 to 998999.';
		END IF;
	END IF;
	INSERT INTO dtmv.published_frames AS p (site, srid, published_by) VALUES (s.space_id, id, me)
	ON CONFLICT ON CONSTRAINT published_frames_pkey
	DO UPDATE SET srid = excluded.srid, published_by = excluded.published_by, published_at = pg_catalog.now();
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.publish_site_crs(bigint) IS
	'publish a site''s frame in PostGIS''s spatial_ref_sys, so that ST_Transform, GDAL and QGIS place its local geometry by an SRID (returned); the anchor becomes readable by every role of the database and goes into dumps; for the site''s creator or dtmv_admin';

CREATE OR REPLACE FUNCTION dtmv.unpublish_site_crs(site bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	s bigint;
BEGIN
	PERFORM dtmv._require_subject(), dtmv._require_not_acting('unpublish a site''s frame');
	SELECT x.space_id INTO s FROM dtmv.spaces x WHERE x.space_id = unpublish_site_crs.site FOR NO KEY UPDATE;
	IF s IS NULL THEN
		RAISE EXCEPTION 'space % does not exist', site USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM dtmv._require_space_owner(s);
	-- (its row in spatial_ref_sys goes with it: _unpublish_frame_row)
	DELETE FROM dtmv.published_frames p WHERE p.site = s;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION dtmv.unpublish_site_crs(bigint) IS
	'withdraw a site''s frame from spatial_ref_sys (true if it was published); for the site''s creator or dtmv_admin';

-- A published frame leaves spatial_ref_sys with its site's record: by
-- unpublish_site_crs, or when the site is deleted (the cascade). Only the
-- site's own row goes, not one another writer put under that SRID.
CREATE OR REPLACE FUNCTION dtmv._unpublish_frame_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	DELETE FROM @postgis@.spatial_ref_sys r
	 WHERE r.srid = OLD.srid AND r.auth_name = 'dtmv' AND r.auth_srid = OLD.site;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION dtmv._unpublish_frame_row() IS 'internal: a site''s frame leaves spatial_ref_sys with its published_frames row';
DROP TRIGGER IF EXISTS published_frames_unpublish ON dtmv.published_frames;
CREATE TRIGGER published_frames_unpublish AFTER DELETE ON dtmv.published_frames
	FOR EACH ROW EXECUTE FUNCTION dtmv._unpublish_frame_row();
COMMENT ON TRIGGER published_frames_unpublish ON dtmv.published_frames IS
	'a frame no longer published leaves spatial_ref_sys (its own row only)';

-- No function of dtmv moves a site's anchor or turns its heading; the owner
-- of dtmv's tables could, with UPDATE. A published frame then follows: its
-- row is written again (the transformations that backends keep are keyed
-- by the numbers of the frame, src/frames.c, and need nothing).
CREATE OR REPLACE FUNCTION dtmv._republish_frame_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._write_frame_row(p.site, p.srid) FROM dtmv.published_frames p WHERE p.site = NEW.space_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION dtmv._republish_frame_row() IS 'internal: a published frame follows its site''s anchor and heading';
DROP TRIGGER IF EXISTS spaces_republish_frame ON dtmv.spaces;
CREATE TRIGGER spaces_republish_frame AFTER UPDATE OF anchor_lon, anchor_lat, anchor_alt, heading ON dtmv.spaces
	FOR EACH ROW WHEN (NEW.kind = 'site') EXECUTE FUNCTION dtmv._republish_frame_row();
COMMENT ON TRIGGER spaces_republish_frame ON dtmv.spaces IS
	'a published frame follows its site''s anchor and heading';

-- The SRID of a published frame, if its row in spatial_ref_sys is still the
-- site's own: auth_name 'dtmv', auth_srid the site, and the WKT of its
-- frame as it is now (another writer of that table may have changed it).
CREATE OR REPLACE FUNCTION dtmv.site_srid(space bigint) RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT r.srid FROM dtmv.spaces x
	  JOIN dtmv.spaces s ON s.space_id = x.site
	  JOIN dtmv.published_frames p ON p.site = s.space_id
	  JOIN @postgis@.spatial_ref_sys r ON r.srid = p.srid
	 WHERE x.space_id = site_srid.space AND r.auth_name = 'dtmv' AND r.auth_srid = p.site
	   AND r.srtext = dtmv._frame_crs(s.space_id, s.anchor_lon, s.anchor_lat, s.anchor_alt, s.heading)
$$;
COMMENT ON FUNCTION dtmv.site_srid(bigint) IS
	'the SRID of the frame of a space''s site in spatial_ref_sys, if it is published (publish_site_crs) and its row is still the site''s; NULL otherwise';

CREATE OR REPLACE FUNCTION dtmv.to_wgs84(space bigint, pos @postgis@.geometry) RETURNS @postgis@.geometry
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	p @postgis@.geometry := dtmv._require_point3d(pos);
	s record;
	g @postgis@.geometry;
BEGIN
	SELECT x.* INTO s FROM dtmv.spaces x WHERE x.space_id = dtmv._site_of(to_wgs84.space);
	g := dtmv._frame_convert(p, s.space_id, s.anchor_lon, s.anchor_lat, s.anchor_alt, s.heading, true);
	IF g IS NULL THEN
		-- (the position is within the frame: the site has none, 22023, or
		-- PROJ could not place it)
		PERFORM dtmv._frame_crs(s.space_id, s.anchor_lon, s.anchor_lat, s.anchor_alt, s.heading);
		PERFORM dtmv._outside_frame('position', @postgis@.ST_AsText(p));
	END IF;
	RETURN @postgis@.ST_SetSRID(g, 4326);
END
$$;
COMMENT ON FUNCTION dtmv.to_wgs84(bigint, @postgis@.geometry) IS
	'a local PointZ of a space''s site as a WGS84 PointZ (SRID 4326: longitude, latitude, height in metres above the ellipsoid)';

CREATE OR REPLACE FUNCTION dtmv.to_local(space bigint, pos @postgis@.geometry) RETURNS @postgis@.geometry
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	s record;
	g @postgis@.geometry;
BEGIN
	IF pos IS NULL OR @postgis@.ST_SRID(pos) NOT IN (4326, 4979) OR @postgis@.GeometryType(pos) <> 'POINT'
	   OR @postgis@.ST_CoordDim(pos) <> 3 THEN
		RAISE EXCEPTION 'a WGS84 position is a PointZ with SRID 4326 or 4979 (longitude, latitude, height)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT x.* INTO s FROM dtmv.spaces x WHERE x.space_id = dtmv._site_of(to_local.space);
	PERFORM dtmv._frame_crs(s.space_id, s.anchor_lon, s.anchor_lat, s.anchor_alt, s.heading);
	-- (far out of the frame's reach, the projection means nothing: say so first)
	IF NOT @postgis@.ST_DistanceSphere(@postgis@.ST_SetSRID(@postgis@.ST_MakePoint(s.anchor_lon, s.anchor_lat), 4326),
									   @postgis@.ST_SetSRID(@postgis@.ST_Force2D(pos), 4326)) <= 2 * dtmv._frame_extent() THEN
		PERFORM dtmv._outside_frame('position', @postgis@.ST_AsText(pos));
	END IF;
	g := dtmv._frame_convert(pos, s.space_id, s.anchor_lon, s.anchor_lat, s.anchor_alt, s.heading, false);
	IF g IS NULL THEN
		PERFORM dtmv._outside_frame('position', @postgis@.ST_AsText(pos));
	END IF;
	RETURN g;
END
$$;
COMMENT ON FUNCTION dtmv.to_local(bigint, @postgis@.geometry) IS
	'a WGS84 PointZ (SRID 4326 or 4979) as a PointZ in the local frame of a space''s site';

CREATE OR REPLACE FUNCTION dtmv._cell(pos @postgis@.geometry) RETURNS @postgis@.geometry
	AS 'MODULE_PATHNAME', 'dtmv_cell' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._cell(@postgis@.geometry) IS 'internal: the 2 m grid square that holds a position';

-- A twin in a space carries that space's acl keys (and those of the spaces
-- above): keep them in step when it is placed or changes space, whatever
-- writes the row (place(), or pg_restore in any table order).
CREATE OR REPLACE FUNCTION dtmv._positions_refresh_acl() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF TG_LEVEL = 'STATEMENT' THEN
		UPDATE dtmv.twin_registry t SET acl = dtmv._twin_acl(t.id)
		 WHERE t.id IN (SELECT n.twin FROM new_rows n);
	ELSE
		UPDATE dtmv.twin_registry t SET acl = dtmv._twin_acl(t.id) WHERE t.id = NEW.twin;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION dtmv._positions_refresh_acl() IS 'internal: a twin''s acl follows the space it is placed in';
CREATE OR REPLACE TRIGGER twin_positions_acl_insert AFTER INSERT ON dtmv.twin_positions
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION dtmv._positions_refresh_acl();
CREATE OR REPLACE TRIGGER twin_positions_acl_update AFTER UPDATE OF space ON dtmv.twin_positions
	FOR EACH ROW WHEN (OLD.space IS DISTINCT FROM NEW.space) EXECUTE FUNCTION dtmv._positions_refresh_acl();

-- An orientation is [yaw, pitch, roll] in degrees: yaw about z (up),
-- counter-clockwise from the site's x axis, then pitch about the twin's y
-- axis, then roll about its x axis.
CREATE OR REPLACE FUNCTION dtmv._require_orientation(orientation double precision[]) RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF orientation IS NULL THEN
		RETURN NULL;
	END IF;
	IF array_ndims(orientation) IS DISTINCT FROM 1 OR cardinality(orientation) <> 3
	   OR array_position(orientation, NULL) IS NOT NULL
	   OR NOT (abs(orientation[1]) + abs(orientation[2]) + abs(orientation[3]) < 'Infinity') THEN
		RAISE EXCEPTION 'an orientation is [yaw, pitch, roll] in degrees, three finite numbers, not %', orientation
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN ARRAY[orientation[1], orientation[2], orientation[3]];
END
$$;
COMMENT ON FUNCTION dtmv._require_orientation(double precision[]) IS
	'internal: the orientation if it is [yaw, pitch, roll], three finite degrees; 22023 otherwise';

-- A footprint is the twin's body: a closed solid (a PolyhedralSurface Z or
-- a TIN Z), in metres in the twin's own frame (origin at its position, z
-- up), so that it moves with the twin.
CREATE OR REPLACE FUNCTION dtmv._require_footprint(footprint @postgis@.geometry) RETURNS @postgis@.geometry
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF footprint IS NULL THEN
		RETURN NULL;
	END IF;
	IF @postgis@.ST_SRID(footprint) <> 0 THEN
		RAISE EXCEPTION 'a footprint is in the twin''s own frame (SRID 0), not SRID %', @postgis@.ST_SRID(footprint)
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF @postgis@.GeometryType(footprint) NOT IN ('POLYHEDRALSURFACE', 'TIN') OR @postgis@.ST_CoordDim(footprint) <> 3
	   OR @postgis@.ST_IsEmpty(footprint) THEN
		RAISE EXCEPTION 'a footprint is a 3D solid (PolyhedralSurface Z or TIN Z), not %', @postgis@.ST_AsText(footprint)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use dtmv.footprint_box(width, depth, height) for a box.';
	END IF;
	PERFORM dtmv._require_in_frame(footprint, 'footprint');
	IF NOT @postgis@.ST_IsClosed(footprint) THEN
		RAISE EXCEPTION 'a footprint must be a closed solid: its faces leave it open'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use dtmv.footprint_box(width, depth, height) for a box.';
	END IF;
	RETURN footprint;
END
$$;
COMMENT ON FUNCTION dtmv._require_footprint(@postgis@.geometry) IS
	'internal: the footprint if it is a closed finite 3D solid (PolyhedralSurface Z or TIN Z) in SRID 0; 22023 otherwise';

CREATE OR REPLACE FUNCTION dtmv.footprint_box(width double precision, depth double precision, height double precision)
RETURNS @postgis@.geometry
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT (width > 0 AND depth > 0 AND height > 0 AND width + depth + height < 'Infinity') THEN
		RAISE EXCEPTION 'a box''s width, depth and height are positive finite metres, not %, %, %',
			width, depth, height USING ERRCODE = 'invalid_parameter_value';
	END IF;
	RETURN @postgis@.ST_3DMakeBox(@postgis@.ST_MakePoint(-width / 2, -depth / 2, 0::float8),
								  @postgis@.ST_MakePoint(width / 2, depth / 2, height))::@postgis@.geometry;
END
$$;
COMMENT ON FUNCTION dtmv.footprint_box(double precision, double precision, double precision) IS
	'a footprint: a closed box (PolyhedralSurface Z) of width (x), depth (y) and height (z) metres, centred on the twin''s position and standing on it';

CREATE OR REPLACE FUNCTION dtmv.place(twin dtmv.twin_id, space bigint, pos @postgis@.geometry,
						   orientation double precision[] DEFAULT NULL, footprint @postgis@.geometry DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	p @postgis@.geometry := dtmv._require_point3d(pos);
	fp @postgis@.geometry := dtmv._require_footprint(footprint);
	o double precision[] := dtmv._require_orientation(orientation);
	s bigint;
	current_space bigint;
BEGIN
	-- Control is checked before the twin's lock, so that no caller waits on
	-- (or, by waiting, learns of) a twin it may not control, and again once
	-- the lock is held: every writer of the twin's rows takes that lock
	-- first, so the second check and the position read below see the last
	-- committed move (and the rights it changed), not the row it replaced.
	-- The space is looked up after: a stranger learns nothing of spaces.
	PERFORM dtmv._lock_twin_for(twin, 'control');
	s := dtmv._site_of(place.space);
	SELECT tp.space INTO current_space FROM dtmv.twin_positions tp WHERE tp.twin = place.twin FOR UPDATE;
	-- Where a twin is decides who holds rights on it through the spaces, so
	-- putting it in a space, or in another one, asks for more than moving it
	-- within its space: admin on the twin, and control on the space.
	IF place.space IS DISTINCT FROM current_space THEN
		PERFORM dtmv._require_rights(twin, 'admin');
		PERFORM dtmv._require_space_control(place.space, 'place twins in');
	END IF;
	INSERT INTO dtmv.twin_positions AS t (twin, site, space, position, cell, orientation, footprint)
	VALUES (twin, s, space, p, dtmv._cell(p), o, fp)
	ON CONFLICT ON CONSTRAINT twin_positions_pkey DO UPDATE
		SET site = excluded.site, space = excluded.space, position = excluded.position,
			cell = excluded.cell, orientation = coalesce(excluded.orientation, t.orientation),
			footprint = coalesce(excluded.footprint, t.footprint), moved_at = now();
END
$$;
COMMENT ON FUNCTION dtmv.place(dtmv.twin_id, bigint, @postgis@.geometry, double precision[], @postgis@.geometry) IS
	'put a twin in a space at a local PointZ (metres), with an optional orientation and footprint; control moves it within its space, putting it in a space takes admin on the twin and control on the space';

-- In C (src/spatial.c): robots call it many times a second.
CREATE OR REPLACE FUNCTION dtmv.sync_location(twin dtmv.twin_id, pos @postgis@.geometry) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_sync_location' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.sync_location(dtmv.twin_id, @postgis@.geometry) IS
	'a twin moved (by hand, or a robot by itself): the gateway that serves it, or a subject with control on it, stores its new local PointZ and logs a location event for its readers and worlds; returns the event''s entry number, the acknowledgement (scenario 7.3.2, REQ-MV-04)';

CREATE OR REPLACE FUNCTION dtmv.register_service(system_no integer, name text, kind text, site bigint DEFAULT NULL,
									  area @postgis@.geometry DEFAULT NULL, z_min double precision DEFAULT NULL,
									  z_max double precision DEFAULT NULL, description text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM dtmv._require_admin_role('register services');
	IF area IS NOT NULL AND (@postgis@.ST_SRID(area) <> 0 OR @postgis@.GeometryType(area) <> 'POLYGON') THEN
		RAISE EXCEPTION 'a service area is a polygon in the site''s local frame (SRID 0)'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM dtmv._require_in_frame(area, 'service area'), dtmv._require_heights_in_frame(z_min, z_max);
	INSERT INTO dtmv.services (system_no, name, kind, site, area, z_min, z_max, description)
	VALUES (register_service.system_no, register_service.name, register_service.kind,
			(SELECT s.site FROM dtmv.spaces s WHERE s.space_id = register_service.site),
			@postgis@.ST_Force2D(register_service.area), register_service.z_min, register_service.z_max,
			register_service.description)
	RETURNING service_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.register_service(integer, text, text, bigint, @postgis@.geometry, double precision, double precision, text) IS
	'register a service of a 3rd-party system, with its coverage area (outline and heights) in a site; dtmv_admin only (REQ-MV-05)';

-- system: a site of another system (federation), asked there as the acting
-- user. 0.1's signature, without it, goes.
DROP FUNCTION IF EXISTS dtmv.services_at(bigint, @postgis@.geometry);
CREATE OR REPLACE FUNCTION dtmv.services_at(space bigint, pos @postgis@.geometry, system integer DEFAULT NULL)
RETURNS TABLE (service_id bigint, name text, kind text, system_no integer, description text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	there integer := dtmv._route_system(system);
	p @postgis@.geometry;
BEGIN
	IF there IS NOT NULL THEN	-- a site of another system: asked there (federation)
		RETURN QUERY
			SELECT x.service_id, x.name, x.kind, x.system_no, x.description
			  FROM dtmv._remote(there, pg_catalog.format(
					   'SELECT pg_catalog.row_to_json(t)::text FROM dtmv.services_at(%L, %L) t', space, pos)) v,
				   pg_catalog.json_to_record(v::json)
					   AS x(service_id bigint, name text, kind text, system_no integer, description text);
		RETURN;
	END IF;
	p := dtmv._require_point3d(pos);
	PERFORM dtmv._require_subject();
	IF NOT dtmv._space_right(space, 0) THEN	-- discover
		RAISE EXCEPTION 'permission denied: discover right on space % is required', space
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The services at a position are for the site''s creator and for subjects with discover on the space, a space above it, or system-wide.';
	END IF;
	RETURN QUERY
		SELECT v.service_id, v.name, v.kind, v.system_no, v.description
		  FROM dtmv.services v
		 WHERE v.site = (SELECT s.site FROM dtmv.spaces s WHERE s.space_id = services_at.space)
		   AND @postgis@.ST_Intersects(v.area, @postgis@.ST_Force2D(p))
		   AND @postgis@.ST_Z(p) >= coalesce(v.z_min, '-Infinity') AND @postgis@.ST_Z(p) <= coalesce(v.z_max, 'Infinity')
		 ORDER BY v.service_id;
END
$$;
COMMENT ON FUNCTION dtmv.services_at(bigint, @postgis@.geometry, integer) IS
	'the services whose coverage area holds a position (outline and height range); a space of another system is asked there, as the acting user (scenario 7.3.3, REQ-MV-05, REQ-SI-02b)';

-- Twins and services near a position, nearest first, exact in 3D, only the
-- twins the caller may discover. Twins: walk the 2D cells in distance order
-- (a lower bound of the 3D distance) and stop once that bound passes the
-- radius or the k-th best exact distance.
-- system: as for services_at. 0.1's signature, without it, goes.
DROP FUNCTION IF EXISTS dtmv.localize(bigint, @postgis@.geometry, double precision, integer);
CREATE OR REPLACE FUNCTION dtmv.localize(space bigint, pos @postgis@.geometry, radius double precision, k integer DEFAULT 10,
										 system integer DEFAULT NULL)
RETURNS TABLE (twin dtmv.twin_id, name text, kind text, distance double precision, service_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
-- The loop reads only the first few rows of its ordered query, which the
-- planner costs as a walk of the whole site: keep JIT (which would compile
-- for 100 ms) out of it.
SET jit = off
AS $$
DECLARE
	there integer := dtmv._route_system(system);
	p @postgis@.geometry;
	p2 @postgis@.geometry;
	s bigint;
	probe bigint[];
	veto bigint[];
	best double precision[] := '{}';
	ids dtmv.twin_id[] := '{}';
	c record;
	d double precision;
	i integer;
BEGIN
	IF there IS NOT NULL THEN	-- a site of another system: asked there (federation)
		FOR c IN
			SELECT x.* FROM dtmv._remote(there, pg_catalog.format(
								'SELECT pg_catalog.row_to_json(t)::text FROM dtmv.localize(%L, %L, %L, %L) t',
								space, pos, radius, k)) v,
				   pg_catalog.json_to_record(v::json)
					   AS x(twin dtmv.twin_id, name text, kind text, distance double precision, service_id bigint)
		LOOP
			IF c.service_id IS NULL THEN
				ids := ids || c.twin;
			END IF;
			twin := c.twin; name := c.name; kind := c.kind; distance := c.distance; service_id := c.service_id;
			RETURN NEXT;
		END LOOP;
		-- its own twins, at most k of them
		PERFORM dtmv._require_own_twins(there, 'localize', ids::text[]);
		IF cardinality(ids) > k THEN
			RAISE EXCEPTION 'system "%" (%) answered localize with % twins, more than k (%)',
							(SELECT x.name FROM dtmv.systems x WHERE x.system_no = there), there, cardinality(ids), k
				USING ERRCODE = 'protocol_violation';
		END IF;
		RETURN;
	END IF;
	p := dtmv._require_point3d(pos);
	p2 := @postgis@.ST_Force2D(p);
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._acting_keys() x WHERE x.r = 0;
	IF radius IS NULL OR radius < 0 OR k IS NULL OR k < 1 THEN
		RAISE EXCEPTION 'radius must be >= 0 and k >= 1' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	s := dtmv._site_of(localize.space);
	FOR c IN
		-- (acl by a subquery, not a join, so that the plan stays a walk of
		-- the cell index in distance order, stopped as soon as we exit)
		SELECT t.twin, t.position, t.cell OPERATOR(@postgis@.<->) p2 AS bound,
			   (SELECT r.acl FROM dtmv.twin_registry r WHERE r.id = t.twin) AS acl
		  FROM dtmv.twin_positions t
		 WHERE t.site = s
		 ORDER BY t.cell OPERATOR(@postgis@.<->) p2
	LOOP
		EXIT WHEN c.bound > radius OR (cardinality(best) >= k AND c.bound > best[k]);
		CONTINUE WHEN NOT (c.acl && probe) OR c.acl && veto;
		d := @postgis@.ST_3DDistance(c.position, p);
		CONTINUE WHEN d > radius OR (cardinality(best) >= k AND d >= best[k]);
		-- insert into the sorted top k
		i := 1;
		WHILE i <= cardinality(best) AND best[i] <= d LOOP
			i := i + 1;
		END LOOP;
		best := (best[1:i - 1] || d || best[i:])[1:k];
		ids := (ids[1:i - 1] || c.twin || ids[i:])[1:k];
	END LOOP;
	RETURN QUERY
		SELECT x.id, r.name, r.kind, x.d, NULL::bigint
		  FROM unnest(ids, best) WITH ORDINALITY AS x(id, d, n)
		 CROSS JOIN LATERAL (SELECT g.name, g.kind FROM dtmv.twin_registry g WHERE g.id = x.id) r
		 ORDER BY x.n;
	IF dtmv._space_right(space, 0) THEN	-- discover
		RETURN QUERY
			SELECT NULL::dtmv.twin_id, v.name, 'service:' || v.kind, NULL::double precision, v.service_id
			  FROM dtmv.services_at(space, p) v;
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv.localize(bigint, @postgis@.geometry, double precision, integer, integer) IS
	'the k nearest twins within radius that the caller may discover, nearest first by exact 3D distance, then the services covering the position; a space of another system is asked there, as the acting user (scenario 7.3.3, REQ-SI-02b)';

CREATE OR REPLACE FUNCTION dtmv.submit_capture(space bigint, pos @postgis@.geometry, media_uri text, serials text[] DEFAULT '{}',
									orientation double precision[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	p @postgis@.geometry := dtmv._require_point3d(pos, 'device position');
	id bigint;
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'submit captures');
	PERFORM dtmv._site_of(submit_capture.space);
	PERFORM dtmv._require_space_control(submit_capture.space, 'map');
	INSERT INTO dtmv.captures (space, device_position, orientation, media_uri, serials, submitted_by)
	VALUES (space, p, dtmv._require_orientation(orientation), media_uri, coalesce(serials, '{}'), dtmv._require_subject())
	RETURNING capture_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.submit_capture(bigint, @postgis@.geometry, text, text[], double precision[]) IS
	'a device uploads a capture: media reference, its position (local PointZ) and orientation, serial numbers seen (scenario 7.3.1)';

-- Turn a space's new captures into twins: a serial bound to a twin places
-- that twin at the capture (if the submitter may control it); an unknown
-- serial becomes a new twin of kind 'unconfirmed', owned by the submitter,
-- pending confirmation. Returns how many twins were placed or created.
CREATE OR REPLACE FUNCTION dtmv.build_map(space bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	cap record;
	serial text;
	t dtmv.twin_id;
	n integer := 0;
BEGIN
	PERFORM dtmv._site_of(build_map.space);	-- 42704 for no such space
	PERFORM dtmv._require_space_control(build_map.space, 'map');
	FOR cap IN SELECT * FROM dtmv.captures c
				WHERE c.space = build_map.space AND c.processed_at IS NULL
				  AND c.submitted_by = dtmv._require_subject()
				ORDER BY c.capture_id FOR UPDATE LOOP
		FOREACH serial IN ARRAY cap.serials LOOP
			-- the submitter's own twin of that serial, if it has one: whether
			-- someone else bound it is not told (nor changed)
			t := NULL;
			SELECT s.twin INTO t FROM dtmv.twin_states s
			 WHERE s.physical_binding = serial AND dtmv.has_right(s.twin, 'control')
			 ORDER BY s.binding_confirmed_at IS NULL, s.twin LIMIT 1;
			IF t IS NULL THEN
				t := dtmv.create_twin('unconfirmed', 'Unconfirmed ' || serial,
									  jsonb_build_object('capture', cap.capture_id, 'media', cap.media_uri),
									  physical_binding => serial);
			ELSIF (NOT dtmv.has_right(t, 'admin') AND cap.space IS DISTINCT FROM
					  (SELECT p.space FROM dtmv.twin_positions p WHERE p.twin = t)) THEN
				CONTINUE;	-- seen, but not the submitter's to move (or to move to this space)
			END IF;
			PERFORM dtmv.place(t, cap.space, cap.device_position);
			n := n + 1;
		END LOOP;
		UPDATE dtmv.captures c SET processed_at = now() WHERE c.capture_id = cap.capture_id;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.build_map(bigint) IS
	'turn the caller''s new captures of a space into twins placed in it (known serials) or new unconfirmed twins (unknown serials) (scenario 7.3.1)';

CREATE OR REPLACE FUNCTION dtmv.confirm_twin(twin dtmv.twin_id, kind text, name text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'control');	-- the twin's lock before its rows
	IF NOT EXISTS (SELECT 1 FROM dtmv.twin_registry t WHERE t.id = confirm_twin.twin AND t.kind = 'unconfirmed') THEN
		RAISE EXCEPTION 'twin % is not pending confirmation', twin USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	UPDATE dtmv.twin_registry t SET kind = confirm_twin.kind, name = confirm_twin.name, updated_at = now()
	 WHERE t.id = confirm_twin.twin;
END
$$;
COMMENT ON FUNCTION dtmv.confirm_twin(dtmv.twin_id, text, text) IS
	'confirm a twin that build_map created for an unknown serial: give it its kind and name; needs control (scenario 7.3.1)';

-- A twin's footprint where it stands, in its site's frame: its own frame
-- (the footprint's) turned by its orientation, yaw about z, then pitch
-- about the turned y axis, then roll about the twin's x axis (right-handed
-- rotations: R = Rz(yaw) Ry(pitch) Rx(roll)), its origin moved to the
-- twin's position. NULL without a footprint.
CREATE OR REPLACE FUNCTION dtmv._footprint_in_site(pos @postgis@.geometry, orientation double precision[],
												   footprint @postgis@.geometry) RETURNS @postgis@.geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT @postgis@.ST_Affine(footprint,
							   ca * cb, ca * sb * sc - sa * cc, ca * sb * cc + sa * sc,
							   sa * cb, sa * sb * sc + ca * cc, sa * sb * cc - ca * sc,
							   -sb, cb * sc, cb * cc,
							   @postgis@.ST_X(pos), @postgis@.ST_Y(pos), @postgis@.ST_Z(pos))
	  FROM (SELECT cosd(o[1]) AS ca, sind(o[1]) AS sa, cosd(o[2]) AS cb, sind(o[2]) AS sb,
				   cosd(o[3]) AS cc, sind(o[3]) AS sc
			  FROM (SELECT coalesce(orientation, '{0, 0, 0}') AS o) x) r
$$;
COMMENT ON FUNCTION dtmv._footprint_in_site(@postgis@.geometry, double precision[], @postgis@.geometry) IS
	'internal: a twin''s footprint turned by its orientation and moved to its position, in its site''s frame';

-- Where twins are, for GIS tools (GDAL, QGIS, ogr2ogr): WGS84 3D
-- geometries (EPSG:4979), through each site's frame (src/frames.c). A
-- position outside the frame's reach, which 0.1 accepted, or a twin of a
-- site that has no frame, has none (NULL) here; its local coordinates stay.
-- security_invoker: the caller's rights apply (twin_positions' and twins'
-- row-level security; spaces are a directory every dtmv user reads).
CREATE OR REPLACE VIEW dtmv.twin_positions_wgs84 WITH (security_invoker = true) AS
	SELECT t.twin, r.name, r.kind, t.site, t.space,
		   dtmv._frame_convert(t.position, s.space_id, s.anchor_lon, s.anchor_lat, s.anchor_alt, s.heading, true)
			   ::@postgis@.geometry(PointZ, 4979) AS position,
		   dtmv._frame_convert(dtmv._footprint_in_site(t.position, t.orientation, t.footprint),
							   s.space_id, s.anchor_lon, s.anchor_lat, s.anchor_alt, s.heading, true)
			   ::@postgis@.geometry(GeometryZ, 4979) AS footprint,
		   @postgis@.ST_X(t.position) AS local_x, @postgis@.ST_Y(t.position) AS local_y,
		   @postgis@.ST_Z(t.position) AS local_z, t.orientation, t.moved_at
	  FROM dtmv.twin_positions t JOIN dtmv.twins r ON r.id = t.twin JOIN dtmv.spaces s ON s.space_id = t.site;
COMMENT ON VIEW dtmv.twin_positions_wgs84 IS
	'where each twin the caller may discover is, in WGS84 3D (EPSG:4979: longitude, latitude, height above the ellipsoid): its position and its footprint as placed, for GIS tools (NULL for a position outside its site''s frame); local coordinates beside them';

-- system: as for services_at.
CREATE OR REPLACE FUNCTION dtmv.spatial_map(space bigint, frame text DEFAULT 'wgs84', system integer DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	there integer := dtmv._route_system(system);
	m jsonb;
	s bigint;
	site record;
	probe bigint[];
	veto bigint[];
BEGIN
	IF there IS NOT NULL THEN	-- a site of another system: asked there (federation)
		m := (SELECT v::jsonb FROM dtmv._remote(there, pg_catalog.format('SELECT dtmv.spatial_map(%L, %L)::text',
																		  space, frame)) v);
		-- the map of the space asked, of its own twins
		IF m->'space' IS DISTINCT FROM pg_catalog.to_jsonb(space) OR pg_catalog.jsonb_typeof(m->'features') <> 'array' THEN
			RAISE EXCEPTION 'system "%" (%) answered spatial_map with another space',
							(SELECT x.name FROM dtmv.systems x WHERE x.system_no = there), there
				USING ERRCODE = 'protocol_violation';
		END IF;
		PERFORM dtmv._require_own_twins(there, 'spatial_map',
										ARRAY(SELECT f->>'id' FROM pg_catalog.jsonb_array_elements(m->'features') f));
		RETURN m;
	END IF;
	IF frame IS NULL OR frame NOT IN ('wgs84', 'local') THEN
		RAISE EXCEPTION 'a map''s frame is ''wgs84'' (GeoJSON as RFC 7946 has it) or ''local'' (the site''s metres), not %',
			coalesce(quote_literal(frame), 'NULL')
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	s := dtmv._site_of(spatial_map.space);
	SELECT x.anchor_lon, x.anchor_lat, x.anchor_alt, x.heading INTO site FROM dtmv.spaces x WHERE x.space_id = s;
	-- (a twin outside the frame's reach, or of a site without a frame, has
	-- a null geometry, as RFC 7946 allows for a feature without a place)
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._acting_keys() x WHERE x.r = 0;
	RETURN jsonb_build_object(
		'type', 'FeatureCollection',
		'space', space,
		-- (a foreign member: what the local coordinates are relative to)
		'frame', jsonb_build_object('site', s, 'srid', dtmv.site_srid(s),
									'anchor', jsonb_build_array(site.anchor_lon, site.anchor_lat, site.anchor_alt),
									'heading', site.heading),
		'features', coalesce((
			SELECT jsonb_agg(jsonb_build_object(
					   'type', 'Feature',
					   'id', r.id,
					   'geometry', @postgis@.ST_AsGeoJSON(CASE frame WHEN 'local' THEN t.position
																	 ELSE dtmv._frame_convert(t.position, s, site.anchor_lon, site.anchor_lat,
																							  site.anchor_alt, site.heading, true) END,
															 9, 0)::jsonb,
					   'properties', jsonb_build_object('name', r.name, 'kind', r.kind, 'space', t.space,
														'moved_at', t.moved_at)
									 || CASE frame WHEN 'local' THEN '{}'::jsonb
										ELSE jsonb_build_object('site', s,
																'local_x', @postgis@.ST_X(t.position),
																'local_y', @postgis@.ST_Y(t.position),
																'local_z', @postgis@.ST_Z(t.position)) END)
					   ORDER BY r.id)
			  FROM dtmv.twin_positions t JOIN dtmv.twin_registry r ON r.id = t.twin
			 WHERE t.site = s
			   AND (t.space = spatial_map.space OR spatial_map.space = s
					OR t.space IN (SELECT x.space_id FROM dtmv.spaces x WHERE x.parent = spatial_map.space))
			   AND r.acl && probe AND NOT r.acl && veto), '[]'));
END
$$;
COMMENT ON FUNCTION dtmv.spatial_map(bigint, text, integer) IS
	'the 3D spatial map of a space as a GeoJSON FeatureCollection of the twins the caller may discover: by default RFC 7946 (WGS84 longitude, latitude, height; local coordinates in the properties), with frame => ''local'' PointZ in the site''s metres; a space of another system is asked there, as the acting user (scenarios 7.3.1, 7.3.2, REQ-SI-02b)';

-- No frame is written into spatial_ref_sys but by publish_site_crs. Rows
-- of dtmv's (auth_name 'dtmv') that no published_frames row accounts for
-- go: rows an earlier build of 0.2 wrote for every site, or rows of an
-- install since dropped (DROP EXTENSION leaves them). A restore loses none:
-- pg_restore makes the extension before it loads the tables' rows.
DELETE FROM @postgis@.spatial_ref_sys r
 WHERE r.auth_name = 'dtmv'
   AND NOT EXISTS (SELECT 1 FROM dtmv.published_frames p WHERE p.srid = r.srid AND p.site = r.auth_srid);

GRANT SELECT ON dtmv.spaces, dtmv.services, dtmv.twin_positions, dtmv.captures, dtmv.twin_positions_wgs84 TO dtmv_user;

DROP POLICY IF EXISTS spaces_directory ON dtmv.spaces;
CREATE POLICY spaces_directory ON dtmv.spaces FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY spaces_directory ON dtmv.spaces IS 'the directory of spaces is readable by every dtmv user';

DROP POLICY IF EXISTS services_directory ON dtmv.services;
CREATE POLICY services_directory ON dtmv.services FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY services_directory ON dtmv.services IS 'the services on offer are readable by every dtmv user (REQ-MV-05)';

DROP POLICY IF EXISTS twin_positions_discover ON dtmv.twin_positions;
CREATE POLICY twin_positions_discover ON dtmv.twin_positions FOR SELECT TO dtmv_user
	USING (EXISTS (SELECT 1 FROM dtmv.twins t WHERE t.id = twin));
COMMENT ON POLICY twin_positions_discover ON dtmv.twin_positions IS 'where a twin is, is visible with discover on it';

DROP POLICY IF EXISTS captures_own ON dtmv.captures;
CREATE POLICY captures_own ON dtmv.captures FOR SELECT TO dtmv_user
	USING (submitted_by = ANY ((SELECT dtmv._own_subjects())::bigint[]));
COMMENT ON POLICY captures_own ON dtmv.captures IS 'a subject sees its own captures';

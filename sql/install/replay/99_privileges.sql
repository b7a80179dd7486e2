-- Function privileges, for every function of every file above. Nothing of
-- dtmv is executable by PUBLIC except what the twin_id type needs.

REVOKE ALL ON ALL TABLES IN SCHEMA dtmv FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA dtmv FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA dtmv TO dtmv_user;

-- Internal functions (names starting with an underscore) serve dtmv's own
-- functions, which run as the extension owner; clients call none of them.
-- Some would tell a client about other subjects (who reads a twin, what
-- rights another subject holds) and some take locks: none is theirs to call.
-- (The acting-subject setter checks dtmv_gateway itself, in C, as well.)
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
			  WHERE p.pronamespace = 'dtmv'::regnamespace AND p.proname LIKE '\_%'
				AND p.prokind = 'f' LOOP
		EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM dtmv_user', f);
	END LOOP;
END
$$;

-- Row-level security policies call these as the querying role.
GRANT EXECUTE ON FUNCTION dtmv._effective_rights(dtmv.twin_id), dtmv._holds(dtmv.twin_id, text),
	dtmv._rights_mask(text), dtmv._outer_has_role(text), dtmv._serves(dtmv.twin_id),
	dtmv._own_subjects() TO dtmv_user;

-- twin_positions_wgs84 (security_invoker) calls these as the querying role.
GRANT EXECUTE ON FUNCTION dtmv._frame_convert(@postgis@.geometry, bigint, double precision, double precision,
											  double precision, double precision, boolean),
	dtmv._footprint_in_site(@postgis@.geometry, double precision[], @postgis@.geometry) TO dtmv_user;

-- Type I/O and operator support must stay callable by anyone using the type:
-- its I/O, the casts, the functions of every operator on twin_id (with
-- uuid too, and release 0.1's names) and of its operator classes.
GRANT EXECUTE ON FUNCTION
	dtmv.twin_id_in(cstring), dtmv.twin_id_out(dtmv.twin_id),
	dtmv.twin_id_recv(internal), dtmv.twin_id_send(dtmv.twin_id),
	dtmv.twin_id(uuid), dtmv.twin_system(dtmv.twin_id), dtmv.twin_created_at(dtmv.twin_id),
	dtmv.twin_id_smaller(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_larger(dtmv.twin_id, dtmv.twin_id)
	TO PUBLIC;
-- Only dtmv's own operators and families, and only functions of schema
-- dtmv: an operator a user made over one of dtmv's functions (she may, with
-- EXECUTE on it) must not have it granted to PUBLIC by the next update, nor
-- may PostgreSQL's own uuid functions in the families get grants that DROP
-- EXTENSION would leave behind.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN WITH members AS (
				SELECT d.classid, d.objid FROM pg_catalog.pg_depend d
				 WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype = 'e'
				   AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'dtmv'))
			 SELECT o.oprcode::regprocedure AS f FROM pg_catalog.pg_operator o
			  WHERE 'dtmv.twin_id'::regtype IN (o.oprleft, o.oprright)
				AND (o.tableoid, o.oid) IN (SELECT * FROM members)
			 UNION
			 SELECT p.amproc::regprocedure FROM pg_catalog.pg_amproc p
			   JOIN pg_catalog.pg_opfamily y ON y.oid = p.amprocfamily
			  WHERE (y.tableoid, y.oid) IN (SELECT * FROM members)
			 EXCEPT
			 SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
			  WHERE p.pronamespace <> 'dtmv'::regnamespace LOOP
		EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', f);
	END LOOP;
END
$$;

-- Called by CHECK constraints, which check EXECUTE as whoever writes the row.
GRANT EXECUTE ON FUNCTION dtmv._is_identifier(text) TO PUBLIC;

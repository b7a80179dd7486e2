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

-- Type I/O and operator support must stay callable by anyone using the type.
GRANT EXECUTE ON FUNCTION
	dtmv.twin_id_in(cstring), dtmv.twin_id_out(dtmv.twin_id),
	dtmv.twin_id_recv(internal), dtmv.twin_id_send(dtmv.twin_id),
	dtmv.twin_id_eq(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_ne(dtmv.twin_id, dtmv.twin_id),
	dtmv.twin_id_lt(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_le(dtmv.twin_id, dtmv.twin_id),
	dtmv.twin_id_gt(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_ge(dtmv.twin_id, dtmv.twin_id),
	dtmv.twin_id_cmp(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_sortsupport(internal),
	dtmv.twin_id_hash(dtmv.twin_id), dtmv.twin_id_hash_extended(dtmv.twin_id, bigint),
	dtmv.twin_id(uuid), dtmv.twin_system(dtmv.twin_id), dtmv.twin_created_at(dtmv.twin_id),
	dtmv.twin_id_smaller(dtmv.twin_id, dtmv.twin_id), dtmv.twin_id_larger(dtmv.twin_id, dtmv.twin_id)
	TO PUBLIC;

-- Called by CHECK constraints, which check EXECUTE as whoever writes the row.
GRANT EXECUTE ON FUNCTION dtmv._is_identifier(text) TO PUBLIC;

-- Function privileges, for every function of every file above. Nothing of
-- dtmv is executable by PUBLIC except what the twin_id type needs.
REVOKE ALL ON ALL TABLES IN SCHEMA dtmv FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA dtmv FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA dtmv TO dtmv_user;
-- The acting-subject setter checks dtmv_gateway itself; it is kept from
-- everyone anyway, as act_as is its only caller.
REVOKE EXECUTE ON FUNCTION dtmv._set_acting_subject(bigint) FROM dtmv_user;
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


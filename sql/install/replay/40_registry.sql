-- The registry's view of twins and the twin's lock, which the rights
-- functions (50_rights.sql) and every writer of a twin's rows take first
-- (REQ-DT-02..04). The registry's functions are in 60_registry.sql.

CREATE OR REPLACE VIEW dtmv.twins WITH (security_invoker = true, security_barrier = true) AS
	SELECT id, system_no, kind, name, properties, model_uri, sync_period, sync_priority,
		   created_by, created_at, updated_at
	  FROM dtmv.twin_registry;
COMMENT ON VIEW dtmv.twins IS
	'the twin registry as the acting subject may discover it (RLS: discover right) (REQ-DT-03, REQ-DT-04)';

-- The twin lock (src/sync_lock.c): every decision on a twin and every
-- writer of a twin's rows takes it first, then the rows (one lock order, so
-- no mix of dtmv calls on one twin can deadlock).
CREATE OR REPLACE FUNCTION dtmv._lock_twin(twin dtmv.twin_id) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_lock_twin' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._lock_twin(dtmv.twin_id) IS 'internal: wait for the twin''s decision lock, held to the end of the transaction';


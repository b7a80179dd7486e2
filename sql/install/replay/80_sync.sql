-- The priority sync queue (REQ-DT-07, REQ-DT-08, scenario 7.1.3).
-- See docs/sync.md for the semantics. Requesting, claiming, completing and
-- requeueing are in C (src/sync_queue.c), and so are the advisory locks
-- (src/sync_lock.c).
--
-- Every request is a row of sync_requests; three partial indexes on it are
-- the queue, and keep costs independent of the backlog:
--   sync_requests_pending  one twin's waiting requests, most urgent first,
--                          found without looking at any other twin's
--   sync_requests_running  what runs on a twin; unique: at most one run per
--                          twin, ever, whatever a bug elsewhere might try
--   sync_requests_queue    for each twin with pending requests and nothing
--                          running, its oldest one (the twin's place in
--                          line), under the gateway that serves the twin:
--                          what a gateway's claim reads, oldest first. A
--                          busy twin's backlog is not in it.
-- sync_schedule says when each periodically synchronised twin falls due.

-- What runs where: the running requests, for readers of the twin and the gateway that serves it.
CREATE OR REPLACE VIEW dtmv.sync_runs WITH (security_barrier) AS
	SELECT r.twin, r.request_id, r.priority, r.started_at, r.lease_until, r.gateway_pid
	  FROM dtmv.sync_requests r
	 WHERE r.status = 'running'
	   AND (dtmv._serves(r.twin) OR dtmv._holds(r.twin, 'read'));
COMMENT ON VIEW dtmv.sync_runs IS 'the sync running on each twin (at most one): visible with read on the twin, and to the gateway that serves it';

CREATE OR REPLACE FUNCTION dtmv._require_gateway(what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_gateway' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_gateway(text) IS 'internal: 42501 unless the calling role has the privileges of dtmv_gateway';

-- In C (src/sync_queue.c), as the worker and claim_sync call it: suspects
-- in one read of the running requests (an expired lease, or a session-locked
-- run whose gateway backend is no longer there), each twin's lock tried and
-- a busy twin skipped, the run lock deciding (a pid can be reused; the lock
-- cannot lie).
CREATE OR REPLACE FUNCTION dtmv.recover_syncs() RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_recover_syncs' LANGUAGE C VOLATILE SECURITY DEFINER PARALLEL UNSAFE
	SET search_path = pg_catalog, dtmv, pg_temp;
COMMENT ON FUNCTION dtmv.recover_syncs() IS
	'gateway: requeue every running sync whose gateway session ended or whose lease expired; returns how many';

-- The C of request_sync, for a twin of this database.
CREATE OR REPLACE FUNCTION dtmv._request_sync_here(twin dtmv.twin_id) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_request_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._request_sync_here(dtmv.twin_id) IS
	'internal: queue a sync request for a twin of this database at the caller''s priority (dtmv.request_sync)';

CREATE OR REPLACE FUNCTION dtmv.request_sync(twin dtmv.twin_id) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	there integer := dtmv._route(twin);
BEGIN
	IF there IS NULL THEN
		RETURN dtmv._request_sync_here(twin);
	END IF;
	RETURN dtmv._remote_request_sync(there, twin);	-- queued at the twin's system (federation)
END
$$;
COMMENT ON FUNCTION dtmv.request_sync(dtmv.twin_id) IS
	'ask that a twin be synchronised with its physical object, at the caller''s priority; needs sync; TW001 while a higher-priority sync runs; a twin of another system is asked there, as the acting user (REQ-DT-07, REQ-DT-08, REQ-SI-02b)';

CREATE OR REPLACE FUNCTION dtmv.claim_sync(lease interval DEFAULT '5 minutes', session_lock boolean DEFAULT true)
RETURNS TABLE (request_id bigint, twin dtmv.twin_id, priority integer, requested_by text,
			   requested_at timestamptz, batch_size integer)
	AS 'MODULE_PATHNAME', 'dtmv_claim_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION dtmv.claim_sync(interval, boolean) IS
	'gateway: among the twins it serves, in the order they started waiting, the first that is free: its most urgent pending request, now running, or no row; every request pending on that twin joins its batch (REQ-DT-07, REQ-DT-08)';

-- The same, for a gateway program that speaks to some of the devices bound
-- through its gateway (several processes may share one gateway login): only
-- the twins bound to one of bindings, the other ones left to the others.
-- No default for bindings: claim_sync() stays the two-argument call.
CREATE OR REPLACE FUNCTION dtmv.claim_sync(lease interval, session_lock boolean, bindings text[])
RETURNS TABLE (request_id bigint, twin dtmv.twin_id, priority integer, requested_by text,
			   requested_at timestamptz, batch_size integer)
	AS 'MODULE_PATHNAME', 'dtmv_claim_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION dtmv.claim_sync(interval, boolean, text[]) IS
	'gateway: claim_sync among the twins it serves that are bound to one of the devices named (physical bindings); NULL: every twin it serves';

-- A run goes on while the device is slow: a gateway that claimed with a
-- short lease (behind a transaction pooler, with session_lock => false)
-- renews it before it ends.
CREATE OR REPLACE FUNCTION dtmv.renew_sync(request_id bigint, lease interval DEFAULT '5 minutes') RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'dtmv_renew_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.renew_sync(bigint, interval) IS
	'gateway that serves the twin (with a session lock, the claiming session): a running sync''s lease now ends lease from now (at most dtmv.max_sync_lease); returns when; 55000 if it is not running';

CREATE OR REPLACE FUNCTION dtmv.complete_sync(request_id bigint, ok boolean, reported jsonb DEFAULT NULL,
								   replace boolean DEFAULT false)
RETURNS text
	AS 'MODULE_PATHNAME', 'dtmv_complete_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.complete_sync(bigint, boolean, jsonb, boolean) IS
	'gateway that serves the twin: finish a running sync; on success merge the reported state into the twin''s, as report does (replace: store it instead), and answer its batch "superseded", on failure queue the batch again';

-- VOLATILE, to see a request made earlier in the same statement (50_rights.sql).
CREATE OR REPLACE FUNCTION dtmv.sync_status(request_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	r record;
	elsewhere record;
	here boolean;
BEGIN
	SELECT s.status, s.subject_id, s.twin INTO r FROM dtmv.sync_requests s
	 WHERE s.request_id = sync_status.request_id;
	here := FOUND;
	IF NOT here THEN	-- a request placed at another system (federation): asked there,
		-- if it is the acting user's (another's is refused as an unknown id is)
		SELECT m.system_no, m.remote_request_id INTO elsewhere FROM dtmv.remote_sync_requests m
		 WHERE m.request_id = sync_status.request_id AND m.subject_id = dtmv.current_subject();
		IF FOUND THEN
			RETURN (SELECT v FROM dtmv._remote(elsewhere.system_no,
											   pg_catalog.format('SELECT dtmv.sync_status(%L)', elsewhere.remote_request_id)) v);
		END IF;
	END IF;
	-- IS NOT TRUE: a periodic request has no requester (NULL), and NULL must not let anyone in
	IF NOT here OR (r.subject_id = ANY (dtmv._own_subjects())
					 OR dtmv._serves(r.twin)
					 OR dtmv.has_right(r.twin, 'admin')) IS NOT TRUE THEN
		RAISE EXCEPTION 'permission denied: sync request % is not yours', request_id
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only its requester, the gateway that serves the twin or an admin of the twin may see a sync request, or it does not exist.';
	END IF;
	RETURN r.status;
END
$$;
COMMENT ON FUNCTION dtmv.sync_status(bigint) IS
	'pending, running, succeeded, failed or superseded; for the requester, the gateway that serves the twin and admins of the twin; a request placed at another system is asked there, as the acting user';

-- Periodic sync (REQ-DT-07): keep sync_schedule in step with sync_period.
CREATE OR REPLACE FUNCTION dtmv._schedule_twin() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NEW.sync_period IS NULL THEN
		DELETE FROM dtmv.sync_schedule s WHERE s.twin = NEW.id;
	ELSE
		INSERT INTO dtmv.sync_schedule AS s (twin, next_due) VALUES (NEW.id, now() + NEW.sync_period)
		ON CONFLICT ON CONSTRAINT sync_schedule_pkey DO UPDATE SET next_due = least(s.next_due, excluded.next_due);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION dtmv._schedule_twin() IS 'internal: keeps sync_schedule in step with twin_registry.sync_period';
CREATE OR REPLACE TRIGGER twin_registry_schedule_insert AFTER INSERT ON dtmv.twin_registry
	FOR EACH ROW WHEN (NEW.sync_period IS NOT NULL) EXECUTE FUNCTION dtmv._schedule_twin();
CREATE OR REPLACE TRIGGER twin_registry_schedule_update AFTER UPDATE OF sync_period ON dtmv.twin_registry
	FOR EACH ROW WHEN (OLD.sync_period IS DISTINCT FROM NEW.sync_period) EXECUTE FUNCTION dtmv._schedule_twin();

-- In C (src/sync_queue.c), as the worker calls it: for each due twin (oldest
-- first, at most max), its lock tried and a busy twin skipped, its schedule
-- row locked (SKIP LOCKED) and moved a period on, and a request queued unless
-- one is pending or running there.
CREATE OR REPLACE FUNCTION dtmv.queue_due_syncs(max integer DEFAULT 1000) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_queue_due_syncs' LANGUAGE C VOLATILE SECURITY DEFINER PARALLEL UNSAFE
	SET search_path = pg_catalog, dtmv, pg_temp;
COMMENT ON FUNCTION dtmv.queue_due_syncs(integer) IS
	'gateway or the background worker: queue a sync for each twin whose sync period has elapsed; returns how many (REQ-DT-07)';

-- Retention: finished requests are kept for their requesters' sync_status
-- until pruned. A batch only ever links pending requests to a running one,
-- so no live request refers to a finished one.
CREATE OR REPLACE FUNCTION dtmv.prune_syncs(keep interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM dtmv._require_admin_role('prune sync requests');
	PERFORM dtmv._require_keep(keep);
	DELETE FROM dtmv.sync_requests r
	 WHERE r.status IN ('succeeded', 'failed', 'superseded', 'rejected') AND r.finished_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.prune_syncs(interval) IS
	'delete sync requests that finished longer ago than keep (their sync_status is gone with them); dtmv_admin only';
GRANT SELECT ON dtmv.sync_requests, dtmv.sync_runs TO dtmv_user;

DROP POLICY IF EXISTS sync_requests_visible ON dtmv.sync_requests;
CREATE POLICY sync_requests_visible ON dtmv.sync_requests FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv._own_subjects())::bigint[])
		   OR dtmv._serves(twin)
		   OR dtmv._holds(twin, 'admin'));
COMMENT ON POLICY sync_requests_visible ON dtmv.sync_requests IS
	'a subject sees its own requests, the gateway that serves a twin and its admins see the twin''s';

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
--   sync_requests_ready    for each twin with pending requests and nothing
--                          running, its most urgent one: what a claim reads
--                          from the top. A busy twin's backlog is not in it.
-- sync_schedule says when each periodically synchronised twin falls due.

-- What runs where: the running requests, for gateways and readers of the twin.
CREATE OR REPLACE VIEW dtmv.sync_runs WITH (security_barrier) AS
	SELECT r.twin, r.request_id, r.priority, r.started_at, r.lease_until, r.gateway_pid
	  FROM dtmv.sync_requests r
	 WHERE r.status = 'running'
	   AND ((SELECT dtmv._outer_has_role('dtmv_gateway')) OR dtmv._holds(r.twin, 'read'));
COMMENT ON VIEW dtmv.sync_runs IS 'the sync running on each twin (at most one): visible with read on the twin, and to gateways';

CREATE OR REPLACE FUNCTION dtmv._require_gateway(what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_gateway' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_gateway(text) IS 'internal: 42501 unless the calling role has the privileges of dtmv_gateway';

-- A running request whose gateway is gone (its run lock is free) or whose
-- lease has expired goes back to pending, and so does its batch; call with
-- the twin lock held. Returns whether it was requeued.
CREATE OR REPLACE FUNCTION dtmv._recover_if_dead(request bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_recover_if_dead' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._recover_if_dead(bigint) IS
	'internal: requeue a running request whose gateway session ended or whose lease expired';

CREATE OR REPLACE FUNCTION dtmv.recover_syncs() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	PERFORM dtmv._require_gateway('recover sync requests');
	-- Suspects in one query (one index entry per running twin): an expired
	-- lease, or a session-locked run whose gateway backend is no longer
	-- there. _recover_if_dead then decides by the run lock itself (a pid can
	-- be reused; the lock cannot lie).
	FOR r IN SELECT s.request_id, s.twin FROM dtmv.sync_requests s
			  WHERE s.status = 'running'
				AND (s.lease_until <= now()
					 OR (s.session_lock
						 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_get_activity(s.gateway_pid) a
										  WHERE a.pid IS NOT NULL))) LOOP
		CONTINUE WHEN NOT dtmv._try_lock_twin(r.twin);	-- being decided on now: not dead
		IF dtmv._recover_if_dead(r.request_id) THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.recover_syncs() IS
	'gateway: requeue every running sync whose gateway session ended or whose lease expired; returns how many';

-- The way a request enters the queue, for users (dtmv.request_sync) and the
-- periodic worker (dtmv.queue_due_syncs) alike: under the twin's lock,
-- refused (TW001) while a sync of higher priority runs on the twin
-- (REQ-DT-08 note 1); a subject's second request while its first is still
-- pending returns the first.
CREATE OR REPLACE FUNCTION dtmv._queue_sync(twin dtmv.twin_id, subject bigint, priority integer) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_queue_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._queue_sync(dtmv.twin_id, bigint, integer) IS
	'internal: queue a sync request; refuses with TW001 while a higher-priority sync runs (REQ-DT-08)';

CREATE OR REPLACE FUNCTION dtmv.request_sync(twin dtmv.twin_id) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_request_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.request_sync(dtmv.twin_id) IS
	'ask that a twin be synchronised with its physical object, at the caller''s priority; needs sync; TW001 while a higher-priority sync runs (REQ-DT-07, REQ-DT-08)';

CREATE OR REPLACE FUNCTION dtmv.claim_sync(lease interval DEFAULT '5 minutes', session_lock boolean DEFAULT true)
RETURNS TABLE (request_id bigint, twin dtmv.twin_id, priority integer, requested_by text,
			   requested_at timestamptz, batch_size integer)
	AS 'MODULE_PATHNAME', 'dtmv_claim_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;
COMMENT ON FUNCTION dtmv.claim_sync(interval, boolean) IS
	'gateway: the most urgent pending request whose twin is free, now running, or no row; every request pending on that twin joins its batch (REQ-DT-07, REQ-DT-08)';

CREATE OR REPLACE FUNCTION dtmv.complete_sync(request_id bigint, ok boolean, reported jsonb DEFAULT NULL)
RETURNS text
	AS 'MODULE_PATHNAME', 'dtmv_complete_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.complete_sync(bigint, boolean, jsonb) IS
	'gateway: finish a running sync; on success store the reported state and answer its batch "superseded", on failure queue the batch again';

CREATE OR REPLACE FUNCTION dtmv.sync_status(request_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	SELECT s.status, s.subject_id, s.twin INTO r FROM dtmv.sync_requests s
	 WHERE s.request_id = sync_status.request_id;
	-- IS NOT TRUE: a periodic request has no requester (NULL), and NULL must not let anyone in
	IF NOT FOUND OR (r.subject_id = ANY (dtmv.current_subjects())
					 OR dtmv._outer_has_role('dtmv_gateway')
					 OR dtmv.has_right(r.twin, 'admin')) IS NOT TRUE THEN
		RAISE EXCEPTION 'permission denied: sync request % is not yours', request_id
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only its requester, a gateway or an admin of the twin may see a sync request, or it does not exist.';
	END IF;
	RETURN r.status;
END
$$;
COMMENT ON FUNCTION dtmv.sync_status(bigint) IS
	'pending, running, succeeded, failed, superseded or rejected; for the requester, gateways and admins of the twin';

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

CREATE OR REPLACE FUNCTION dtmv.queue_due_syncs(max integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	d record;
	n integer := 0;
BEGIN
	PERFORM dtmv._require_gateway('queue periodic syncs');
	FOR d IN SELECT s.twin, g.sync_period, g.sync_priority
			   FROM dtmv.sync_schedule s JOIN dtmv.twin_registry g ON g.id = s.twin
			  WHERE s.next_due <= now()
			  ORDER BY s.next_due LIMIT max LOOP
		-- The twin's lock first, then its rows, as everywhere; never waited
		-- for: a twin that someone is deciding on is tried again next round.
		CONTINUE WHEN NOT dtmv._try_lock_twin(d.twin);
		PERFORM 1 FROM dtmv.sync_schedule s WHERE s.twin = d.twin AND s.next_due <= now()
		   FOR UPDATE SKIP LOCKED;
		CONTINUE WHEN NOT FOUND;
		UPDATE dtmv.sync_schedule s SET next_due = now() + d.sync_period WHERE s.twin = d.twin;
		-- A sync already asked for or running serves; else queue one.
		CONTINUE WHEN EXISTS (SELECT 1 FROM dtmv.sync_requests r
							   WHERE r.twin = d.twin AND r.status IN ('pending', 'running'));
		BEGIN
			PERFORM dtmv._queue_sync(d.twin, NULL, d.sync_priority);
			n := n + 1;
		EXCEPTION WHEN SQLSTATE 'TW001' THEN
			NULL;	-- a higher-priority sync runs: that one serves
		END;
	END LOOP;
	RETURN n;
END
$$;
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
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (SELECT dtmv._outer_has_role('dtmv_gateway'))
		   OR dtmv._holds(twin, 'admin'));
COMMENT ON POLICY sync_requests_visible ON dtmv.sync_requests IS
	'a subject sees its own requests, gateways see all, admins of a twin see the twin''s';

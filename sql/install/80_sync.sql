-- The priority sync queue (REQ-DT-07, REQ-DT-08, scenario 7.1.3).
-- See docs/sync.md for the semantics; the advisory locks are in C
-- (src/sync_lock.c).
--
-- Tables and what keeps costs independent of the backlog:
--   sync_requests  every request; a partial index holds only pending ones,
--                  per twin by priority, so one twin's batch is found
--                  without looking at any other twin's
--   sync_twins     one small row per twin: what runs there now (HOT updates)
--   sync_ready     one row per twin that has pending requests and nothing
--                  running, with its best request: the claim queue. Busy
--                  twins are not in it, so a claim never scans their backlog.
--   sync_schedule  when each periodically synchronised twin falls due

CREATE TABLE dtmv.sync_requests (
	request_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	twin dtmv.twin_id NOT NULL REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	subject_id bigint REFERENCES dtmv.subjects ON DELETE SET NULL,
	priority integer NOT NULL,
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'superseded', 'rejected')),
	batch bigint,
	requested_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at timestamptz,
	finished_at timestamptz,
	lease_until timestamptz,
	session_lock boolean,
	gateway_pid integer
);
CREATE INDEX sync_requests_pending ON dtmv.sync_requests (twin, priority DESC, request_id)
	WHERE status = 'pending';
CREATE INDEX sync_requests_running ON dtmv.sync_requests (lease_until) WHERE status = 'running';
COMMENT ON TABLE dtmv.sync_requests IS
	'requests to synchronise a twin with its physical object, and their answers (REQ-DT-07, REQ-DT-08)';
COMMENT ON COLUMN dtmv.sync_requests.subject_id IS 'who asked; NULL for a periodic sync queued by the twin system';
COMMENT ON COLUMN dtmv.sync_requests.batch IS
	'the running request whose completion answers this pending one (set when that request was claimed)';

CREATE TABLE dtmv.sync_twins (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	running_request bigint,
	running_priority integer,
	last_synced_at timestamptz
) WITH (fillfactor = 50);
COMMENT ON TABLE dtmv.sync_twins IS 'per twin: the sync running now, if any, and when it last synchronised';

CREATE TABLE dtmv.sync_ready (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	priority integer NOT NULL,
	request_id bigint NOT NULL
);
CREATE INDEX sync_ready_order ON dtmv.sync_ready (priority DESC, request_id);
COMMENT ON TABLE dtmv.sync_ready IS
	'twins with pending requests and no sync running, with their most urgent request: what claim_sync picks from';

CREATE TABLE dtmv.sync_schedule (
	twin dtmv.twin_id PRIMARY KEY REFERENCES dtmv.twin_registry ON DELETE CASCADE,
	next_due timestamptz NOT NULL
);
CREATE INDEX sync_schedule_due ON dtmv.sync_schedule (next_due);
COMMENT ON TABLE dtmv.sync_schedule IS 'when each twin with a sync period next falls due (REQ-DT-07)';

-- Locks and the sweep timer, in C (src/sync_lock.c).
CREATE FUNCTION dtmv._lock_twin(twin dtmv.twin_id) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_lock_twin' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._lock_twin(dtmv.twin_id) IS 'internal: wait for the twin''s decision lock, held to the end of the transaction';
CREATE FUNCTION dtmv._try_lock_twin(twin dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_try_lock_twin' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._try_lock_twin(dtmv.twin_id) IS 'internal: take the twin''s decision lock if free';
CREATE FUNCTION dtmv._run_lock(request bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_run_lock' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._run_lock(bigint) IS 'internal: take the session run lock of a request (released on abort)';
CREATE FUNCTION dtmv._run_unlock(request bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_run_unlock' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._run_unlock(bigint) IS 'internal: release this backend''s run lock of a request';
CREATE FUNCTION dtmv._run_lock_held(request bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_run_lock_held' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._run_lock_held(bigint) IS 'internal: whether any backend holds the run lock of a request';
CREATE FUNCTION dtmv._sweep_due(every_ms integer) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_sweep_due' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._sweep_due(integer) IS 'internal: true at most once per interval in this backend';

CREATE FUNCTION dtmv._require_gateway(what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_gateway' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_gateway(text) IS 'internal: 42501 unless the calling role has the privileges of dtmv_gateway';

-- Put the twin's most urgent pending request in the claim queue, or take
-- the twin out of it; call with the twin lock held and nothing running.
CREATE FUNCTION dtmv._refresh_ready(twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	best record;
BEGIN
	SELECT r.priority, r.request_id INTO best
	  FROM dtmv.sync_requests r
	 WHERE r.twin = _refresh_ready.twin AND r.status = 'pending'
	 ORDER BY r.priority DESC, r.request_id LIMIT 1;
	IF best IS NULL THEN
		DELETE FROM dtmv.sync_ready q WHERE q.twin = _refresh_ready.twin;
	ELSE
		INSERT INTO dtmv.sync_ready AS q (twin, priority, request_id)
			VALUES (twin, best.priority, best.request_id)
		ON CONFLICT ON CONSTRAINT sync_ready_pkey
			DO UPDATE SET priority = excluded.priority, request_id = excluded.request_id;
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._refresh_ready(dtmv.twin_id) IS 'internal: re-derive a twin''s entry in the claim queue';

-- Whether a request is running with a live gateway: its lease holds and,
-- if it took a session run lock, some backend still holds that lock.
-- In C (src/sync_queue.c), the one test for dtmv.request_sync and the SQL below.
CREATE FUNCTION dtmv._run_alive(request bigint) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_run_alive' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._run_alive(bigint) IS 'internal: whether a sync request runs, its lease unexpired and its gateway session alive';

-- REQ-DT-08 note 1: the refusal, with the priority that holds the twin. In
-- C (src/sync_queue.c), with the refusal that dtmv.request_sync decides
-- before taking any lock.
CREATE FUNCTION dtmv._refuse_sync(twin dtmv.twin_id, running_request bigint, running_priority integer,
								  priority integer) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_refuse_sync' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._refuse_sync(dtmv.twin_id, bigint, integer, integer) IS
	'internal: raise TW001 naming the running request and priority that hold the twin (REQ-DT-08)';

-- A running request whose gateway is gone (its run lock is free) or whose
-- lease has expired goes back to pending, and so does its batch; call with
-- the twin lock held. Returns whether it was requeued.
CREATE FUNCTION dtmv._recover_if_dead(request bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	SELECT * INTO r FROM dtmv.sync_requests s WHERE s.request_id = request AND s.status = 'running';
	IF r IS NULL THEN
		RETURN false;
	END IF;
	IF dtmv._run_alive(request) THEN
		RETURN false;
	END IF;
	UPDATE dtmv.sync_requests s
	   SET status = 'pending', started_at = NULL, lease_until = NULL, session_lock = NULL, gateway_pid = NULL
	 WHERE s.request_id = request;
	UPDATE dtmv.sync_requests s SET batch = NULL
	 WHERE s.twin = r.twin AND s.status = 'pending' AND s.batch = request;
	UPDATE dtmv.sync_twins t SET running_request = NULL, running_priority = NULL
	 WHERE t.twin = r.twin AND t.running_request = request;
	PERFORM dtmv._refresh_ready(r.twin);
	RAISE LOG 'dtmv: sync request % on twin % requeued: its gateway (pid %) is gone or its lease expired',
		request, r.twin, r.gateway_pid;
	RETURN true;
END
$$;
COMMENT ON FUNCTION dtmv._recover_if_dead(bigint) IS
	'internal: requeue a running request whose gateway session ended or whose lease expired';

CREATE FUNCTION dtmv.recover_syncs() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	PERFORM dtmv._require_gateway('recover sync requests');
	-- Suspects in one query: an expired lease, or a session-locked run whose
	-- gateway backend is no longer there. _recover_if_dead then decides by
	-- the run lock itself (a pid can be reused; the lock cannot lie).
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

-- The one way a request enters the queue, for users (through
-- dtmv.request_sync, which refuses first what it can without a lock) and
-- for the periodic worker alike. Refuses (TW001) while a sync of higher
-- priority runs on the twin (REQ-DT-08 note 1), decided under the twin's
-- lock. A subject's second request while its first is still pending
-- returns the first. SECURITY DEFINER: dtmv.request_sync (C) calls it as
-- the requester, and the queue's tables and locks are not theirs.
CREATE FUNCTION dtmv._queue_sync(twin dtmv.twin_id, subject bigint, priority integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	st record;
	id bigint;
BEGIN
	PERFORM dtmv._lock_twin(twin);
	INSERT INTO dtmv.sync_twins AS t (twin) VALUES (twin) ON CONFLICT ON CONSTRAINT sync_twins_pkey DO NOTHING;
	SELECT t.running_request, t.running_priority INTO st FROM dtmv.sync_twins t WHERE t.twin = _queue_sync.twin;
	IF st.running_request IS NOT NULL AND dtmv._recover_if_dead(st.running_request) THEN
		st.running_request := NULL;
	END IF;
	IF st.running_request IS NOT NULL AND st.running_priority > priority THEN
		PERFORM dtmv._refuse_sync(twin, st.running_request, st.running_priority, priority);
	END IF;
	IF subject IS NOT NULL THEN
		SELECT r.request_id INTO id FROM dtmv.sync_requests r
		 WHERE r.twin = _queue_sync.twin AND r.status = 'pending' AND r.subject_id = subject
		   AND r.batch IS NULL;
		IF id IS NOT NULL THEN
			RETURN id;
		END IF;
	END IF;
	INSERT INTO dtmv.sync_requests (twin, subject_id, priority)
		VALUES (twin, subject, priority) RETURNING request_id INTO id;
	IF st.running_request IS NULL THEN
		INSERT INTO dtmv.sync_ready AS q (twin, priority, request_id) VALUES (twin, priority, id)
		ON CONFLICT ON CONSTRAINT sync_ready_pkey
			DO UPDATE SET priority = excluded.priority, request_id = excluded.request_id
			WHERE excluded.priority > q.priority;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._queue_sync(dtmv.twin_id, bigint, integer) IS
	'internal: queue a sync request; refuses with TW001 while a higher-priority sync runs (REQ-DT-08)';

-- In C (src/sync_queue.c): the refusal, the common answer under load, is
-- decided there with no lock and no write.
CREATE FUNCTION dtmv.request_sync(twin dtmv.twin_id) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_request_sync' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.request_sync(dtmv.twin_id) IS
	'ask that a twin be synchronised with its physical object, at the caller''s priority; needs sync; TW001 while a higher-priority sync runs (REQ-DT-07, REQ-DT-08)';

CREATE FUNCTION dtmv.claim_sync(lease interval DEFAULT '5 minutes', session_lock boolean DEFAULT true)
RETURNS TABLE (request_id bigint, twin dtmv.twin_id, priority integer, requested_by text,
			   requested_at timestamptz, batch_size integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	cand record;
	best record;
	n integer;
BEGIN
	PERFORM dtmv._require_gateway('claim sync requests');
	IF lease IS NULL OR lease <= '0' THEN
		RAISE EXCEPTION 'lease must be positive, not %', lease USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF dtmv._sweep_due(1000) THEN
		PERFORM dtmv.recover_syncs();
	END IF;
	FOR cand IN SELECT q.twin FROM dtmv.sync_ready q ORDER BY q.priority DESC, q.request_id LIMIT 64 LOOP
		CONTINUE WHEN NOT dtmv._try_lock_twin(cand.twin);	-- another gateway is deciding on it
		-- Under the lock, with a fresh snapshot: still free, and its best request?
		CONTINUE WHEN EXISTS (SELECT 1 FROM dtmv.sync_twins t
							   WHERE t.twin = cand.twin AND t.running_request IS NOT NULL);
		SELECT r.request_id, r.priority, r.subject_id, r.requested_at INTO best
		  FROM dtmv.sync_requests r
		 WHERE r.twin = cand.twin AND r.status = 'pending'
		 ORDER BY r.priority DESC, r.request_id LIMIT 1;
		IF best IS NULL THEN
			DELETE FROM dtmv.sync_ready q WHERE q.twin = cand.twin;
			CONTINUE;
		END IF;
		UPDATE dtmv.sync_requests r
		   SET status = 'running', started_at = now(), lease_until = now() + lease,
			   session_lock = claim_sync.session_lock, gateway_pid = pg_backend_pid(), batch = NULL
		 WHERE r.request_id = best.request_id;
		-- Every request pending now is answered by this run.
		UPDATE dtmv.sync_requests r SET batch = best.request_id
		 WHERE r.twin = cand.twin AND r.status = 'pending';
		GET DIAGNOSTICS n = ROW_COUNT;
		UPDATE dtmv.sync_twins t SET running_request = best.request_id, running_priority = best.priority
		 WHERE t.twin = cand.twin;
		DELETE FROM dtmv.sync_ready q WHERE q.twin = cand.twin;
		IF claim_sync.session_lock THEN
			PERFORM dtmv._run_lock(best.request_id);
		END IF;
		RETURN QUERY SELECT best.request_id, cand.twin, best.priority,
							(SELECT s.name FROM dtmv.subjects s WHERE s.subject_id = best.subject_id),
							best.requested_at, n + 1;
		RETURN;
	END LOOP;
END
$$;
COMMENT ON FUNCTION dtmv.claim_sync(interval, boolean) IS
	'gateway: the most urgent pending request whose twin is free, now running, or no row; every request pending on that twin joins its batch (REQ-DT-07, REQ-DT-08)';

CREATE FUNCTION dtmv.complete_sync(request_id bigint, ok boolean, reported jsonb DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	t dtmv.twin_id;
	st text;
	result text := CASE WHEN ok THEN 'succeeded' ELSE 'failed' END;
	superseded bigint[] := '{}';
BEGIN
	PERFORM dtmv._require_gateway('complete sync requests');
	IF ok IS NULL THEN
		RAISE EXCEPTION 'ok must be true or false' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT r.twin INTO t FROM dtmv.sync_requests r WHERE r.request_id = complete_sync.request_id;
	IF t IS NULL THEN
		RAISE EXCEPTION 'sync request % does not exist', request_id USING ERRCODE = 'undefined_object';
	END IF;
	PERFORM dtmv._lock_twin(t);
	SELECT r.status INTO st FROM dtmv.sync_requests r WHERE r.request_id = complete_sync.request_id;
	IF st = 'pending' THEN
		RAISE EXCEPTION 'sync request % is not running', request_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Its status is pending.',
				  HINT = 'Its lease expired or its gateway session ended, so it was queued again.';
	ELSIF st <> 'running' THEN
		RAISE EXCEPTION 'sync request % is not running', request_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Its status is %s.', st);
	END IF;
	UPDATE dtmv.sync_requests r SET status = result, finished_at = now()
	 WHERE r.request_id = complete_sync.request_id;
	IF ok THEN
		UPDATE dtmv.twin_states s
		   SET reported = coalesce(complete_sync.reported, s.reported), reported_at = now()
		 WHERE s.twin = t;
		WITH answered AS (
			UPDATE dtmv.sync_requests r SET status = 'superseded', finished_at = now()
			 WHERE r.twin = t AND r.status = 'pending' AND r.batch = complete_sync.request_id
			RETURNING r.request_id, r.subject_id
		)
		SELECT coalesce(array_agg(a.request_id ORDER BY a.request_id) FILTER (WHERE a.subject_id IS NOT NULL), '{}')
		  INTO superseded FROM answered a;
		UPDATE dtmv.sync_schedule s SET next_due = now() + g.sync_period
		  FROM dtmv.twin_registry g WHERE s.twin = t AND g.id = t;
	ELSE
		-- The physical object was not reached: the batch waits for another run.
		UPDATE dtmv.sync_requests r SET batch = NULL
		 WHERE r.twin = t AND r.status = 'pending' AND r.batch = complete_sync.request_id;
	END IF;
	UPDATE dtmv.sync_twins s
	   SET running_request = NULL, running_priority = NULL,
		   last_synced_at = CASE WHEN ok THEN now() ELSE s.last_synced_at END
	 WHERE s.twin = t;
	PERFORM dtmv._refresh_ready(t);
	PERFORM dtmv._run_unlock(complete_sync.request_id);
	-- Every answer reaches its requester as an event addressed to it
	-- (dtmv._append_event is in 85_events.sql).
	PERFORM dtmv._append_event(t, r.subject_id, 'sync_answer',
							   jsonb_build_object('request', r.request_id, 'status', r.status))
	   FROM dtmv.sync_requests r
	  WHERE r.subject_id IS NOT NULL
		AND r.request_id = ANY (complete_sync.request_id || superseded)
	  ORDER BY r.request_id;
	RETURN result;
END
$$;
COMMENT ON FUNCTION dtmv.complete_sync(bigint, boolean, jsonb) IS
	'gateway: finish a running sync; on success store the reported state and answer its batch "superseded", on failure queue the batch again';

CREATE FUNCTION dtmv.sync_status(request_id bigint) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	SELECT s.status, s.subject_id, s.twin INTO r FROM dtmv.sync_requests s
	 WHERE s.request_id = sync_status.request_id;
	IF r IS NULL OR NOT (r.subject_id = ANY (dtmv.current_subjects())
						 OR dtmv._outer_has_role('dtmv_gateway')
						 OR dtmv.has_right(r.twin, 'admin')) THEN
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
CREATE FUNCTION dtmv._schedule_twin() RETURNS trigger
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
CREATE TRIGGER twin_registry_schedule_insert AFTER INSERT ON dtmv.twin_registry
	FOR EACH ROW WHEN (NEW.sync_period IS NOT NULL) EXECUTE FUNCTION dtmv._schedule_twin();
CREATE TRIGGER twin_registry_schedule_update AFTER UPDATE OF sync_period ON dtmv.twin_registry
	FOR EACH ROW WHEN (OLD.sync_period IS DISTINCT FROM NEW.sync_period) EXECUTE FUNCTION dtmv._schedule_twin();

CREATE FUNCTION dtmv.queue_due_syncs(max integer DEFAULT 1000) RETURNS integer
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
			  ORDER BY s.next_due LIMIT max
			  FOR UPDATE OF s SKIP LOCKED LOOP
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

GRANT SELECT ON dtmv.sync_requests, dtmv.sync_twins TO dtmv_user;
ALTER TABLE dtmv.sync_requests ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_requests_visible ON dtmv.sync_requests FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv.current_subjects())::bigint[])
		   OR (SELECT dtmv._outer_has_role('dtmv_gateway'))
		   OR dtmv._effective_rights(twin) & 32 <> 0);
COMMENT ON POLICY sync_requests_visible ON dtmv.sync_requests IS
	'a subject sees its own requests, gateways see all, admins of a twin see the twin''s';
ALTER TABLE dtmv.sync_twins ENABLE ROW LEVEL SECURITY;
CREATE POLICY sync_twins_read ON dtmv.sync_twins FOR SELECT TO dtmv_user
	USING ((SELECT dtmv._outer_has_role('dtmv_gateway')) OR dtmv._effective_rights(twin) & 2 <> 0);
COMMENT ON POLICY sync_twins_read ON dtmv.sync_twins IS 'what runs on a twin is visible with read on it, and to gateways';

SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_requests', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_requests_request_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_twins', '');
SELECT pg_catalog.pg_extension_config_dump('dtmv.sync_ready', '');
-- sync_schedule is not dumped: restoring twin_registry rebuilds it (its trigger).

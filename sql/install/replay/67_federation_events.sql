-- Events across systems (REQ-SI-01, REQ-MV-04; docs/federation.md, "Events
-- across systems"). The relay pulls the events of remote twins into this
-- system's own log, addressed to each user who lets this system read for
-- her there (dtmv.delegate to the system's subject, with read): her clients
-- then hear and catch them up with dtmv.listen() and dtmv.events_since() as
-- any event. Rights stay at the twin's system: the relay reads there, as
-- her, with that system's own events_since. Each pull reads from her cursor
-- (dtmv.remote_event_cursors) there and, in one transaction here, appends
-- what came and moves the cursor: a remote read can be repeated, the local
-- append and the cursor commit together, so every event is relayed once.

GRANT SELECT ON dtmv.remote_event_cursors TO dtmv_user;
DROP POLICY IF EXISTS remote_event_cursors_own ON dtmv.remote_event_cursors;
CREATE POLICY remote_event_cursors_own ON dtmv.remote_event_cursors FOR SELECT TO dtmv_user
	USING (subject_id = ANY (dtmv._own_subjects()) OR dtmv._outer_has_role('dtmv_admin'));
COMMENT ON POLICY remote_event_cursors_own ON dtmv.remote_event_cursors IS
	'a user sees how far her events of other systems were relayed; dtmv_admin sees every cursor';

-- The (system, user) pairs the relay serves: a user of this system (not a
-- remote system's) who delegated read to the subject that stands for a
-- linked remote system.
CREATE OR REPLACE FUNCTION dtmv._relay_pairs(system integer DEFAULT NULL)
RETURNS TABLE (system_no integer, subject_id bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT l.system_no, d.subject_id
	  FROM dtmv.system_links l
	  -- twin systems only: their events are events of their twins (a 3rd
	  -- party's are of its orders, whose ids mean nothing here)
	  JOIN dtmv.systems s ON s.system_no = l.system_no AND NOT s.is_local AND s.fdw_server IS NOT NULL AND s.kind = 'twin'
	  JOIN dtmv.delegations d ON d.service_id = l.subject_id AND d.rights & dtmv._rights_mask('read') <> 0
	 WHERE (_relay_pairs.system IS NULL OR l.system_no = _relay_pairs.system)
	   AND NOT EXISTS (SELECT FROM dtmv.remote_users r WHERE r.subject_id = d.subject_id)
	 ORDER BY 1, 2
$$;
COMMENT ON FUNCTION dtmv._relay_pairs(integer) IS
	'internal: the (remote twin system, local user) pairs whose events the relay pulls: users who delegated read to a linked twin system''s subject';

-- One pull for one user from one system, in the caller's transaction: the
-- events after her cursor there (read there as her, with the rights she has
-- there and delegated here), appended here addressed to her in their order
-- there, and the cursor moved, all committed together. Her cursor row is
-- locked (SKIP LOCKED: a pull running elsewhere for her returns 0 here). The
-- first pull starts at that system's horizon. If events after the cursor
-- were pruned there (TW002), an event remote_events_lost tells her, and the
-- relay goes on from that system's horizon. Each call there also LISTENs
-- (again) on her channel there, so that a new link hears her wake-ups.
-- Returns how many events were appended.
CREATE OR REPLACE FUNCTION dtmv._relay_user(system integer, subject bigint, batch integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	cur record;
	listen_call constant text := 'SELECT ''c'' || c FROM dtmv.listen() c UNION ALL ';
	answer text[];
	v text;
	chan text;
	horizon bigint;
	ev jsonb;
	events jsonb[];
	last_id bigint;
	n integer := 0;
	pulls integer := 0;
	pruned boolean;
BEGIN
	INSERT INTO dtmv.remote_event_cursors AS c (system_no, subject_id) VALUES (system, subject)
	ON CONFLICT ON CONSTRAINT remote_event_cursors_pkey DO NOTHING;
	SELECT c.* INTO cur FROM dtmv.remote_event_cursors c
	 WHERE c.system_no = _relay_user.system AND c.subject_id = _relay_user.subject
	   FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN 0;		-- another relay pulls for her now
	END IF;
	last_id := cur.last_remote_id;
	LOOP
		pulls := pulls + 1;
		pruned := false;
		IF last_id IS NOT NULL THEN
			BEGIN
				answer := ARRAY(SELECT a FROM dtmv._remote_as(system, subject, listen_call || pg_catalog.format(
								'SELECT ''e'' || pg_catalog.json_build_array(e.event_id, e.twin, e.kind, e.payload)::text'
								' FROM dtmv.events_since(%s, %s) e', last_id, batch)) a);
			EXCEPTION WHEN SQLSTATE 'TW002' THEN
				pruned := true;
			END;
		END IF;
		IF last_id IS NULL OR pruned THEN
			answer := ARRAY(SELECT a FROM dtmv._remote_as(system, subject,
							listen_call || 'SELECT ''h'' || dtmv.event_horizon()') a);
		END IF;
		events := '{}';
		FOREACH v IN ARRAY answer LOOP
			CASE pg_catalog.left(v, 1)
				WHEN 'c' THEN chan := pg_catalog.substr(v, 2);
				WHEN 'h' THEN horizon := pg_catalog.substr(v, 2)::bigint;
				ELSE events := events || pg_catalog.substr(v, 2)::jsonb;
			END CASE;
		END LOOP;
		IF pruned THEN
			PERFORM dtmv._append_event(NULL, subject, 'remote_events_lost', pg_catalog.jsonb_build_object(
						'system', (SELECT s.name FROM dtmv.systems s WHERE s.system_no = _relay_user.system),
						'system_no', system, 'after', last_id, 'horizon', horizon));
			UPDATE dtmv.remote_event_cursors c SET lost = c.lost + 1
			 WHERE c.system_no = _relay_user.system AND c.subject_id = _relay_user.subject;
		END IF;
		IF last_id IS NULL OR pruned THEN
			last_id := horizon;
			EXIT;
		END IF;
		-- in their order there, which is each twin's order
		FOR ev IN SELECT e FROM pg_catalog.unnest(events) e ORDER BY (e->>0)::bigint LOOP
			IF (ev->>0)::bigint <= last_id THEN
				RAISE EXCEPTION 'system % answered events_since(%) with event %', system, last_id, ev->>0
					USING ERRCODE = 'protocol_violation';
			END IF;
			last_id := (ev->>0)::bigint;
			-- a twin system speaks only for its own twins: an event of another
			-- system's twin, or of none (no twin system writes one for a
			-- remote user; a 3rd party's order events would look like this
			-- system's own), or of a kind only this system writes, is dropped
			CONTINUE WHEN ev->>1 IS NULL OR dtmv.twin_system((ev->>1)::dtmv.twin_id) <> system
					   OR ev->>2 = 'remote_events_lost';
			PERFORM dtmv._append_event((ev->>1)::dtmv.twin_id, subject, ev->>2,
				CASE WHEN ev->>2 = 'sync_answer' AND ev->3 ? 'request' THEN
					-- the request's id here (dtmv.request_sync of a remote twin), not there
					(ev->3) || pg_catalog.jsonb_build_object(
						'request', (SELECT r.request_id FROM dtmv.remote_sync_requests r
									 WHERE r.system_no = _relay_user.system AND r.subject_id = _relay_user.subject
									   AND r.remote_request_id::text = ev->3->>'request'
									 ORDER BY r.request_id LIMIT 1),
						'remote_request', ev->3->'request')
				ELSE ev->3 END);
			n := n + 1;
		END LOOP;
		EXIT WHEN pg_catalog.cardinality(events) < batch OR pulls >= 10;
	END LOOP;
	-- written only when it moved (a pull that brought nothing writes nothing)
	IF last_id IS DISTINCT FROM cur.last_remote_id OR chan IS DISTINCT FROM cur.channel THEN
		UPDATE dtmv.remote_event_cursors c
		   SET last_remote_id = last_id, channel = coalesce(chan, c.channel), relayed = c.relayed + n,
			   relayed_at = pg_catalog.now()
		 WHERE c.system_no = _relay_user.system AND c.subject_id = _relay_user.subject;
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv._relay_user(integer, bigint, integer) IS
	'internal: pull the events of a remote system for one user into this system''s log, addressed to her, and move her cursor, in the caller''s transaction; how many were appended';

-- Pulls for the (system, user) pairs given, each in a subtransaction of its
-- own, so that one that fails (logged as a WARNING) undoes only itself; a
-- system that cannot be reached is not asked again in this call. The
-- relay's worker calls it for the users whose channel woke
-- (src/federation_events.c). How many events were appended.
CREATE OR REPLACE FUNCTION dtmv._relay_pulls(systems integer[], subjects bigint[])
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	n bigint := 0;
	down integer[] := '{}';
	state text;
	msg text;
BEGIN
	FOR i IN 1 .. coalesce(pg_catalog.cardinality(systems), 0) LOOP
		CONTINUE WHEN systems[i] = ANY (down);
		BEGIN
			n := n + dtmv._relay_user(systems[i], subjects[i]);
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
			RAISE WARNING 'could not relay the events of system % for subject %: %', systems[i], subjects[i], msg
				USING ERRCODE = state;
			IF state LIKE '08%' OR state = '57014' THEN
				down := down || systems[i];
			END IF;
		END;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv._relay_pulls(integer[], bigint[]) IS
	'internal: pull the events of each (system, user) pair given; failures are WARNINGs; how many events were appended';

-- A relay round of every user of one system, or of all: the cursors of
-- users who no longer delegate read are dropped (a later delegation starts
-- again at that system's horizon), then a pull for each.
CREATE OR REPLACE FUNCTION dtmv._relay_round(system integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	systems integer[];
	subjects bigint[];
BEGIN
	DELETE FROM dtmv.remote_event_cursors c
	 WHERE (_relay_round.system IS NULL OR c.system_no = _relay_round.system)
	   AND (c.system_no, c.subject_id) NOT IN (SELECT * FROM dtmv._relay_pairs(_relay_round.system));
	SELECT pg_catalog.array_agg(p.system_no), pg_catalog.array_agg(p.subject_id) INTO systems, subjects
	  FROM dtmv._relay_pairs(_relay_round.system) p;
	RETURN dtmv._relay_pulls(systems, subjects);
END
$$;
COMMENT ON FUNCTION dtmv._relay_round(integer) IS
	'internal: a relay round of every user of one system or of all: cursors no longer delegated dropped, then a pull for each; how many events were appended';

-- For installations without the background worker (dtmv not preloaded), or
-- to relay at once: one round for every user of one system (by name) or of
-- all. Schedule it (pg_cron, every few seconds) where dtmv is not preloaded.
CREATE OR REPLACE FUNCTION dtmv.relay_events(system text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('relay events of other systems');
	RETURN dtmv._relay_round(CASE WHEN system IS NOT NULL THEN dtmv._remote_system(system) END);
END
$$;
COMMENT ON FUNCTION dtmv.relay_events(text) IS
	'pull the events of remote twins into this system''s log for every user who delegated read to that system (one system by name, or all); how many were appended; dtmv_admin only (REQ-SI-01)';

-- Events from the physical world to metaverse clients, and commands back
-- (REQ-DT-06, REQ-MV-03, REQ-MV-04, scenario 7.2.1). See docs/events.md.
--
-- Two tables make the log. A writer appends its event to dtmv.event_inbox in
-- the transaction of the state change it records; once that transaction has
-- committed, a single orderer (the background worker, or a worker started
-- for a reader when dtmv is not preloaded; src/event_order.c) moves it to
-- dtmv.events and gives it its place in the delivery order, event_id. Ids
-- are handed out only to committed events, by one orderer at a time, each
-- batch above the last: so a reader that continues after the last id it got
-- can never skip one, whatever commits when. NOTIFY only wakes clients.

-- The table's comments, here so that install and update write the same.
COMMENT ON TABLE dtmv.kind_action_definitions IS
	'the actions each kind of twin offers (REQ-DT-06) as dtmv ships them and as dtmv_admin defined or withdrew them; read the view dtmv.kind_actions';
COMMENT ON COLUMN dtmv.kind_action_definitions.desired_patch IS
	'merged into the desired state by dtmv.interact, and into the reported state once the command is acknowledged';
COMMENT ON COLUMN dtmv.kind_action_definitions.builtin IS
	'as this version of dtmv ships the action (made by CREATE EXTENSION and each update, never dumped); a row of dtmv_admin for the same action wins';
COMMENT ON COLUMN dtmv.kind_action_definitions.withdrawn IS
	'dtmv_admin withdrew the built-in action beside it (dtmv.withdraw_action): the kind no longer offers it';

-- The actions dtmv ships (once/85_events.sql says how they and dtmv_admin's
-- definitions live together): made by every install and update as this
-- version ships them, never dumped.
INSERT INTO dtmv.kind_action_definitions AS d (kind, action, desired_patch, builtin) VALUES
	('door', 'open', '{"door": "open"}', true),
	('door', 'close', '{"door": "closed"}', true),
	('door', 'lock', '{"door": "locked"}', true),
	('door', 'view_camera', NULL, true),
	('lamp', 'on', '{"light": "on"}', true),
	('lamp', 'off', '{"light": "off"}', true),
	('robot', 'stop', '{"motion": "stopped"}', true),
	('robot', 'resume', '{"motion": "running"}', true)
ON CONFLICT ON CONSTRAINT kind_action_definitions_pkey
	DO UPDATE SET desired_patch = excluded.desired_patch WHERE d.desired_patch IS DISTINCT FROM excluded.desired_patch;

-- What each kind offers: one row per action, dtmv_admin's definition where
-- there is one, else the built-in one; none for a withdrawn action.
CREATE OR REPLACE VIEW dtmv.kind_actions AS
	SELECT d.kind, d.action, d.desired_patch, d.builtin
	  FROM dtmv.kind_action_definitions d
	 WHERE NOT d.withdrawn
	   AND NOT (d.builtin AND EXISTS (SELECT 1 FROM dtmv.kind_action_definitions o
									   WHERE o.kind = d.kind AND o.action = d.action AND NOT o.builtin));
COMMENT ON VIEW dtmv.kind_actions IS
	'the actions each kind of twin offers (REQ-DT-06), one row each, and the desired state each sets (merged into desired; reported once acknowledged); builtin: as dtmv ships it';

-- The desired-state patch of an action the kind offers (NULL: it sets
-- none); 22023 for one it does not offer, naming those it does.
CREATE OR REPLACE FUNCTION dtmv._action_patch(kind text, action text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	patch jsonb;
BEGIN
	SELECT a.desired_patch INTO patch FROM dtmv.kind_actions a
	 WHERE a.kind = _action_patch.kind AND a.action = _action_patch.action;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'a % does not offer the action "%"', kind, action
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = coalesce('It offers: ' || (SELECT string_agg(a.action, ', ' ORDER BY a.action)
													 FROM dtmv.kind_actions a WHERE a.kind = _action_patch.kind) || '.',
								  'It offers no action.');
	END IF;
	RETURN patch;
END
$$;
COMMENT ON FUNCTION dtmv._action_patch(text, text) IS
	'internal: the desired-state patch of an action the kind offers; 22023 if it offers no such action';

CREATE OR REPLACE FUNCTION dtmv.define_action(kind text, action text, desired_patch jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('define actions');
	IF kind IS NULL OR action IS NULL THEN
		RAISE EXCEPTION 'an action needs a kind and a name' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM dtmv._require_identifier(define_action.kind, 'kind of twin'),
			dtmv._require_identifier(define_action.action, 'action');
	IF jsonb_typeof(desired_patch) <> 'object' THEN
		RAISE EXCEPTION 'an action''s desired-state patch is a JSON object, not %', jsonb_typeof(desired_patch)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Its keys replace the same keys of the desired state: {"door": "open"}. NULL sets none.';
	END IF;
	-- beside the built-in row of the action, if any, never over it
	INSERT INTO dtmv.kind_action_definitions AS a (kind, action, desired_patch) VALUES (kind, action, desired_patch)
	ON CONFLICT ON CONSTRAINT kind_action_definitions_pkey
		DO UPDATE SET desired_patch = excluded.desired_patch, withdrawn = false;
END
$$;
COMMENT ON FUNCTION dtmv.define_action(text, text, jsonb) IS
	'let twins of a kind offer an action, with the desired state it sets; for a built-in action, this definition wins over dtmv''s; dtmv_admin only';

CREATE OR REPLACE FUNCTION dtmv.withdraw_action(kind text, action text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('withdraw actions');
	IF kind IS NULL OR action IS NULL THEN
		RAISE EXCEPTION 'an action needs a kind and a name' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	PERFORM dtmv._action_patch(kind, action);	-- 22023 unless offered
	IF EXISTS (SELECT 1 FROM dtmv.kind_action_definitions b
				WHERE b.kind = withdraw_action.kind AND b.action = withdraw_action.action AND b.builtin) THEN
		-- a built-in row never changes: a withdrawn row beside it hides it
		INSERT INTO dtmv.kind_action_definitions AS a (kind, action, withdrawn) VALUES (kind, action, true)
		ON CONFLICT ON CONSTRAINT kind_action_definitions_pkey
			DO UPDATE SET desired_patch = NULL, withdrawn = true;
	ELSE
		DELETE FROM dtmv.kind_action_definitions a
		 WHERE a.kind = withdraw_action.kind AND a.action = withdraw_action.action AND NOT a.builtin;
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv.withdraw_action(text, text) IS
	'twins of a kind no longer offer an action (a built-in one too); commands already queued keep theirs; dtmv.define_action offers it again; dtmv_admin only';

-- The subjects (users and systems, not groups) that may read a twin: the
-- holders of read on it, on a space it is in or system-wide, through
-- groups, less the denied. They depend on the twin's acl alone, so the
-- orderer works them out once per distinct acl (src/wake_channels.c). In C
-- (src/rights.c), with the same test as every other check.
CREATE OR REPLACE FUNCTION dtmv._acl_readers(acl bigint[]) RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'dtmv_acl_readers' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._acl_readers(bigint[]) IS 'internal: the users and systems that may read a twin with this acl';

-- Append an event to the inbox; the one writer of the log, in C
-- (src/events.c) since every report and move calls it. Returns the entry
-- number. With the worker running (dtmv preloaded), the wake-up is its job,
-- sent coalesced once the event is ordered; otherwise NOTIFY (empty
-- payload) at commit on each channel that should hear the event
-- (src/wake_channels.c).
CREATE OR REPLACE FUNCTION dtmv._append_event(twin dtmv.twin_id, addressee bigint, kind text, payload jsonb)
RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_append_event' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._append_event(dtmv.twin_id, bigint, text, jsonb) IS
	'internal: append an event to the inbox and see that its readers are woken; returns its entry number';

-- The orderer (src/event_order.c), run in the calling transaction: move at
-- most max committed events from the inbox to the log, each batch above the
-- last id given, and NOTIFY (if wake) the channels they wake, once each
-- with the newest id. Only one transaction orders at a time: another one
-- that is ordering makes this return at once (ordered NULL). The worker
-- calls the same C directly, each batch in a transaction of its own; no
-- client should run it, since the lock is held to the end of the
-- transaction (superusers only, like every internal function).
CREATE OR REPLACE FUNCTION dtmv._order_events(max integer, wake boolean, OUT ordered integer, OUT woken integer)
	AS 'MODULE_PATHNAME', 'dtmv_order_events' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._order_events(integer, boolean) IS
	'internal: give committed events of the inbox their place in the delivery order, in this transaction; NULL if another transaction is ordering';

-- For readers when no background worker orders this database's events:
-- if committed events wait in the inbox, start a worker that orders them in
-- a transaction of its own and wait for it (bounded). Never in the
-- caller's transaction, whose lock would hold back every other reader.
CREATE OR REPLACE FUNCTION dtmv._order_committed_events() RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_order_committed_events' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._order_committed_events() IS
	'internal: without the background worker, have the committed events ordered by a worker of their own; true if one ran';

-- In C (src/events.c): the hottest write path of the events.
CREATE OR REPLACE FUNCTION dtmv.report(twin dtmv.twin_id, kind text, payload jsonb DEFAULT '{}') RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_report' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv.report(dtmv.twin_id, text, jsonb) IS
	'gateway: the physical object reports; merge the payload into the twin''s reported state and log an event in the same transaction (REQ-MV-04)';

-- The one writer of a twin's reported state (src/events.c), for the SQL
-- functions that change it; report and complete_sync call it in C.
CREATE OR REPLACE FUNCTION dtmv._store_reported(twin dtmv.twin_id, patch jsonb, replace boolean DEFAULT false)
RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_store_reported' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._store_reported(dtmv.twin_id, jsonb, boolean) IS
	'internal: merge patch (a JSON object) into a twin''s reported state, or replace it, under the twin''s lock; false if the twin does not exist';

-- A channel's name: its kind and id, and a keyed hash of them that nobody
-- without dtmv.channel_key can work out (src/wake_channels.c). Kind 'd' is
-- the channel of a service (service) acting for a user (id).
CREATE OR REPLACE FUNCTION dtmv._channel(kind "char", id bigint, service bigint DEFAULT NULL) RETURNS text
	AS 'MODULE_PATHNAME', 'dtmv_channel' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._channel("char", bigint, bigint) IS
	'internal: the wake-up channel of a subject (s), a world (w), a gateway (g), or a service acting for a user (d), tagged with the channel key';

-- 32 bytes from the server's strong random source (two random UUIDs: 244 bits).
CREATE OR REPLACE FUNCTION dtmv._new_channel_secret() RETURNS bytea
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT decode(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), 'hex') $$;
COMMENT ON FUNCTION dtmv._new_channel_secret() IS 'internal: a new random channel key';

-- The key: made by the install and by the update from 0.1, kept by every later update.
INSERT INTO dtmv.channel_key (secret) VALUES (dtmv._new_channel_secret()) ON CONFLICT (one) DO NOTHING;

-- A new channel key: every channel gets a new name from the next
-- transaction on, and clients call dtmv.listen() again. For a name that
-- leaked (docs/events.md, "Channels").
CREATE OR REPLACE FUNCTION dtmv.rotate_channel_key() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('rotate the channel key');
	INSERT INTO dtmv.channel_key AS k (secret) VALUES (dtmv._new_channel_secret())
	ON CONFLICT (one) DO UPDATE SET secret = excluded.secret;
END
$$;
COMMENT ON FUNCTION dtmv.rotate_channel_key() IS
	'give every wake-up channel a new name (a new random channel key); clients then call dtmv.listen() again; dtmv_admin only';

-- A subject listens on its own channel, its worlds' and, for a gateway, its
-- commands'. A service acting for a user listens on its own channel for
-- her, woken only while she delegates read to it (never on hers, whose
-- name would outlive the delegation).
CREATE OR REPLACE FUNCTION dtmv.listen() RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	service bigint := dtmv._login_subject();
	acting boolean := service IS NOT NULL AND service <> me;
	channel text;
BEGIN
	FOR channel IN
		SELECT dtmv._channel('s', me) WHERE NOT acting
		UNION ALL
		SELECT dtmv._channel('w', w.world_id) FROM dtmv.worlds w WHERE w.owner_subject = me AND NOT acting
		UNION ALL
		SELECT dtmv._channel('d', me, service)
		  FROM dtmv.delegations d
		 WHERE acting AND d.subject_id = me AND d.service_id = service
		   AND d.rights & dtmv._rights_mask('read') <> 0
		UNION ALL
		SELECT dtmv._channel('g', g.subject_id) FROM dtmv.gateways g WHERE g.subject_id = service
	LOOP
		EXECUTE pg_catalog.format('LISTEN %I', channel);
		RETURN NEXT channel;
	END LOOP;
END
$$;
COMMENT ON FUNCTION dtmv.listen() IS
	'LISTEN on every channel the acting subject should hear (its own, its worlds'', a gateway''s commands; for a service acting for a user, its channel for her while she delegates read); returns them';

-- TW002 if events after last_id were pruned: the client must resynchronise.
CREATE OR REPLACE FUNCTION dtmv._require_kept(last_id bigint) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	pruned bigint := (SELECT r.pruned_through FROM dtmv.event_retention r);
BEGIN
	IF last_id < coalesce(pruned, 0) THEN
		RAISE EXCEPTION 'events after id % are no longer kept', last_id
			USING ERRCODE = 'TW002',
				  DETAIL = pg_catalog.format('Events up to id %s were pruned.', pruned),
				  HINT = 'Take dtmv.event_horizon() first, then re-read the state of your twins (dtmv.twin_info), and continue from that horizon: the other order loses a change that commits in between.';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_kept(bigint) IS 'internal: TW002 if events after this id were pruned';

-- The last id given, in C (src/event_order.c) with the orderer that reads it.
CREATE OR REPLACE FUNCTION dtmv._last_event_id() RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_last_event_id' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._last_event_id() IS 'internal: the last event id given';

CREATE OR REPLACE FUNCTION dtmv.event_horizon() RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	-- Without the worker, what has committed is ordered first, so that a
	-- client starting here gets no event that committed before it asked.
	PERFORM dtmv._order_committed_events();
	RETURN dtmv._last_event_id();
END
$$;
COMMENT ON FUNCTION dtmv.event_horizon() IS
	'the last event id given so far: a new client starts here and receives every event ordered after it';

-- An event's id is event_id, as in dtmv.events. Release 0.1 returned it as
-- id only, and clients read it by that name: id stays, the same value, and
-- event_id comes last, so that a client reading the columns by position
-- gets what it got, and one that counts them is told (docs/events.md).
CREATE OR REPLACE FUNCTION dtmv.events_since(last_id bigint, max integer DEFAULT 1000)
RETURNS TABLE (id bigint, twin dtmv.twin_id, kind text, payload jsonb, created_at timestamptz, entry_id bigint,
			   event_id bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv.current_subject();
	keys record;
BEGIN
	IF last_id IS NULL THEN
		RAISE EXCEPTION 'last_id is required: the id of the last event seen, or dtmv.event_horizon() to start'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- Without the worker, committed events get their place now (in a
	-- transaction of their own); the queries below take newer snapshots
	-- (VOLATILE, in READ COMMITTED) and so see them.
	PERFORM dtmv._order_committed_events();
	PERFORM dtmv._require_kept(last_id);
	SELECT k.probe, k.veto INTO keys FROM dtmv._acting_keys() k WHERE k.r = 1;	-- read
	-- Every id was given after its event committed, each orderer's batch
	-- above the ones before it: no event can appear later below the last
	-- id a reader got, so "after last_id" never skips one.
	RETURN QUERY
		SELECT e.event_id, e.twin, e.kind, e.payload, e.created_at, e.entry_id, e.event_id
		  FROM dtmv.events e
		  LEFT JOIN dtmv.twin_registry t ON t.id = e.twin
		 WHERE e.event_id > last_id
		   AND CASE WHEN e.subject_id IS NOT NULL THEN e.subject_id = me
					ELSE t.acl && keys.probe AND NOT t.acl && keys.veto END
		 ORDER BY e.event_id
		 LIMIT max;
	-- The read has a newer snapshot than the check above: events pruned in
	-- between would be missing from it, silently. Pruning records how far
	-- it went in the same transaction as its deletes, so looking again now
	-- tells.
	PERFORM dtmv._require_kept(last_id);
END
$$;
COMMENT ON FUNCTION dtmv.events_since(bigint, integer) IS
	'every event after last_id, in delivery order, that the acting subject may read; TW002 if some were pruned (REQ-DT-06); id and event_id are the same (id: release 0.1''s name)';

CREATE OR REPLACE FUNCTION dtmv.prune_events(keep interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	through bigint;
	n bigint;
BEGIN
	PERFORM dtmv._require_admin_role('prune events');
	PERFORM dtmv._require_keep(keep);
	-- Ids follow commits, not created_at (a long transaction's event has an
	-- old created_at and a new id): prune up to the first event to keep.
	SELECT min(e.event_id) - 1 INTO through FROM dtmv.events e WHERE e.created_at >= now() - keep;
	IF through IS NULL THEN
		SELECT max(e.event_id) INTO through FROM dtmv.events e;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM dtmv.events e WHERE e.event_id <= through) THEN
		RETURN 0;
	END IF;
	DELETE FROM dtmv.events e WHERE e.event_id <= through;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO dtmv.event_retention AS r (pruned_through) VALUES (through)
	ON CONFLICT ON CONSTRAINT event_retention_pkey
		DO UPDATE SET pruned_through = greatest(r.pruned_through, excluded.pruned_through);
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.prune_events(interval) IS
	'delete events older than keep; clients behind them get TW002 and resynchronise; dtmv_admin only';

CREATE OR REPLACE FUNCTION dtmv.interact(twin dtmv.twin_id, action text, args jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	k text;
	patch jsonb;
	id bigint;
	there integer := dtmv._route(twin);
BEGIN
	IF there IS NOT NULL THEN	-- a twin of another system: queued there (federation)
		RETURN dtmv._remote_interact(there, twin, action, args);
	END IF;
	PERFORM dtmv._lock_twin_for(twin, 'interact');	-- the twin's lock before its rows
	SELECT t.kind INTO k FROM dtmv.twin_registry t WHERE t.id = interact.twin;
	patch := dtmv._action_patch(k, action);
	INSERT INTO dtmv.commands (twin, subject_id, action, args, desired_patch)
		VALUES (twin, dtmv.current_subject(), action, coalesce(args, '{}'), patch)
		RETURNING command_id INTO id;
	IF patch IS NOT NULL THEN
		UPDATE dtmv.twin_states s SET desired = s.desired || patch, desired_at = now() WHERE s.twin = interact.twin;
	END IF;
	-- wake the gateway that serves the twin, if any (next_commands hands the
	-- command to that gateway alone, once the binding is confirmed)
	PERFORM pg_notify(dtmv._channel('g', s.gateway), id::text)
	   FROM dtmv.twin_states s WHERE s.twin = interact.twin AND s.binding_confirmed_at IS NOT NULL;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.interact(dtmv.twin_id, text, jsonb) IS
	'an avatar acts on a twin: needs interact and an action the twin''s kind offers; sets the desired state, queues a command and wakes the gateway that serves the twin; a twin of another system is acted on there, as the acting user (REQ-DT-06, REQ-MV-03, REQ-SI-02b)';

-- bindings: only the commands for the twins bound to these devices (a
-- gateway program speaking to some of its gateway's devices); NULL: all.
-- No default for bindings: next_commands() stays the two-argument call.
CREATE OR REPLACE FUNCTION dtmv.next_commands(max integer, redeliver_after interval, bindings text[])
RETURNS TABLE (command_id bigint, twin dtmv.twin_id, action text, args jsonb,
			   physical_binding text, requested_by text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	-- the twins this gateway serves (every twin for a superuser), bound to one of bindings if given
	served dtmv.twin_id[];
	superuser boolean := (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = dtmv._outer_role());
BEGIN
	PERFORM dtmv._require_gateway('take commands');
	IF NOT superuser OR bindings IS NOT NULL THEN
		served := ARRAY(SELECT s.twin FROM dtmv.twin_states s
						 WHERE (superuser OR (s.gateway = dtmv._login_subject() AND s.binding_confirmed_at IS NOT NULL))
						   AND (bindings IS NULL OR s.physical_binding = ANY (bindings)));
	END IF;
	RETURN QUERY
		WITH picked AS (
			SELECT c.command_id FROM dtmv.commands c
			 WHERE (c.status = 'queued'
					OR (c.status = 'delivered' AND c.delivered_at < now() - redeliver_after))
			   AND (served IS NULL OR c.twin = ANY (served))
			 ORDER BY c.command_id LIMIT max
			 FOR UPDATE SKIP LOCKED
		), delivered AS (
			UPDATE dtmv.commands c SET status = 'delivered', delivered_at = now()
			  FROM picked WHERE c.command_id = picked.command_id
			RETURNING c.command_id, c.twin, c.action, c.args, c.subject_id
		)
		SELECT d.command_id, d.twin, d.action, d.args, st.physical_binding, s.name
		  FROM delivered d
		  LEFT JOIN dtmv.twin_states st ON st.twin = d.twin
		  LEFT JOIN dtmv.subjects s ON s.subject_id = d.subject_id
		 ORDER BY d.command_id;
END
$$;
COMMENT ON FUNCTION dtmv.next_commands(integer, interval, text[]) IS
	'gateway: next_commands for the twins it serves that are bound to one of the devices named (physical bindings); NULL: every twin it serves';

CREATE OR REPLACE FUNCTION dtmv.next_commands(max integer DEFAULT 10, redeliver_after interval DEFAULT '1 minute')
RETURNS TABLE (command_id bigint, twin dtmv.twin_id, action text, args jsonb,
			   physical_binding text, requested_by text)
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT * FROM dtmv.next_commands(max, redeliver_after, NULL::text[])
$$;
COMMENT ON FUNCTION dtmv.next_commands(integer, interval) IS
	'gateway: take the queued commands for the twins it serves (and ones delivered but unacknowledged for too long), oldest first';

CREATE OR REPLACE FUNCTION dtmv.ack_command(command_id bigint, ok boolean, result jsonb DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	c record;
BEGIN
	PERFORM dtmv._require_gateway('acknowledge commands');
	IF ok IS NULL THEN
		RAISE EXCEPTION 'ok must be true or false' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- Only the gateway that serves the twin, checked before any lock; the
	-- same refusal for a command that does not exist, so that no gateway
	-- learns of others' commands.
	IF NOT EXISTS (SELECT 1 FROM dtmv.commands x WHERE x.command_id = ack_command.command_id
					  AND dtmv._serves(x.twin)) THEN
		RAISE EXCEPTION 'permission denied to acknowledge command %', command_id
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'It does not exist, or its twin is not served by this gateway.';
	END IF;
	-- The twin's lock before its rows (the command's, its state's); then the
	-- gateway must still serve the twin, as committed by now.
	PERFORM dtmv._lock_twin(x.twin), dtmv._require_serves(x.twin, 'acknowledge commands')
	   FROM dtmv.commands x WHERE x.command_id = ack_command.command_id;
	-- NOWAIT: a gateway that took this command with next_commands holds its
	-- row, not yet its twin's lock; waiting here (holding the twin's lock)
	-- for it could deadlock with its own ack.
	BEGIN
		SELECT * INTO c FROM dtmv.commands x WHERE x.command_id = ack_command.command_id FOR UPDATE NOWAIT;
	EXCEPTION WHEN lock_not_available THEN
		RAISE EXCEPTION 'command % is being handled by another gateway', command_id
			USING ERRCODE = 'lock_not_available',
				  HINT = 'Acknowledge it from the transaction that took it, or once that one has ended.';
	END;
	IF c IS NULL THEN
		RAISE EXCEPTION 'command % does not exist', command_id USING ERRCODE = 'undefined_object';
	END IF;
	IF c.status NOT IN ('queued', 'delivered') THEN
		RAISE EXCEPTION 'command % was already acknowledged', command_id
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = pg_catalog.format('Its status is %s.', c.status);
	END IF;
	UPDATE dtmv.commands x SET status = CASE WHEN ok THEN 'succeeded' ELSE 'failed' END,
							   result = ack_command.result, acked_at = now()
	 WHERE x.command_id = ack_command.command_id;
	IF ok THEN
		-- what interact merged into desired, whatever dtmv_admin has done
		-- to the action since
		PERFORM dtmv._store_reported(c.twin, coalesce(c.desired_patch, '{}'), false);
	END IF;
	RETURN dtmv._append_event(c.twin, NULL, CASE WHEN ok THEN 'command_succeeded' ELSE 'command_failed' END,
							  jsonb_build_object('command', c.command_id, 'action', c.action,
												 'result', ack_command.result));
END
$$;
COMMENT ON FUNCTION dtmv.ack_command(bigint, boolean, jsonb) IS
	'gateway that serves the twin: a command was carried out (or not); on success the reported state follows the desired one; the outcome is an event for the twin''s readers; returns its entry number';

-- VOLATILE, to see a command queued earlier in the same statement (50_rights.sql).
CREATE OR REPLACE FUNCTION dtmv.command_status(command_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	c record;
	elsewhere record;
BEGIN
	SELECT x.status, x.subject_id, x.twin INTO c FROM dtmv.commands x WHERE x.command_id = command_status.command_id;
	IF NOT FOUND THEN	-- a command placed at another system (federation): asked there, for its requester
		SELECT m.system_no, m.remote_command_id INTO elsewhere FROM dtmv.remote_commands m
		 WHERE m.command_id = command_status.command_id AND m.subject_id = ANY (dtmv._own_subjects());
		IF FOUND THEN
			RETURN dtmv._remote_command_status(elsewhere.system_no, elsewhere.remote_command_id);
		END IF;
	END IF;
	-- IS NOT TRUE: a command whose requester is gone has none (NULL), and NULL must not let anyone in
	IF NOT FOUND OR (c.subject_id = ANY (dtmv._own_subjects())
					 OR dtmv._serves(c.twin)) IS NOT TRUE THEN
		RAISE EXCEPTION 'permission denied: command % is not yours', command_id
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN c.status;
END
$$;
COMMENT ON FUNCTION dtmv.command_status(bigint) IS 'queued, delivered, succeeded or failed; for the requester and the gateway that serves the twin; a command placed at another system is asked there, as the acting user';

-- Retention: acknowledged commands are kept for command_status until
-- pruned; the outcome stays in the event log (until prune_events).
CREATE OR REPLACE FUNCTION dtmv.prune_commands(keep interval DEFAULT '7 days') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM dtmv._require_admin_role('prune commands');
	PERFORM dtmv._require_keep(keep);
	DELETE FROM dtmv.commands c WHERE c.status IN ('succeeded', 'failed') AND c.acked_at < now() - keep;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION dtmv.prune_commands(interval) IS
	'delete commands acknowledged longer ago than keep (their command_status is gone with them); dtmv_admin only';
GRANT SELECT ON dtmv.events, dtmv.commands, dtmv.kind_actions TO dtmv_user;

DROP POLICY IF EXISTS events_readable ON dtmv.events;
CREATE POLICY events_readable ON dtmv.events FOR SELECT TO dtmv_user
	USING (CASE WHEN subject_id IS NOT NULL THEN subject_id = ANY ((SELECT dtmv._own_subjects())::bigint[])
				ELSE dtmv._holds(twin, 'read') END);
COMMENT ON POLICY events_readable ON dtmv.events IS
	'an event is visible to its addressee, or, if it has none, to the readers of its twin';

DROP POLICY IF EXISTS commands_own ON dtmv.commands;
CREATE POLICY commands_own ON dtmv.commands FOR SELECT TO dtmv_user
	USING (subject_id = ANY ((SELECT dtmv._own_subjects())::bigint[])
		   OR dtmv._serves(twin));
COMMENT ON POLICY commands_own ON dtmv.commands IS 'a subject sees its own commands; a gateway those for the twins it serves';

CREATE OR REPLACE FUNCTION dtmv.twin_by_binding(binding text) RETURNS dtmv.twin_id
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id dtmv.twin_id;
BEGIN
	PERFORM dtmv._require_gateway('look twins up by physical binding');
	SELECT s.twin INTO id FROM dtmv.twin_states s
	 WHERE s.physical_binding = binding AND s.gateway = dtmv._login_subject()
	   AND s.binding_confirmed_at IS NOT NULL;
	IF id IS NULL THEN
		RAISE EXCEPTION 'no twin is bound to physical object "%" through this gateway', binding
			USING ERRCODE = 'undefined_object',
				  HINT = 'A binding routes once the gateway has confirmed it (dtmv.confirm_binding).';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.twin_by_binding(text) IS
	'gateway: the twin bound through it to a physical object (serial number or device address), once confirmed';

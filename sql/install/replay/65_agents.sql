-- Services: gateways, which speak for the physical objects bound through
-- them, and delegations, which let a service act for a user (src/agents.c;
-- docs/rights.md, "Trust model").

CREATE OR REPLACE FUNCTION dtmv._login_subject() RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_login_subject' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._login_subject() IS
	'internal: the subject mapped to the login outside any function, whatever dtmv.act_as() set; NULL if none';

CREATE OR REPLACE FUNCTION dtmv._serves(twin dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_serves' LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._serves(dtmv.twin_id) IS
	'internal: whether the calling gateway serves the twin (its device is bound through it, confirmed); true for a superuser';

CREATE OR REPLACE FUNCTION dtmv._require_serves(twin dtmv.twin_id, what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_serves' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_serves(dtmv.twin_id, text) IS
	'internal: 42501 unless the calling gateway serves the twin, as committed by now (for the check under the twin''s lock)';

-- ---- gateways ----

CREATE OR REPLACE FUNCTION dtmv.register_gateway(gateway text, owner text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	gw record;
BEGIN
	PERFORM dtmv._require_admin_role('register gateways');
	SELECT s.subject_id, s.kind, s.login INTO gw FROM dtmv.subjects s WHERE s.subject_id = dtmv._subject_id(gateway);
	IF gw.kind <> 'system' OR gw.login IS NULL THEN
		RAISE EXCEPTION 'subject "%" cannot be a gateway', gateway
			USING ERRCODE = 'wrong_object_type',
				  DETAIL = 'A gateway is a subject of kind system mapped to the gateway''s login.';
	END IF;
	-- another owner: what the gateway serves was bound for the one before,
	-- and waits for a binding again
	IF (SELECT g.owner_subject FROM dtmv.gateways g WHERE g.subject_id = gw.subject_id)
	   IS DISTINCT FROM dtmv._subject_id(owner) THEN
		PERFORM dtmv._unbind_all(gw.subject_id);
	END IF;
	INSERT INTO dtmv.gateways AS g (subject_id, owner_subject) VALUES (gw.subject_id, dtmv._subject_id(owner))
	ON CONFLICT (subject_id) DO UPDATE SET owner_subject = excluded.owner_subject;
	RETURN gw.subject_id;
END
$$;
COMMENT ON FUNCTION dtmv.register_gateway(text, text) IS
	'make a system subject (mapped to a login) a gateway that the owner (a user or group, with its members) may bind devices through; for another owner than before, its bindings wait to be made again; dtmv_admin only';

-- Every binding through a gateway becomes pending, through no gateway: it
-- routes nothing. Each twin's lock before its rows, one twin at a time, and
-- again until none is left (a binding made meanwhile included), so that no
-- row is changed without its twin's lock (the foreign keys' SET NULL
-- included, when the gateway goes).
CREATE OR REPLACE FUNCTION dtmv._unbind_all(gw bigint) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	t dtmv.twin_id;
BEGIN
	LOOP
		t := (SELECT s.twin FROM dtmv.twin_states s WHERE s.gateway = gw ORDER BY s.twin LIMIT 1);
		EXIT WHEN t IS NULL;
		PERFORM dtmv._lock_twin(t);
		IF (SELECT s.gateway FROM dtmv.twin_states s WHERE s.twin = t) = gw THEN	-- still, under the lock
			PERFORM dtmv._bind(t, (SELECT s.physical_binding FROM dtmv.twin_states s WHERE s.twin = t), NULL);
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION dtmv._unbind_all(bigint) IS
	'internal: every binding through a gateway becomes pending through no gateway, each under its twin''s lock';

CREATE OR REPLACE FUNCTION dtmv.unregister_gateway(gateway text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	gw bigint;
BEGIN
	PERFORM dtmv._require_admin_role('unregister gateways');
	gw := dtmv._subject_id(unregister_gateway.gateway);
	PERFORM dtmv._unbind_all(gw);
	DELETE FROM dtmv.gateways g WHERE g.subject_id = gw;
END
$$;
COMMENT ON FUNCTION dtmv.unregister_gateway(text) IS
	'stop a gateway serving anything: its bindings become pending without a gateway; dtmv_admin only';

-- The rights that holders of these subject keys (a subject and its groups)
-- have on a twin, as a mask (src/rights.c).
CREATE OR REPLACE FUNCTION dtmv._holder_rights(twin dtmv.twin_id, subs bigint[]) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_rights_for' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._holder_rights(dtmv.twin_id, bigint[]) IS
	'internal: mask of the rights that a subject, given as itself and its groups, holds on a twin';

-- The gateway a twin's device is to be bound through: the one named, or,
-- if none is named, the one gateway the acting subject may use (NULL if it
-- may use none or several: the binding then waits for bind_device to name
-- one). A gateway may be used by its owner (a user, or the members of a
-- group) for the twins its owner administers: a member of a household
-- binds through the household's gateway only twins the household
-- administers, which every member sees and may unbind, never a twin of
-- her own that the others cannot see.
CREATE OR REPLACE FUNCTION dtmv._usable_gateway(gateway text, twin dtmv.twin_id) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	ids bigint[];
BEGIN
	SELECT pg_catalog.array_agg(g.subject_id ORDER BY g.subject_id) INTO ids
	  FROM dtmv.gateways g JOIN dtmv.subjects s ON s.subject_id = g.subject_id
	 WHERE (g.owner_subject OPERATOR(pg_catalog.=) ANY (dtmv.current_subjects())
			OR dtmv._outer_has_role('dtmv_admin'))
	   AND dtmv._holder_rights(_usable_gateway.twin, dtmv._subjects_of(g.owner_subject))
		   OPERATOR(pg_catalog.&) dtmv._rights_mask('admin') OPERATOR(pg_catalog.<>) 0
	   AND (_usable_gateway.gateway IS NULL OR s.name = _usable_gateway.gateway);
	IF _usable_gateway.gateway IS NOT NULL AND ids IS NULL THEN
		RAISE EXCEPTION 'permission denied to bind devices through gateway "%"', gateway
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'A device is bound only through a gateway registered for you or a group of yours, whose owner administers the twin.';
	END IF;
	RETURN CASE WHEN pg_catalog.cardinality(ids) = 1 THEN ids[1] END;
END
$$;
COMMENT ON FUNCTION dtmv._usable_gateway(text, dtmv.twin_id) IS
	'internal: the gateway to bind a twin''s device through: the named one if the acting subject may use it for that twin (42501 if not), else its only one, else NULL';

-- A twin's place in the sync queue (sync_requests.ready) is in the queue of
-- the gateway that serves it: it moves with every change of the twin's
-- binding. The caller holds the twin's lock.
-- In C (src/sync_queue.c): the twin's requests are read as the queue's
-- decisions read them, on what has committed by now, whatever the caller's
-- isolation (a REPEATABLE READ caller would miss a request queued since it
-- began).
CREATE OR REPLACE FUNCTION dtmv._requeue_twin(twin dtmv.twin_id) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_requeue_twin' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dtmv._requeue_twin(dtmv.twin_id) IS
	'internal: put the twin''s ready sync request in the queue of the gateway that serves the twin now';

-- One writer of a twin's binding: pending (routing nothing) until confirmed,
-- unless it stays what it was. The caller holds the twin's lock.
CREATE OR REPLACE FUNCTION dtmv._bind(twin dtmv.twin_id, binding text, gateway bigint) RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	UPDATE dtmv.twin_states s
	   SET physical_binding = _bind.binding, gateway = _bind.gateway,
		   binding_confirmed_at = CASE WHEN s.physical_binding IS NOT DISTINCT FROM _bind.binding
										AND s.gateway IS NOT DISTINCT FROM _bind.gateway
									   THEN s.binding_confirmed_at END
	 WHERE s.twin OPERATOR(pg_catalog.=) _bind.twin;
	SELECT dtmv._requeue_twin(_bind.twin);
$$;
COMMENT ON FUNCTION dtmv._bind(dtmv.twin_id, text, bigint) IS
	'internal: set a twin''s device binding and gateway; pending unless unchanged';

CREATE OR REPLACE FUNCTION dtmv.bind_device(twin dtmv.twin_id, binding text, gateway text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	IF binding = '' THEN
		RAISE EXCEPTION 'a binding is a serial number or device address, not an empty string'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM dtmv._bind(twin, binding, CASE WHEN binding IS NOT NULL THEN dtmv._usable_gateway(gateway, twin) END);
END
$$;
COMMENT ON FUNCTION dtmv.bind_device(dtmv.twin_id, text, text) IS
	'bind a twin to its physical object (serial number or device address) through a gateway of yours (the only one if none is named); pending until the gateway confirms it; NULL unbinds; needs admin on the twin';

CREATE OR REPLACE FUNCTION dtmv.confirm_binding(binding text, twin dtmv.twin_id DEFAULT NULL, gateway text DEFAULT NULL)
RETURNS dtmv.twin_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	gw bigint;
	candidates dtmv.twin_id[];
	t dtmv.twin_id;
BEGIN
	IF twin IS NOT NULL AND dtmv._outer_has_role('dtmv_admin') THEN
		-- The twin system's administrator, who has checked the device:
		-- binds the twin to it through the gateway named (or the one the
		-- binding names already), confirmed at once.
		PERFORM dtmv._lock_twin(twin);	-- the twin's lock before its rows
		gw := coalesce((SELECT g.subject_id FROM dtmv.gateways g JOIN dtmv.subjects x USING (subject_id)
						 WHERE x.name = gateway),
					   (SELECT s.gateway FROM dtmv.twin_states s WHERE s.twin = confirm_binding.twin AND confirm_binding.gateway IS NULL));
		IF gw IS NULL THEN
			RAISE EXCEPTION 'name a registered gateway to serve device "%"', binding
				USING ERRCODE = 'invalid_parameter_value';
		END IF;
		IF NOT EXISTS (SELECT 1 FROM dtmv.twin_states s WHERE s.twin = confirm_binding.twin) THEN
			RAISE EXCEPTION 'twin % does not exist', twin USING ERRCODE = 'undefined_object';
		END IF;
		PERFORM dtmv._bind(twin, binding, gw);
		UPDATE dtmv.twin_states s SET binding_confirmed_at = now() WHERE s.twin = confirm_binding.twin;
		PERFORM dtmv._requeue_twin(twin);
		RETURN twin;
	END IF;
	-- A gateway: the device of a binding pending through it is there,
	-- connected to it.
	PERFORM dtmv._require_gateway('confirm device bindings');
	gw := (SELECT g.subject_id FROM dtmv.gateways g WHERE g.subject_id = dtmv._login_subject());
	candidates := ARRAY(SELECT s.twin FROM dtmv.twin_states s
						 WHERE s.gateway = gw AND s.physical_binding = binding
						   AND s.binding_confirmed_at IS NULL
						   AND (confirm_binding.twin IS NULL OR s.twin = confirm_binding.twin));
	IF pg_catalog.cardinality(candidates) = 0 THEN
		RAISE EXCEPTION 'no binding of device "%" is pending at this gateway', binding
			USING ERRCODE = 'undefined_object';
	ELSIF pg_catalog.cardinality(candidates) > 1 THEN
		RAISE EXCEPTION 'more than one binding of device "%" is pending at this gateway', binding
			USING ERRCODE = 'invalid_parameter_value', HINT = 'Name the twin.';
	END IF;
	t := candidates[1];
	PERFORM dtmv._lock_twin(t);	-- the twin's lock before its rows
	UPDATE dtmv.twin_states s SET binding_confirmed_at = now()
	 WHERE s.twin = t AND s.gateway = gw AND s.physical_binding = binding AND s.binding_confirmed_at IS NULL;
	IF NOT FOUND THEN	-- rebound while this call waited for the lock
		RAISE EXCEPTION 'the binding of twin % changed; try again', t USING ERRCODE = 'serialization_failure';
	END IF;
	PERFORM dtmv._requeue_twin(t);
	RETURN t;
END
$$;
COMMENT ON FUNCTION dtmv.confirm_binding(text, dtmv.twin_id, text) IS
	'a gateway confirms that the device of a binding pending through it is there (naming the twin if several are pending); or dtmv_admin binds a twin to a device through a gateway, confirmed; from then on the gateway serves the twin; returns the twin';

CREATE OR REPLACE FUNCTION dtmv.served_twins() RETURNS TABLE (twin dtmv.twin_id, physical_binding text, confirmed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT s.twin, s.physical_binding, s.binding_confirmed_at FROM dtmv.twin_states s
	 WHERE s.gateway = dtmv._login_subject()
	 ORDER BY s.binding_confirmed_at IS NULL, s.physical_binding, s.twin
$$;
COMMENT ON FUNCTION dtmv.served_twins() IS
	'gateway: the twins bound through this gateway, confirmed ones first, then those pending its confirmation';

-- ---- delegations ----

CREATE OR REPLACE FUNCTION dtmv._own_subjects() RETURNS bigint[]
	AS 'MODULE_PATHNAME', 'dtmv_own_subjects' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._own_subjects() IS
	'internal: the acting subject and its groups, as owner of its own rows; empty for a service not delegated read';

CREATE OR REPLACE FUNCTION dtmv._require_acting_allows(rights text, what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_acting_allows' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv._require_acting_allows(text, text) IS
	'internal: 42501 unless a service acting for a user was delegated these rights (no-op when not acting)';

CREATE OR REPLACE FUNCTION dtmv._require_not_acting(what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF dtmv.current_subject() IS DISTINCT FROM dtmv._login_subject() THEN
		RAISE EXCEPTION 'permission denied to % while acting for someone else', what
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only a user, for itself, gives and withdraws delegations.';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_not_acting(text) IS 'internal: 42501 while dtmv.act_as() is in effect';

CREATE OR REPLACE FUNCTION dtmv.delegate(service text, rights text DEFAULT 'discover,read,interact') RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._require_subject();
	svc bigint;
BEGIN
	PERFORM dtmv._require_not_acting('delegate');
	SELECT s.subject_id INTO svc FROM dtmv.subjects s WHERE s.name = service AND s.kind = 'system';
	IF svc IS NULL THEN
		RAISE EXCEPTION 'no service is named "%"', service
			USING ERRCODE = 'undefined_object', DETAIL = 'A service is a subject of kind system.';
	END IF;
	IF coalesce(dtmv._rights_mask(rights), 0) = 0 THEN
		RAISE EXCEPTION 'a delegation allows at least one right' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	INSERT INTO dtmv.delegations AS d (subject_id, service_id, rights)
		VALUES (me, svc, dtmv._rights_mask(rights))
	ON CONFLICT (subject_id, service_id) DO UPDATE SET rights = excluded.rights, created_at = now();
END
$$;
COMMENT ON FUNCTION dtmv.delegate(text, text) IS
	'let a service (a system subject) act for you with dtmv.act_as(), with at most these of your rights (REQ-DT-05)';

CREATE OR REPLACE FUNCTION dtmv.undelegate(service text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_not_acting('withdraw a delegation');
	DELETE FROM dtmv.delegations d
	 WHERE d.subject_id = dtmv._require_subject()
	   AND d.service_id = (SELECT s.subject_id FROM dtmv.subjects s WHERE s.name = service);
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION dtmv.undelegate(text) IS
	'withdraw a delegation: the service can no longer act for you from its next dtmv.act_as(); whether there was one';

CREATE OR REPLACE FUNCTION dtmv.my_delegations() RETURNS TABLE (service text, rights text, since timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT s.name, dtmv._rights_text(d.rights), d.created_at
	  FROM dtmv.delegations d JOIN dtmv.subjects s ON s.subject_id = d.service_id
	 WHERE d.subject_id = dtmv._login_subject()
	 ORDER BY s.name
$$;
COMMENT ON FUNCTION dtmv.my_delegations() IS 'the services you let act for you, and with which rights';

CREATE OR REPLACE FUNCTION dtmv.delegated_to_me() RETURNS TABLE (subject text, rights text, since timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT s.name, dtmv._rights_text(d.rights), d.created_at
	  FROM dtmv.delegations d JOIN dtmv.subjects s ON s.subject_id = d.subject_id
	 WHERE d.service_id = dtmv._login_subject()
	 ORDER BY s.name
$$;
COMMENT ON FUNCTION dtmv.delegated_to_me() IS 'service: the users who let it act for them, and with which rights';

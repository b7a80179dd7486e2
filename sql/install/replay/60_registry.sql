-- Registry functions (REQ-DT-02..04, REQ-MV-01, REQ-DT-08 characteristic).

-- This database's own system of a kind ('twin' or 'metaverse'), created on
-- first use with a random number (so that federated systems need not agree
-- on numbers beforehand). Created lazily rather than at CREATE EXTENSION so
-- that pg_dump restores the original number with the table's data.
CREATE OR REPLACE FUNCTION dtmv.local_system(kind text DEFAULT 'twin') RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	no integer;
BEGIN
	IF kind NOT IN ('twin', 'metaverse') THEN
		RAISE EXCEPTION 'a local system is of kind twin or metaverse, not "%"', kind
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT s.system_no INTO no FROM dtmv.systems s WHERE s.is_local AND s.kind = local_system.kind;
	WHILE no IS NULL LOOP
		INSERT INTO dtmv.systems (system_no, name, kind, is_local, description)
		VALUES ((random() * 1073741823)::integer,
				current_database() || ' ' || local_system.kind || ' system',
				local_system.kind, true, 'this database''s own ' || local_system.kind || ' system')
		ON CONFLICT DO NOTHING
		RETURNING system_no INTO no;
		IF no IS NULL THEN	-- lost a race, or drew a taken number
			SELECT s.system_no INTO no FROM dtmv.systems s WHERE s.is_local AND s.kind = local_system.kind;
		END IF;
	END LOOP;
	RETURN no;
END
$$;
COMMENT ON FUNCTION dtmv.local_system(text) IS
	'number of this database''s own twin or metaverse system, created on first use (REQ-DT-02)';

-- A remote system: its number, kind, and how to reach it. fdw_server names
-- a postgres_fdw server with connect_timeout (its user mapping, made by
-- dtmv_admin, holds whatever login the other side gave: dtmv stores no
-- password); link names the local system subject that stands for it: one
-- without a login, whom users delegate to for calls there; link_login the
-- system subject whose login the other system's link uses here. Never one
-- subject for both (a login users delegate to could act_as them): a link
-- with a login is refused with fdw_server or link_login, and taken as
-- link_login otherwise (docs/federation.md).
CREATE OR REPLACE FUNCTION dtmv.register_system(name text, kind text, system_no integer,
									 fdw_server name DEFAULT NULL, description text DEFAULT NULL,
									 operator text DEFAULT NULL, link text DEFAULT NULL,
									 link_login text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	link_id bigint;
	link_has_login boolean;
	login_id bigint;
BEGIN
	PERFORM dtmv._require_admin_role('register systems');
	IF fdw_server IS NOT NULL THEN
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_foreign_server fs
						 JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = fs.srvfdw
						WHERE fs.srvname = register_system.fdw_server AND w.fdwname = 'postgres_fdw') THEN
			RAISE EXCEPTION 'no postgres_fdw server is named "%"', fdw_server
				USING ERRCODE = 'undefined_object',
					  HINT = 'CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host ..., dbname ..., connect_timeout ''5'') (docs/federation.md).';
		END IF;
		PERFORM dtmv._require_connect_timeout(fdw_server);
	END IF;
	IF link IS NOT NULL THEN
		SELECT s.subject_id, s.login IS NOT NULL INTO link_id, link_has_login
		  FROM dtmv.subjects s WHERE s.name = link AND s.kind = 'system';
		IF NOT FOUND THEN
			RAISE EXCEPTION 'no system subject is named "%"', link
				USING ERRCODE = 'undefined_object',
					  HINT = 'dtmv.create_subject(name, login, ''system'') makes one.';
		END IF;
		IF link_has_login AND (fdw_server IS NOT NULL OR link_login IS NOT NULL) THEN
			RAISE EXCEPTION 'system subject "%" has a login: users who delegate to it for calls to system "%" would let that login act as them here', link, name
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'link names a system subject without a login (dtmv.create_subject(name, NULL, ''system'')); the login the other system''s link uses here goes in link_login (docs/federation.md).';
		ELSIF link_has_login THEN	-- the other system's link logs in as it: calls in only
			login_id := link_id;
			link_id := NULL;
		END IF;
	END IF;
	IF link_login IS NOT NULL THEN
		SELECT s.subject_id INTO login_id FROM dtmv.subjects s
		 WHERE s.name = link_login AND s.kind = 'system' AND s.login IS NOT NULL;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'no system subject with a login is named "%"', link_login
				USING ERRCODE = 'undefined_object',
					  HINT = 'dtmv.create_subject(name, login, ''system'') makes one, for the login the other system''s link uses here.';
		END IF;
	END IF;
	INSERT INTO dtmv.systems (system_no, name, kind, fdw_server, description, operator_subject)
		VALUES (register_system.system_no, register_system.name, register_system.kind,
				register_system.fdw_server, register_system.description,
				CASE WHEN operator IS NOT NULL THEN dtmv._subject_id(operator) END);
	IF link_id IS NOT NULL OR login_id IS NOT NULL THEN
		INSERT INTO dtmv.system_links (system_no, subject_id, login_id) VALUES (register_system.system_no, link_id, login_id);
	END IF;
	RETURN system_no;
END
$$;
COMMENT ON FUNCTION dtmv.register_system(text, text, integer, name, text, text, text, text) IS
	'register a remote twin, metaverse or 3rd-party system under its own number, with the subject that operates it, the postgres_fdw server that reaches it, the system subject users delegate to for calls there and the one its link logs in as here; dtmv_admin only (REQ-SI-01, REQ-SI-02b, REQ-SI-04)';

-- Register a twin for an owner, who administers it: the one way twins are
-- made (create_twin for the acting subject; deliveries for the customer).
CREATE OR REPLACE FUNCTION dtmv._new_twin(owner bigint, kind text, name text, properties jsonb DEFAULT '{}',
							   model_uri text DEFAULT NULL, physical_binding text DEFAULT NULL,
							   sync_period interval DEFAULT NULL, sync_priority integer DEFAULT 0)
RETURNS dtmv.twin_id
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	sys integer := dtmv.local_system('twin');
	id dtmv.twin_id := dtmv.twin_id_generate(sys);
BEGIN
	PERFORM dtmv._require_identifier(_new_twin.kind, 'kind of twin');
	INSERT INTO dtmv.twin_registry (id, system_no, kind, name, properties, model_uri,
									sync_period, sync_priority, created_by, acl)
	VALUES (id, sys, _new_twin.kind, _new_twin.name, coalesce(_new_twin.properties, '{}'),
			_new_twin.model_uri, _new_twin.sync_period, coalesce(_new_twin.sync_priority, 0),
			owner, '{}');
	INSERT INTO dtmv.twin_states (twin, physical_binding) VALUES (id, _new_twin.physical_binding);
	PERFORM dtmv._set_rights(owner, id, 63, false);	-- the owner administers it
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._new_twin(bigint, text, text, jsonb, text, text, interval, integer) IS
	'internal: register a twin in the local twin system, administered by its owner';

CREATE OR REPLACE FUNCTION dtmv.create_twin(kind text, name text, properties jsonb DEFAULT '{}',
								 model_uri text DEFAULT NULL, physical_binding text DEFAULT NULL,
								 sync_period interval DEFAULT NULL, sync_priority integer DEFAULT 0,
								 gateway text DEFAULT NULL)
RETURNS dtmv.twin_id
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id dtmv.twin_id;
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'create twins');
	IF physical_binding = '' THEN
		RAISE EXCEPTION 'a binding is a serial number or device address, not an empty string'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	id := dtmv._new_twin(dtmv._require_subject(), kind, name, properties, model_uri, NULL,
						 sync_period, sync_priority);
	IF physical_binding IS NOT NULL THEN	-- pending until its gateway confirms it
		PERFORM dtmv._bind(id, physical_binding, dtmv._usable_gateway(gateway, id));
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.create_twin(text, text, jsonb, text, text, interval, integer, text) IS
	'register a twin in the local twin system; the creator gets admin on it; a physical binding is through the gateway named (or the creator''s only one) and pending until confirmed (REQ-DT-01, REQ-DT-02)';

CREATE OR REPLACE FUNCTION dtmv.update_twin(twin dtmv.twin_id, name text DEFAULT NULL, properties jsonb DEFAULT NULL,
								 model_uri text DEFAULT NULL, sync_period interval DEFAULT NULL,
								 sync_priority integer DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	-- the twin's lock before its rows; a priority is admin's, as for
	-- set_sync_priority (control would otherwise win every sync queue)
	PERFORM dtmv._lock_twin_for(twin, CASE WHEN update_twin.sync_priority IS NULL THEN 'control' ELSE 'admin' END);
	UPDATE dtmv.twin_registry t
	   SET name = coalesce(update_twin.name, t.name),
		   properties = coalesce(update_twin.properties, t.properties),
		   model_uri = coalesce(update_twin.model_uri, t.model_uri),
		   sync_period = coalesce(update_twin.sync_period, t.sync_period),
		   sync_priority = coalesce(update_twin.sync_priority, t.sync_priority),
		   updated_at = now()
	 WHERE t.id = update_twin.twin;
END
$$;
COMMENT ON FUNCTION dtmv.update_twin(dtmv.twin_id, text, jsonb, text, interval, integer) IS
	'change the given attributes of a twin (NULL keeps one); needs control on the twin, and admin to change its sync priority';

CREATE OR REPLACE FUNCTION dtmv.drop_twin(twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	-- Its commands go with it (ON DELETE CASCADE): one a gateway has taken
	-- in a transaction still open (next_commands) is not waited for (that
	-- gateway may be about to ask for this twin's lock to acknowledge it).
	BEGIN
		PERFORM 1 FROM dtmv.commands c WHERE c.twin = drop_twin.twin FOR UPDATE NOWAIT;
	EXCEPTION WHEN lock_not_available THEN
		RAISE EXCEPTION 'twin % has a command a gateway is handling', twin
			USING ERRCODE = 'lock_not_available', HINT = 'Try again once the gateway has acknowledged it.';
	END;
	DELETE FROM dtmv.twin_registry t WHERE t.id = drop_twin.twin;
	-- dtmv.events has no foreign key (see 85_events.sql); it exists once that file ran.
	DELETE FROM dtmv.event_inbox e WHERE e.twin = drop_twin.twin;
	DELETE FROM dtmv.events e WHERE e.twin = drop_twin.twin;
END
$$;
COMMENT ON FUNCTION dtmv.drop_twin(dtmv.twin_id) IS 'remove a twin with its state, rights, world memberships, requests and events; needs admin';

-- VOLATILE, to see a twin made earlier in the same statement (50_rights.sql).
CREATE OR REPLACE FUNCTION dtmv.twin_info(twin dtmv.twin_id) RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	rights integer;
	info jsonb;
	there integer := dtmv._route(twin);
BEGIN
	IF there IS NOT NULL THEN	-- a twin of another system: asked there (federation)
		RETURN dtmv._remote_twin_info(there, twin);
	END IF;
	rights := dtmv._effective_rights(twin);
	PERFORM dtmv._require_rights(twin, 'discover');
	SELECT jsonb_build_object(
			   'id', t.id, 'system', t.system_no, 'system_name', s.name, 'kind', t.kind,
			   'name', t.name, 'properties', t.properties, 'model_uri', t.model_uri,
			   'sync_period', t.sync_period, 'sync_priority', t.sync_priority,
			   'created_at', t.created_at, 'updated_at', t.updated_at,
			   'rights', dtmv._rights_text(rights),
			   'worlds', coalesce((SELECT jsonb_agg(w.name ORDER BY w.name)
									 FROM dtmv.world_twins wt JOIN dtmv.worlds w USING (world_id)
									WHERE wt.twin = t.id), '[]'))
		   || CASE WHEN rights & dtmv._rights_mask('read') <> 0 THEN
				  jsonb_build_object('reported', st.reported, 'desired', st.desired,
									 'reported_at', st.reported_at, 'desired_at', st.desired_at,
									 'physical_binding', st.physical_binding)
			  ELSE '{}' END
	  INTO info
	  FROM dtmv.twin_registry t
	  JOIN dtmv.systems s USING (system_no)
	  LEFT JOIN dtmv.twin_states st ON st.twin = t.id
	 WHERE t.id = twin_info.twin;
	RETURN info;
END
$$;
COMMENT ON FUNCTION dtmv.twin_info(dtmv.twin_id) IS
	'what the acting subject may know of a twin: the registry entry with discover, its state and binding too with read; a twin of another system is asked there, as the acting user (REQ-DT-04, REQ-MV-01, REQ-SI-02b)';

-- Runs as the extension owner and applies the discover test itself (the
-- same acl_probe/acl_veto test as the RLS policy): under RLS, PostgreSQL may
-- not use an index whose operator is not leakproof (jsonb @>, trigram ILIKE)
-- ahead of the policy, so a search by properties or name could not use its
-- index. Dynamic SQL, so that each search uses the index of the criteria
-- actually given.
CREATE OR REPLACE FUNCTION dtmv.search_twins(kind text DEFAULT NULL, name text DEFAULT NULL,
								  properties jsonb DEFAULT NULL, system integer DEFAULT NULL,
								  max integer DEFAULT 100)
RETURNS SETOF dtmv.twins
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	probe bigint[];
	veto bigint[];
	q text := 'SELECT t.id, t.system_no, t.kind, t.name, t.properties, t.model_uri, t.sync_period,
					  t.sync_priority, t.created_by, t.created_at, t.updated_at
				 FROM dtmv.twin_registry t
				WHERE t.acl && $6 AND NOT t.acl && $7';
BEGIN
	IF dtmv._route_system(system) IS NOT NULL THEN
		-- another system's twins: searched there, as the acting user (federation)
		RETURN QUERY SELECT * FROM dtmv._remote_search(system, kind, name, properties, max);
		RETURN;
	END IF;
	IF kind IS NOT NULL THEN q := q || ' AND t.kind = $1'; END IF;
	IF name IS NOT NULL THEN
		q := q || ' AND t.name ILIKE ''%'' || regexp_replace($2, ''([\\%_])'', ''\\\1'', ''g'') || ''%''';
	END IF;
	IF properties IS NOT NULL THEN q := q || ' AND t.properties @> $3'; END IF;
	IF system IS NOT NULL THEN q := q || ' AND t.system_no = $4'; END IF;
	q := q || ' ORDER BY t.id LIMIT $5';
	SELECT x.probe, x.veto INTO probe, veto FROM dtmv._acting_keys() x WHERE x.r = 0;
	RETURN QUERY EXECUTE q USING kind, name, properties, system, max, probe, veto;
END
$$;
COMMENT ON FUNCTION dtmv.search_twins(text, text, jsonb, integer, integer) IS
	'twins the acting subject may discover, by kind, name substring (case-insensitive), jsonb properties containment and system (another system''s: searched there, as the acting user), oldest first (REQ-DT-03, REQ-SI-02b)';

CREATE OR REPLACE FUNCTION dtmv.create_world(name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'create worlds');
	INSERT INTO dtmv.worlds (name, system_no, owner_subject)
		VALUES (create_world.name, dtmv.local_system('metaverse'), dtmv._require_subject())
		RETURNING world_id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv.create_world(text) IS
	'create a virtual world in the local metaverse system, owned by the acting subject';

CREATE OR REPLACE FUNCTION dtmv._require_world_owner(world bigint) RETURNS void
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_acting_allows('admin', 'change a world');
	IF NOT EXISTS (SELECT 1 FROM dtmv.worlds w WHERE w.world_id = world
					  AND w.owner_subject = dtmv.current_subject())
	   AND NOT dtmv._outer_has_role('dtmv_admin') THEN
		RAISE EXCEPTION 'permission denied: only the owner of world % may change which twins it uses', world
			USING ERRCODE = 'insufficient_privilege';
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_world_owner(bigint) IS 'internal: 42501 unless the acting subject owns the world';

CREATE OR REPLACE FUNCTION dtmv.use_twin(world bigint, twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_world_owner(world);
	PERFORM dtmv._lock_twin_for(twin, 'read');	-- the twin's lock before its rows
	INSERT INTO dtmv.world_twins (world_id, twin, added_by)
		VALUES (world, twin, dtmv.current_subject()) ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION dtmv.use_twin(bigint, dtmv.twin_id) IS
	'use a twin in a world; needs ownership of the world and read on the twin (REQ-MV-02, scenario 7.1.3)';

CREATE OR REPLACE FUNCTION dtmv.unuse_twin(world bigint, twin dtmv.twin_id) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_world_owner(world);
	-- the twin's lock before its rows (once it is known to be in the world)
	IF EXISTS (SELECT 1 FROM dtmv.world_twins wt WHERE wt.world_id = world AND wt.twin = unuse_twin.twin) THEN
		PERFORM dtmv._lock_twin(twin);
	END IF;
	DELETE FROM dtmv.world_twins wt WHERE wt.world_id = world AND wt.twin = unuse_twin.twin;
END
$$;
COMMENT ON FUNCTION dtmv.unuse_twin(bigint, dtmv.twin_id) IS 'stop using a twin in a world; needs ownership of the world';

CREATE OR REPLACE FUNCTION dtmv.set_sync_priority(twin dtmv.twin_id, subject text, priority integer) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._lock_twin_for(twin, 'admin');	-- the twin's lock before its rows
	INSERT INTO dtmv.sync_priorities AS p (twin, subject_id, priority)
		VALUES (twin, dtmv._subject_id(subject), priority)
	ON CONFLICT ON CONSTRAINT sync_priorities_pkey DO UPDATE SET priority = excluded.priority;
END
$$;
COMMENT ON FUNCTION dtmv.set_sync_priority(dtmv.twin_id, text, integer) IS
	'the sync priority characteristic of a twin for a subject or group (REQ-DT-08); higher wins; needs admin on the twin';

CREATE OR REPLACE FUNCTION dtmv.sync_priority(twin dtmv.twin_id) RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	IF NOT dtmv.has_right(sync_priority.twin, 'discover') THEN
		RETURN NULL;	-- as for a twin that does not exist: its existence is not told
	END IF;
	RETURN coalesce((SELECT max(p.priority) FROM dtmv.sync_priorities p
					  WHERE p.twin = sync_priority.twin
						AND p.subject_id = ANY (dtmv.current_subjects())),
					(SELECT t.sync_priority FROM dtmv.twin_registry t WHERE t.id = sync_priority.twin));
END
$$;
COMMENT ON FUNCTION dtmv.sync_priority(dtmv.twin_id) IS
	'the acting subject''s sync priority on a twin: the highest set for it or its groups, else the twin''s default; NULL without discover on the twin (REQ-DT-08)';

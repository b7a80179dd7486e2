-- Federation (REQ-SI-01, REQ-SI-02b; docs/federation.md): calls on a twin
-- of another system run at that system, as the acting user, over a dblink
-- connection opened through the postgres_fdw foreign server registered with
-- the system (dtmv.register_system). The other side knows the caller as its
-- link's login, which acts only for users of the calling system
-- (dtmv.act_for_link): "alice@mv1".

-- Policies: the links are part of the directory; remote users and the
-- requests placed elsewhere are dtmv_admin's, and each user's own.
GRANT SELECT ON dtmv.system_links, dtmv.remote_users, dtmv.remote_sync_requests TO dtmv_user;
DROP POLICY IF EXISTS system_links_directory ON dtmv.system_links;
CREATE POLICY system_links_directory ON dtmv.system_links FOR SELECT TO dtmv_user USING (true);
COMMENT ON POLICY system_links_directory ON dtmv.system_links IS 'which subject stands for which system is part of the directory';
DROP POLICY IF EXISTS remote_users_admin ON dtmv.remote_users;
CREATE POLICY remote_users_admin ON dtmv.remote_users FOR SELECT TO dtmv_user
	USING (dtmv._outer_has_role('dtmv_admin'));
COMMENT ON POLICY remote_users_admin ON dtmv.remote_users IS 'dtmv_admin sees which subjects are users of other systems';
DROP POLICY IF EXISTS remote_sync_requests_own ON dtmv.remote_sync_requests;
CREATE POLICY remote_sync_requests_own ON dtmv.remote_sync_requests FOR SELECT TO dtmv_user
	USING (subject_id = ANY (dtmv._own_subjects()));
COMMENT ON POLICY remote_sync_requests_own ON dtmv.remote_sync_requests IS 'a user sees the requests placed elsewhere for her';

-- Where a twin lives: NULL for this database's own twins, else the number
-- of the registered system that maintains it; 42704 for a system that is
-- not registered here.
CREATE OR REPLACE FUNCTION dtmv._route(twin dtmv.twin_id) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	no integer := dtmv.twin_system(twin);
	here boolean;
BEGIN
	IF twin IS NULL THEN
		RETURN NULL;	-- the local function refuses it as it always did
	END IF;
	SELECT s.is_local INTO here FROM dtmv.systems s WHERE s.system_no = no;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'twin % belongs to system %, which is not registered here', twin, no
			USING ERRCODE = 'undefined_object',
				  DETAIL = 'A twin id names the twin system that maintains it (dtmv.twin_system).',
				  HINT = 'dtmv_admin registers that system with dtmv.register_system() to reach its twins (docs/federation.md).';
	END IF;
	RETURN CASE WHEN here THEN NULL ELSE no END;
END
$$;
COMMENT ON FUNCTION dtmv._route(dtmv.twin_id) IS
	'internal: NULL for a twin of this database, else the registered system that maintains it; 42704 for an unregistered system (REQ-SI-02b)';

-- dblink's schema, which must be a superuser's alone: the links stay open
-- in the session (dblink's named connections), and whoever may call
-- dblink's functions could send SQL through them as this system.
CREATE OR REPLACE FUNCTION dtmv._dblink_schema() RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	nsp record;
BEGIN
	SELECT n.nspname, n.nspowner, n.nspacl INTO nsp
	  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	 WHERE e.extname = 'dblink';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'links to other systems need the extension dblink'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'A superuser runs CREATE SCHEMA dtmv_link; CREATE EXTENSION dblink SCHEMA dtmv_link (docs/federation.md).';
	END IF;
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = nsp.nspowner)
	   OR EXISTS (SELECT FROM pg_catalog.aclexplode(nsp.nspacl) a
				   WHERE a.privilege_type = 'USAGE'
					 AND (a.grantee = 0 OR NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = a.grantee))) THEN
		RAISE EXCEPTION 'dblink is in schema %, which roles other than superusers may use', nsp.nspname
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Links to other systems stay open in the session: whoever may call dblink''s functions could send SQL through them as this system.',
				  HINT = 'Install dblink in a schema of its own that only superusers own and use: ALTER EXTENSION dblink SET SCHEMA dtmv_link (docs/federation.md).';
	END IF;
	RETURN pg_catalog.quote_ident(nsp.nspname);
END
$$;
COMMENT ON FUNCTION dtmv._dblink_schema() IS
	'internal: dblink''s schema, quoted; 55000 without dblink, 42501 if roles other than superusers may use it';

-- The session's link to a system, opened if needed: whether it was open
-- already. A connection refused or timed out (the foreign server's
-- connect_timeout) is 08001 naming the system.
CREATE OR REPLACE FUNCTION dtmv._link_open(conn text, system integer, dbl text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	sys record;
	open boolean;
	msg text;
	det text;
BEGIN
	EXECUTE pg_catalog.format('SELECT $1 = ANY (%s.dblink_get_connections())', dbl) INTO open USING conn;
	IF open THEN
		RETURN true;
	END IF;
	SELECT s.name, s.fdw_server INTO sys FROM dtmv.systems s WHERE s.system_no = _link_open.system;
	BEGIN
		EXECUTE pg_catalog.format('SELECT %s.dblink_connect($1, $2)', dbl) USING conn, sys.fdw_server::text;
	EXCEPTION WHEN sqlclient_unable_to_establish_sqlconnection OR connection_exception THEN
		GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
		RAISE EXCEPTION 'could not connect to system "%" (%)', sys.name, system
			USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection',
				  DETAIL = pg_catalog.rtrim(coalesce(nullif(det, ''), msg), E'\n'),
				  HINT = pg_catalog.format('The link goes through foreign server %I; it waits at most the server''s connect_timeout.', sys.fdw_server);
	END;
	-- every call there is bounded there too
	EXECUTE pg_catalog.format('SELECT %s.dblink_exec($1, $2)', dbl)
		USING conn, pg_catalog.format('SET statement_timeout = %s',
									  pg_catalog.quote_literal(pg_catalog.current_setting('dtmv.remote_timeout')));
	RETURN false;
END
$$;
COMMENT ON FUNCTION dtmv._link_open(text, integer, text) IS
	'internal: open the session''s dblink connection to a system through its foreign server unless open; whether it was open; 08001 naming the system';

-- Run a call at another system as the acting user: the user's name there is
-- name@<this system's name there>, and the link passes on the rights she
-- delegated (dtmv.delegate) to the subject that stands for that system
-- here, within what a service acting for her may use. One remote statement,
-- its own transaction there: it commits whole or not at all. The rows come
-- back as text. Remote errors keep their SQLSTATE, message, detail and hint
-- (dblink re-raises them). idempotent: a link that had died while idle
-- (the other side restarted) is opened again once and the call repeated.
CREATE OR REPLACE FUNCTION dtmv._remote(system integer, call text, idempotent boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	sys record;
	me bigint := dtmv.current_subject();
	who text;
	mask integer;
	conn text := 'dtmv_link_' || system;
	dbl text;
	was_open boolean;
	q text;
	msg text;
	det text;
BEGIN
	SELECT s.name, s.fdw_server, l.subject_id AS link, ls.name AS link_name INTO sys
	  FROM dtmv.systems s
	  LEFT JOIN dtmv.system_links l ON l.system_no = s.system_no
	  LEFT JOIN dtmv.subjects ls ON ls.subject_id = l.subject_id
	 WHERE s.system_no = _remote.system AND NOT s.is_local;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'system % is not registered here', system USING ERRCODE = 'undefined_object';
	END IF;
	IF sys.fdw_server IS NULL OR sys.link IS NULL THEN
		RAISE EXCEPTION 'system "%" (%) is registered without a link', sys.name, system
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'dtmv_admin registers it with fdw_server and link (docs/federation.md).';
	END IF;
	SELECT s.name, d.rights & dtmv._acting_rights() INTO who, mask
	  FROM dtmv.subjects s
	  JOIN dtmv.delegations d ON d.subject_id = s.subject_id AND d.service_id = sys.link
	 WHERE s.subject_id = me;
	IF coalesce(mask, 0) = 0 THEN
		RAISE EXCEPTION 'permission denied to act at system "%"', sys.name
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('Subject %s has not let this system act for it at system "%s".',
											 coalesce((SELECT pg_catalog.quote_literal(s.name) FROM dtmv.subjects s WHERE s.subject_id = me), 'none'),
											 sys.name),
				  HINT = pg_catalog.format('The user calls dtmv.delegate(%L, rights) here.', sys.link_name);
	END IF;
	q := pg_catalog.format('SELECT dtmv.act_for_link(%L, %L); %s', who, dtmv._rights_text(mask), call);
	dbl := dtmv._dblink_schema();
	LOOP
		was_open := dtmv._link_open(conn, system, dbl);
		BEGIN
			RETURN QUERY EXECUTE pg_catalog.format('SELECT t.v FROM %s.dblink($1, $2) AS t(v text)', dbl)
				USING conn, q;
			RETURN;
		EXCEPTION
			WHEN connection_exception THEN
				GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
				EXECUTE pg_catalog.format('SELECT %s.dblink_disconnect($1)', dbl) USING conn;
				IF NOT (was_open AND idempotent) THEN
					RAISE EXCEPTION 'lost the connection to system "%" (%)', sys.name, system
						USING ERRCODE = 'connection_failure',
							  DETAIL = pg_catalog.rtrim(coalesce(nullif(det, ''), msg), E'\n'),
							  HINT = 'Nothing of this call was done at that system unless it committed there before the connection was lost (docs/federation.md).';
				END IF;
				was_open := false;	-- once more, on a new connection
			WHEN query_canceled THEN
				GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
				EXECUTE pg_catalog.format('SELECT %s.dblink_disconnect($1)', dbl) USING conn;
				RAISE EXCEPTION 'system "%" (%) did not answer within %', sys.name, system,
								pg_catalog.current_setting('dtmv.remote_timeout')
					USING ERRCODE = 'query_canceled', DETAIL = msg,
						  HINT = 'The call was cancelled there and nothing of it done; dtmv.remote_timeout bounds it.';
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION dtmv._remote(integer, text, boolean) IS
	'internal: run one call at another system as the acting user (name@this system there), with the rights she delegated to that system''s subject here; rows as text (REQ-SI-02b)';

-- The subject for a user of a remote system: name@<the system's name here>,
-- made on first use. A name that holds "@" is refused, so that the system
-- part is always the one completed here; so is a subject of that name that
-- is not that system's user (a local "dave@mv1" is not mv1's to take).
CREATE OR REPLACE FUNCTION dtmv._remote_user(system integer, user_name text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	id bigint;
	full_name text := user_name || '@' || (SELECT s.name FROM dtmv.systems s WHERE s.system_no = _remote_user.system);
BEGIN
	IF user_name IS NULL OR user_name = '' OR strpos(user_name, '@') > 0 THEN
		RAISE EXCEPTION 'a user of another system is named by her name there, not "%"', user_name
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'The name here is completed with "@" and the name of the system: it must not hold "@" itself.';
	END IF;
	SELECT r.subject_id INTO id FROM dtmv.remote_users r
	 WHERE r.system_no = _remote_user.system AND r.name = user_name;
	IF FOUND THEN
		RETURN id;
	END IF;
	IF EXISTS (SELECT FROM dtmv.subjects s WHERE s.name = full_name) THEN
		RAISE EXCEPTION 'permission denied to act for a user of another system'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = pg_catalog.format('Subject %L is not a user of that system.', full_name);
	END IF;
	INSERT INTO dtmv.subjects (name, kind) VALUES (full_name, 'user') RETURNING subject_id INTO id;
	INSERT INTO dtmv.remote_users (subject_id, system_no, name) VALUES (id, system, user_name);
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._remote_user(integer, text) IS
	'internal: the subject name@system of a remote system''s user, made on first use; 22023 for a name with "@", 42501 for a subject of that name that is not that system''s user';

-- At a twin system: the login of another system's link acts for one of that
-- system's users, name@<that system>, with at most the rights she let her
-- own system pass on (the link says which: her delegation there). It never
-- acts as a local user, nor as a user of another system: the name is
-- completed here, from the system the login stands for.
CREATE OR REPLACE FUNCTION dtmv.act_for_link(user_name text, rights text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	me bigint := dtmv._login_subject();
	sys record;
	mask integer := coalesce(dtmv._rights_mask(rights), 0);
	id bigint;
BEGIN
	SELECT s.system_no, s.name INTO sys
	  FROM dtmv.system_links l JOIN dtmv.systems s ON s.system_no = l.system_no
	 WHERE l.subject_id = me AND NOT s.is_local;
	IF NOT FOUND OR NOT dtmv._outer_has_role('dtmv_gateway') THEN
		RAISE EXCEPTION 'permission denied to act for a user of another system'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only the login of a registered system''s link (a dtmv_gateway login, dtmv.register_system(..., link => ...)) acts for that system''s users.';
	END IF;
	IF mask = 0 THEN
		RAISE EXCEPTION 'a delegation allows at least one right' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	id := dtmv._remote_user(sys.system_no, user_name);
	-- what her own system says she let it pass on; written only when it changes
	IF NOT EXISTS (SELECT FROM dtmv.delegations d
					WHERE d.subject_id = id AND d.service_id = me AND d.rights = mask) THEN
		INSERT INTO dtmv.delegations AS d (subject_id, service_id, rights) VALUES (id, me, mask)
		ON CONFLICT (subject_id, service_id) DO UPDATE SET rights = excluded.rights, created_at = now();
	END IF;
	PERFORM dtmv._set_acting_subject(id);
END
$$;
COMMENT ON FUNCTION dtmv.act_for_link(text, text) IS
	'another system''s link: act, until the transaction ends, for its user name@<that system>, with at most the rights given; made a subject on first use; the login of a registered link only (REQ-SI-02b)';

-- dtmv_admin: make a remote system's user known before she first comes, so
-- that twins can be shared with her.
CREATE OR REPLACE FUNCTION dtmv.create_remote_user(user_name text, system text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	no integer;
BEGIN
	PERFORM dtmv._require_admin_role('create users of other systems');
	SELECT s.system_no INTO no FROM dtmv.systems s WHERE s.name = system AND NOT s.is_local;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no remote system is named "%"', system USING ERRCODE = 'undefined_object';
	END IF;
	RETURN dtmv._remote_user(no, user_name);
END
$$;
COMMENT ON FUNCTION dtmv.create_remote_user(text, text) IS
	'the subject name@system for a user of a registered remote system, made now so that rights can be granted to her; dtmv_admin only (REQ-SI-02b)';

-- twin_info of a twin of another system, run there as the acting user.
CREATE OR REPLACE FUNCTION dtmv._remote_twin_info(system integer, twin dtmv.twin_id) RETURNS jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT v::jsonb FROM dtmv._remote(system, pg_catalog.format('SELECT dtmv.twin_info(%L)::text', twin)) v
$$;
COMMENT ON FUNCTION dtmv._remote_twin_info(integer, dtmv.twin_id) IS
	'internal: dtmv.twin_info at the twin''s system, as the acting user';

-- search_twins at another system, as the acting user.
CREATE OR REPLACE FUNCTION dtmv._remote_search(system integer, kind text, name text, properties jsonb, max integer)
RETURNS SETOF dtmv.twins
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	SELECT (r.t).* FROM (
		SELECT v::dtmv.twins AS t
		  FROM dtmv._remote(system, pg_catalog.format(
				   'SELECT t::text FROM dtmv.search_twins(%L, %L, %L::jsonb, %L, %L) t',
				   kind, name, properties, system, max)) v
		OFFSET 0) r
$$;
COMMENT ON FUNCTION dtmv._remote_search(integer, text, text, jsonb, integer) IS
	'internal: dtmv.search_twins at another system, as the acting user';

-- Twins the acting user may discover here and at every connected twin
-- system where she lets this one act for her, oldest first.
CREATE OR REPLACE FUNCTION dtmv.search_all_twins(kind text DEFAULT NULL, name text DEFAULT NULL,
												 properties jsonb DEFAULT NULL, max integer DEFAULT 100)
RETURNS SETOF dtmv.twins
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	-- (the arguments named with the function's name: systems has a kind and a name)
	SELECT a.* FROM (
		SELECT * FROM dtmv.search_twins(search_all_twins.kind, search_all_twins.name,
										search_all_twins.properties, NULL, search_all_twins.max)
		UNION ALL
		SELECT r.* FROM dtmv.systems s
		 CROSS JOIN LATERAL dtmv._remote_search(s.system_no, search_all_twins.kind, search_all_twins.name,
												search_all_twins.properties, search_all_twins.max) r
		 WHERE s.kind = 'twin' AND NOT s.is_local AND s.fdw_server IS NOT NULL
		   AND EXISTS (SELECT FROM dtmv.system_links l
						 JOIN dtmv.delegations d ON d.service_id = l.subject_id
						WHERE l.system_no = s.system_no AND d.subject_id = dtmv.current_subject())
	) a ORDER BY a.id LIMIT search_all_twins.max
$$;
COMMENT ON FUNCTION dtmv.search_all_twins(text, text, jsonb, integer) IS
	'search_twins here and at every connected twin system where the acting user lets this system act for her, oldest first (REQ-DT-03, REQ-SI-02b)';

-- request_sync of a twin of another system: queued there as the acting
-- user; its id here maps to the one there, for dtmv.sync_status.
CREATE OR REPLACE FUNCTION dtmv._remote_request_sync(system integer, twin dtmv.twin_id) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	there bigint;
	id bigint;
BEGIN
	-- not repeated on a link that died: the request may have been queued
	SELECT v::bigint INTO there
	  FROM dtmv._remote(system, pg_catalog.format('SELECT dtmv.request_sync(%L)::text', twin), false) v;
	id := pg_catalog.nextval('dtmv.sync_requests_request_id_seq');
	INSERT INTO dtmv.remote_sync_requests (request_id, system_no, remote_request_id, subject_id, twin)
		VALUES (id, system, there, dtmv.current_subject(), twin);
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._remote_request_sync(integer, dtmv.twin_id) IS
	'internal: dtmv.request_sync at the twin''s system as the acting user; the id here of the request there';

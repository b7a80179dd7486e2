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

-- dblink's schema, which must be a superuser's, used by superusers and
-- dtmv_link alone: the links stay open in the session (dblink's named
-- connections), and whoever may call dblink's functions could send SQL
-- through them as this system. dtmv_link, which opens them, must be a role
-- no one can become: NOLOGIN, no superuser, no members.
CREATE OR REPLACE FUNCTION dtmv._dblink_schema() RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	nsp record;
	linker oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'dtmv_link');
BEGIN
	SELECT n.oid, n.nspname, n.nspowner, n.nspacl INTO nsp
	  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
	 WHERE e.extname = 'dblink';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'links to other systems need the extension dblink'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'A superuser runs CREATE SCHEMA dblink; CREATE EXTENSION dblink SCHEMA dblink; GRANT USAGE ON SCHEMA dblink TO dtmv_link (docs/federation.md).';
	END IF;
	IF linker IS NULL OR EXISTS (SELECT FROM pg_catalog.pg_roles r
								  WHERE r.oid = linker AND (r.rolsuper OR r.rolcanlogin))
	   OR EXISTS (SELECT FROM pg_catalog.pg_auth_members m WHERE m.roleid = linker) THEN
		RAISE EXCEPTION 'role dtmv_link may log in, is a superuser, has members or is missing'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Links to other systems are opened as dtmv_link: a role no one can become, and no superuser, so that dblink requires a password that the other side asks for.',
				  HINT = 'A superuser makes it so: ALTER ROLE dtmv_link NOLOGIN NOSUPERUSER, and revokes it from its members.';
	END IF;
	IF NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = nsp.nspowner)
	   OR EXISTS (SELECT FROM pg_catalog.aclexplode(nsp.nspacl) a
				   WHERE a.privilege_type = 'USAGE' AND a.grantee <> linker
					 AND (a.grantee = 0 OR NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = a.grantee))) THEN
		RAISE EXCEPTION 'dblink is in schema %, which roles other than superusers and dtmv_link may use', nsp.nspname
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Links to other systems stay open in the session: whoever may call dblink''s functions could send SQL through them as this system.',
				  HINT = 'Install dblink in a schema of its own that only superusers own and use, and dtmv_link: ALTER EXTENSION dblink SET SCHEMA dblink (docs/federation.md).';
	END IF;
	IF NOT pg_catalog.has_schema_privilege(linker, nsp.oid, 'USAGE') THEN
		RAISE EXCEPTION 'role dtmv_link may not use dblink''s schema %', nsp.nspname
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Links to other systems are opened as dtmv_link.',
				  HINT = pg_catalog.format('A superuser runs GRANT USAGE ON SCHEMA %I TO dtmv_link.', nsp.nspname);
	END IF;
	RETURN pg_catalog.quote_ident(nsp.nspname);
END
$$;
COMMENT ON FUNCTION dtmv._dblink_schema() IS
	'internal: dblink''s schema, quoted; 55000 without dblink or without dtmv_link''s USAGE on it, 42501 if roles other than superusers and dtmv_link may use it or dtmv_link may be become';

-- Open a named dblink connection through a foreign server as dtmv_link
-- (this function's owner), never as the superuser who owns dtmv: dblink
-- lets a non-superuser connect only with a password in the user mapping
-- that the other side actually asked for, so a mapping without one, or a
-- server that trusts (peer, trust) whoever connects, is refused (2F003).
-- Executable by superusers only (dtmv's own SECURITY DEFINER functions).
-- dblink's schema is looked up here, never taken from the caller.
CREATE OR REPLACE FUNCTION dtmv._link_connect(conn text, server text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('SELECT %I.dblink_connect($1, $2)',
							  (SELECT n.nspname FROM pg_catalog.pg_extension e
								 JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
								WHERE e.extname = 'dblink')) USING conn, server;
END
$$;
ALTER FUNCTION dtmv._link_connect(text, text) OWNER TO dtmv_link;
REVOKE ALL ON FUNCTION dtmv._link_connect(text, text) FROM PUBLIC;
COMMENT ON FUNCTION dtmv._link_connect(text, text) IS
	'internal: dblink_connect(conn, server) as dtmv_link, so that dblink demands a password the other side uses; superusers only';

-- A link's foreign server must exist and bound how long a connection may
-- take: connect_timeout 1 to 60 s (libpq waits forever with 0 or none).
-- Checked at registration and again for every new connection (an ALTER
-- SERVER in between counts).
CREATE OR REPLACE FUNCTION dtmv._require_connect_timeout(server name) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	t text;
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_foreign_server fs WHERE fs.srvname = server) THEN
		RAISE EXCEPTION 'foreign server "%" does not exist', server
			USING ERRCODE = 'undefined_object',
				  HINT = 'dtmv_admin makes it again (CREATE SERVER ... FOREIGN DATA WRAPPER postgres_fdw, docs/federation.md) or registers the system anew.';
	END IF;
	SELECT o.option_value INTO t
	  FROM pg_catalog.pg_foreign_server fs, pg_catalog.pg_options_to_table(fs.srvoptions) o
	 WHERE fs.srvname = server AND o.option_name = 'connect_timeout';
	IF t IS NULL OR t !~ '^\s*[0-9]{1,9}\s*$' OR t::integer NOT BETWEEN 1 AND 60 THEN
		RAISE EXCEPTION 'foreign server "%" has %', server,
						CASE WHEN t IS NULL THEN 'no connect_timeout'
							 ELSE pg_catalog.format('connect_timeout %L, not 1 to 60 seconds', t) END
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Without it (or with 0) a call on an unreachable system waits as long as the network lets it.',
				  HINT = pg_catalog.format('ALTER SERVER %I OPTIONS (%s connect_timeout ''5'')', server,
										   CASE WHEN t IS NULL THEN 'ADD' ELSE 'SET' END);
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_connect_timeout(name) IS
	'internal: 42704 unless the foreign server exists, 22023 unless its connect_timeout is 1 to 60 s';

-- The session's link to a system, opened if needed: whether it was open
-- already. It logs in as the user mapping for dtmv_link says, with a
-- password (42501 otherwise). A connection refused or timed out (the
-- foreign server's connect_timeout) is 08001 naming the system.
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
	PERFORM dtmv._require_connect_timeout(sys.fdw_server);
	IF NOT pg_catalog.has_server_privilege('dtmv_link', sys.fdw_server, 'USAGE') THEN
		RAISE EXCEPTION 'the link to system "%" (%) may not use foreign server %', sys.name, system, sys.fdw_server
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Links to other systems are opened as dtmv_link.',
				  HINT = pg_catalog.format('The server''s owner runs GRANT USAGE ON FOREIGN SERVER %I TO dtmv_link (docs/federation.md).', sys.fdw_server);
	END IF;
	BEGIN
		PERFORM dtmv._link_connect(conn, sys.fdw_server::text);
	EXCEPTION
		WHEN prohibited_sql_statement_attempted THEN	-- dblink: no password, or one not asked for
			GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
			RAISE EXCEPTION 'the link to system "%" (%) must log in with a password', sys.name, system
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = msg || coalesce(': ' || nullif(det, ''), ''),
					  HINT = pg_catalog.format('The user mapping for dtmv_link on foreign server %I gives the login and password of the link there, and the other system must ask for that password (docs/federation.md).', sys.fdw_server);
		WHEN undefined_object THEN	-- no user mapping for dtmv_link
			GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
			RAISE EXCEPTION 'the link to system "%" (%) has no login', sys.name, system
				USING ERRCODE = 'object_not_in_prerequisite_state', DETAIL = msg,
					  HINT = pg_catalog.format('The server''s owner runs CREATE USER MAPPING FOR dtmv_link SERVER %I OPTIONS (user ..., password ...) (docs/federation.md).', sys.fdw_server);
		WHEN sqlclient_unable_to_establish_sqlconnection OR connection_exception THEN
			GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
			RAISE EXCEPTION 'could not connect to system "%" (%)', sys.name, system
				USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection',
					  DETAIL = pg_catalog.rtrim(coalesce(nullif(det, ''), msg), E'\n'),
					  HINT = pg_catalog.format('The link goes through foreign server %I; it waits at most the server''s connect_timeout.', sys.fdw_server);
	END;
	RETURN false;
END
$$;
COMMENT ON FUNCTION dtmv._link_open(text, integer, text) IS
	'internal: open the session''s dblink connection to a system through its foreign server as dtmv_link unless open; whether it was open; 42501 without a password the other side asks for, 08001 naming the system';

-- Wait until the next result on a link is there without blocking in
-- dblink (whose own waits see no cancel): dblink_is_busy polled, in C
-- (src/federation.c), with naps of 50 us for the first 2 ms (a loopback
-- answer), then longer, up to 10 ms, which a cancel or a statement_timeout
-- here ends. false if the deadline passed first.
CREATE OR REPLACE FUNCTION dtmv._link_wait(conn text, dbl text, deadline timestamptz) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_link_wait' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dtmv._link_wait(text, text, timestamptz) IS
	'internal: wait, polling, until the next result on a link is there (true) or the deadline passed (false); a cancel here ends the wait';

-- Calls sent ahead (src/federation.c), so that dtmv.search_all_twins asks
-- every system at once: while sending ahead, dtmv._remote sends its call and
-- records it (link, query string, deadline) instead of waiting; called
-- again with the same call, it reads that answer. Forgotten when the
-- transaction ends.
CREATE OR REPLACE FUNCTION dtmv._link_ahead(sending boolean) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_link_ahead' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dtmv._link_ahead(boolean) IS
	'internal: dtmv._remote sends its calls ahead (true) or runs them (false); the mode it was in';
CREATE OR REPLACE FUNCTION dtmv._link_sending_ahead() RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_link_sending_ahead' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dtmv._link_sending_ahead() IS 'internal: whether dtmv._remote sends its calls ahead';
CREATE OR REPLACE FUNCTION dtmv._link_sent(conn text, q text, deadline timestamptz) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_link_sent' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dtmv._link_sent(text, text, timestamptz) IS
	'internal: a query string was sent ahead on a link, to be read by that deadline';
CREATE OR REPLACE FUNCTION dtmv._link_take(conn text, q text) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'dtmv_link_take' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION dtmv._link_take(text, text) IS
	'internal: the deadline of that query string if it was sent ahead on the link and not read yet (now taken), else NULL';
CREATE OR REPLACE FUNCTION dtmv._link_abandon() RETURNS text[]
	AS 'MODULE_PATHNAME', 'dtmv_link_abandon' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION dtmv._link_abandon() IS
	'internal: the links whose calls sent ahead were not read, forgotten now (to be closed); sending ahead ends';

-- Send one query string on a link (dtmv._link_read reads its results).
CREATE OR REPLACE FUNCTION dtmv._link_send(conn text, dbl text, q text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	sent integer;
	msg text;
BEGIN
	EXECUTE pg_catalog.format('SELECT %s.dblink_send_query($1, $2)', dbl) INTO sent USING conn, q;
	IF sent IS DISTINCT FROM 1 THEN
		EXECUTE pg_catalog.format('SELECT %s.dblink_error_message($1)', dbl) INTO msg USING conn;
		RAISE EXCEPTION 'could not send the call' USING ERRCODE = 'connection_failure', DETAIL = msg;
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._link_send(text, text, text) IS
	'internal: send one query string on a link; 08006 if it cannot be sent';

-- Read the results of the query string sent on a link without ever
-- blocking in dblink (dtmv._link_wait), until they are there or the
-- deadline passes (NULL then, the call still running there). The rows of result
-- number `results` (the last statement's), as text; the query string must
-- hold exactly that many statements. A remote error is raised as dblink
-- raises it (its SQLSTATE, message, detail, hint).
CREATE OR REPLACE FUNCTION dtmv._link_read(conn text, dbl text, results integer, deadline timestamptz)
RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	got text[];
	answer text[];
BEGIN
	FOR i IN 1 .. results + 1 LOOP		-- each statement's result, then the end
		IF NOT dtmv._link_wait(conn, dbl, deadline) THEN
			RETURN NULL;
		END IF;
		EXECUTE pg_catalog.format(
			'SELECT pg_catalog.array_agg(t.v ORDER BY t.n) FROM ROWS FROM (%s.dblink_get_result($1) AS (v text)) WITH ORDINALITY AS t(v, n)',
			dbl) INTO got USING conn;
		IF i = results THEN
			answer := coalesce(got, '{}');
		ELSIF i > results AND got IS NOT NULL THEN
			RAISE EXCEPTION 'more results than statements came back' USING ERRCODE = 'protocol_violation';
		END IF;
	END LOOP;
	RETURN answer;
END
$$;
COMMENT ON FUNCTION dtmv._link_read(text, text, integer, timestamptz) IS
	'internal: the results of the query string sent on a link, read without blocking until a deadline (NULL then); the rows of result number results, as text';

-- One query string on a link: sent, and its results read (dtmv._link_send,
-- dtmv._link_read).
CREATE OR REPLACE FUNCTION dtmv._link_run(conn text, dbl text, q text, results integer, deadline timestamptz)
RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._link_send(conn, dbl, q);
	RETURN dtmv._link_read(conn, dbl, results, deadline);
END
$$;
COMMENT ON FUNCTION dtmv._link_run(text, text, text, integer, timestamptz) IS
	'internal: one query string on a link, its results read without blocking until a deadline (NULL then); the rows of result number results, as text';

-- A link given up: the connection closed, nothing more. No cancel request
-- is sent, even when the call may still run there (cancel): libpq 15's
-- PQcancel has no timeout and waits for a stopped or black-holed server as
-- long as it hangs. The other side ends the call itself: it notices the
-- closed connection within a second (client_connection_check_interval,
-- set on every new link) or at the latest at its statement_timeout
-- (dtmv.remote_timeout). Never fails, not even on a cancel here.
CREATE OR REPLACE FUNCTION dtmv._link_close(conn text, dbl text, cancel boolean) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	EXECUTE pg_catalog.format('SELECT %s.dblink_disconnect($1)', dbl) USING conn;
EXCEPTION WHEN OTHERS OR query_canceled THEN
	NULL;
END
$$;
COMMENT ON FUNCTION dtmv._link_close(text, text, boolean) IS
	'internal: close a link, without a cancel request (the other side ends a call still running: it notices the closed connection, or its statement_timeout); never fails';

-- After an error: read the end of the answer on a link (within 1 s), so
-- that the link serves the next call; closed if anything else comes. Never
-- fails.
CREATE OR REPLACE FUNCTION dtmv._link_finish(conn text, dbl text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	got text[];
BEGIN
	IF NOT dtmv._link_wait(conn, dbl, pg_catalog.clock_timestamp() + interval '1 s') THEN
		PERFORM dtmv._link_close(conn, dbl, true);
		RETURN;
	END IF;
	EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(t.v) FROM %s.dblink_get_result($1, false) AS t(v text)', dbl)
		INTO got USING conn;
	IF got IS NOT NULL THEN
		PERFORM dtmv._link_close(conn, dbl, true);
	END IF;
EXCEPTION WHEN OTHERS OR query_canceled THEN	-- a cancel here too: the link is not left mid-call
	PERFORM dtmv._link_close(conn, dbl, true);
END
$$;
COMMENT ON FUNCTION dtmv._link_finish(text, text) IS
	'internal: after an error, read the end of the answer on a link so that it serves the next call, or close it; never fails';

-- After an error of the connection's class (08, 57P01..57P03): does the
-- link still work? Those errors come from a broken connection (libpq's
-- own, or the backend there ending), but also from the call there (its own
-- RAISE, a link of its own to a third system) and from checks here: the
-- end of the answer is read (dtmv._link_finish) and one round trip tried,
-- within 1 s. false, the link closed, if it does not answer.
CREATE OR REPLACE FUNCTION dtmv._link_alive(conn text, dbl text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	open boolean;
BEGIN
	PERFORM dtmv._link_finish(conn, dbl);
	EXECUTE pg_catalog.format('SELECT $1 = ANY (%s.dblink_get_connections())', dbl) INTO open USING conn;
	IF open AND dtmv._link_run(conn, dbl, 'SELECT 1', 1, pg_catalog.clock_timestamp() + interval '1 s') = '{1}' THEN
		RETURN true;
	END IF;
	PERFORM dtmv._link_close(conn, dbl, false);
	RETURN false;
EXCEPTION WHEN OTHERS OR query_canceled THEN
	PERFORM dtmv._link_close(conn, dbl, false);
	RETURN false;
END
$$;
COMMENT ON FUNCTION dtmv._link_alive(text, text) IS
	'internal: after an error of the connection''s class, whether the link still answers (the error was the call''s own); closed if not';

-- Run a call at another system as a subject of this one (the acting user,
-- through dtmv._remote below; the event relay, for each user it relays):
-- the user's name there is
-- name@<this system's name there>, and the link passes on the rights she
-- delegated (dtmv.delegate) to the subject that stands for that system
-- here, within what a service acting for her may use. One remote statement,
-- its own transaction there: it commits whole or not at all. The rows come
-- back as text, at most dtmv.remote_max_bytes of them. Remote errors keep
-- their SQLSTATE, message, detail and hint. Bounded here: no answer within
-- dtmv.remote_timeout + 1 s, or a cancel here (statement_timeout,
-- pg_cancel_backend), cancels the call there, closes the link and is 57014;
-- only the other side's own 57014 (its statement_timeout, which every link
-- sets to dtmv.remote_timeout) says that nothing was done there.
-- idempotent: a link that had died while idle (the other side restarted) is
-- opened again once and the call repeated.
CREATE OR REPLACE FUNCTION dtmv._remote_as(system integer, subject bigint, call text, idempotent boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	sys record;
	me bigint := subject;
	who text;
	mask integer;
	conn text := 'dtmv_link_' || system;
	dbl text;
	was_open boolean;
	q text;
	ahead timestamptz;
	bound interval := pg_catalog.current_setting('dtmv.remote_timeout')::interval;
	answer text[];
	size bigint;
	late boolean;
	unknown text;
	msg text;
	det text;
	ctx text;
BEGIN
	SELECT s.name, s.fdw_server, l.subject_id AS link, ls.name AS link_name INTO sys
	  FROM dtmv.systems s
	  LEFT JOIN dtmv.system_links l ON l.system_no = s.system_no
	  LEFT JOIN dtmv.subjects ls ON ls.subject_id = l.subject_id
	 WHERE s.system_no = _remote_as.system AND NOT s.is_local;
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
	unknown := 'Whether it was done there is not known: the link was closed, which ends the call there if it still ran.'
			   || CASE WHEN idempotent THEN '' ELSE ' What it asked for (a sync request, a command) may exist there for you (docs/federation.md, "When a link fails").' END;
	LOOP
		was_open := dtmv._link_open(conn, system, dbl);
		late := false;
		BEGIN
			IF NOT was_open THEN	-- every call there is bounded there too, and ends when the link closes
				answer := dtmv._link_run(conn, dbl, pg_catalog.format('SELECT pg_catalog.set_config(''statement_timeout'', %L, false)'
										 ' || pg_catalog.set_config(''client_connection_check_interval'', ''1s'', false)'
										 ' || pg_catalog.set_config(''client_min_messages'', ''warning'', false)',
										 pg_catalog.current_setting('dtmv.remote_timeout')),
										 1, pg_catalog.clock_timestamp() + bound + interval '1 s');
				late := answer IS NULL;
			END IF;
			IF NOT late THEN
				-- a call sent ahead is read (its deadline); while sending ahead
				-- (search_all_twins asks every system at once), one is sent
				ahead := dtmv._link_take(conn, q);
				IF ahead IS NULL AND dtmv._link_sending_ahead() THEN
					PERFORM dtmv._link_send(conn, dbl, q);
					PERFORM dtmv._link_sent(conn, q, pg_catalog.clock_timestamp() + bound + interval '1 s');
					RETURN;
				END IF;
				answer := CASE WHEN ahead IS NULL
							   THEN dtmv._link_run(conn, dbl, q, 2, pg_catalog.clock_timestamp() + bound + interval '1 s')
							   ELSE dtmv._link_read(conn, dbl, 2, ahead) END;
				late := answer IS NULL;
			END IF;
			IF late THEN
				RAISE EXCEPTION USING ERRCODE = 'query_canceled';	-- handled below
			END IF;
			SELECT sum(pg_catalog.octet_length(v)) INTO size FROM pg_catalog.unnest(answer) v;
			IF size > pg_catalog.pg_size_bytes(pg_catalog.current_setting('dtmv.remote_max_bytes')) THEN
				RAISE EXCEPTION 'system "%" (%) answered % bytes, more than dtmv.remote_max_bytes (%)', sys.name, system,
								size, pg_catalog.current_setting('dtmv.remote_max_bytes')
					USING ERRCODE = 'program_limit_exceeded';
			END IF;
			RETURN QUERY SELECT v FROM pg_catalog.unnest(answer) v;
			RETURN;
		EXCEPTION
			WHEN connection_exception OR admin_shutdown OR crash_shutdown OR cannot_connect_now THEN
				-- the connection lost, or its backend there ended; or an error of
				-- that class that the call raised there (calling out to a third
				-- system, say) or a check here: then the link still works, and
				-- the error is passed on as it is, the call not repeated
				GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
				IF dtmv._link_alive(conn, dbl) THEN
					RAISE;
				END IF;
				PERFORM dtmv._link_close(conn, dbl, false);
				IF NOT (was_open AND idempotent) THEN
					RAISE EXCEPTION 'lost the connection to system "%" (%)', sys.name, system
						USING ERRCODE = 'connection_failure',
							  DETAIL = pg_catalog.rtrim(coalesce(nullif(det, ''), msg), E'\n'),
							  HINT = 'Nothing of this call was done at that system unless it committed there before the connection was lost (docs/federation.md).';
				END IF;
				was_open := false;	-- once more, on a new connection
			WHEN query_canceled THEN
				GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, ctx = PG_EXCEPTION_CONTEXT;
				IF NOT late AND ctx LIKE '%on dblink connection named%' THEN
					-- the other side's own cancel (its statement_timeout): rolled back there
					PERFORM dtmv._link_close(conn, dbl, false);
					RAISE EXCEPTION 'system "%" (%) did not answer within %', sys.name, system,
									pg_catalog.current_setting('dtmv.remote_timeout')
						USING ERRCODE = 'query_canceled', DETAIL = msg,
							  HINT = 'The call was cancelled there and nothing of it done; dtmv.remote_timeout bounds it.';
				END IF;
				PERFORM dtmv._link_close(conn, dbl, true);
				IF late THEN	-- no answer, not even the other side's own timeout
					RAISE EXCEPTION 'system "%" (%) did not answer within %', sys.name, system,
									pg_catalog.current_setting('dtmv.remote_timeout')
						USING ERRCODE = 'query_canceled',
							  DETAIL = 'No answer came back within dtmv.remote_timeout and 1 s more (the other system or the network may hang).',
							  HINT = unknown;
				END IF;
				RAISE EXCEPTION '% while waiting for system "%" (%)', msg, sys.name, system	-- cancelled here
					USING ERRCODE = 'query_canceled', HINT = unknown;
			WHEN OTHERS THEN
				-- an error there (its own SQLSTATE), or an answer refused here: the
				-- link stays, once the end of the answer is read
				PERFORM dtmv._link_finish(conn, dbl);
				RAISE;
		END;
	END LOOP;
END
$$;
COMMENT ON FUNCTION dtmv._remote_as(integer, bigint, text, boolean) IS
	'internal: run one call at another system as a subject of this one (name@this system there), with the rights she delegated to that system''s subject here; rows as text; bounded by dtmv.remote_timeout + 1 s here (REQ-SI-02b)';

-- The one way to run a call at another system as the acting user.
CREATE OR REPLACE FUNCTION dtmv._remote(system integer, call text, idempotent boolean DEFAULT true)
RETURNS SETOF text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT dtmv._remote_as(system, dtmv.current_subject(), call, idempotent) $$;
COMMENT ON FUNCTION dtmv._remote(integer, text, boolean) IS
	'internal: run one call at another system as the acting user (dtmv._remote_as)';

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
	-- Made on first use. Two first calls at once (the event relay and her
	-- own call, say) both come here: the second's INSERT waits for the
	-- first's row and, once that committed, does nothing; the look-up below
	-- (a statement of its own: a new snapshot in READ COMMITTED, as calls
	-- through a link run) then finds the first's subject, hers.
	INSERT INTO dtmv.subjects (name, kind) VALUES (full_name, 'user')
		ON CONFLICT (name) DO NOTHING RETURNING subject_id INTO id;
	IF id IS NOT NULL THEN
		INSERT INTO dtmv.remote_users (subject_id, system_no, name) VALUES (id, system, user_name);
		RETURN id;
	END IF;
	SELECT r.subject_id INTO id FROM dtmv.remote_users r
	 WHERE r.system_no = _remote_user.system AND r.name = user_name;
	IF FOUND THEN
		RETURN id;
	END IF;
	RAISE EXCEPTION 'permission denied to act for a user of another system'
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = pg_catalog.format('Subject %L is not a user of that system.', full_name);
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
	 WHERE l.login_id = me AND NOT s.is_local;
	IF NOT FOUND OR NOT dtmv._outer_has_role('dtmv_gateway') THEN
		RAISE EXCEPTION 'permission denied to act for a user of another system'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Only the login of a registered system''s link (a dtmv_gateway login, dtmv.register_system(..., link_login => ...)) acts for that system''s users.';
	END IF;
	IF mask = 0 THEN
		RAISE EXCEPTION 'a delegation allows at least one right' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	id := dtmv._remote_user(sys.system_no, user_name);
	-- what her own system says she let it pass on; written only when it
	-- changes, and locked either way until the transaction ends, so that
	-- the check in _set_acting_subject (on what has committed by then)
	-- reads these rights, not a concurrent call's
	INSERT INTO dtmv.delegations AS d (subject_id, service_id, rights) VALUES (id, me, mask)
	ON CONFLICT (subject_id, service_id) DO UPDATE SET rights = excluded.rights, created_at = now()
	 WHERE d.rights IS DISTINCT FROM excluded.rights;
	PERFORM dtmv._set_acting_subject(id);
END
$$;
COMMENT ON FUNCTION dtmv.act_for_link(text, text) IS
	'another system''s link: act, until the transaction ends, for its user name@<that system>, with at most the rights given; made a subject on first use; the login of a registered link only (REQ-SI-02b)';

-- The number of a registered remote system, by its name here; 42704 for none.
CREATE OR REPLACE FUNCTION dtmv._remote_system(name text) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	no integer;
BEGIN
	SELECT s.system_no INTO no FROM dtmv.systems s WHERE s.name = _remote_system.name AND NOT s.is_local;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no remote system is named "%"', name USING ERRCODE = 'undefined_object';
	END IF;
	RETURN no;
END
$$;
COMMENT ON FUNCTION dtmv._remote_system(text) IS 'internal: the number of the registered remote system of that name; 42704 for none';

-- dtmv_admin: make a remote system's user known before she first comes, so
-- that twins can be shared with her.
CREATE OR REPLACE FUNCTION dtmv.create_remote_user(user_name text, system text) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
BEGIN
	PERFORM dtmv._require_admin_role('create users of other systems');
	RETURN dtmv._remote_user(dtmv._remote_system(system), user_name);
END
$$;
COMMENT ON FUNCTION dtmv.create_remote_user(text, text) IS
	'the subject name@system for a user of a registered remote system, made now so that rights can be granted to her; dtmv_admin only (REQ-SI-02b)';

-- twin_info of a twin of another system, run there as the acting user. An
-- answer about another twin than the one asked is refused (08P01): a
-- system answers only for its own twins.
CREATE OR REPLACE FUNCTION dtmv._remote_twin_info(system integer, twin dtmv.twin_id) RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	info jsonb := (SELECT v::jsonb FROM dtmv._remote(system, pg_catalog.format('SELECT dtmv.twin_info(%L)::text', twin)) v);
BEGIN
	IF info->>'id' IS DISTINCT FROM twin::text THEN
		RAISE EXCEPTION 'system "%" (%) answered twin_info of % with another twin',
						(SELECT s.name FROM dtmv.systems s WHERE s.system_no = _remote_twin_info.system), system, twin
			USING ERRCODE = 'protocol_violation',
				  DETAIL = pg_catalog.format('It answered for id %s.', coalesce(info->>'id', 'none'));
	END IF;
	RETURN info;
END
$$;
COMMENT ON FUNCTION dtmv._remote_twin_info(integer, dtmv.twin_id) IS
	'internal: dtmv.twin_info at the twin''s system, as the acting user; 08P01 if it answers for another twin';

-- search_twins at another system, as the acting user.
CREATE OR REPLACE FUNCTION dtmv._remote_search(system integer, kind text, name text, properties jsonb, max integer)
RETURNS SETOF dtmv.twins
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
	-- a system answers only with its own twins, at most max of them
	SELECT (r.t).* FROM (
		SELECT v::dtmv.twins AS t
		  FROM dtmv._remote(system, pg_catalog.format(
				   'SELECT t::text FROM dtmv.search_twins(%L, %L, %L::jsonb, %L, %L) t',
				   kind, name, properties, system, max)) v
		OFFSET 0) r
	 WHERE dtmv.twin_system((r.t).id) = _remote_search.system
	 LIMIT _remote_search.max
$$;
COMMENT ON FUNCTION dtmv._remote_search(integer, text, text, jsonb, integer) IS
	'internal: dtmv.search_twins at another system, as the acting user: its rows of its own twins, at most max';

-- Twins the acting user may discover here and at every connected twin
-- system where she lets this one act for her, oldest first. Every system
-- is asked at once: the calls are sent ahead (dtmv._link_ahead), then the
-- search here runs, then each answer is read, all by the same deadline.
-- Fails whole if one system fails; the calls still out are then cancelled
-- and their links closed.
CREATE OR REPLACE FUNCTION dtmv.search_all_twins(kind text DEFAULT NULL, name text DEFAULT NULL,
												 properties jsonb DEFAULT NULL, max integer DEFAULT 100)
RETURNS SETOF dtmv.twins
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	-- (the arguments named with the function's name: systems has a kind and a name)
	elsewhere integer[] := ARRAY(
		SELECT s.system_no FROM dtmv.systems s
		 WHERE s.kind = 'twin' AND NOT s.is_local AND s.fdw_server IS NOT NULL
		   AND EXISTS (SELECT FROM dtmv.system_links l
						 JOIN dtmv.delegations d ON d.service_id = l.subject_id
						WHERE l.system_no = s.system_no AND d.subject_id = dtmv.current_subject()
						  AND d.rights & dtmv._acting_rights() <> 0)
		 ORDER BY s.system_no);
	conn text;
BEGIN
	BEGIN
		IF cardinality(elsewhere) > 0 THEN
			PERFORM dtmv._link_ahead(true);
			PERFORM FROM pg_catalog.unnest(elsewhere) s,
					dtmv._remote_search(s, search_all_twins.kind, search_all_twins.name,
										search_all_twins.properties, search_all_twins.max);
			PERFORM dtmv._link_ahead(false);
		END IF;
		RETURN QUERY
			SELECT a.* FROM (
				SELECT * FROM dtmv.search_twins(search_all_twins.kind, search_all_twins.name,
												search_all_twins.properties, NULL, search_all_twins.max)
				UNION ALL
				SELECT r.* FROM pg_catalog.unnest(elsewhere) WITH ORDINALITY AS s(no, n)
				 CROSS JOIN LATERAL dtmv._remote_search(s.no, search_all_twins.kind, search_all_twins.name,
														search_all_twins.properties, search_all_twins.max) r
			) a ORDER BY a.id LIMIT search_all_twins.max;
	EXCEPTION WHEN OTHERS OR query_canceled THEN
		FOREACH conn IN ARRAY dtmv._link_abandon() LOOP
			PERFORM dtmv._link_close(conn, dtmv._dblink_schema(), true);
		END LOOP;
		RAISE;
	END;
END
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
	-- a request still pending there is answered with its id again, as here:
	-- it keeps its id here too (and nothing is written)
	SELECT m.request_id INTO id FROM dtmv.remote_sync_requests m
	 WHERE m.system_no = _remote_request_sync.system AND m.remote_request_id = there
	   AND m.subject_id = dtmv.current_subject() AND m.twin = _remote_request_sync.twin;
	IF FOUND THEN
		RETURN id;
	END IF;
	-- asked twice at once, both calls get the same id there: the second's
	-- INSERT waits for the first's row, then does nothing, and the look-up
	-- (a new snapshot) finds it
	INSERT INTO dtmv.remote_sync_requests (request_id, system_no, remote_request_id, subject_id, twin)
		VALUES (pg_catalog.nextval('dtmv.sync_requests_request_id_seq'), system, there, dtmv.current_subject(), twin)
		ON CONFLICT (system_no, remote_request_id) DO NOTHING
		RETURNING request_id INTO id;
	IF id IS NULL THEN
		SELECT m.request_id INTO id FROM dtmv.remote_sync_requests m
		 WHERE m.system_no = _remote_request_sync.system AND m.remote_request_id = there
		   AND m.subject_id = dtmv.current_subject() AND m.twin = _remote_request_sync.twin;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'system % answered request_sync with a request that is not this user''s', system
				USING ERRCODE = 'protocol_violation';
		END IF;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._remote_request_sync(integer, dtmv.twin_id) IS
	'internal: dtmv.request_sync at the twin''s system as the acting user; the id here of the request there';

-- interact / command_status of a remote twin, and the checks on what a
-- system answers about twins (fedroute).
GRANT SELECT ON dtmv.remote_commands TO dtmv_user;
DROP POLICY IF EXISTS remote_commands_own ON dtmv.remote_commands;
CREATE POLICY remote_commands_own ON dtmv.remote_commands FOR SELECT TO dtmv_user
	USING (subject_id = ANY (dtmv._own_subjects()));
COMMENT ON POLICY remote_commands_own ON dtmv.remote_commands IS 'a user sees the commands placed elsewhere for her';

-- A system named by its number (search_twins, localize, services_at,
-- spatial_map): NULL for none or this database's own, else the number of the
-- registered system to ask; 42704 for a system that is not registered here.
CREATE OR REPLACE FUNCTION dtmv._route_system(system integer) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	here boolean;
BEGIN
	IF system IS NULL THEN
		RETURN NULL;
	END IF;
	SELECT s.is_local INTO here FROM dtmv.systems s WHERE s.system_no = _route_system.system;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'system % is not registered here', system
			USING ERRCODE = 'undefined_object',
				  HINT = 'dtmv_admin registers it with dtmv.register_system() (docs/federation.md).';
	END IF;
	RETURN CASE WHEN here THEN NULL ELSE system END;
END
$$;
COMMENT ON FUNCTION dtmv._route_system(integer) IS
	'internal: NULL for no system or this database''s own, else the registered system to ask; 42704 for an unregistered one (REQ-SI-02b)';

-- What a system answers about twins must be about its own (08P01
-- otherwise): ids, as text, that are all twin ids of that system.
CREATE OR REPLACE FUNCTION dtmv._require_own_twins(system integer, call text, ids text[]) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	bad text;
BEGIN
	SELECT i INTO bad FROM pg_catalog.unnest(ids) i
	 WHERE CASE WHEN i ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
				THEN dtmv.twin_system(i::dtmv.twin_id) IS DISTINCT FROM system ELSE true END
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'system "%" (%) answered % with a twin not its own',
						(SELECT s.name FROM dtmv.systems s WHERE s.system_no = _require_own_twins.system), system, call
			USING ERRCODE = 'protocol_violation',
				  DETAIL = pg_catalog.format('It answered for id %s.', coalesce(bad, 'none'));
	END IF;
END
$$;
COMMENT ON FUNCTION dtmv._require_own_twins(integer, text, text[]) IS
	'internal: 08P01 unless every id that a system answered is a twin id of that system';

-- interact on a twin of another system: the command is queued there, as the
-- acting user; its id here maps to the one there, for dtmv.command_status.
-- Never repeated on a link that died (the command may have been queued);
-- nothing is recorded here unless the other side answered with its id.
CREATE OR REPLACE FUNCTION dtmv._remote_interact(system integer, twin dtmv.twin_id, action text, args jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	there bigint;
	id bigint;
BEGIN
	SELECT v::bigint INTO there
	  FROM dtmv._remote(system, pg_catalog.format('SELECT dtmv.interact(%L, %L, %L)::text', twin, action, args), false) v;
	IF there IS NULL THEN
		RAISE EXCEPTION 'system "%" (%) answered interact with no command',
						(SELECT s.name FROM dtmv.systems s WHERE s.system_no = _remote_interact.system), system
			USING ERRCODE = 'protocol_violation';
	END IF;
	id := pg_catalog.nextval('dtmv.commands_command_id_seq');
	INSERT INTO dtmv.remote_commands (command_id, system_no, remote_command_id, subject_id, twin, action)
		VALUES (id, system, there, dtmv.current_subject(), twin, action);
	RETURN id;
END
$$;
COMMENT ON FUNCTION dtmv._remote_interact(integer, dtmv.twin_id, text, jsonb) IS
	'internal: dtmv.interact at the twin''s system as the acting user; the id here of the command there';

-- command_status of a command placed at another system, asked there as
-- the acting user; its answer must be a status.
CREATE OR REPLACE FUNCTION dtmv._remote_command_status(system integer, command_id bigint) RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$
DECLARE
	status text := (SELECT v FROM dtmv._remote(system, pg_catalog.format('SELECT dtmv.command_status(%L)', command_id)) v);
BEGIN
	IF status IS NULL OR status NOT IN ('queued', 'delivered', 'succeeded', 'failed') THEN
		RAISE EXCEPTION 'system "%" (%) answered command_status with no status',
						(SELECT s.name FROM dtmv.systems s WHERE s.system_no = _remote_command_status.system), system
			USING ERRCODE = 'protocol_violation',
				  DETAIL = pg_catalog.format('It answered %s.', coalesce(pg_catalog.quote_literal(pg_catalog.left(status, 100)), 'nothing'));
	END IF;
	RETURN status;
END
$$;
COMMENT ON FUNCTION dtmv._remote_command_status(integer, bigint) IS
	'internal: dtmv.command_status at the system the command was placed at, as the acting user; 08P01 unless it answers a status';

-- dtmv's test helpers: functions that the tests and benchmarks call and that
-- no client of dtmv needs, so they are not part of the extension. Each suite
-- that uses them loads this file as a superuser, after CREATE EXTENSION dtmv
-- (pg_regress: sql/test_helpers.sql, the first REGRESS entry; pgTAP: the
-- runner; TAP tests: DtmvTest::create_dtmv; shell suites and benchmarks:
-- psql -f). The C ones are entry points of dtmv's own library. Loading it
-- twice is harmless.
CREATE SCHEMA IF NOT EXISTS dtmv_test;
COMMENT ON SCHEMA dtmv_test IS 'dtmv''s test helpers (test/sql/test_helpers.sql), not part of the extension';

CREATE OR REPLACE FUNCTION dtmv_test._acting_subject() RETURNS bigint
	AS '$libdir/dtmv', 'dtmv_acting_subject' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv_test._acting_subject() IS
	'internal: the subject set by dtmv.act_as() in this transaction, or NULL';

-- The rights that holders of these subject keys (a subject and its groups)
-- have on a twin, as a mask; 0 for a twin that does not exist (src/rights.c).
CREATE OR REPLACE FUNCTION dtmv_test._rights_for(twin dtmv.twin_id, subs bigint[]) RETURNS integer
	AS '$libdir/dtmv', 'dtmv_rights_for' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv_test._rights_for(dtmv.twin_id, bigint[]) IS
	'internal: mask of the rights that a subject (given as itself and its groups) holds on a twin';

-- The subjects that may read a twin, as the orderer works them out from
-- its acl (dtmv._acl_readers).
CREATE OR REPLACE FUNCTION dtmv_test._twin_readers(twin dtmv.twin_id) RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, dtmv, pg_temp
AS $$ SELECT coalesce((SELECT dtmv._acl_readers(t.acl) FROM dtmv.twin_registry t WHERE t.id = twin), '{}') $$;
COMMENT ON FUNCTION dtmv_test._twin_readers(dtmv.twin_id) IS 'internal: the users and systems that may read a twin';

-- Who hears an event (src/wake_channels.c, the one definition the writers
-- and the worker's rounds call from C), shown for one event.
CREATE OR REPLACE FUNCTION dtmv_test._event_channels(twin dtmv.twin_id, addressee bigint) RETURNS text[]
	AS '$libdir/dtmv', 'dtmv_event_channels' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv_test._event_channels(dtmv.twin_id, bigint) IS 'internal: the NOTIFY channels that should hear an event, sorted';

CREATE OR REPLACE FUNCTION dtmv_test._notifier_active() RETURNS boolean
	AS '$libdir/dtmv', 'dtmv_notifier_active' LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION dtmv_test._notifier_active() IS 'internal: whether the background worker orders this database''s events and sends their wake-ups';

-- As the extension's internal functions: for superusers only.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA dtmv_test FROM PUBLIC;

-- Run a statement as the calling role; its SQLSTATE, message and detail if
-- it fails ('ok' if not), with twin ids (new each run) masked: for expected
-- outputs that show refusals.
CREATE OR REPLACE FUNCTION dtmv_test.attempt(q text) RETURNS text
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
	st text; msg text; det text;
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
	RETURN regexp_replace(st || ': ' || msg || ' / ' || coalesce(det, ''),
						  '[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}', '<twin>', 'g');
END
$$;
COMMENT ON FUNCTION dtmv_test.attempt(text) IS
	'run a statement; ok, or its SQLSTATE, message and detail with twin ids masked';
GRANT USAGE ON SCHEMA dtmv_test TO PUBLIC;
GRANT EXECUTE ON FUNCTION dtmv_test.attempt(text) TO PUBLIC;

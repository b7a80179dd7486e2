-- Update 0.1 -> 0.2: what changes in the run-once relations and types, and
-- what must go before the replayed files (sql/install/replay/*.sql, appended
-- to this by make) create the 0.2 functions, views and policies.

-- An object outside dtmv that depends on a function this update drops (a
-- view, or a SQL-standard function body, BEGIN ATOMIC, calling it) would
-- make a DROP below fail with a bare "cannot drop". Say which, and what to
-- do, before anything changes.
DO $$
DECLARE
	dependents text;
BEGIN
	SELECT pg_catalog.string_agg(DISTINCT o.type || ' ' || o.identity, ', ')
	  INTO dependents
	  FROM pg_catalog.pg_depend d,
		   LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) o
	 WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND d.deptype = 'n'
	   AND d.refobjid IN ('dtmv.complete_sync(bigint, boolean, jsonb)'::pg_catalog.regprocedure,
						  'dtmv._acting_subject()'::pg_catalog.regprocedure,
						  'dtmv._rights_for(dtmv.twin_id, bigint[])'::pg_catalog.regprocedure,
						  'dtmv._twin_readers(dtmv.twin_id)'::pg_catalog.regprocedure,
						  'dtmv._event_channels(dtmv.twin_id, bigint)'::pg_catalog.regprocedure,
						  'dtmv._notifier_active()'::pg_catalog.regprocedure,
						  'dtmv._recover_if_dead(bigint)'::pg_catalog.regprocedure,
						  'dtmv._queue_sync(dtmv.twin_id, bigint, integer)'::pg_catalog.regprocedure,
						  'dtmv._try_lock_twin(dtmv.twin_id)'::pg_catalog.regprocedure,
						  'dtmv._right_names()'::pg_catalog.regprocedure);
	IF dependents IS NOT NULL THEN
		RAISE EXCEPTION 'objects outside dtmv depend on functions that the update to 0.2 replaces: %', dependents
			USING ERRCODE = 'dependent_objects_still_exist',
				  HINT = 'Drop them, run ALTER EXTENSION dtmv UPDATE, and create them again: '
						 'a call dtmv.complete_sync(request, ok, reported) stays valid in 0.2.';
	END IF;
END
$$;

-- Test-only functions leave the extension; the tests declare them in a
-- schema of their own (test/sql/test_helpers.sql). Their C stays in the
-- library, which databases still at 0.1 call.
DROP FUNCTION dtmv._acting_subject();
DROP FUNCTION dtmv._rights_for(dtmv.twin_id, bigint[]);
DROP FUNCTION dtmv._twin_readers(dtmv.twin_id);
DROP FUNCTION dtmv._event_channels(dtmv.twin_id, bigint);
DROP FUNCTION dtmv._notifier_active();

-- The sync queue's recovery and periodic queueing moved into C, which calls
-- these steps directly: no SQL calls them any more.
DROP FUNCTION dtmv._recover_if_dead(bigint);
DROP FUNCTION dtmv._queue_sync(dtmv.twin_id, bigint, integer);
DROP FUNCTION dtmv._try_lock_twin(dtmv.twin_id);

-- The rights' names are in C alone (dtmv._rights_text).
DROP FUNCTION dtmv._right_names();

-- complete_sync gains replace (reported state is merged unless it is true):
-- a new signature, so the old one goes.
DROP FUNCTION dtmv.complete_sync(bigint, boolean, jsonb);

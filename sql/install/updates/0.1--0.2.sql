-- Update 0.1 -> 0.2: what changes in the run-once relations and types, and
-- what must go before the replayed files (sql/install/replay/*.sql, appended
-- to this by make) create the 0.2 functions, views and policies.

-- The functions 0.2 no longer has, in one list: the check below and the
-- drops read it. Their C stays in the library, which databases still at 0.1
-- call. An object outside dtmv that depends on one of them (a view, or a
-- SQL-standard function body, BEGIN ATOMIC, calling it) would make a DROP
-- fail with a bare "cannot drop": the update says which, and what to do,
-- before anything changes.
DO $$
DECLARE
	dropped pg_catalog.regprocedure[] := ARRAY[
		-- test-only: the tests declare them in a schema of their own
		-- (test/sql/test_helpers.sql)
		'dtmv._acting_subject()',
		'dtmv._rights_for(dtmv.twin_id, bigint[])',
		'dtmv._twin_readers(dtmv.twin_id)',
		'dtmv._event_channels(dtmv.twin_id, bigint)',
		'dtmv._notifier_active()',
		-- the sync queue's recovery and periodic queueing moved into C,
		-- which calls these steps directly: no SQL calls them any more
		'dtmv._recover_if_dead(bigint)',
		'dtmv._queue_sync(dtmv.twin_id, bigint, integer)',
		'dtmv._try_lock_twin(dtmv.twin_id)',
		-- the rights' names are in C alone (dtmv._rights_text)
		'dtmv._right_names()',
		-- complete_sync gains replace (reported state is merged unless it is
		-- true): a new signature, so the old one goes
		'dtmv.complete_sync(bigint, boolean, jsonb)'
	]::pg_catalog.regprocedure[];
	dependents text;
	f pg_catalog.regprocedure;
BEGIN
	SELECT pg_catalog.string_agg(DISTINCT o.type || ' ' || o.identity, ', ')
	  INTO dependents
	  FROM pg_catalog.pg_depend d,
		   LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) o
	 WHERE d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND d.deptype = 'n'
	   AND d.refobjid = ANY (dropped);
	IF dependents IS NOT NULL THEN
		RAISE EXCEPTION 'objects outside dtmv depend on functions that the update to 0.2 replaces: %', dependents
			USING ERRCODE = 'dependent_objects_still_exist',
				  HINT = 'Drop them, run ALTER EXTENSION dtmv UPDATE, and create them again: '
						 'a call dtmv.complete_sync(request, ok, reported) stays valid in 0.2.';
	END IF;
	FOREACH f IN ARRAY dropped LOOP
		EXECUTE pg_catalog.format('DROP FUNCTION %s',
								  (pg_catalog.pg_identify_object('pg_catalog.pg_proc'::pg_catalog.regclass, f, 0)).identity);
	END LOOP;
END
$$;

-- Who may read a twin is found from the system-wide grants and the grants on
-- the spaces it is in, not from every space's grants (once/50_rights.sql).
CREATE INDEX grants_system_wide ON dtmv.grants (subject_id) WHERE twin IS NULL AND space_id IS NULL;

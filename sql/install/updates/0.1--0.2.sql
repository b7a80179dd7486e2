-- Update 0.1 -> 0.2: what changes in the run-once relations and types, and
-- what must go before the replayed files (sql/install/replay/*.sql, appended
-- to this by make) create the 0.2 functions, views and policies.

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

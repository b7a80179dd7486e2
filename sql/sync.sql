-- The priority sync queue (REQ-DT-07, REQ-DT-08, scenario 7.1.3), in one
-- session; the races are in test/isolation/specs/sync_*.spec.
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
-- dtmv_test.attempt() (test/sql/test_helpers.sql) shows refusals with twin ids masked.
CREATE ROLE regress_sy_owner LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sy_low LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sy_mid LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sy_high LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_sy_gw LOGIN IN ROLE dtmv_gateway;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('sy_owner', 'regress_sy_owner')),
	(dtmv.create_subject('sy_low', 'regress_sy_low')),
	(dtmv.create_subject('sy_mid', 'regress_sy_mid')),
	(dtmv.create_subject('sy_high', 'regress_sy_high')),
	(dtmv.create_subject('sy_gateway', 'regress_sy_gw', 'system'))) s;
-- The factory's gateway serves the owner's devices (sql/agents.sql).
SELECT dtmv.register_gateway('sy_gateway', 'sy_owner') > 0 AS registered;

-- One robot twin used in three worlds; three users with different priorities.
SET ROLE regress_sy_owner;
SELECT dtmv.create_twin('robot', 'Welding robot', sync_priority => 0, physical_binding => 'SY-ROBOT') AS robot \gset
SELECT dtmv.create_twin('lamp', 'Lamp', physical_binding => 'SY-LAMP') AS lamp \gset
SET ROLE regress_sy_gw;
SELECT count(dtmv.confirm_binding(b)) AS confirmed FROM unnest('{SY-ROBOT,SY-LAMP}'::text[]) b;
SET ROLE regress_sy_owner;
SELECT dtmv.use_twin(dtmv.create_world(w), :'robot') FROM unnest('{sy factory,sy training,sy showroom}'::text[]) w;
SELECT dtmv.grant(:'robot', u, 'sync') FROM unnest('{sy_low,sy_mid,sy_high}'::text[]) u;
SELECT dtmv.set_sync_priority(:'robot', 'sy_low', 1);
SELECT dtmv.set_sync_priority(:'robot', 'sy_mid', 5);
SELECT dtmv.set_sync_priority(:'robot', 'sy_high', 9);

-- The sync right is needed to request.
SET ROLE regress_sy_low;
SELECT dtmv_test.attempt(format('SELECT dtmv.request_sync(%L)', :'lamp'));
SELECT dtmv.sync_priority(:'robot') AS low_priority;

-- Requests from three users; a second request while the first is pending is the same request.
SET ROLE regress_sy_low;
SELECT dtmv.request_sync(:'robot') AS low_req \gset
SELECT dtmv.request_sync(:'robot') = :low_req AS same_request;
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS high_req \gset
SET ROLE regress_sy_mid;
SELECT dtmv.request_sync(:'robot') AS mid_req \gset
-- A request that does not exist is refused like another's (the first call
-- of the session: nothing cached).
SELECT dtmv_test.attempt('SELECT dtmv.sync_status(-1)');   -- none: the same refusal
SELECT dtmv.sync_status(:mid_req);
SELECT dtmv.sync_status(:high_req);              -- not mid's request
-- Only gateways claim.
SELECT * FROM dtmv.claim_sync();

-- The gateway claims: the highest priority runs; the others join its batch.
SET ROLE regress_sy_gw;
SELECT request_id = :high_req AS high_runs, priority, requested_by, batch_size FROM dtmv.claim_sync();
SELECT count(*) AS second_claim_finds_nothing FROM dtmv.claim_sync();
SELECT request_id, dtmv.sync_status(request_id) FROM (VALUES (:low_req), (:mid_req), (:high_req)) v(request_id);
-- What runs where (dtmv.sync_runs): gateways and readers of the twin see it.
SELECT request_id = :high_req AS high_runs, priority FROM dtmv.sync_runs WHERE twin = :'robot';
SET ROLE regress_sy_owner;
SELECT request_id = :high_req AS high_runs FROM dtmv.sync_runs WHERE twin = :'robot';
SET ROLE regress_sy_low;                         -- sync implies read: sees it
SELECT count(*) AS runs_seen FROM dtmv.sync_runs;
RESET ROLE;
CREATE ROLE regress_sy_none LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('sy_none', 'regress_sy_none') > 0 AS created;
SET ROLE regress_sy_none;                        -- no right on the robot: sees nothing
SELECT count(*) AS runs_seen FROM dtmv.sync_runs;

-- While priority 9 runs, mid (5) is refused with TW001 (REQ-DT-08 note 1) ...
SET ROLE regress_sy_mid;
SELECT dtmv_test.attempt(format('SELECT dtmv.request_sync(%L)', :'robot'));
-- ... while the owner, at the twin's default priority 0, is refused too,
SET ROLE regress_sy_owner;
SELECT dtmv_test.attempt(format('SELECT dtmv.request_sync(%L)', :'robot'));
-- and a request at the same priority is accepted for the next run.
SELECT dtmv.set_sync_priority(:'robot', 'sy_owner', 9);
SELECT dtmv.request_sync(:'robot') AS next_req \gset
SELECT dtmv.sync_status(:next_req);

-- Completion stores the reported state and answers the whole batch.
SET ROLE regress_sy_gw;
SELECT dtmv.complete_sync(:low_req, true);       -- not running
SELECT dtmv.complete_sync(:high_req, true, '{"arm": "home", "temp": 41}');
SELECT dtmv.complete_sync(:high_req, true);      -- twice
SELECT request_id, dtmv.sync_status(request_id)
  FROM (VALUES (:low_req), (:mid_req), (:high_req), (:next_req)) v(request_id);
SET ROLE regress_sy_owner;
SELECT reported FROM dtmv.twin_states WHERE twin = :'robot';
-- Every requester of the batch gets its answer as an event addressed to it
-- (in the log once ordered: src/event_order.c).
RESET ROLE;
SELECT o.ordered >= 3 AS answers_ordered FROM dtmv._order_events(1000, false) o;
SELECT s.name AS requester, e.payload ->> 'status' AS answer
  FROM dtmv.events e JOIN dtmv.subjects s ON s.subject_id = e.subject_id
 WHERE e.kind = 'sync_answer' AND (e.payload ->> 'request')::bigint IN (:low_req, :mid_req, :high_req)
 ORDER BY (e.payload ->> 'request')::bigint;

-- The request made during the run is next; a failed run answers only itself.
SET ROLE regress_sy_gw;
SELECT request_id = :next_req AS next_runs FROM dtmv.claim_sync();
SET ROLE regress_sy_low;
SELECT dtmv_test.attempt(format('SELECT dtmv.request_sync(%L)', :'robot')); -- refused: 9 runs
SET ROLE regress_sy_gw;
SELECT dtmv.complete_sync(:next_req, false);
SELECT dtmv.sync_status(:next_req);
SET ROLE regress_sy_low;
SELECT dtmv.request_sync(:'robot') AS low_again \gset
SET ROLE regress_sy_gw;
SELECT request_id = :low_again AS low_runs FROM dtmv.claim_sync();
SELECT dtmv.complete_sync(:low_again, true);

-- Users see their own requests; gateways see all.
SET ROLE regress_sy_mid;
SELECT status FROM dtmv.sync_requests ORDER BY request_id;
SET ROLE regress_sy_gw;
SELECT count(*) AS gateway_sees FROM dtmv.sync_requests WHERE twin = :'robot';

-- A lease that expires makes the request claimable again; the late
-- completion is refused.
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS leased \gset
SET ROLE regress_sy_gw;
SELECT request_id = :leased AS claimed FROM dtmv.claim_sync(lease => '10 ms', session_lock => false);
SELECT pg_sleep(0.05);
SELECT dtmv.recover_syncs() AS recovered;
SELECT dtmv.sync_status(:leased);
SELECT dtmv.complete_sync(:leased, true);
SELECT request_id = :leased AS claimed_again FROM dtmv.claim_sync();
SELECT dtmv.complete_sync(:leased, true);

-- A claim and its completion in one statement: the completion sees the claim.
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS quick \gset
SET ROLE regress_sy_gw;
SELECT request_id = :quick AS claimed, dtmv.complete_sync(request_id, true) FROM dtmv.claim_sync();
SELECT dtmv.sync_status(:quick);

-- A claim rolled back to a savepoint lets go of its run lock with it.
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS sp \gset
SET ROLE regress_sy_gw;
BEGIN;
SAVEPOINT before_claim;
SELECT request_id = :sp AS claimed FROM dtmv.claim_sync();
SELECT count(*) AS run_locks_held FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = 17493 AND pid = pg_backend_pid();
ROLLBACK TO before_claim;
SELECT count(*) AS run_locks_after_rollback FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = 17493 AND pid = pg_backend_pid();
SELECT dtmv.sync_status(:sp);
COMMIT;
SELECT request_id = :sp AS claimed, dtmv.complete_sync(request_id, true) FROM dtmv.claim_sync();

-- A completion rolled back leaves the run alive: its run lock is let go of
-- when the completion commits, not before.
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS rb \gset
SET ROLE regress_sy_gw;
SELECT request_id = :rb AS claimed FROM dtmv.claim_sync();
BEGIN;
SELECT dtmv.complete_sync(:rb, true);
ROLLBACK;
SELECT count(*) AS run_locks_held FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = 17493 AND pid = pg_backend_pid();
SET ROLE regress_sy_low;                         -- refused: the run of priority 9 lives
SELECT dtmv_test.attempt(format('SELECT dtmv.request_sync(%L)', :'robot'));
SET ROLE regress_sy_gw;
SELECT dtmv.complete_sync(:rb, true);
SELECT count(*) AS run_locks_after_commit FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = 17493 AND pid = pg_backend_pid();

-- A run this session claimed, requeued when its lease expired, leaves no
-- lock behind once the session claims again.
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS stale \gset
SET ROLE regress_sy_gw;
SELECT request_id = :stale AS claimed FROM dtmv.claim_sync(lease => '10 ms');
SELECT pg_sleep(0.05);
SELECT dtmv.recover_syncs() AS recovered;
SELECT request_id = :stale AS claimed_again FROM dtmv.claim_sync();
SELECT count(*) AS run_locks_held FROM pg_locks
 WHERE locktype = 'advisory' AND objsubid = 17493 AND pid = pg_backend_pid();
SELECT dtmv.complete_sync(:stale, true);

-- A slow device keeps its run: the gateway renews the lease before it ends
-- (renew_sync), from now, within dtmv.max_sync_lease; recovery leaves the
-- run alone. A finished run, or one requeued, is not renewed (55000).
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS slow \gset
SET ROLE regress_sy_gw;
SELECT request_id = :slow AS claimed FROM dtmv.claim_sync(lease => '200 ms', session_lock => false);
SELECT dtmv.renew_sync(:slow, '1 minute') > now() + interval '50 seconds' AS renewed;
SELECT pg_sleep(0.3);
SELECT dtmv.recover_syncs() AS recovered;
SELECT dtmv.sync_status(:slow), lease_until > now() + interval '50 seconds' AS lease_moved
  FROM dtmv.sync_runs WHERE request_id = :slow;
SELECT dtmv_test.attempt(format('SELECT dtmv.renew_sync(%s, %L)', :slow, '2 hours'));
SELECT dtmv_test.attempt(format('SELECT dtmv.renew_sync(%s, NULL)', :slow));
SELECT dtmv_test.attempt('SELECT dtmv.renew_sync(NULL)');
SET ROLE regress_sy_high;                        -- no gateway
SELECT dtmv_test.attempt(format('SELECT dtmv.renew_sync(%s)', :slow));
SET ROLE regress_sy_gw;
SELECT dtmv.complete_sync(:slow, true, '{"arm": "parked"}');
SELECT dtmv_test.attempt(format('SELECT dtmv.renew_sync(%s)', :slow));
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS gone \gset
SET ROLE regress_sy_gw;
SELECT request_id = :gone AS claimed FROM dtmv.claim_sync(lease => '10 ms', session_lock => false);
SELECT pg_sleep(0.05);
-- a lease that has ended is not renewed, requeued yet or not
SELECT dtmv_test.attempt(format('SELECT dtmv.renew_sync(%s)', :gone)) ~ '^55000: the lease of sync request \d+ has ended' AS ended_lease_refused;
SELECT dtmv.recover_syncs() AS recovered;
SELECT dtmv_test.attempt(format('SELECT dtmv.renew_sync(%s)', :gone));
SELECT request_id = :gone AS claimed_again, dtmv.renew_sync(request_id) > now() AS renewed,
	   dtmv.complete_sync(request_id, true) FROM dtmv.claim_sync();

-- Periodic sync: a twin whose period has elapsed gets a request (REQ-DT-07).
SET ROLE regress_sy_owner;
SELECT dtmv.create_twin('meter', 'Water meter', sync_period => '1 hour', physical_binding => 'SY-METER') AS meter \gset
SET ROLE regress_sy_gw;
SELECT dtmv.confirm_binding('SY-METER') = :'meter' AS confirmed;
SELECT dtmv.queue_due_syncs() AS due_now;        -- not yet due
RESET ROLE;
UPDATE dtmv.sync_schedule SET next_due = now() - interval '1 second' WHERE twin = :'meter';
SET ROLE regress_sy_gw;
SELECT dtmv.queue_due_syncs() AS due_now;
SELECT dtmv.queue_due_syncs() AS due_again;      -- rescheduled, and one is pending anyway
SELECT request_id AS periodic_req, requested_by IS NULL AS periodic_by_twin_system, twin = :'meter' AS periodic_on_meter
  FROM dtmv.claim_sync() \gset
SELECT :'periodic_by_twin_system' AS by_the_twin_system, :'periodic_on_meter' AS meter;
-- A periodic request has no requester: its status is still not everyone's,
-- and nor is a twin's priority (or existence) for those who cannot discover it.
SET ROLE regress_sy_none;
\set VERBOSITY sqlstate
SELECT dtmv.sync_status(:periodic_req);
\set VERBOSITY default
SELECT dtmv.sync_priority(:'meter') IS NULL AS no_priority_told,
	   dtmv.sync_priority(dtmv.twin_id_generate(dtmv.local_system())) IS NULL AS nor_for_no_twin;
SET ROLE regress_sy_owner;
SELECT dtmv.sync_status(:periodic_req) AS owner_sees, dtmv.sync_priority(:'meter') AS owner_priority;
SET ROLE regress_sy_gw;
RESET ROLE;
SELECT next_due > now() + interval '59 minutes' AS rescheduled FROM dtmv.sync_schedule WHERE twin = :'meter';

-- A transaction that claims or completes a sync cannot be prepared: a run
-- lock follows its transaction's outcome, which PREPARE TRANSACTION defers.
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS prep_req \gset
SET ROLE regress_sy_gw;
BEGIN;
SELECT request_id = :prep_req AS claimed FROM dtmv.claim_sync();
PREPARE TRANSACTION 'regress_sync_claim';
SELECT dtmv.sync_status(:prep_req) AS after_refused_prepare;
SELECT request_id = :prep_req AS claimed FROM dtmv.claim_sync();
SELECT dtmv.complete_sync(:prep_req, true);

-- Leave no request open for the tests that follow in this database.
SET ROLE regress_sy_gw;
SELECT dtmv.complete_sync(request_id, true) AS meter_sync
  FROM dtmv.sync_requests WHERE status = 'running';
SELECT count(*) AS left_open FROM dtmv.sync_requests WHERE status IN ('pending', 'running');
RESET ROLE;

-- The queue reads its partial indexes with index scans proper: in a session
-- started with ignore_system_indexes (which any role may set), a claim
-- still takes the one pending request, not a finished one.
\c -reuse-previous=on "options='-c ignore_system_indexes=on'"
SET search_path = public, dtmv;
SET ROLE regress_sy_high;
SELECT dtmv.request_sync(:'robot') AS late \gset
SET ROLE regress_sy_gw;
SELECT request_id = :late AS claimed, batch_size FROM dtmv.claim_sync();
SELECT dtmv.complete_sync(:late, true);
SELECT status, count(*) FROM dtmv.sync_requests WHERE twin = :'robot' GROUP BY status ORDER BY status;
SELECT count(*) AS left_open FROM dtmv.sync_requests WHERE status IN ('pending', 'running');
RESET ROLE;

-- Retention of finished requests: only dtmv_admin prunes; pending and
-- running ones stay whatever their age.
SET ROLE regress_sy_high;
\set VERBOSITY sqlstate
SELECT dtmv.prune_syncs('0 seconds');               -- not an admin: 42501
\set VERBOSITY default
SELECT dtmv.request_sync(:'robot') AS waiting \gset
RESET ROLE;
SELECT dtmv.prune_syncs('1 hour') AS recent_kept;
UPDATE dtmv.sync_requests SET finished_at = finished_at - interval '2 hours', requested_at = requested_at - interval '2 hours';
SELECT dtmv.prune_syncs('1 hour') > 0 AS old_pruned;
SELECT request_id = :waiting AS only_the_pending_one_left, status FROM dtmv.sync_requests;
SELECT dtmv.prune_syncs(interval '-1 day');
SET ROLE regress_sy_gw;
SELECT request_id = :waiting AS claimed FROM dtmv.claim_sync();
SELECT dtmv.complete_sync(:waiting, true);
RESET ROLE;

-- One state merge (issue 17): a completion's reported state is merged into
-- what reports merged before, as a report is; replace => true replaces it.
SET ROLE regress_sy_owner;
SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'SY-DOOR') AS door \gset
SET ROLE regress_sy_gw;
SELECT dtmv.confirm_binding('SY-DOOR') = :'door' AS confirmed;
SELECT dtmv.report(:'door', 'doorbell', '{"door": "closed", "camera": "cam/front/0001.jpg"}') > 0 AS reported;
SET ROLE regress_sy_owner;
SELECT dtmv.request_sync(:'door') AS door_req \gset
SET ROLE regress_sy_gw;
SELECT request_id = :door_req AS claimed FROM dtmv.claim_sync();
SELECT dtmv.complete_sync(:door_req, true, '{"battery": 79}');
SET ROLE regress_sy_owner;
SELECT reported FROM dtmv.twin_states WHERE twin = :'door';
SELECT dtmv.request_sync(:'door') AS door_req \gset
SET ROLE regress_sy_gw;
SELECT request_id = :door_req AS claimed FROM dtmv.claim_sync();
SELECT dtmv.complete_sync(:door_req, true, '{"battery": 78}', replace => true);
SET ROLE regress_sy_owner;
SELECT reported FROM dtmv.twin_states WHERE twin = :'door';
-- merged or replaced, reported state stays a JSON object
SELECT dtmv.request_sync(:'door') AS door_req \gset
SET ROLE regress_sy_gw;
SELECT request_id = :door_req AS claimed FROM dtmv.claim_sync();
SELECT dtmv_test.attempt(format('SELECT dtmv.complete_sync(%s, true, %L, replace => true)', :door_req, '[78]'));
SELECT dtmv_test.attempt(format('SELECT dtmv.complete_sync(%s, true, %L)', :door_req, '"78"'));
SELECT dtmv.complete_sync(:door_req, false);
SET ROLE regress_sy_owner;
SELECT reported FROM dtmv.twin_states WHERE twin = :'door';
SELECT dtmv.drop_twin(:'door');
RESET ROLE;

-- Least privilege (issue 14). A twin's default sync priority is admin's, as
-- set_sync_priority is: control changes the twin's other attributes only.
SET ROLE regress_sy_owner;
SELECT dtmv.create_twin('press', 'Press', physical_binding => 'SY-PRESS') AS press \gset
SET ROLE regress_sy_gw;
SELECT dtmv.confirm_binding('SY-PRESS') = :'press' AS confirmed;
SET ROLE regress_sy_owner;
SELECT dtmv.grant(:'press', 'sy_mid', 'control');
SET ROLE regress_sy_mid;
SELECT dtmv_test.attempt(format('SELECT dtmv.update_twin(%L, sync_priority => 9)', :'press'));
SELECT dtmv_test.attempt(format('SELECT dtmv.update_twin(%L, name => %L)', :'press', 'Hydraulic press'));
SET ROLE regress_sy_owner;
SELECT dtmv_test.attempt(format('SELECT dtmv.update_twin(%L, sync_priority => 3)', :'press'));
SELECT name, sync_priority FROM dtmv.twins WHERE id = :'press';
-- A lease has a maximum (dtmv.max_sync_lease): no gateway pins a twin for
-- longer than the operator allows.
SELECT dtmv.request_sync(:'press') AS press_req \gset
SET ROLE regress_sy_gw;
SELECT dtmv_test.attempt($$SELECT dtmv.claim_sync(lease => '100 years')$$);
-- as applied: 11 calendar months less 330 days is not the hour it compares as
SELECT dtmv_test.attempt($$SELECT dtmv.claim_sync(lease => '11 mon -330 days 1 hour')$$);
SELECT request_id = :press_req AS claimed FROM dtmv.claim_sync(lease => '1 hour');
SELECT dtmv.complete_sync(:press_req, true);
SET ROLE regress_sy_owner;
SELECT dtmv.drop_twin(:'press');
RESET ROLE;

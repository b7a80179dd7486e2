#!/usr/bin/env bash
# Sync-queue benchmarks (REQ-DT-07/08), one run, 8 clients, 10k twins:
#  1. request + claim + complete cycles/s vs a plain single-row UPDATE
#     (goal >= 0.5x) and vs a textbook FOR UPDATE SKIP LOCKED queue doing
#     the same work (goal >= 1.5x; sync/skip_locked.sql says what it does),
#     and for reference vs a minimal one that does less
#  2. the refused-request path (TW001) vs a plain single-row SELECT (goal >= 0.7x),
#     both timed by test/bench/statement_rate.c, which counts errors
#  3. claim rate with 100k pending requests on busy twins vs with none (goal >= 0.9x)
# Runs inside a throwaway cluster (test/bench/run.sh). Clients connect as the
# cluster's superuser and take their role with PGOPTIONS="-c role=...".
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
CLIENTS=${BENCH_CLIENTS:-8}
SECS=${BENCH_SECONDS:-15}
createdb dtmv_bench
psql -X -q -c "ALTER DATABASE dtmv_bench SET search_path = public, dtmv"
bsql -o /dev/null <<'SQL'
CREATE EXTENSION dtmv CASCADE;
CREATE ROLE bench_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('bench', 'bench_gw', 'system');
SELECT dtmv.grant_system('bench', 'sync');
-- 10k twins, loaded as the table owner.
CREATE TABLE bench_twins (n int PRIMARY KEY, id dtmv.twin_id NOT NULL);
INSERT INTO bench_twins SELECT n, dtmv.twin_id_generate(dtmv.local_system()) FROM generate_series(1, 10000) n;
INSERT INTO dtmv.twin_registry (id, system_no, kind, name, acl)
	SELECT id, dtmv.local_system(), 'robot', 'robot ' || n, '{0,1,2,3,4,5}' FROM bench_twins;
INSERT INTO dtmv.twin_states (twin) SELECT id FROM bench_twins;
GRANT SELECT ON bench_twins TO bench_gw;
-- The baselines' tables.
CREATE TABLE tb_twins (n int PRIMARY KEY, v int NOT NULL DEFAULT 0, running_job bigint,
					   reported jsonb, reported_at timestamptz)
	WITH (fillfactor = 50);
INSERT INTO tb_twins (n) SELECT generate_series(1, 10000);
CREATE TABLE tb_jobs (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, twin int NOT NULL,
					  priority int NOT NULL, requester text, status text NOT NULL DEFAULT 'pending',
					  batch bigint, started_at timestamptz, lease_until timestamptz,
					  finished_at timestamptz);
CREATE INDEX ON tb_jobs (priority DESC, id) WHERE status = 'pending';
CREATE INDEX ON tb_jobs (twin) WHERE status IN ('pending', 'running');
CREATE TABLE tb_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, twin int,
						subject text, kind text NOT NULL, payload jsonb NOT NULL,
						created_at timestamptz NOT NULL DEFAULT now());
GRANT ALL ON tb_twins, tb_jobs, tb_events TO bench_gw;
CREATE FUNCTION bench_refused(t dtmv.twin_id) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM dtmv.request_sync(t);
	RETURN 'accepted';
EXCEPTION WHEN SQLSTATE 'TW001' THEN
	RETURN 'refused';
END $$;
-- What the wrapper alone costs: a refusal that does no work at all, raised
-- and caught the same way (pgbench stops a client at an error, so the
-- refused path is measured inside an EXCEPTION block, a subtransaction).
CREATE FUNCTION bench_raise_only(t dtmv.twin_id) RETURNS bigint LANGUAGE plpgsql AS $f$
BEGIN
	RAISE EXCEPTION 'a sync of higher priority (%) is in progress on the twin', 9
		USING ERRCODE = 'TW001', DETAIL = format('Twin %s.', t);
END $f$;
CREATE FUNCTION bench_refused_floor(t dtmv.twin_id) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM bench_raise_only(t);
	RETURN 'accepted';
EXCEPTION WHEN SQLSTATE 'TW001' THEN
	RETURN 'refused';
END $$;
VACUUM ANALYZE;
SQL
serve_all_twins bench >/dev/null

# tps of a pgbench script: bench FILE [ROLE]
bench() { pgbench_tps "${2:-bench_gw}" dtmv_bench "$here/sync/$1"; }
done_syncs() { bsql -At -c "SELECT count(*) FROM dtmv.sync_requests WHERE status = 'succeeded'"; }

# Steady state first. Each session keeps the plans of the queries inside
# dtmv's functions, and plans made while the queue tables were still empty
# read them whole; in a running system autovacuum's ANALYZE replans them
# within a minute or so. Here a short warm-up of both queues, then ANALYZE.
SECS=3 pgbench_tps bench_gw dtmv_bench "$here/sync/cycle.sql" >/dev/null
SECS=3 pgbench_tps bench_gw dtmv_bench "$here/sync/skip_locked.sql" >/dev/null
bsql -c "ANALYZE"

echo "== 1. request + claim + complete cycles, $CLIENTS clients, ${SECS}s each"
# The two queues twice, in the order dtmv, textbook, textbook, dtmv, so that
# a machine growing slower or faster during the run favours neither.
before=$(done_syncs)
cycle1=$(bench cycle.sql)
skip1=$(bench skip_locked.sql)
skip2=$(bench skip_locked.sql)
cycle2=$(bench cycle.sql)
after=$(done_syncs)
update_tps=$(bench plain_update.sql)
cycle_tps=$(awk -v a="$cycle1" -v b="$cycle2" 'BEGIN {print (a + b) / 2}')
skip_tps=$(awk -v a="$skip1" -v b="$skip2" 'BEGIN {print (a + b) / 2}')
minimal_tps=$(bench skip_locked_minimal.sql)
echo "dtmv cycles: $cycle1, $cycle2 tps ($((after - before)) syncs succeeded)"
echo "SKIP LOCKED queue cycles: $skip1, $skip2 tps (in the order dtmv, textbook, textbook, dtmv)"
echo "plain UPDATE: $update_tps tps"
echo "dtmv / plain UPDATE: $(ratio "$cycle_tps" "$update_tps")x (goal >= 0.50)"
echo "dtmv / SKIP LOCKED queue: $(ratio "$cycle_tps" "$skip_tps")x (goal >= 1.50)"
echo "for reference, the minimal SKIP LOCKED queue (no refusal, no one-run-per-twin, no answers): $minimal_tps tps, dtmv / minimal: $(ratio "$cycle_tps" "$minimal_tps")x"
# The same two with prepared statements (pgbench -M prepared), as a gateway
# program would send them: the textbook queue's four statements are then no
# longer parsed and planned each time, nor are dtmv's three.
cycle_prep=$(pgbench_tps bench_gw dtmv_bench "$here/sync/cycle.sql" -M prepared)
skip_prep=$(pgbench_tps bench_gw dtmv_bench "$here/sync/skip_locked.sql" -M prepared)
echo "prepared statements: dtmv cycles $cycle_prep tps, SKIP LOCKED queue $skip_prep tps, ratio $(ratio "$cycle_prep" "$skip_prep")x"

echo "== 2. refused request (a priority-9 sync runs on every twin) vs plain SELECT"
bsql -o /dev/null <<'SQL'
CREATE ROLE bench_low LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('bench low', 'bench_low');
SELECT dtmv.grant_system('bench low', 'sync');
GRANT SELECT ON bench_twins, tb_twins TO bench_low;
GRANT EXECUTE ON FUNCTION bench_refused(dtmv.twin_id), bench_refused_floor(dtmv.twin_id),
	bench_raise_only(dtmv.twin_id) TO bench_low;
UPDATE dtmv.sync_requests SET status = 'superseded', ready = false WHERE status IN ('pending', 'running');
INSERT INTO dtmv.sync_requests (twin, subject_id, priority, status, started_at, lease_until, session_lock)
	SELECT id, NULL, 9, 'running', now(), now() + interval '1 day', false FROM bench_twins;
VACUUM ANALYZE;
SQL
check=$(echo "SELECT bench_refused(id) FROM bench_twins WHERE n = 1" | PGOPTIONS="-c role=bench_low" psql -X -At -d dtmv_bench -f -)
refused_tps=$(bench refused.sql bench_low)
select_tps=$(bench plain_select.sql bench_low)
floor_tps=$(bench refused_floor.sql bench_low)
echo "a request now is: $check"
# The goal's figure: the refusal as a client meets it, an error, timed with
# the plain SELECT by the same driver (test/bench/statement_rate.c), in the
# order refusal, SELECT, SELECT, refusal. pgbench cannot time it: it stops a
# client at its first error.
driver=$(mktemp -d)
trap 'rm -rf "$driver"' EXIT
cc -O2 -I"$(pg_config --includedir)" -o "$driver/statement_rate" "$here/statement_rate.c" \
	-L"$(pg_config --libdir)" -lpq
rate() { PGOPTIONS="-c role=bench_low" PGDATABASE=dtmv_bench "$driver/statement_rate" "$CLIENTS" "$SECS" 10000 "$1"; }
refused_sql='SELECT dtmv.request_sync(id) FROM bench_twins WHERE n = %d'
select_sql='SELECT v FROM tb_twins WHERE n = %d'
read -r r1 r1_ok r1_failed r1_state < <(rate "$refused_sql")
read -r s1 _ s1_failed _ < <(rate "$select_sql")
read -r s2 _ s2_failed _ < <(rate "$select_sql")
read -r r2 r2_ok r2_failed r2_state < <(rate "$refused_sql")
# The floor of any refusal that is an error: a C function of dtmv that
# raises at once (a gateway function called by a user: 42501, no query).
read -r f1 _ f1_failed f1_state < <(rate 'SELECT dtmv.complete_sync(n, true) FROM bench_twins WHERE n = %d')
echo "refused requests: $r1, $r2 per second ($((r1_failed + r2_failed)) refused with $r1_state/$r2_state, $((r1_ok + r2_ok)) accepted)"
echo "plain SELECT: $s1, $s2 per second ($((s1_failed + s2_failed)) failed)"
echo "refused request / plain SELECT: $(ratio "$((r1 + r2))" "$((s1 + s2))")x (goal >= 0.70)"
echo "an error raised at once by a C function (the floor of any refusal): $f1 per second ($f1_failed failed with $f1_state), $(ratio "$((2 * f1))" "$((s1 + s2))")x of the SELECT"
echo "in pgbench, caught in an EXCEPTION block (a subtransaction): refused $refused_tps tps, plain SELECT $select_tps tps, $(ratio "$refused_tps" "$select_tps")x"
echo "the wrapper alone (raise and catch TW001, no work): $floor_tps tps, $(ratio "$floor_tps" "$select_tps")x of the SELECT"

echo "== 3. claim + complete with 100k pending requests on 1,000 busy twins vs with none"
queue_free() {
	# one pending request on each of the 10k twins, none running there
	# (the busy twins, once they exist, keep their run and their backlog)
	bsql -o /dev/null <<'SQL'
UPDATE dtmv.sync_requests SET status = 'superseded', ready = false
 WHERE status IN ('pending', 'running') AND twin IN (SELECT id FROM bench_twins);
-- ready in the queue of the gateway that serves them (serve_all_twins)
INSERT INTO dtmv.sync_requests (twin, subject_id, priority, ready, gateway)
	SELECT id, NULL, 0, true, (SELECT g.subject_id FROM dtmv.gateways g) FROM bench_twins;
VACUUM ANALYZE;
CHECKPOINT;
SQL
}
claim_tps() { pgbench_tps bench_gw dtmv_bench "$here/sync/claim.sql" -t 1000; }
queue_free
none_tps=$(claim_tps)
queue_free
bsql -o /dev/null <<'SQL'
-- 1,000 more twins, each running a sync, each with 100 pending requests behind it.
CREATE TABLE busy AS SELECT n, dtmv.twin_id_generate(dtmv.local_system()) AS id FROM generate_series(1, 1000) n;
INSERT INTO dtmv.twin_registry (id, system_no, kind, name, acl)
	SELECT id, dtmv.local_system(), 'robot', 'busy ' || n, '{0,1,2,3,4,5}' FROM busy;
INSERT INTO dtmv.sync_requests (twin, subject_id, priority, status, started_at, lease_until, session_lock)
	SELECT id, NULL, 9, 'running', now(), now() + interval '1 day', false FROM busy;
INSERT INTO dtmv.sync_requests (twin, subject_id, priority)
	SELECT id, NULL, 9 FROM busy, generate_series(1, 100);
VACUUM ANALYZE;
CHECKPOINT;
SQL
backlog=$(bsql -At -c "SELECT count(*) FROM dtmv.sync_requests r JOIN dtmv.sync_requests t USING (twin) WHERE r.status = 'pending' AND t.status = 'running'")
busy_tps=$(claim_tps)
queue_free
busy2_tps=$(claim_tps)
bsql -o /dev/null -c 'DELETE FROM dtmv.twin_registry WHERE id IN (SELECT id FROM busy)' -c 'VACUUM ANALYZE'
queue_free
none2_tps=$(claim_tps)
none_avg=$(awk -v a="$none_tps" -v b="$none2_tps" 'BEGIN {print (a + b) / 2}')
busy_avg=$(awk -v a="$busy_tps" -v b="$busy2_tps" 'BEGIN {print (a + b) / 2}')
echo "no backlog: $none_tps, $none2_tps tps   $backlog pending on busy twins: $busy_tps, $busy2_tps tps (runs before and after, alternating)"
echo "claim rate with backlog / without: $(ratio "$busy_avg" "$none_avg")x (goal >= 0.90)"
echo "shared lock table entries held by dtmv now (run locks): $(bsql -At -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid IN (17492, 17493)")"

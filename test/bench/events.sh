#!/usr/bin/env bash
# Event benchmarks (REQ-DT-06, scenario 7.2.1), one run, prepared
# statements on every side, each comparison in the order A B B A:
#  1. dtmv.report events/s with 8 writers and 100 idle listening sessions vs
#     the same with no listeners (goal >= 0.8x), and vs a bare INSERT into
#     an unindexed table (goal >= 0.35x)
#  2. latency from a report's commit to a listening client having caught up
#     with the event, one event at a time, p50 and p99, vs a bare pg_notify
#     round trip measured the same way (gateway/dtmv-home latency)
#  3. (worker mode) dtmv against PgQ doing the same work: events/s produced
#     flat out, latency at a fixed rate, with and without an idle session
#     holding a transaction id (test/bench/events_pgq.py)
# Run in a cluster with dtmv preloaded (wake-ups coalesced by the worker)
# and, for comparison, one without (writers NOTIFY themselves): the mode is
# the first argument, set by test/bench/run.sh.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
mode=${1:-worker}
home=$here/../../gateway/dtmv-home
CLIENTS=${BENCH_CLIENTS:-8}
SECS=${BENCH_SECONDS:-15}
LISTENERS=${BENCH_LISTENERS:-100}
export PGDATABASE=postgres	# where the worker runs (dtmv.database)
bsql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
bsql -o /dev/null <<'SQL'
CREATE EXTENSION dtmv CASCADE;
ALTER DATABASE postgres SET search_path = public, dtmv;
CREATE ROLE bench_gw LOGIN IN ROLE dtmv_gateway;
CREATE ROLE bench_viewer LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('bench gateway', 'bench_gw', 'system');
SELECT dtmv.create_subject('viewer', 'bench_viewer');
SELECT dtmv.grant_system('viewer', 'read');
CREATE TABLE bench_twins (n int PRIMARY KEY, id dtmv.twin_id NOT NULL);
INSERT INTO bench_twins SELECT n, dtmv.twin_id_generate(dtmv.local_system()) FROM generate_series(1, 1000) n;
INSERT INTO dtmv.twin_registry (id, system_no, kind, name, acl)
	SELECT id, dtmv.local_system(), 'meter', 'meter ' || n, '{0,1,2,3,4,5}' FROM bench_twins;
INSERT INTO dtmv.twin_states (twin) SELECT id FROM bench_twins;
CREATE TABLE bench_bare (n int, payload jsonb, at timestamptz DEFAULT now());
GRANT SELECT ON bench_twins TO bench_gw;
GRANT INSERT ON bench_bare TO bench_gw;
VACUUM ANALYZE;
SQL
bsql -o /dev/null -f "$here/../sql/test_helpers.sql"
BENCH_DB=postgres serve_all_twins 'bench gateway'
echo "mode: $mode (wake-ups sent by the background worker: $(bsql -At -c 'SELECT dtmv_test._notifier_active()'))"
bench() { pgbench_tps bench_gw postgres "$here/events/$1" -M prepared; }

echo "== 1. events/s, $CLIENTS writers, ${SECS}s each, prepared statements, order A B B A"
listeners_start() {
	pids=()
	for ((i = 0; i < LISTENERS; i++)); do
		PGOPTIONS="-c role=bench_viewer" "$home" listen --seconds $((SECS * 2 + 30)) >"/tmp/dtmv_bench_listener_$i" 2>/dev/null &
		pids+=($!)
	done
	sleep 3
	listening=$(bsql -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'postgres' AND backend_type = 'client backend' AND state = 'idle'")
}
listeners_stop() {
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	got=$(cat /tmp/dtmv_bench_listener_* 2>/dev/null | awk '{s += $1} END {print s + 0}')
	rm -f /tmp/dtmv_bench_listener_*
}
quiet1=$(bench report.sql)
listeners_start
loud1=$(bench report.sql)
loud2=$(bench report.sql)
listeners_stop
quiet2=$(bench report.sql)
echo "no listeners (A): $quiet1, $quiet2 events/s; $LISTENERS listeners (B; $listening idle sessions seen): $loud1, $loud2 events/s (notifications received in all: $got)"
echo "with listeners / without (means): $(ratio "$(mean "$loud1" "$loud2")" "$(mean "$quiet1" "$quiet2")")x (goal >= 0.80)"
bare1=$(bench bare_insert.sql)
rep1=$(bench report.sql)
rep2=$(bench report.sql)
bare2=$(bench bare_insert.sql)
echo "bare INSERT (A): $bare1, $bare2 rows/s; report (B): $rep1, $rep2 events/s"
echo "report / bare INSERT (means): $(ratio "$(mean "$rep1" "$rep2")" "$(mean "$bare1" "$bare2")")x (goal >= 0.35)"

# Let the worker order the backlog of part 1 first.
for _ in $(seq 120); do
	[[ $(bsql -At -c "SELECT NOT EXISTS (SELECT 1 FROM dtmv.event_inbox)") == t ]] && break
	sleep 0.5
done
echo "== 2. latency from commit to a listening client's catch-up, 500 events (microseconds)"
twin=$(bsql -At -c "SELECT id FROM bench_twins WHERE n = 1")
read -r n0 i50 i99 < <("$home" latency "$twin" bench_gw bench_viewer --count 500 --gap 50)
read -r n1 p50 p99 < <("$home" latency "$twin" bench_gw bench_viewer --count 500)
read -r n2 b50 b99 < <(PGOPTIONS="" "$home" latency "$twin" bench_gw bench_viewer --count 500 --bare)
echo "dtmv report -> events_since, idle (50 ms between events): p50 $i50 us, p99 $i99 us ($n0 events; goal p50 < 2000 us)"
echo "dtmv report -> events_since, each event right after the last: p50 $p50 us, p99 $p99 us ($n1 events)"
echo "bare pg_notify round trip:   p50 $b50 us, p99 $b99 us ($n2 notifications)"
echo "ratio dtmv (idle) / bare: p50 $(ratio "$i50" "$b50")x, p99 $(ratio "$i99" "$b99")x"
if [[ $mode == worker ]]; then
	# Each event above follows the last round of wake-ups closely, so the
	# worker spaces them by dtmv.notify_interval; the same without spacing:
	interval=$(bsql -At -c "SHOW dtmv.notify_interval")
	bsql -q -c "ALTER SYSTEM SET dtmv.notify_interval = 0" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 1
	read -r n3 q50 q99 < <("$home" latency "$twin" bench_gw bench_viewer --count 500)
	bsql -q -c "ALTER SYSTEM RESET dtmv.notify_interval" -c "SELECT pg_reload_conf()" >/dev/null
	echo "(the figures above: dtmv.notify_interval = $interval; with 0: p50 $q50 us, p99 $q99 us, $n3 events)"
fi
if [[ $mode == worker ]]; then
	echo "== 3. dtmv against PgQ doing the same work"
	BENCH_CLIENTS=$CLIENTS /usr/bin/python3 "$here/events_pgq.py" "$SECS"
fi

#!/usr/bin/env bash
# Event benchmarks (REQ-DT-06, scenario 7.2.1), one run:
#  1. dtmv.report events/s with 8 writers and 100 idle listening sessions vs
#     the same with no listeners (goal >= 0.7x), and vs a bare INSERT into
#     an unindexed table (goal >= 0.3x)
#  2. latency from a report's commit to a listening client having caught up
#     with the event, p50 and p99, vs a bare pg_notify round trip measured
#     the same way (gateway/dtmv-home latency)
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
echo "mode: $mode (wake-ups sent by the background worker: $(bsql -At -c 'SELECT dtmv._notifier_active()'))"
bench() { pgbench_tps bench_gw postgres "$here/events/$1"; }

echo "== 1. events/s, $CLIENTS writers, ${SECS}s each"
quiet=$(bench report.sql)
pids=()
for ((i = 0; i < LISTENERS; i++)); do
	PGOPTIONS="-c role=bench_viewer" "$home" listen --seconds $((SECS + 30)) >"/tmp/dtmv_bench_listener_$i" 2>/dev/null &
	pids+=($!)
done
sleep 3
listening=$(bsql -At -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'postgres' AND backend_type = 'client backend' AND state = 'idle'")
loud=$(bench report.sql)
kill "${pids[@]}" 2>/dev/null || true
wait "${pids[@]}" 2>/dev/null || true
got=$(cat /tmp/dtmv_bench_listener_* 2>/dev/null | awk '{s += $1} END {print s + 0}')
rm -f /tmp/dtmv_bench_listener_*
bare=$(bench bare_insert.sql)
echo "no listeners: $quiet events/s   $LISTENERS listeners ($listening idle sessions seen): $loud events/s (notifications received in all: $got)"
echo "bare INSERT: $bare rows/s"
echo "with listeners / without: $(ratio "$loud" "$quiet")x (goal >= 0.70)"
echo "with listeners / bare INSERT: $(ratio "$loud" "$bare")x (goal >= 0.30)"

# Let the worker finish the wake-ups of part 1 first (it has a backlog then).
if [[ $mode == worker ]]; then
	for _ in $(seq 120); do
		[[ $(bsql -At -c "SELECT coalesce((SELECT last_id FROM dtmv.notify_cursor), 0) >= coalesce((SELECT max(event_id) FROM dtmv.events), 0)") == t ]] && break
		sleep 0.5
	done
fi
echo "== 2. latency from commit to a listening client's catch-up, 500 events (microseconds)"
twin=$(bsql -At -c "SELECT id FROM bench_twins WHERE n = 1")
read -r n1 p50 p99 < <("$home" latency "$twin" bench_gw bench_viewer --count 500)
read -r n2 b50 b99 < <(PGOPTIONS="" "$home" latency "$twin" bench_gw bench_viewer --count 500 --bare)
echo "dtmv report -> events_since: p50 $p50 us, p99 $p99 us ($n1 events)"
echo "bare pg_notify round trip:   p50 $b50 us, p99 $b99 us ($n2 notifications)"
echo "ratio dtmv / bare: p50 $(ratio "$p50" "$b50")x, p99 $(ratio "$p99" "$b99")x"
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

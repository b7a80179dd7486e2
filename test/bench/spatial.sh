#!/usr/bin/env bash
# Spatial benchmarks (scenarios 7.3.2, 7.3.3), one run, on $BENCH_ROWS twins
# (default 1,000,000) over five floors of a 1 km site:
#  1. dtmv.localize k=10 vs the best hand-written PostGIS query for the same
#     exact 3D answer (n-D GiST, <<->>) (goal >= 0.9x)
#  2. dtmv.sync_location updates/s vs a plain UPDATE of an unindexed column
#     of the same table (goal >= 0.7x), with the index sizes before and
#     after $BENCH_UPDATES location updates (default 1,000,000)
# Runs inside a throwaway cluster (test/bench/run.sh), with dtmv preloaded
# and its worker serving dtmv_bench (-o dtmv.database=dtmv_bench), as in
# production: the worker sends the location events' wake-ups, coalesced.
# Without preloading each move also works out and NOTIFYs its channels.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
ROWS=${BENCH_ROWS:-1000000}
UPDATES=${BENCH_UPDATES:-1000000}
SECS=${BENCH_SECONDS:-15}
createdb dtmv_bench
psql -X -q -c "ALTER DATABASE dtmv_bench SET search_path = public, dtmv"
bsql -o /dev/null <<SQL
CREATE EXTENSION dtmv CASCADE;
\i $here/../sql/test_helpers.sql
CREATE ROLE bench_gw LOGIN IN ROLE dtmv_gateway;
CREATE ROLE bench_viewer LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('bench gateway', 'bench_gw', 'system');
SELECT dtmv.create_subject('viewer', 'bench_viewer');
SELECT dtmv.grant_system('viewer', 'discover');
BEGIN;
SELECT dtmv.act_as('viewer');
SELECT dtmv.create_space('bench site', 'site', anchor_lon => 2.35, anchor_lat => 48.85, anchor_alt => 35) AS site \gset
COMMIT;
CREATE TABLE bench_twins AS
	SELECT n, dtmv.twin_id_generate(dtmv.local_system()) AS id,
		   ((hashint4(n) & 1048575) % 1000)::float8 + ((hashint4(n + 3) & 1023) / 1024.0) AS x,
		   ((hashint4(n + 7) & 1048575) % 1000)::float8 + ((hashint4(n + 9) & 1023) / 1024.0) AS y,
		   (n % 5) * 4 + 1.0 AS z
	  FROM generate_series(1, $ROWS) n;
ALTER TABLE bench_twins ADD PRIMARY KEY (n);
INSERT INTO dtmv.twin_registry (id, system_no, kind, name, acl)
	SELECT id, dtmv.local_system(), 'crate', 'crate ' || n, '{0,1,2,3,4,5}' FROM bench_twins;
-- Bulk load: skip the trigger that adds space keys to each acl (the viewer
-- holds discover system-wide, so the acls are complete without them).
SET session_replication_role = replica;
INSERT INTO dtmv.twin_positions (twin, site, space, position, cell)
	SELECT id, :site, :site, ST_MakePoint(x, y, z), dtmv._cell(ST_MakePoint(x, y, z)) FROM bench_twins;
SET session_replication_role = origin;
-- The hand-written baseline's table: the same points, an n-D GiST index.
CREATE TABLE bench_points AS SELECT id AS twin, ST_MakePoint(x, y, z) AS position FROM bench_twins;
CREATE INDEX ON bench_points USING gist (position gist_geometry_ops_nd);
GRANT SELECT ON bench_twins, bench_points TO bench_gw, bench_viewer;
VACUUM ANALYZE;
SQL
serve_all_twins 'bench gateway' >/dev/null
site=$(bsql -At -c "SELECT space_id FROM dtmv.spaces WHERE kind = 'site'")
# The worker retries its database every 10 s until it exists.
if [[ $(bsql -At -c "SHOW shared_preload_libraries") == *dtmv* ]]; then
	for _ in $(seq 60); do
		[[ $(bsql -At -c "SELECT dtmv_test._notifier_active()") == t ]] && break
		sleep 1
	done
fi
echo "wake-ups sent by the background worker: $(bsql -At -c "SELECT dtmv_test._notifier_active()")"
tps() { pgbench_tps "$1" dtmv_bench "$here/spatial/$2" -D space="$site" -D rows="$ROWS"; }

echo "== 1. k=10 nearest in 3D on $ROWS twins, 8 clients, ${SECS}s each"
same=$(bsql -At -c "SET ROLE bench_viewer; SELECT (SELECT array_agg(round(distance::numeric, 6) ORDER BY distance) FROM dtmv.localize($site, ST_MakePoint(500, 500, 5.5), 1000, 10) WHERE twin IS NOT NULL) = (SELECT array_agg(round(ST_3DDistance(position, ST_MakePoint(500, 500, 5.5))::numeric, 6) ORDER BY 1) FROM (SELECT position FROM bench_points ORDER BY position <<->> ST_MakePoint(500, 500, 5.5) LIMIT 10) k)" | tail -1)
dtmv_knn=$(tps bench_viewer localize.sql)
nd_knn=$(tps bench_viewer knn_nd.sql)
echo "same answer as the hand-written query at (500, 500, 5.5): $same"
echo "dtmv.localize: $dtmv_knn tps   n-D GiST <<->>: $nd_knn tps   ratio: $(ratio "$dtmv_knn" "$nd_knn")x (goal >= 0.90)"

echo "== 2. location updates"
sizes() { bsql -At -c "SELECT string_agg(indexrelid::regclass || ' ' || pg_size_pretty(pg_relation_size(indexrelid)), ', ' ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid = 'dtmv.twin_positions'::regclass"; }
echo "indexes before: $(sizes)"
# Each figure starts from a checkpoint: the first change of a page after one
# writes the whole page to WAL, and with random rows of a million that is
# most changes for a while; measured unequally it decides the ratio. The
# two are measured twice, in the order move, plain, plain, move, so that a
# machine growing slower or faster during the run favours neither.
measure() { bsql -q -c "CHECKPOINT"; tps "$@"; }
move1=$(measure bench_gw move.sql)
plain1=$(measure postgres plain_update.sql)   # the table owner: clients may not UPDATE dtmv tables
plain2=$(measure postgres plain_update.sql)
move2=$(measure bench_gw move.sql)
move=$(awk -v a="$move1" -v b="$move2" 'BEGIN {print (a + b) / 2}')
plain=$(awk -v a="$plain1" -v b="$plain2" 'BEGIN {print (a + b) / 2}')
echo "dtmv.sync_location: $move1, $move2 updates/s   plain UPDATE of an unindexed column: $plain1, $plain2 updates/s (in the order move, plain, plain, move)"
echo "dtmv.sync_location / plain UPDATE, means of the two: ratio $(ratio "$move" "$plain")x (goal >= 0.70)"
hot=$(bsql -At -c "SELECT round(100.0 * n_tup_hot_upd / nullif(n_tup_upd, 0), 1) FROM pg_stat_user_tables WHERE relid = 'dtmv.twin_positions'::regclass")
echo "HOT updates so far: $hot %"
# then $UPDATES moves in all, 8 clients
PGOPTIONS="-c role=bench_gw" pgbench -n -c 8 -j 2 -t $((UPDATES / 8)) -D rows="$ROWS" -f "$here/spatial/move.sql" dtmv_bench >/dev/null 2>&1
echo "indexes after $UPDATES more location updates: $(sizes)"

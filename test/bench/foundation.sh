#!/usr/bin/env bash
# Foundation benchmarks (issue: twin identity, registry, rights), one run:
#  1. generate and insert 1M ids into a btree-indexed table: twin_id vs
#     gen_random_uuid() uuid (goal: at least as fast, index no larger)
#  2. text input and output of 1M values: twin_id vs uuid (goal: within 10%)
#  3. count the twins visible to a subject with rights on 10% of 1M twins,
#     under RLS, vs the table owner counting all (goal: at least 0.5x)
# Runs inside a throwaway cluster (test/bench/run.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${BENCH_ROWS:-1000000}
REPS=${BENCH_REPS:-5}
createdb dtmv_bench
bsql -c 'CREATE EXTENSION dtmv CASCADE'

echo "== 1. generate + insert $N ids into a table with a btree primary key (median of $REPS)"
bsql -c 'CREATE TABLE bench_twin (id dtmv.twin_id PRIMARY KEY)' \
	-c 'CREATE TABLE bench_uuid (id uuid PRIMARY KEY)'
twin_ms=$(median_ms "$REPS" 'TRUNCATE bench_twin; CHECKPOINT;' \
	"INSERT INTO bench_twin SELECT dtmv.twin_id_generate(42) FROM generate_series(1, $N);")
uuid_ms=$(median_ms "$REPS" 'TRUNCATE bench_uuid; CHECKPOINT;' \
	"INSERT INTO bench_uuid SELECT gen_random_uuid() FROM generate_series(1, $N);")
twin_idx=$(bsql -At -c "SELECT pg_relation_size('bench_twin_pkey')")
uuid_idx=$(bsql -At -c "SELECT pg_relation_size('bench_uuid_pkey')")
echo "twin_id: $twin_ms ms   uuid: $uuid_ms ms   speed twin_id/uuid: $(ratio "$uuid_ms" "$twin_ms")x (goal >= 1.00)"
echo "index: twin_id $((twin_idx / 1024 / 1024)) MiB   uuid $((uuid_idx / 1024 / 1024)) MiB   size twin_id/uuid: $(ratio "$twin_idx" "$uuid_idx") (goal <= 1.00)"

echo "== 2. text output and input of $N values (median of $REPS)"
bsql -c 'CREATE TABLE bench_text AS SELECT t.id AS twin, u.id AS uuid, t.id::text AS twin_text, u.id::text AS uuid_text
		 FROM (SELECT id, row_number() OVER () AS n FROM bench_twin) t
		 JOIN (SELECT id, row_number() OVER () AS n FROM bench_uuid) u USING (n)' -c 'VACUUM ANALYZE bench_text'
warm='SELECT count(*) FROM bench_text;'
out_twin=$(median_ms "$REPS" "$warm" 'SELECT count(twin::text) FROM bench_text;')
out_uuid=$(median_ms "$REPS" "$warm" 'SELECT count(uuid::text) FROM bench_text;')
in_twin=$(median_ms "$REPS" "$warm" 'SELECT count(twin_text::dtmv.twin_id) FROM bench_text;')
in_uuid=$(median_ms "$REPS" "$warm" 'SELECT count(uuid_text::uuid) FROM bench_text;')
echo "output: twin_id $out_twin ms   uuid $out_uuid ms   speed twin_id/uuid: $(ratio "$out_uuid" "$out_twin")x (goal >= 0.90)"
echo "input:  twin_id $in_twin ms   uuid $in_uuid ms   speed twin_id/uuid: $(ratio "$in_uuid" "$in_twin")x (goal >= 0.90)"
bsql -c 'DROP TABLE bench_text, bench_twin, bench_uuid'

echo "== 3. count visible twins: a subject with rights on 10% of $N twins under RLS vs the owner (median of $REPS)"
bsql -o /dev/null <<SQL
CREATE ROLE bench_user LOGIN IN ROLE dtmv_user;
CREATE ROLE bench_all LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('bench all', 'bench_all');
SELECT dtmv.grant_system('bench all', 'discover');
SELECT dtmv.create_subject('bench user', 'bench_user');
SELECT dtmv.create_subject('bench owner');
-- Bulk load as the table owner: one acl for all, then grants on every
-- tenth twin, which the grants trigger turns into acl keys in one UPDATE.
INSERT INTO dtmv.twin_registry (id, system_no, kind, name, properties, created_by, acl)
SELECT dtmv.twin_id_generate(dtmv.local_system()), dtmv.local_system(), 'item', 'item ' || n,
	   jsonb_build_object('n', n), NULL, '{0,1,2,3,4,5}'
  FROM generate_series(1, $N) n;
INSERT INTO dtmv.grants (subject_id, twin, granted)
SELECT (SELECT subject_id FROM dtmv.subjects WHERE name = 'bench user'), id, 3
  FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM dtmv.twin_registry) t
 WHERE n % 10 = 0;
VACUUM ANALYZE dtmv.twin_registry;
VACUUM ANALYZE dtmv.grants;
SQL
rls_ms=$(median_ms "$REPS" 'SET ROLE bench_user;' 'SELECT count(*) FROM dtmv.twins;')
own_ms=$(median_ms "$REPS" '' 'SELECT count(*) FROM dtmv.twin_registry;')
visible=$(echo 'SET ROLE bench_user; SELECT count(*) FROM dtmv.twins;' | bsql -At -f -)
echo "visible to the subject: $visible of $N"
echo "RLS (subject): $rls_ms ms   owner (no RLS): $own_ms ms   speed RLS/owner: $(ratio "$own_ms" "$rls_ms")x (goal >= 0.50)"
all_ms=$(median_ms "$REPS" 'SET ROLE bench_all;' 'SELECT count(*) FROM dtmv.twins;')
echo "RLS (subject with system-wide discover, sees all): $all_ms ms   speed vs owner: $(ratio "$own_ms" "$all_ms")x"
echo "plan under RLS:"
echo 'SET ROLE bench_user; EXPLAIN (COSTS OFF) SELECT count(*) FROM dtmv.twins;' | bsql -f - | sed 's/^/    /'

echo "== 4. search_twins on $N twins (median of $REPS): stays fast because it uses the index of the criteria"
for who in bench_user bench_all; do
	by_props=$(median_ms "$REPS" "SET ROLE $who;" "SELECT count(*) FROM dtmv.search_twins(properties => '{\"n\": 500000}');")
	by_name=$(median_ms "$REPS" "SET ROLE $who;" "SELECT count(*) FROM dtmv.search_twins(name => 'item 77777');")
	echo "$who: by properties $by_props ms, by name substring $by_name ms"
done

#!/usr/bin/env bash
# Write costs independent of other people's grants (issue 14, item 5): a
# gateway's dtmv.report on twins placed in alice's site, whose readers come
# through the twins' own grants, a space grant, a group and a system-wide
# grant, in databases that differ only in what a stranger did elsewhere:
#   A  nothing
#   B  mallory made 100,000 sites of her own and granted herself admin on each
#   C  mallory made 100,000 sites and granted bob (one of the twins' readers)
#      read on each
# 8 pgbench writers (prepared statements), 15 s per figure, each comparison
# in the order A B B A in one run; goal B/A and C/A at least 0.90x.
# Not preloaded: the writers NOTIFY the readers themselves, so each report
# works out its twin's readers (with the worker, the worker does, once per
# distinct acl and round). Runs inside a throwaway cluster (test/bench/run.sh).
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
CLIENTS=${BENCH_CLIENTS:-8}
SECS=${BENCH_SECONDS:-15}
FLOOD=${BENCH_GRANTS:-100000}
export PGDATABASE=postgres

# setup DATABASE FLOOD: the same twins, readers and grants; FLOOD is none,
# self (B) or reader (C)
setup() {
	local db=$1 flood=$2
	createdb "$db"
	BENCH_DB=$db bsql -o /dev/null -v flood="$flood" -v n="$FLOOD" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION dtmv CASCADE;
SET search_path = public, dtmv;
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'flood_gw') AS first \gset
\if :first
CREATE ROLE flood_gw LOGIN IN ROLE dtmv_gateway;
CREATE ROLE flood_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE flood_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE flood_carol LOGIN IN ROLE dtmv_user;
CREATE ROLE flood_viewer LOGIN IN ROLE dtmv_user;
CREATE ROLE flood_mallory LOGIN IN ROLE dtmv_user;
\endif
SELECT dtmv.create_subject('gateway', 'flood_gw', 'system');
SELECT dtmv.create_subject('alice', 'flood_alice');
SELECT dtmv.create_subject('bob', 'flood_bob');
SELECT dtmv.create_subject('carol', 'flood_carol');
SELECT dtmv.create_subject('viewer', 'flood_viewer');
SELECT dtmv.create_subject('mallory', 'flood_mallory');
SELECT dtmv.create_group('crew');
SELECT dtmv.add_member('crew', 'carol');
SELECT dtmv.grant_system('viewer', 'read');
-- alice's site, a floor, 1,000 meters on it
CREATE TABLE public.bench_twins (n int PRIMARY KEY, id dtmv.twin_id NOT NULL);
GRANT INSERT ON public.bench_twins TO flood_alice;
GRANT SELECT ON public.bench_twins TO flood_alice, flood_gw;
SET ROLE flood_alice;
SELECT dtmv.create_space('plant', 'site', anchor_lon => 4.85, anchor_lat => 45.75, anchor_alt => 170) AS site \gset
SELECT dtmv.create_space('floor', 'floor', :site, z_min => 0, z_max => 4) AS floor \gset
INSERT INTO public.bench_twins SELECT n, dtmv.create_twin('meter', 'meter ' || n) FROM generate_series(1, 1000) n;
SELECT count(dtmv.place(id, :floor, ST_MakePoint(n % 40, n / 40, 1))) FROM public.bench_twins;
SELECT dtmv.grant_space(:site, 'bob', 'read');
SELECT dtmv.grant_space(:floor, 'crew', 'read');
RESET ROLE;
-- mallory's sites, each with one grant by her (B: to herself, C: to bob).
-- grant_space writes these rows; called 100,000 times it would take hours
-- (each call reads every space grant mallory's subjects hold), so the first
-- ten go through it and the rest are the same rows written directly.
SELECT :'flood' <> 'none' AS flooding \gset
\if :flooding
SET ROLE flood_mallory;
CREATE TEMP TABLE sites AS
	SELECT n, dtmv.create_space('site ' || n, 'site', anchor_lon => 0, anchor_lat => 0, anchor_alt => 0) AS site
	  FROM generate_series(1, :n) n;
SELECT :'flood' = 'self' AS to_herself \gset
\if :to_herself
SELECT count(dtmv.grant_space(site, 'mallory', 'admin')) FROM sites WHERE n <= 10;
\else
SELECT count(dtmv.grant_space(site, 'bob', 'read')) FROM sites WHERE n <= 10;
\endif
RESET ROLE;
INSERT INTO dtmv.grants (subject_id, space_id, granted)
	SELECT g.subject_id, s.site, g.granted
	  FROM sites s, (SELECT subject_id, granted FROM dtmv.grants
					  WHERE space_id = (SELECT site FROM sites WHERE n = 1)) g
	 WHERE s.n > 10;
\endif
VACUUM ANALYZE;
SQL
	BENCH_DB=$db bsql -o /dev/null -f "$here/../sql/test_helpers.sql"
	BENCH_DB=$db serve_all_twins gateway >/dev/null
}

setup dtmv_quiet none
setup dtmv_flood self
setup dtmv_pushed reader

# what each database holds, and who reads a twin (the same in all three)
for db in dtmv_quiet dtmv_flood dtmv_pushed; do
	BENCH_DB=$db bsql -At -F ' ' -c "
		SELECT '$db:', count(*) FILTER (WHERE twin IS NULL AND space_id IS NOT NULL) AS space_grants,
			   (SELECT count(*) FROM dtmv.grants WHERE subject_id = (SELECT subject_id FROM dtmv.subjects WHERE name = 'bob')
												   AND space_id IS NOT NULL) AS bobs_space_grants,
			   'readers of a twin:', (SELECT string_agg(s.name, ',' ORDER BY s.name)
										FROM dtmv.subjects s
									   WHERE s.subject_id = ANY (dtmv_test._twin_readers((SELECT id FROM bench_twins WHERE n = 1))))
		  FROM dtmv.grants"
done

bench() { printf '%.0f' "$(pgbench_tps flood_gw "$1" "$here/events/report.sql" -M prepared)"; }
# warm-up: each database's first seconds of reports, not measured
for db in dtmv_quiet dtmv_flood dtmv_pushed; do
	SECS=3 bench "$db" >/dev/null
done
psql -X -q -c CHECKPOINT
echo "== report events/s, $CLIENTS writers, ${SECS}s each, prepared statements, order A B B A"
# abba NAME DATABASE WHAT: the quiet database (A) against DATABASE (B or C)
abba() {
	local name=$1 db=$2 what=$3 a1 b1 b2 a2
	a1=$(bench dtmv_quiet)
	b1=$(bench "$db")
	b2=$(bench "$db")
	a2=$(bench dtmv_quiet)
	echo "A no other grants: $a1, $a2 events/s   $name $what: $b1, $b2 events/s"
	echo "$name / A (means): $(ratio "$(mean "$b1" "$b2")" "$(mean "$a1" "$a2")")x (goal >= 0.90)"
}
abba B dtmv_flood "$FLOOD of mallory's own space grants"
abba C dtmv_pushed "$FLOOD grants on mallory's sites to bob, a reader"

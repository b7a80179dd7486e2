#!/usr/bin/env bash
# Federation (docs/federation.md): calls of a metaverse system (fed_mv) that
# run at a twin system (fed_home, fed_factory) over a dblink link
# (postgres_fdw server, loopback TCP), against the same call made at the
# twin's system itself, as the same user. Three databases of one throwaway
# cluster stand for the three systems (they share its 2 cores).
#  1. dtmv.twin_info of a remote twin vs at its system (goal >= 0.5x)
#  2. dtmv.request_sync of a remote twin vs at its system (goal >= 0.5x)
#  3. a search across three systems (search_all_twins at fed_mv: its own
#     twins, fed_home's, fed_factory's) vs a search of one (search_twins at
#     fed_home), the same number of rows back (goal >= 0.6x)
#  4. where a remote call's time goes: each step of it timed alone, in one
#     session, as the mean of $PROFILE_CALLS calls
# Each figure: pgbench, prepared statements, $CLIENTS clients (and one
# client), $SECS s, in the order A B B A (at the twin's system, remote,
# remote, at the twin's system). Prints figures, never fails on one.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
CLIENTS=${BENCH_CLIENTS:-4}
SECS=${BENCH_SECONDS:-10}
PROFILE_CALLS=${BENCH_PROFILE_CALLS:-2000}
TWINS=${BENCH_TWINS:-200}
export PGDATABASE=postgres
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
link_pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')   # this run's only

for db in fed_home fed_factory fed_mv; do
	createdb "$db"
	psql -X -q -o /dev/null -d "$db" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION dtmv CASCADE'
done
psql -X -q -o /dev/null -v pw="$link_pw" <<'SQL'
CREATE ROLE fb_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE fb_link LOGIN PASSWORD :'pw' IN ROLE dtmv_gateway;
SQL
mv_no=$(psql -X -At -d fed_mv -c "SELECT dtmv.local_system('metaverse')")
# Each system: $TWINS lamps of alice's (at a twin system, readable by
# alice@mv1 too) and a door.
for db in fed_home fed_factory fed_mv; do
	psql -X -q -o /dev/null -d "$db" -v mv="$mv_no" -v n="$TWINS" <<'SQL'
SELECT dtmv.local_system('twin') WHERE NOT EXISTS (SELECT FROM dtmv.systems WHERE is_local);
SELECT dtmv.create_subject('alice', 'fb_alice');
SELECT current_database() <> 'fed_mv' AS twin_system \gset
\if :twin_system
SELECT dtmv.create_subject('mv1 link', 'fb_link', 'system');
SELECT dtmv.register_system('mv1', 'metaverse', :mv, link => 'mv1 link');
SELECT dtmv.create_remote_user('alice', 'mv1');
\endif
SET ROLE fb_alice;
SELECT dtmv.create_twin('lamp', 'lamp ' || i) FROM generate_series(1, :n) i;
SELECT dtmv.create_twin('door', 'Front door');
\if :twin_system
SELECT dtmv.grant(t.id, 'alice@mv1', 'read,sync') FROM dtmv.twins t;
\endif
SQL
done
door=$(psql -X -At -d fed_home -c "SELECT id FROM dtmv.twins WHERE kind = 'door'")
for db in fed_home fed_factory; do
	no=$(psql -X -At -d "$db" -c "SELECT system_no FROM dtmv.systems WHERE is_local")
	psql -X -q -o /dev/null -d fed_mv -v db="$db" -v no="$no" -v pw="$link_pw" \
		-v host="${PGHOST:-localhost}" -v port="${PGPORT:-5432}" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SCHEMA IF NOT EXISTS dblink;
CREATE EXTENSION IF NOT EXISTS dblink SCHEMA dblink;
GRANT USAGE ON SCHEMA dblink TO dtmv_link;
CREATE SERVER :"db" FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host :'host', port :'port', dbname :'db', connect_timeout '5');
CREATE USER MAPPING FOR dtmv_link SERVER :"db" OPTIONS (user 'fb_link', password :'pw');
GRANT USAGE ON FOREIGN SERVER :"db" TO dtmv_link;
SELECT dtmv.create_subject(:'db', NULL, 'system');
SELECT dtmv.register_system(:'db', 'twin', :no, fdw_server => :'db', link => :'db');
SET ROLE fb_alice;
SELECT dtmv.delegate(:'db', 'discover,read,sync');
SQL
done

echo "SELECT dtmv.twin_info('$door');" >"$tmp/info.sql"
echo "SELECT dtmv.request_sync('$door');" >"$tmp/sync.sql"
echo "SELECT count(*) FROM dtmv.search_twins(kind => 'lamp', max => 50);" >"$tmp/search_one.sql"
echo "SELECT count(*) FROM dtmv.search_all_twins(kind => 'lamp', max => 50);" >"$tmp/search_all.sql"
# the same answer either way
same_l=$(psql -X -q -At -d fed_home -c "SET ROLE fb_alice" -c "SELECT dtmv.twin_info('$door') - 'rights'")
same_r=$(psql -X -q -At -d fed_mv -c "SET ROLE fb_alice" -c "SELECT dtmv.twin_info('$door') - 'rights'")
[[ "$same_l" == "$same_r" ]] || echo "WARNING: twin_info differs: $same_l / $same_r"
echo "search_all_twins at fed_mv finds $(psql -X -q -At -d fed_mv -c 'SET ROLE fb_alice' \
	-c "SELECT count(DISTINCT system_no) FROM dtmv.search_all_twins(kind => 'lamp', max => 100000)") systems' lamps"

# compare NAME SCRIPT_A DB_A SCRIPT_B DB_B GOAL: A B B A with $CLIENTS
# clients, then A and B with one
compare() {
	local name=$1 sa=$2 da=$3 sb=$4 db=$5 goal=$6 a1 b1 b2 a2 a b one_a one_b
	a1=$(pgbench_tps fb_alice "$da" "$sa" -M prepared)
	b1=$(pgbench_tps fb_alice "$db" "$sb" -M prepared)
	b2=$(pgbench_tps fb_alice "$db" "$sb" -M prepared)
	a2=$(pgbench_tps fb_alice "$da" "$sa" -M prepared)
	a=$(mean "$a1" "$a2")
	b=$(mean "$b1" "$b2")
	one_a=$(CLIENTS=1 pgbench_tps fb_alice "$da" "$sa" -M prepared)
	one_b=$(CLIENTS=1 pgbench_tps fb_alice "$db" "$sb" -M prepared)
	printf '%s, %s clients, %s s each (tps):\n' "$name" "$CLIENTS" "$SECS"
	printf '  A %-40s %.0f %.0f -> %.0f\n' "($da)" "$a1" "$a2" "$a"
	printf '  B %-40s %.0f %.0f -> %.0f\n' "($db)" "$b1" "$b2" "$b"
	printf '  B / A: %sx (goal %sx)\n' "$(ratio "$b" "$a")" "$goal"
	printf '  one client: A %.0f tps (%s ms), B %.0f tps (%s ms), B / A %sx\n' \
		"$one_a" "$(ratio 1000 "$one_a")" "$one_b" "$(ratio 1000 "$one_b")" "$(ratio "$one_b" "$one_a")"
}
compare "1. twin_info: A at the twin's system, B remote from the metaverse system" \
	"$tmp/info.sql" fed_home "$tmp/info.sql" fed_mv 0.5
compare "2. request_sync (the same pending request again): A at the twin's system, B remote" \
	"$tmp/sync.sql" fed_home "$tmp/sync.sql" fed_mv 0.5
compare "3. search (50 lamps): A search_twins at one system, B search_all_twins across three" \
	"$tmp/search_one.sql" fed_home "$tmp/search_all.sql" fed_mv 0.6

# 4. Where a remote twin_info's time goes, step by step, one session each
# (the internal steps as the superuser, who alone may call them).
home_no=$(psql -X -At -d fed_home -c "SELECT system_no FROM dtmv.systems WHERE is_local")
echo "4. a remote twin_info step by step, mean of $PROFILE_CALLS calls (ms):"
step() {    # step DB ROLE LABEL SQL: the mean time of SQL, run PROFILE_CALLS times in a DO loop
	local db=$1 role=$2 label=$3 sql=$4
	psql -X -q -At -d "$db" -v n="$PROFILE_CALLS" -v role="$role" -v sql="$sql" 2>&1 <<'SQL' |
SELECT format($f$
DO $$
DECLARE t0 timestamptz; x text;
BEGIN
	EXECUTE 'SET ROLE %I';
	%s;	-- once, to open what stays open
	t0 := clock_timestamp();
	FOR i IN 1 .. %s LOOP
		%s;
	END LOOP;
	RAISE NOTICE '%%', round((extract(epoch FROM clock_timestamp() - t0) * 1000 / %s)::numeric, 3);
END $$;$f$, :'role', :'sql', :n, :'sql', :n) AS q \gset
SET client_min_messages = notice;
\set QUIET on
:q
SQL
		sed -n "s/^NOTICE: *\(.*\)/  $label: \1/p; /ERROR/p"
}
su_role=$(psql -X -At -c 'SELECT current_user')
step fed_home fb_alice "twin_info at the twin's system, as alice          " \
	"SELECT dtmv.twin_info('$door') INTO x"
step fed_home fb_link "act_for_link + twin_info at the twin's system, as the link" \
	"PERFORM dtmv.act_for_link('alice', 'discover,read,sync'); SELECT dtmv.twin_info('$door') INTO x"
step fed_mv fb_alice "twin_info remote, as alice (all of it)             " \
	"SELECT dtmv.twin_info('$door') INTO x"
step fed_mv "$su_role" "_dblink_schema (checks of dblink and dtmv_link)   " \
	"SELECT dtmv._dblink_schema() INTO x"
step fed_mv "$su_role" "_link_open of an open link                        " \
	"PERFORM dtmv._link_open('dtmv_link_$home_no', $home_no, 'dblink')"
step fed_mv "$su_role" "_link_run of SELECT 1 (a round trip, polled)       " \
	"PERFORM dtmv._link_open('dtmv_link_$home_no', $home_no, 'dblink'); PERFORM dtmv._link_run('dtmv_link_$home_no', 'dblink', 'SELECT 1', 1, clock_timestamp() + interval '5 s')"
step fed_mv "$su_role" "dblink() of SELECT 1 (a round trip, blocking)      " \
	"PERFORM dtmv._link_open('dtmv_link_$home_no', $home_no, 'dblink'); PERFORM * FROM dblink.dblink('dtmv_link_$home_no', 'SELECT 1') AS t(x int)"
step fed_mv "$su_role" "_link_run of act_for_link + twin_info there        " \
	"PERFORM dtmv._link_open('dtmv_link_$home_no', $home_no, 'dblink'); PERFORM dtmv._link_run('dtmv_link_$home_no', 'dblink', format('SELECT dtmv.act_for_link(%L, %L); SELECT dtmv.twin_info(%L)::text', 'alice', 'discover,read,sync', '$door'), 2, clock_timestamp() + interval '5 s')"

#!/usr/bin/env bash
# Federation (docs/federation.md): dtmv.twin_info of a twin of another system,
# asked at a metaverse system and run at the twin's system over a dblink
# connection (postgres_fdw server, loopback TCP), against the same call made
# at the twin's system itself, as the same user. Two databases of one
# throwaway cluster stand for the two systems (they share its 2 cores). Each
# figure: $CLIENTS pgbench clients, $SECS s, in the order local remote
# remote local; goal remote/local at least 0.5x. Prints figures, never fails
# on one.
set -euo pipefail
here=$(dirname "$0")
. "$here/lib.sh"
CLIENTS=${BENCH_CLIENTS:-4}
SECS=${BENCH_SECONDS:-10}
export PGDATABASE=postgres
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
link_pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')   # this run's only

createdb fed_home
createdb fed_mv
for db in fed_home fed_mv; do
	psql -X -q -o /dev/null -d "$db" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION dtmv CASCADE'
done
psql -X -q -o /dev/null -v pw="$link_pw" <<'SQL'
CREATE ROLE fb_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE fb_link LOGIN PASSWORD :'pw' IN ROLE dtmv_gateway;
SQL
home_no=$(psql -X -At -d fed_home -c "SELECT dtmv.local_system('twin')")
mv_no=$(psql -X -At -d fed_mv -c "SELECT dtmv.local_system('metaverse')")
door=$(psql -X -q -At -d fed_home -v mv="$mv_no" <<'SQL'
SELECT dtmv.create_subject('alice', 'fb_alice');
SELECT dtmv.create_subject('mv1 link', 'fb_link', 'system');
SELECT dtmv.register_system('mv1', 'metaverse', :mv, link => 'mv1 link');
SELECT dtmv.create_remote_user('alice', 'mv1');
SET ROLE fb_alice;
SELECT dtmv.create_twin('door', 'Front door', '{"room": "hall"}') AS door \gset
SELECT dtmv.grant(:'door', 'alice@mv1', 'read');
\echo :door
SQL
)
door=$(tail -1 <<<"$door")
psql -X -q -o /dev/null -d fed_mv -v home="$home_no" -v pw="$link_pw" \
	-v host="${PGHOST:-localhost}" -v port="${PGPORT:-5432}" <<'SQL'
CREATE EXTENSION postgres_fdw;
CREATE SCHEMA dblink;
CREATE EXTENSION dblink SCHEMA dblink;
GRANT USAGE ON SCHEMA dblink TO dtmv_link;
CREATE SERVER home_srv FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host :'host', port :'port', dbname 'fed_home', connect_timeout '5');
CREATE USER MAPPING FOR dtmv_link SERVER home_srv OPTIONS (user 'fb_link', password :'pw');
GRANT USAGE ON FOREIGN SERVER home_srv TO dtmv_link;
SELECT dtmv.create_subject('alice', 'fb_alice');
SELECT dtmv.create_subject('home', NULL, 'system');
SELECT dtmv.register_system('home', 'twin', :home, fdw_server => 'home_srv', link => 'home');
SET ROLE fb_alice;
SELECT dtmv.delegate('home', 'discover,read');
SQL
echo "SELECT dtmv.twin_info('$door');" >"$tmp/info.sql"
same=$(psql -X -At -d fed_mv -c "SET ROLE fb_alice" -c "SELECT dtmv.twin_info('$door') ->> 'rights'")
echo "remote twin_info as alice at mv1 answers rights: $same"

echo "dtmv.twin_info, $CLIENTS clients, $SECS s each (tps):"
l1=$(pgbench_tps fb_alice fed_home "$tmp/info.sql")
r1=$(pgbench_tps fb_alice fed_mv "$tmp/info.sql")
r2=$(pgbench_tps fb_alice fed_mv "$tmp/info.sql")
l2=$(pgbench_tps fb_alice fed_home "$tmp/info.sql")
local=$(mean "$l1" "$l2")
remote=$(mean "$r1" "$r2")
echo "  at the twin's system (alice, local):            $l1 $l2 -> $local"
echo "  at the metaverse system (alice@mv1 over dblink): $r1 $r2 -> $remote"
echo "  remote / local: $(ratio "$remote" "$local")x (goal 0.5x)"
CLIENTS=1
one_l=$(pgbench_tps fb_alice fed_home "$tmp/info.sql")
one_r=$(pgbench_tps fb_alice fed_mv "$tmp/info.sql")
echo "  one client: local $one_l tps ($(ratio 1000 "$one_l") ms), remote $one_r tps ($(ratio 1000 "$one_r") ms), remote / local $(ratio "$one_r" "$one_l")x"

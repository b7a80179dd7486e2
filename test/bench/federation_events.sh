#!/usr/bin/env bash
# Event delivery across systems (docs/federation.md, "Events across
# systems"; issue 16's goal: p99 under 50 ms at 1,000 events/s on loopback):
# a gateway of the twin system "home" reports at $BENCH_RATE events/s on
# four twins that alice@mv1 may read; at the metaverse system mv1, the
# relay (dtmv's second background worker) pulls them into mv1's log, and
# alice's client there (LISTEN, events_since) reads them. Two clusters, both
# with dtmv preloaded: this one is mv1 (run it with test/with-cluster.sh
# --preload), and the script starts home in a second throwaway cluster.
# Prints figures (test/bench/federation_events.py), never fails on one.
#   test/with-cluster.sh --preload bash test/bench/federation_events.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ -z ${FEV_MV_PORT:-} ]]; then
	export FEV_MV_HOST=${PGHOST:-localhost} FEV_MV_PORT=${PGPORT:-5432} FEV_MV_PASSWORD=${PGPASSWORD:-}
	export PGPORT=$((FEV_MV_PORT + 11))
	exec pg_virtualenv -t -v 15 -o shared_preload_libraries=dtmv bash "$here/federation_events.sh" "$@"
fi
# here: PG* is home; FEV_MV_* is mv1
mv() { PGHOST=$FEV_MV_HOST PGPORT=$FEV_MV_PORT PGPASSWORD=$FEV_MV_PASSWORD psql -X -q -v ON_ERROR_STOP=1 "$@"; }
home() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
link_pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')   # this run's only

home -o /dev/null -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION dtmv CASCADE'
mv -o /dev/null -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION dtmv CASCADE'
home_no=$(home -At -c "SELECT dtmv.local_system('twin')")
mv_no=$(mv -At -c "SELECT dtmv.local_system('metaverse')")
twins=$(home -At -v mv="$mv_no" -v pw="$link_pw" <<'SQL'
CREATE ROLE fe_owner LOGIN IN ROLE dtmv_user;
CREATE ROLE fe_gw LOGIN PASSWORD :'pw' IN ROLE dtmv_gateway;
CREATE ROLE fe_link LOGIN PASSWORD :'pw' IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('owner', 'fe_owner') \g /dev/null
SELECT dtmv.create_subject('home gateway', 'fe_gw', 'system') \g /dev/null
SELECT dtmv.register_gateway('home gateway', 'owner') \g /dev/null
SELECT dtmv.create_subject('mv1 link', 'fe_link', 'system') \g /dev/null
SELECT dtmv.register_system('mv1', 'metaverse', :mv, link => 'mv1 link') \g /dev/null
SELECT dtmv.create_remote_user('alice', 'mv1') \g /dev/null
SET ROLE fe_owner;
CREATE TEMP TABLE t AS SELECT dtmv.create_twin('meter', 'meter ' || n, physical_binding => 'M-' || n) AS id
  FROM generate_series(1, 4) n;
SELECT dtmv.grant(id, 'alice@mv1', 'read') FROM t \g /dev/null
SELECT string_agg(id::text, ',') AS ids FROM t \gset
SET ROLE fe_gw;
SELECT dtmv.confirm_binding('M-' || n) FROM generate_series(1, 4) n \g /dev/null
\echo :ids
SQL
)
mv -o /dev/null -v home="$home_no" -v pw="$link_pw" -v host="${PGHOST:-localhost}" -v port="$PGPORT" <<'SQL'
CREATE EXTENSION postgres_fdw;
CREATE SCHEMA dblink;
CREATE EXTENSION dblink SCHEMA dblink;
GRANT USAGE ON SCHEMA dblink TO dtmv_link;
CREATE SERVER home_srv FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host :'host', port :'port', dbname 'postgres', connect_timeout '5');
CREATE USER MAPPING FOR dtmv_link SERVER home_srv OPTIONS (user 'fe_link', password :'pw');
GRANT USAGE ON FOREIGN SERVER home_srv TO dtmv_link;
CREATE ROLE fe_alice LOGIN PASSWORD :'pw' IN ROLE dtmv_user;
SELECT dtmv.create_subject('alice', 'fe_alice');
SELECT dtmv.create_subject('home', NULL, 'system');
SELECT dtmv.register_system('home', 'twin', :home, fdw_server => 'home_srv', link => 'home');
SET ROLE fe_alice;
SELECT dtmv.delegate('home', 'read');
SQL
for _ in $(seq 100); do
	[[ $(mv -At -c 'SELECT count(*) FROM dtmv.remote_event_cursors WHERE channel IS NOT NULL') == 1 ]] && break
	sleep 0.1
done
echo "relay: dtmv.relay_poll_interval $(mv -At -c 'SHOW dtmv.relay_poll_interval'), dtmv.relay_interval $(mv -At -c 'SHOW dtmv.relay_interval'), dtmv.notify_interval $(mv -At -c 'SHOW dtmv.notify_interval') (both systems)"
export TWINS=$twins
export HOME_DSN="host=${PGHOST:-localhost} port=$PGPORT dbname=postgres user=fe_gw password=$link_pw"
export MV_DSN="host=$FEV_MV_HOST port=$FEV_MV_PORT dbname=postgres user=fe_alice password=$link_pw"
/usr/bin/python3 "$here/federation_events.py"
# what the relay costs while nothing comes: its CPU over 10 idle seconds
pid=$(mv -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dtmv event relay'")
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu)
sleep 10
c1=$(cpu)
echo "the relay worker, idle (one relayed user, polled every $(mv -At -c 'SHOW dtmv.relay_poll_interval')): $(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", d * 1000 / hz / 10}') ms CPU per second"

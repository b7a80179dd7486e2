#!/usr/bin/env bash
# Nothing is lost through pg_dump and pg_restore: the demo's data (a home,
# rights, groups, worlds, syncs, events, commands) is dumped, restored into
# a new database, and every dtmv table compared row for row; then the
# restored database is used. Runs inside a throwaway cluster. TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
bash demo/run.sh >/dev/null 2>&1 || { echo "not ok 1 - the demo played"; exit 1; }
n=0
failed=0
check() { n=$((n + 1)); if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi; }
q() { psql -X -At -d "$1" -c "$2" | tail -1; }

pg_dump -Fc dtmv_demo >"$dump"
createdb dtmv_restored
check "pg_restore reports no error" pg_restore --exit-on-error -d dtmv_restored "$dump"
for t in subjects group_members systems twin_registry twin_states grants worlds world_twins \
	sync_priorities sync_requests events commands kind_actions \
	spaces twin_positions services captures boms bom_lines orders order_items; do
	sql="SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM dtmv.$t x"
	check "dtmv.$t is the same after restore" test "$(q dtmv_demo "$sql")" = "$(q dtmv_restored "$sql")"
done
check "the twin system keeps its number" \
	test "$(q dtmv_demo 'SELECT dtmv.local_system()')" = "$(q dtmv_restored 'SELECT dtmv.local_system()')"
bob_sees() { q "$1" "SET ROLE demo_bob; SET search_path = public, dtmv; SELECT string_agg(name, ',' ORDER BY name) FROM dtmv.twins"; }
check "rights still filter: bob sees only the sofa, as before the dump" \
	test "$(bob_sees dtmv_demo),$(bob_sees dtmv_restored)" = "Living-room sofa,Living-room sofa"
check "the restored database takes new twins" \
	test "$(q dtmv_restored "SET ROLE demo_alice; SELECT dtmv.create_twin('lamp', 'New lamp') IS NOT NULL" | tail -1)" = t
echo "1..$n"
exit $failed

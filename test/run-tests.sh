#!/usr/bin/env bash
# Every dtmv test, each suite in its own throwaway cluster (test/with-cluster.sh)
# or, for the TAP tests, in clusters of its own:
#   1. pg_regress: sql/<name>.sql against expected/<name>.out  } make installcheck,
#   2. isolation:  test/isolation/specs/*.spec                 } one part at a time
#   3. TAP:        t/*.pl (PostgreSQL::Test::Cluster): the worker, the door
#                  scenario with the gateway program (direct NOTIFY and the
#                  worker's), dump and restore (the demo; the event log into
#                  a new cluster), no path to superuser (objects planted in
#                  writable schemas), federation (three clusters linked by
#                  postgres_fdw servers and dblink)
#   4. pgTAP:      test/pgtap/*.sql (pg_prove)
#   5. no lost events: test/events/no_lost_events.py (randomized writers and
#                  readers, checked; not preloaded and preloaded), and
#                  test/events/orderer_settings.sh (a database owner's settings)
#   6. worker:     test/worker/bounded_waits.py (the background worker, preloaded)
#   6b. clients:   test/clients/twin_ids.py (psycopg 3) and twin_ids.js
#                  (node-postgres): twin ids on the default search_path;
#                  test/clients/apps.py: the programs of docs/applications.md
#                  (docs/examples/: psycopg, node-postgres, libpq), run and
#                  checked (catch-up across a reconnect and a prune, a
#                  gateway directly and through pgbouncer)
#   7. demo:       demo/run.sh plays every scenario without error
#   8. W3C WoT:    test/wot/validate.py (the demo's twins described, Thing
#                  Models imported: valid by the W3C's TD 1.1 JSON Schema)
#   9. GIS tools:  test/gis/gdal.sh (GDAL's ogrinfo and ogr2ogr place a twin
#                  from spatial_map's GeoJSON, the WGS84 view through PG:,
#                  and its site's SRID, to the centimetre)
#  10. update:     test/upgrade/update.sh (each released version, filled by the
#                  demo, updated: same rows, same objects as a fresh install)
# Suites that use the tests' helpers (schema dtmv_test) load
# test/sql/test_helpers.sql after CREATE EXTENSION dtmv.
# Prints the diffs of any failure and exits non-zero if any suite failed.
# Assumes dtmv is built and installed (make test does both first).
#
# test/run-tests.sh --via X runs every suite with CREATE EXTENSION dtmv going
# through release X and the update scripts: the current install script is
# moved aside meanwhile, so PostgreSQL installs X and updates from there.
set -uo pipefail
cd "$(dirname "$0")/.."
via=
if [[ ${1:-} == --via ]]; then
	via=$2
	extdir=$(pg_config --sharedir)/extension
	current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" dtmv.control)
	[[ -f $extdir/dtmv--$via.sql ]] || { echo "release $via is not installed"; exit 1; }
	mv "$extdir/dtmv--$current.sql" "$extdir/dtmv--$current.sql.aside"
	trap 'mv "$extdir/dtmv--$current.sql.aside" "$extdir/dtmv--$current.sql"' EXIT
	# for the suites that must know (t/005_no_superuser_path.pl)
	export DTMV_VIA=$via
	echo "### every suite again, CREATE EXTENSION dtmv installing $via and updating to $current"
fi
passed=0
failed=0
suite() {
	local name=$1
	shift
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "=== $name FAILED"
	fi
}

# make installcheck runs pg_regress, the isolation specs and the TAP tests
# in turn and stops at the first part that fails: here each part is a suite
# of its own (the others emptied on make's command line).
regress() {
	rm -f regression.diffs
	if ! make -s installcheck ISOLATION= TAP_TESTS=; then
		[[ -f regression.diffs ]] && cat regression.diffs
		return 1
	fi
}
isolation() {
	rm -f output_iso/regression.diffs
	if ! make -s installcheck REGRESS= TAP_TESTS=; then
		[[ -f output_iso/regression.diffs ]] && cat output_iso/regression.diffs
		return 1
	fi
}
tap() { # tap t/<file>.pl: its log (tmp_check/log) on a failure
	if ! make -s installcheck REGRESS= ISOLATION= PROVE_TESTS="$1"; then
		cat tmp_check/log/regress_log_"$(basename "$1" .pl)" 2>/dev/null
		return 1
	fi
}
pgtap() {
	createdb dtmv_tap &&
		psql -q -v ON_ERROR_STOP=1 -d dtmv_tap \
			-c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION dtmv CASCADE' \
			-f test/sql/test_helpers.sql &&
		pg_prove -d dtmv_tap --failures test/pgtap/*.sql
}

export -f regress isolation pgtap
suite "pg_regress" test/with-cluster.sh bash -c regress
suite "isolation" test/with-cluster.sh bash -c isolation
# The TAP tests start their own clusters (as the postgres user when run as root).
for t in t/*.pl; do
	suite "TAP $t" tap "$t"
done
suite "pgTAP" test/with-cluster.sh bash -c pgtap
# Every committed event reaches every reader allowed to read it exactly once,
# under randomized concurrent writers and readers: readers have events
# ordered for them (not preloaded), and the worker orders them (preloaded).
suite "no lost events (not preloaded)" test/with-cluster.sh /usr/bin/python3 test/events/no_lost_events.py 20
suite "no lost events (worker)" test/with-cluster.sh --preload /usr/bin/python3 test/events/no_lost_events.py 20
# Nobody hears another's wake-ups: channel names carry a keyed tag, sent
# by writers (not preloaded) and by the worker's orderer (preloaded).
suite "private channels (not preloaded)" test/with-cluster.sh /usr/bin/python3 test/events/channels_private.py
suite "private channels (worker)" test/with-cluster.sh --preload /usr/bin/python3 test/events/channels_private.py
# The orderers run as a superuser: a database owner's settings neither run
# code as them nor stop them.
suite "orderer settings (not preloaded)" test/with-cluster.sh bash test/events/orderer_settings.sh
suite "orderer settings (worker)" test/with-cluster.sh --preload bash test/events/orderer_settings.sh
# No one's open transaction holds back delivery or the worker's rounds.
suite "worker: bounded waits" test/with-cluster.sh --preload -o dtmv.sync_check_interval=200 -o dtmv.twin_lock_timeout=2000 \
	/usr/bin/python3 test/worker/bounded_waits.py
# Twin ids from real clients, on the default search_path: psycopg 3 and
# node-postgres (docs/identity.md, "From your application").
suite "clients: psycopg" test/with-cluster.sh /usr/bin/python3 test/clients/twin_ids.py
suite "clients: node-postgres" test/with-cluster.sh node test/clients/twin_ids.js
# The example programs of docs/applications.md do what the page says, with
# the worker (as deployed; its recovery every 200 ms tells a lease that was
# not renewed at once).
suite "clients: the examples of docs/applications.md" test/with-cluster.sh --preload -o dtmv.sync_check_interval=200 \
	/usr/bin/python3 test/clients/apps.py
# The demo must keep playing end to end: it stops at its first error.
suite "demo" test/with-cluster.sh bash -c 'bash demo/run.sh >/dev/null'
# Thing Descriptions of every twin of the demo, and of kinds imported from
# Thing Models, are valid by the W3C's JSON Schema of TD 1.1.
suite "W3C WoT Thing Descriptions" test/with-cluster.sh bash -c \
	'bash demo/run.sh >/dev/null && PGDATABASE=dtmv_demo /usr/bin/python3 test/wot/validate.py'
# GIS tools place twins where they are.
suite "GIS tools (GDAL)" test/with-cluster.sh bash test/gis/gdal.sh
# An update from each released version keeps every row and ends where a
# fresh install does.
[[ -z $via ]] && suite "update from released versions" test/with-cluster.sh bash test/upgrade/update.sh

echo "dtmv test suites: $passed passed, $failed failed"
((failed == 0))

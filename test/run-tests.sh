#!/usr/bin/env bash
# Every dtmv test, each suite in its own throwaway cluster (test/with-cluster.sh):
#   1. pg_regress: sql/<name>.sql against expected/<name>.out
#   2. isolation:  test/isolation/specs/*.spec (pg_isolation_regress)
#   3. pgTAP:      test/pgtap/*.sql (pg_prove)
#   4. door:       test/events/door.sh (the gateway program against a real server)
#   5. no lost events: test/events/no_lost_events.py (randomized writers and
#                  readers, checked; not preloaded and preloaded), and
#                  test/events/orderer_settings.sh (a database owner's settings)
#   6. worker:     test/worker/periodic_sync.sh, test/worker/bounded_waits.py
#                  (the background worker, preloaded)
#   7. dump:       test/dump/restore.sh (pg_dump + pg_restore of the demo, compared),
#                  test/dump/fresh_cluster.sh (the event log restored into a new cluster)
#   8. demo:       demo/run.sh plays every scenario without error
#   9. update:     test/upgrade/update.sh (each released version, filled by the
#                  demo, updated: same rows, same objects as a fresh install)
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

regress() {
	rm -f regression.diffs
	if ! make -s installcheck; then
		[[ -f regression.diffs ]] && cat regression.diffs
		return 1
	fi
}
isolation() {
	local bindir
	bindir=$(dirname "$(pg_config --pgxs)")/../../src/test/isolation
	rm -rf test/isolation/output
	mkdir -p test/isolation/output
	local specs
	specs=$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//')
	if ! "$bindir/pg_isolation_regress" --inputdir=test/isolation --outputdir=test/isolation/output \
		--load-extension=postgis --load-extension=pg_trgm --load-extension=btree_gist --load-extension=dtmv $specs; then
		cat test/isolation/output/regression.diffs 2>/dev/null
		return 1
	fi
}
pgtap() {
	createdb dtmv_tap &&
		psql -q -v ON_ERROR_STOP=1 -d dtmv_tap \
			-c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION dtmv CASCADE' &&
		pg_prove -d dtmv_tap --failures test/pgtap/*.sql
}

export -f regress isolation pgtap
suite "pg_regress" test/with-cluster.sh bash -c regress
suite "isolation" test/with-cluster.sh bash -c isolation
suite "pgTAP" test/with-cluster.sh bash -c pgtap
# Scenario 7.2.1 across real processes: the gateway program, two clients, a server restart.
# Twice: writers NOTIFY themselves; then dtmv preloaded, the worker sends coalesced wake-ups.
suite "door (gateway program, direct NOTIFY)" test/with-cluster.sh bash test/events/door.sh
suite "door (gateway program, worker NOTIFY)" test/with-cluster.sh --preload bash test/events/door.sh
# Every committed event reaches every reader allowed to read it exactly once,
# under randomized concurrent writers and readers: readers have events
# ordered for them (not preloaded), and the worker orders them (preloaded).
suite "no lost events (not preloaded)" test/with-cluster.sh /usr/bin/python3 test/events/no_lost_events.py 20
suite "no lost events (worker)" test/with-cluster.sh --preload /usr/bin/python3 test/events/no_lost_events.py 20
# The orderers run as a superuser: a database owner's settings neither run
# code as them nor stop them.
suite "orderer settings (not preloaded)" test/with-cluster.sh bash test/events/orderer_settings.sh
suite "orderer settings (worker)" test/with-cluster.sh --preload bash test/events/orderer_settings.sh
# The periodic-sync worker, preloaded and not (two clusters of its own).
suite "worker" bash test/worker/periodic_sync.sh
# No one's open transaction holds back delivery or the worker's rounds.
suite "worker: bounded waits" test/with-cluster.sh --preload -o dtmv.sync_check_interval=200 \
	/usr/bin/python3 test/worker/bounded_waits.py
# pg_dump and pg_restore lose nothing (the demo's data, table by table),
# and the event log goes on in a new cluster.
suite "dump and restore" test/with-cluster.sh bash test/dump/restore.sh
suite "dump and restore into a new cluster" test/with-cluster.sh bash test/dump/fresh_cluster.sh
# The demo must keep playing end to end: it stops at its first error.
suite "demo" test/with-cluster.sh bash -c 'bash demo/run.sh >/dev/null'
# An update from each released version keeps every row and ends where a
# fresh install does.
[[ -z $via ]] && suite "update from released versions" test/with-cluster.sh bash test/upgrade/update.sh

echo "dtmv test suites: $passed passed, $failed failed"
((failed == 0))

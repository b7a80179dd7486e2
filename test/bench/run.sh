#!/usr/bin/env bash
# `make bench`: every benchmark under test/bench, each in its own throwaway
# cluster. They print figures and ratios measured in the same run; they
# never fail on a figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
opts=(-o shared_buffers=1GB -o max_wal_size=4GB -o max_connections=200)
for bench in test/bench/foundation.sh test/bench/sync.sh test/bench/grant_flood.sh test/bench/frames.sh test/bench/federation.sh; do
	echo "######## $bench"
	test/with-cluster.sh "${opts[@]}" bash "$bench"
done
echo "######## test/bench/spatial.sh, dtmv preloaded, its worker serving the bench database"
test/with-cluster.sh --preload -o dtmv.database=dtmv_bench "${opts[@]}" bash test/bench/spatial.sh
echo "######## test/bench/events.sh, dtmv preloaded: the worker sends coalesced wake-ups"
test/with-cluster.sh --preload "${opts[@]}" bash test/bench/events.sh worker
echo "######## test/bench/federation_events.sh, two clusters, dtmv preloaded in both: events relayed from a twin system"
test/with-cluster.sh --preload "${opts[@]}" bash test/bench/federation_events.sh
echo "######## test/bench/events.sh, not preloaded: writers NOTIFY themselves"
test/with-cluster.sh "${opts[@]}" bash test/bench/events.sh direct

#!/usr/bin/env bash
# `make bench`: every benchmark under test/bench, each in its own throwaway
# cluster. They print figures and ratios measured in the same run; they
# never fail on a figure.
set -euo pipefail
cd "$(dirname "$0")/../.."
for bench in test/bench/foundation.sh test/bench/sync.sh; do
	echo "######## $bench"
	pg_virtualenv -t -v 15 -o shared_buffers=1GB -o max_wal_size=4GB bash "$bench"
done

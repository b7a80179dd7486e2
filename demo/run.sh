#!/usr/bin/env bash
# Plays every demo script, in order, into a fresh database of the throwaway
# cluster that `make demo` started (test/with-cluster.sh).
set -euo pipefail
cd "$(dirname "$0")"
createdb dtmv_demo
export PGDATABASE=dtmv_demo
for script in [0-9]*.sql; do
	echo
	echo "################ demo/$script"
	psql -X -v ON_ERROR_STOP=1 --echo-queries -f "$script"
done

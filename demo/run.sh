#!/usr/bin/env bash
# Plays every demo script, in order, into a fresh database of the throwaway
# cluster that `make demo` started (test/with-cluster.sh): NN_*.sql through
# psql, NN_*.sh (scenarios across several processes) with bash.
set -euo pipefail
cd "$(dirname "$0")"
createdb dtmv_demo
export PGDATABASE=dtmv_demo
for script in $(ls [0-9]*.sql [0-9]*.sh | sort); do
	echo
	echo "################ demo/$script"
	case $script in
		*.sql) psql -X -v ON_ERROR_STOP=1 --echo-queries -f "$script" ;;
		*.sh) bash "$script" ;;
	esac
done

#!/usr/bin/env bash
# Plays every demo script, in order, into a fresh database of the throwaway
# cluster that `make demo` started (test/with-cluster.sh): NN_*.sql through
# psql, NN_*.sh (scenarios across several processes) with bash.
set -euo pipefail
cd "$(dirname "$0")"
createdb dtmv_demo
export PGDATABASE=dtmv_demo
# The update test (test/upgrade/update.sh) plays the demo on a released
# version, installed here, before 01_home.sql would install the newest.
if [[ -n ${DTMV_DEMO_VERSION:-} ]]; then
	psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION dtmv VERSION '$DTMV_DEMO_VERSION' CASCADE"
fi
for script in $(ls [0-9]*.sql [0-9]*.sh | sort); do
	echo
	echo "################ demo/$script"
	case $script in
		*.sql) psql -X -v ON_ERROR_STOP=1 --echo-queries -f "$script" ;;
		*.sh) bash "$script" ;;
	esac
done

#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL 15 cluster (pg_virtualenv from
# Debian's postgresql-common): the cluster lives in a temporary directory,
# runs as the postgres user also when called as root, and is removed after.
# The command sees PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE.
#   test/with-cluster.sh [--preload] command [args...]
set -euo pipefail
opts=()
if [[ ${1:-} == --preload ]]; then
	opts+=(-o shared_preload_libraries=dtmv)
	shift
fi
exec pg_virtualenv -t -v 15 "${opts[@]}" "$@"

#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL 15 cluster (pg_virtualenv from
# Debian's postgresql-common): the cluster lives in a temporary directory,
# runs as the postgres user also when called as root, and is removed after.
# The command sees PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE.
#   test/with-cluster.sh [--preload] [-o name=value]... command [args...]
# --preload puts dtmv in shared_preload_libraries (its background worker).
set -euo pipefail
opts=()
while (($#)); do
	case $1 in
		--preload) opts+=(-o shared_preload_libraries=dtmv); shift ;;
		-o) opts+=(-o "$2"); shift 2 ;;
		*) break ;;
	esac
done
exec pg_virtualenv -t -v 15 "${opts[@]}" "$@"

#!/bin/sh
# The replayed part of an install or update script (make runs it): the
# files given, in that order. A file that names PostGIS's objects writes
# their schema @postgis@, as PostgreSQL 16 would write @extschema:postgis@;
# PostgreSQL 15 knows only the extension's own schema, so such a file is
# run by a DO block that puts in the quoted name of the schema PostGIS is
# installed in, found in pg_extension when the script runs. The file's text
# goes unchanged into a dollar-quoted string: its function bodies, and the
# line numbers their errors report, are as written.
set -eu
for f; do
	if grep -q 'dtmv_replayed' "$f"; then
		echo "$f: dtmv_replayed would end its quoting" >&2
		exit 1
	elif grep -q '@postgis@' "$f"; then
		printf '%s\n' "-- $f, its @postgis@ the schema of PostGIS" \
			'DO $dtmv_postgis$' \
			'DECLARE' \
			'	postgis text := (SELECT pg_catalog.quote_ident(n.nspname)' \
			'					   FROM pg_catalog.pg_extension e' \
			'					   JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace' \
			"					  WHERE e.extname OPERATOR(pg_catalog.=) 'postgis');" \
			'BEGIN' \
			'	EXECUTE pg_catalog.replace($dtmv_replayed$'
		cat "$f"
		printf '%s\n' "\$dtmv_replayed\$, '@postgis@', postgis);" \
			'END' \
			'$dtmv_postgis$;'
	else
		cat "$f"
	fi
done

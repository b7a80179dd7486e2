#!/usr/bin/env bash
# Installs, where missing, what building and testing dtmv needs on Debian
# bookworm: PostgreSQL 15 server and headers, PostGIS 3, PROJ's headers (dtmv
# links the PROJ that PostGIS loads), pgTAP and pg_prove,
# IPC::Run (for PostgreSQL::Test::Cluster, which the TAP tests in t/ use),
# libpq (its headers: the gateway program, and the C examples of
# docs/applications.md, which test/clients/apps.py compiles with cc ... -lpq),
# psycopg (the Python client tests use), jsonschema with its URI
# checks (the W3C WoT test validates Thing Descriptions), GDAL's tools (the
# GIS test, test/gis/gdal.sh, reads dtmv's maps with them), PgQ (the events
# benchmark compares dtmv with it), and node with npm for node-postgres (the
# Node client test, whose npm packages it then installs in test/clients).
# As root it installs them from Debian's packages; otherwise it says what to
# install and stops.
set -euo pipefail
packages=(
	make gcc
	pgbouncer # t/006_gateway_pooler.pl runs the gateway program through it
	postgresql-15 postgresql-server-dev-15 postgresql-common # postgresql-15 has dblink and postgres_fdw (t/007_federation.pl)
	postgresql-15-postgis-3
	libproj-dev # src/frames.c links PROJ (the one PostGIS loads)
	postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	libpq-dev
	python3-psycopg
	python3-jsonschema python3-rfc3987
	gdal-bin
	postgresql-15-pgq3
)
# node-postgres for test/clients: Debian's nodejs and npm, unless a node
# with npm is there already (one from another source would clash with them)
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
	if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != "install ok installed" ]]; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} > 0)); then
	if ((EUID != 0)); then
		echo "dtmv needs these Debian packages: ${missing[*]}" >&2
		echo "install them as root (apt-get install ${missing[*]}) or run this as root" >&2
		exit 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# the npm packages of test/clients, as its package-lock.json pins them
cd "$(dirname "$0")/clients"
if [[ ! -d node_modules ]] || ! npm ls --silent >/dev/null 2>&1; then
	npm ci --silent --no-audit --no-fund
fi

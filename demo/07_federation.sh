#!/usr/bin/env bash
# The scenarios across separate systems (issue 16, docs/federation.md): four
# PostgreSQL clusters of their own, started here beside the demo's cluster
# and removed after: the home's and the factory's twin systems, a metaverse
# cluster (systems mv1 and mv2, one database each) and a shop. They are
# linked (demo/federation/systems.sql), then each demo/federation/7.*.sql
# plays one scenario, moving from system to system with \connect.
# t/010_federation_scenarios.pl plays the same files in make test.
set -euo pipefail
cd "$(dirname "$0")/federation"
# The update test plays the demo on release 0.1, which has no federation.
if [[ -n ${DTMV_DEMO_VERSION:-} ]]; then
	echo "(the federated scenarios need dtmv 0.2: skipped on $DTMV_DEMO_VERSION)"
	exit 0
fi
bin=$(pg_config --bindir)
as_postgres=()
[[ $(id -u) == 0 ]] && as_postgres=(runuser -u postgres --)
base=$(mktemp -d /tmp/dtmv-federation.XXXXXX)
chmod 755 "$base"
[[ ${#as_postgres[@]} -gt 0 ]] && chown postgres: "$base"
systems=(home factory mv shop)
declare -A port
stop_all() {
	for s in "${systems[@]}"; do
		[[ -f $base/$s/postmaster.pid ]] && "${as_postgres[@]}" "$bin/pg_ctl" -D "$base/$s" -m immediate stop >/dev/null 2>&1
	done
	rm -rf "$base"
}
trap stop_all EXIT
next=$((20000 + RANDOM % 20000))
link_pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
for s in "${systems[@]}"; do
	while (echo >/dev/tcp/127.0.0.1/$next) 2>/dev/null || [[ -e $base/.s.PGSQL.$next ]]; do next=$((next + 1)); done
	port[$s]=$next
	next=$((next + 1))
	"${as_postgres[@]}" "$bin/initdb" -D "$base/$s" -U postgres -A trust >/dev/null
	cat >>"$base/$s/postgresql.conf" <<-CONF
		port = ${port[$s]}
		listen_addresses = ''
		unix_socket_directories = '$base'
		shared_preload_libraries = 'dtmv'
		fsync = off
	CONF
	# the links log in with their password (the caller refuses them otherwise)
	sed -i '1i local all mv1_link,mv2_link,shop_link scram-sha-256' "$base/$s/pg_hba.conf"
	"${as_postgres[@]}" "$bin/pg_ctl" -D "$base/$s" -l "$base/$s.log" -w start >/dev/null
	PGOPTIONS='-c client_min_messages=warning' "${as_postgres[@]}" psql -X -q -h "$base" -p "${port[$s]}" -U postgres -d postgres \
		-c 'CREATE EXTENSION dtmv CASCADE'
done
# One psql session plays the set-up and every scenario in turn: the
# systems' numbers (psql variables) carry from one file to the next.
files=(-f systems.sql)
for scenario in $(ls 7.*.sql | sort -V); do
	files+=(-f "$scenario")
done
"${as_postgres[@]}" psql -X -h "$base" -p "${port[home]}" -U postgres -d postgres \
	-v ON_ERROR_STOP=1 -v host="$base" -v link_pw="$link_pw" \
	-v home_port="${port[home]}" -v factory_port="${port[factory]}" \
	-v mv_port="${port[mv]}" -v shop_port="${port[shop]}" "${files[@]}"

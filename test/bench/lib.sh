#!/usr/bin/env bash
# Helpers for the benchmarks: run SQL, time statements with psql's \timing
# and take the median of several runs, print ratios. Benchmarks print
# figures; they never fail a build on a figure.

# psql quietly against the bench database
bsql() { psql -X -q -v ON_ERROR_STOP=1 -d "${BENCH_DB:-dtmv_bench}" "$@"; }

# median_ms REPS PREPARE_SQL SQL: runs PREPARE_SQL (untimed) then SQL (timed)
# REPS times, each in its own session, and prints the median in ms.
median_ms() {
	local reps=$1 prepare=$2 sql=$3 i times=()
	for ((i = 0; i < reps; i++)); do
		times+=("$(
			{ printf '%s\n' "$prepare" '\timing on' "$sql"; } |
				bsql -o /dev/null 2>&1 -f - | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
		)")
	done
	printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# mean A B: their mean
mean() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (a + b) / 2}'; }

# ratio A B: A/B with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# pgbench_tps ROLE DATABASE SCRIPT [pgbench options...]: tps of a pgbench
# script run by $CLIENTS clients (default 8) as ROLE (taken with
# PGOPTIONS="-c role=..."); -T $SECS unless the options give -t.
pgbench_tps() {
	local role=$1 db=$2 script=$3
	shift 3
	local duration=(-T "${SECS:-15}")
	[[ " $* " == *" -t "* ]] && duration=()
	PGOPTIONS="-c role=$role" pgbench -n -c "${CLIENTS:-8}" -j 2 "${duration[@]}" "$@" -f "$script" "$db" 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# serve_all_twins GATEWAY: the gateway (a system subject mapped to a login)
# serves every twin of the bench database, as if each twin's device had
# been bound through it and confirmed (docs/rights.md, "Gateways and
# devices"); written directly, in bulk, by the owner: bench set-up only.
serve_all_twins() {
	bsql -v gateway="$1" <<-'SQL'
		SELECT dtmv.register_gateway(:'gateway', :'gateway') AS gw \gset
		UPDATE dtmv.twin_states s
		   SET physical_binding = coalesce(s.physical_binding, 'bench ' || s.twin::text),
			   gateway = :gw, binding_confirmed_at = pg_catalog.now();
		UPDATE dtmv.sync_requests r SET gateway = :gw WHERE r.ready;
	SQL
}

#!/usr/bin/env bash
# The event log survives pg_dump and pg_restore into another cluster, whose
# transaction ids start low again: a reader resumes from the last id it got
# before the dump and receives, exactly once, the events that were written
# but not yet delivered, then new ones; a new client starts at
# event_horizon(); new events get larger ids and collide with nothing.
# (Event ids once were transaction ids shifted: in a restored cluster they
# went backwards, and reports failed with 23505 once they caught up.)
# Runs inside a throwaway cluster (the source), starts a second one on its
# own port as the postgres user (the target). TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
bindir=$(pg_config --bindir)
work=$(mktemp -d)
port=$((PGPORT + 17))
as_postgres() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
((EUID == 0)) && chown postgres "$work"
trap 'as_postgres "$bindir/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1; rm -rf "$work"' EXIT
n=0
failed=0
check() { n=$((n + 1)); if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi; }
src() { psql -X -At -v ON_ERROR_STOP=1 -c "SET search_path = public, dtmv" -c "$1" | tail -1; }
dst() { psql -X -At -v ON_ERROR_STOP=1 -h "$work" -p "$port" -U postgres -d dtmv_restored \
	-c "SET search_path = public, dtmv" -c "$1" | tail -1; }
as() { echo "SET ROLE $1; $2"; }

# The source: a gateway reports on a meter; its cluster has used a few
# thousand transaction ids, as any cluster that ran for a while has.
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION dtmv CASCADE;
CREATE ROLE fc_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE fc_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('alice', 'fc_alice');
SELECT dtmv.create_subject('gateway', 'fc_gw', 'system');
SQL
echo 'SELECT txid_current();' >"$work/xid.sql"
pgbench -n -t 3000 -f "$work/xid.sql" >/dev/null
meter=$(src "$(as fc_alice "SELECT dtmv.create_twin('meter', 'Water meter')")")
start=$(src "$(as fc_alice 'SELECT dtmv.event_horizon()')")
for i in 1 2 3; do src "$(as fc_gw "SELECT dtmv.report('$meter', 'reading', '{\"n\": $i}')")" >/dev/null; done
# alice's client catches up: its last id is the one it keeps
last=$(src "$(as fc_alice "SELECT max(id) FROM dtmv.events_since($start)")")
check "before the dump alice got the three readings" \
	test "$(src "$(as fc_alice "SELECT string_agg(payload ->> 'n', ',' ORDER BY id) FROM dtmv.events_since($start)")")" = 1,2,3
# two more readings commit, not yet delivered when the dump is taken
for i in 4 5; do src "$(as fc_gw "SELECT dtmv.report('$meter', 'reading', '{\"n\": $i}')")" >/dev/null; done

pg_dump -Fc -f "$work/dump" "$PGDATABASE"
pg_dumpall --roles-only >"$work/roles.sql"

# The target: a new cluster, fresh transaction ids.
as_postgres "$bindir/initdb" -D "$work/data" -A trust -U postgres >/dev/null
as_postgres "$bindir/pg_ctl" -D "$work/data" -l "$work/log" -w \
	-o "-p $port -k $work -c listen_addresses=''" start >/dev/null
psql -X -q -h "$work" -p "$port" -U postgres -d postgres -f "$work/roles.sql" >/dev/null 2>&1
createdb -h "$work" -p "$port" -U postgres dtmv_restored
check "pg_restore into the new cluster reports no error" \
	pg_restore --exit-on-error -h "$work" -p "$port" -U postgres -d dtmv_restored "$work/dump"
check "the new cluster's transaction ids are below the source's" \
	test "$(dst 'SELECT txid_current()')" -lt "$(src 'SELECT txid_current()')"

check "alice resumes from her last id: the two readings written before the dump, once" \
	test "$(dst "$(as fc_alice "SELECT string_agg(payload ->> 'n', ',' ORDER BY id) FROM dtmv.events_since($last)")")" = 4,5
horizon=$(dst "$(as fc_alice 'SELECT dtmv.event_horizon()')")
check "event_horizon() is past every restored id" test "$horizon" -gt "$last"
for i in 6 7; do dst "$(as fc_gw "SELECT dtmv.report('$meter', 'reading', '{\"n\": $i}')")" >/dev/null; done
check "new reports in the restored database succeed (no id collides)" \
	test "$(dst "SELECT count(*) FROM dtmv.event_inbox i FULL JOIN dtmv.events e USING (entry_id) WHERE coalesce(e.payload, i.payload) ->> 'n' IN ('6', '7')")" = 2
check "alice, from her last id, gets every reading once, new ones after restored ones" \
	test "$(dst "$(as fc_alice "SELECT string_agg(payload ->> 'n', ',' ORDER BY id) FROM dtmv.events_since($last)")")" = 4,5,6,7
check "a new client starting at event_horizon() gets the new readings" \
	test "$(dst "$(as fc_alice "SELECT string_agg(payload ->> 'n', ',' ORDER BY id) FROM dtmv.events_since($horizon)")")" = 6,7
check "ids stay below 2^53 (JavaScript numbers)" \
	test "$(dst 'SELECT max(event_id) < 2^53 AND max(entry_id) < 2^53 FROM dtmv.events')" = t
echo "1..$n"
exit $failed

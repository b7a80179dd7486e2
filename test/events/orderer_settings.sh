#!/usr/bin/env bash
# The orderers run as a superuser (the background worker, and the
# short-lived worker a reader starts): a database owner who is no superuser
# must not get code of theirs run by them through the database's settings
# (search_path with operators of their own), nor stop them (statement and
# lock timeouts, isolation level). Run in a throwaway cluster, with dtmv
# preloaded or not; the database is the worker's (postgres), given to a
# non-superuser owner. TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0
failed=0
check() { n=$((n + 1)); if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -c "$1" | tail -1; }

psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION dtmv CASCADE;
\i test/sql/test_helpers.sql
CREATE ROLE os_owner LOGIN;
CREATE ROLE os_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE os_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('alice', 'os_alice');
SELECT dtmv.create_subject('gateway', 'os_gw', 'system');
SELECT dtmv.register_gateway('gateway', 'alice');
ALTER DATABASE postgres OWNER TO os_owner;
SET ROLE os_owner;
CREATE SCHEMA evil;
-- Each makes its caller a superuser's accomplice if it runs as one.
CREATE FUNCTION evil.promote() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('is_superuser') = 'on' THEN
		EXECUTE 'ALTER ROLE os_owner SUPERUSER';
	END IF;
END $$;
CREATE FUNCTION evil.plus(a bigint, b bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.promote(); RETURN a OPERATOR(pg_catalog.+) b; END $$;
CREATE FUNCTION evil.eq_tid(a tid, b tid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.promote(); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION evil.le(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.promote(); RETURN a OPERATOR(pg_catalog.<=) b; END $$;
CREATE OPERATOR evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.plus);
CREATE OPERATOR evil.= (LEFTARG = tid, RIGHTARG = tid, FUNCTION = evil.eq_tid);
CREATE OPERATOR evil.<= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = evil.le);
ALTER DATABASE postgres SET search_path = evil, pg_catalog, public;
ALTER DATABASE postgres SET statement_timeout = '1ms';
ALTER DATABASE postgres SET lock_timeout = '1ms';
ALTER DATABASE postgres SET default_transaction_isolation = 'serializable';
SQL
echo "# the worker orders this database's events: $(PGOPTIONS="-c statement_timeout=0" q "SELECT dtmv_test._notifier_active()")"
# New sessions and new orderers see the settings; the worker, at its next
# start: stop it and wait for it to be back (it restarts after 10 s).
if [[ $(PGOPTIONS="-c statement_timeout=0" q "SELECT dtmv_test._notifier_active()") == t ]]; then
	PGOPTIONS="-c statement_timeout=0" q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'dtmv worker'" >/dev/null
	sleep 1
	for _ in $(seq 40); do
		[[ $(PGOPTIONS="-c statement_timeout=0" q "SELECT dtmv_test._notifier_active()") == t ]] && break
		sleep 0.5
	done
	echo "# the worker is back: $(PGOPTIONS="-c statement_timeout=0" q "SELECT dtmv_test._notifier_active()")"
fi
twin=$(PGOPTIONS="-c role=os_alice -c statement_timeout=0" q "SELECT dtmv.create_twin('meter', 'Meter', physical_binding => 'OS-METER')")
PGOPTIONS="-c role=os_gw -c statement_timeout=0" q "SELECT dtmv.confirm_binding('OS-METER')" >/dev/null
start=$(PGOPTIONS="-c role=os_alice -c statement_timeout=0" q "SELECT dtmv.event_horizon()")
for i in 1 2 3; do
	PGOPTIONS="-c role=os_gw -c statement_timeout=0" q "SELECT dtmv.report('$twin', 'reading', '{\"n\": $i}')" >/dev/null
done
got=
for _ in $(seq 50); do
	got=$(PGOPTIONS="-c role=os_alice -c statement_timeout=0 -c default_transaction_isolation=read\ committed" \
		q "SELECT string_agg(payload ->> 'n', ',' ORDER BY id) FROM dtmv.events_since($start)")
	[[ $got == 1,2,3 ]] && break
	sleep 0.1
done
check "events are ordered and delivered whatever the database's settings" test "$got" = 1,2,3
check "the database owner is still no superuser" \
	test "$(PGOPTIONS="-c statement_timeout=0" q "SELECT rolsuper FROM pg_roles WHERE rolname = 'os_owner'")" = f
echo "1..$n"
exit $failed

#!/usr/bin/env bash
# Scenario 7.2.1 across real processes (REQ-DT-06, REQ-MV-03, REQ-MV-04): the
# gateway program (gateway/dtmv-home) reports a guest at the door, alice's
# client is woken and catches up, bob (no right on the door) hears nothing,
# alice opens the door through its twin, the gateway opens it and
# acknowledges; after a server restart the gateway reconnects and carries
# out the next command; the answer to alice's sync request wakes her. Run inside a throwaway cluster (test/run-tests.sh).
# Prints TAP lines; exits non-zero on a failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
home=$PWD/gateway/dtmv-home
logs=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$logs"' EXIT
n=0
failed=0
check() { # check DESCRIPTION COMMAND...
	n=$((n + 1))
	if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi
}
as() { local role=$1; shift; PGOPTIONS="-c role=$role" "$@"; }
sql() { as "$1" psql -X -At -v ON_ERROR_STOP=1 -c "SET search_path = public, dtmv" -c "$2" | tail -1; }
wait_for_line() { # wait_for_line FILE PATTERN: up to 10 s
	for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION dtmv CASCADE;
CREATE ROLE door_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE door_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE door_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('alice', 'door_alice');
SELECT dtmv.create_subject('bob', 'door_bob');
SELECT dtmv.create_subject('home gateway', 'door_gw', 'system');
SQL
door=$(sql door_alice "SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'DOOR-1')")
echo "# wake-ups sent by the background worker: $(psql -X -At -c 'SELECT dtmv._notifier_active()')"
start=$(sql door_alice "SELECT dtmv.event_horizon()")

as door_gw "$home" gateway --seconds 60 --acks 2 >"$logs/gateway" 2>&1 &
gateway=$!
as door_alice "$home" watch doorbell --seconds 20 --since "$start" >"$logs/alice" 2>&1 &
alice=$!
as door_bob "$home" watch doorbell --seconds 5 --since "$start" >"$logs/bob" 2>&1 &
bob=$!
wait_for_line "$logs/alice" "watching" && wait_for_line "$logs/bob" "watching" && wait_for_line "$logs/gateway" "listening"

as door_gw "$home" ring DOOR-1 cam/front/0001.jpg >"$logs/ring" 2>&1
wait $alice
check "alice's client saw the doorbell event" test $? -eq 0
check "alice was woken by a notification on her channel" grep -q "woken on channel dtmv_s" "$logs/alice"
check "the event carries the camera snapshot reference" grep -q '"camera": "cam/front/0001.jpg"' "$logs/alice"
wait $bob
check "bob's client saw no event" test $? -eq 1
check "bob heard no notification" bash -c "! grep -q 'woken on channel' '$logs/bob'"
check "alice sees the snapshot through the door's twin" \
	test "$(sql door_alice "SELECT dtmv.twin_info('$door') -> 'reported' ->> 'camera'")" = cam/front/0001.jpg

before=$(sql door_alice "SELECT dtmv.event_horizon()")
as door_alice "$home" watch command_succeeded --seconds 20 --since "$before" >"$logs/alice2" 2>&1 &
alice=$!
sql door_alice "SELECT dtmv.interact('$door', 'open')" >/dev/null
wait $alice
check "the gateway opened the door and alice saw the acknowledgement" test $? -eq 0
check "the door is reported open" test "$(sql door_alice "SELECT reported ->> 'door' FROM dtmv.twin_states WHERE twin = '$door'")" = open

# The server restarts under the gateway; it reconnects and takes the next command.
pg_ctlcluster "${PGVERSION:-15}" regress restart
sql door_alice "SELECT dtmv.interact('$door', 'close')" >/dev/null
wait $gateway
check "after a server restart the gateway reconnected and acknowledged the next command" test $? -eq 0
check "the gateway said it reconnected" grep -q "reconnecting" "$logs/gateway"
check "the door is reported closed" test "$(sql door_alice "SELECT reported ->> 'door' FROM dtmv.twin_states WHERE twin = '$door'")" = closed

# A sync's answer is an event addressed to its requester: alice is woken on
# her own channel when the gateway completes the sync she asked for.
before=$(sql door_alice "SELECT dtmv.event_horizon()")
as door_alice "$home" watch sync_answer --seconds 20 --since "$before" >"$logs/alice3" 2>&1 &
alice=$!
wait_for_line "$logs/alice3" "watching"
sql door_alice "SELECT dtmv.request_sync('$door')" >/dev/null
check "the gateway completed alice's sync" \
	test "$(sql door_gw "SELECT dtmv.complete_sync(request_id, true, '{\"door\": \"closed\"}') FROM dtmv.claim_sync()")" = succeeded
wait $alice
check "alice saw the answer to her sync request" test $? -eq 0
check "alice was woken on her own channel for it" grep -q "woken on channel dtmv_s" "$logs/alice3"

if ((failed)); then
	for f in "$logs"/*; do echo "--- $(basename "$f")"; cat "$f"; done
fi
echo "1..$n"
exit $failed

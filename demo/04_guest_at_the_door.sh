#!/usr/bin/env bash
# Scenario 4 (7.2.1), a guest at the physical door, seen from the virtual
# world, across real processes: the home gateway (gateway/dtmv-home) stands
# in for the physical side, alice's metaverse client is another process, and
# the database in between is dtmv (REQ-DT-06, REQ-MV-03, REQ-MV-04).
# Uses the home of 01_home.sql: alice's front door, bound to ACME-DOOR-0001.
set -euo pipefail
home=$PWD/../gateway/dtmv-home
logs=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$logs"' EXIT
as() { local role=$1; shift; PGOPTIONS="-c role=$role" "$@"; }
sql() { as "$1" psql -X -v ON_ERROR_STOP=1 -c "SET search_path = public, dtmv" --echo-queries -c "$2"; }
value() { as "$1" psql -X -At -v ON_ERROR_STOP=1 -c "SET search_path = public, dtmv" -c "$2" | tail -1; }
wait_for_line() { for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }

door=$(value demo_alice "SELECT id FROM dtmv.twins WHERE name = 'Front door'")

echo "--- the home gateway starts: the door is connected to it; it listens for the door's commands"
# its devices answer through a driver program; the stand-in's door opens on every command
as demo_gateway "$home" gateway --device ACME-DOOR-0001 --driver "$PWD/../gateway/stand-in-device" \
	--seconds 60 --acks 1 >"$logs/gateway" 2>&1 &
gateway=$!
wait_for_line "$logs/gateway" "listening on"

echo "--- alice is busy in her home world; her client listens and waits"
start=$(value demo_alice "SELECT dtmv.event_horizon()")
as demo_alice "$home" watch doorbell --seconds 30 --since "$start" >"$logs/alice" 2>&1 &
client=$!
wait_for_line "$logs/alice" "watching"

echo "--- a guest rings at the real front door; the door reports to the twin system"
as demo_gateway "$home" ring ACME-DOOR-0001 camera/front-door/guest-0001.jpg
wait $client
echo "--- alice's client is notified and catches up:"
cat "$logs/alice"

echo "--- alice looks at the camera picture through the door's twin"
sql demo_alice "SELECT reported ->> 'camera' AS camera_picture, reported ->> 'doorbell' AS doorbell
  FROM dtmv.twin_states WHERE twin = '$door'"

echo "--- alice presses the twin's \"open\" button; the command travels to the gateway"
start=$(value demo_alice "SELECT dtmv.event_horizon()")
as demo_alice "$home" watch command_succeeded --seconds 30 --since "$start" >"$logs/alice2" 2>&1 &
client=$!
sql demo_alice "SELECT dtmv.interact('$door', 'open') AS command"
wait $gateway
echo "--- the gateway opened the real door and acknowledged:"
cat "$logs/gateway"
wait $client
echo "--- alice sees the door open:"
cat "$logs/alice2"
sql demo_alice "SELECT desired ->> 'door' AS desired, reported ->> 'door' AS reported
  FROM dtmv.twin_states WHERE twin = '$door'"

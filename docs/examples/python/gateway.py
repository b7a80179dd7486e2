#!/usr/bin/env python3
"""A dtmv gateway for some devices, with psycopg 3 (docs/applications.md).

It confirms that its devices are here, carries out their twins' commands
and runs their twins' syncs with the state each device reports, and no
other twin's; it reconnects after a lost connection:

    PGUSER=home_gw python3 gateway.py [--pooler] SERIAL...

The connection comes from the PG* environment variables, as the gateway's
login (a role in dtmv_gateway, registered by dtmv_admin). --pooler: behind
PgBouncer in transaction mode (runs live by their lease, no LISTEN).
The devices are pretend ones (PretendDoor): put your device's protocol there.
"""
import json
import os
import select
import signal
import sys
import time
from datetime import timedelta

import psycopg

LEASE = timedelta(seconds=int(os.environ.get("GATEWAY_LEASE", "30")))  # renewed every third of it
DEVICE_TIMEOUT = 60  # seconds a device may take to answer
POLL = 1  # seconds between looks for syncs (commands wake us; sync requests do not)

stopping = False


def stop(signum, frame):
    global stopping
    stopping = True


class PretendDoor:
    """a stand-in for a door's device, reached by its serial number"""

    def __init__(self, serial):
        self.serial = serial
        self.state = {"door": "closed", "battery": 87}
        self.seconds = float(os.environ.get("PRETEND_DEVICE_SECONDS", "0"))  # how slowly it answers
        self.done = {}  # command id -> result: a command delivered again is not carried out twice

    def read(self, started, wait):
        """its state, or None if it has not answered within wait seconds"""
        time.sleep(max(0, min(wait, started + self.seconds - time.monotonic())))
        return dict(self.state) if time.monotonic() >= started + self.seconds else None

    def act(self, command_id, action, args):
        if command_id not in self.done:
            moves = {"open": "open", "close": "closed", "lock": "locked"}
            if action not in moves:
                raise RuntimeError(f"a door cannot {action}")
            self.state["door"] = moves[action]
            self.done[command_id] = {"door": self.state["door"]}
        return self.done[command_id]


def say(line):
    print(line, flush=True)


def failed(e):
    return f"{e.sqlstate}: {e.diag.message_primary}"


def confirm(conn, devices):
    """our devices are here: confirm their bindings pending through this gateway"""
    for serial in devices:
        try:
            twin = conn.execute("SELECT dtmv.confirm_binding(%s)", (serial,)).fetchone()[0]
            say(f"device {serial} is here: twin {twin}")
        except psycopg.errors.UndefinedObject:  # 42704
            say(f"device {serial}: no binding pending (confirmed before, or not bound yet)")


def commands(conn, devices):
    """carry out the commands of our devices' twins, each acknowledged once"""
    for command_id, action, args, serial in conn.execute(
            "SELECT command_id, action, args, physical_binding FROM dtmv.next_commands(10, '1 minute', %s)",
            (list(devices),)).fetchall():
        try:
            ok, result = True, devices[serial].act(command_id, action, args)
        except RuntimeError as e:
            ok, result = False, {"error": str(e)}
        try:
            conn.execute("SELECT dtmv.ack_command(%s, %s, %s)", (command_id, ok, json.dumps(result)))
            say(f"command {command_id} {action} on {serial}: {'done' if ok else 'failed'} {json.dumps(result)}")
        except (psycopg.errors.ObjectNotInPrerequisiteState,  # 55000: acknowledged already
                psycopg.errors.LockNotAvailable,  # 55P03: another session holds it; it comes again
                psycopg.errors.InsufficientPrivilege) as e:  # 42501: the twin is no longer ours
            say(f"command {command_id}: not acknowledged ({failed(e)})")


def syncs(conn, devices, pooler):
    """run the syncs of our devices' twins with what each device reports"""
    while not stopping:
        row = conn.execute("SELECT c.request_id, c.twin, b.physical_binding"
                           "  FROM dtmv.claim_sync(%s, %s, %s) c"
                           "  LEFT JOIN dtmv.served_twins() b ON b.twin = c.twin",
                           (LEASE, not pooler, list(devices))).fetchone()
        if row is None:
            return
        request, twin, serial = row
        work = f"sync {request} of twin {twin} ({serial})"
        started, state = time.monotonic(), None
        try:
            while state is None and time.monotonic() < started + DEVICE_TIMEOUT:
                state = devices[serial].read(started, LEASE.total_seconds() / 3)
                if state is None:  # still working: keep the run
                    conn.execute("SELECT dtmv.renew_sync(%s, %s)", (request, LEASE))
                    say(f"{work}: the device is still working; lease renewed")
            if state is None:
                conn.execute("SELECT dtmv.complete_sync(%s, false)", (request,))
                say(f"{work} failed: no answer within {DEVICE_TIMEOUT} s")
            else:
                conn.execute("SELECT dtmv.complete_sync(%s, true, %s)", (request, json.dumps(state)))
                say(f"{work}: {json.dumps(state, sort_keys=True)}")
        except (psycopg.errors.ObjectNotInPrerequisiteState,  # 55000: the run was lost (its lease ended)
                psycopg.errors.InsufficientPrivilege) as e:  # 42501: the twin is no longer ours
            say(f"{work} lost: {failed(e)}")


def main(args):
    pooler = "--pooler" in args
    devices = {serial: PretendDoor(serial) for serial in args if serial != "--pooler"}
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        try:
            # behind a pooler: no prepared statements (they stay with a server session)
            with psycopg.connect(autocommit=True, prepare_threshold=None if pooler else 5) as conn:
                confirm(conn, devices)
                if not pooler:  # a new command wakes us (on a session of our own)
                    conn.execute("SELECT dtmv.listen()")
                say("gateway ready" + (" (pooler mode)" if pooler else ""))
                while not stopping:
                    commands(conn, devices)
                    syncs(conn, devices, pooler)
                    select.select([] if pooler else [conn.fileno()], [], [], POLL)
        except psycopg.OperationalError as e:
            say(f"connection lost: {str(e).strip()}; reconnecting")
            time.sleep(1)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: gateway.py [--pooler] SERIAL...")
    main(sys.argv[1:])

#!/usr/bin/env python3
"""A dtmv client's catch-up loop, with psycopg 3 (docs/applications.md).

It prints every event on the twins its user may read, each once and in
order, and keeps the id of the last one it handled in a file, so that it
goes on where it stopped after a lost connection or a restart:

    PGHOST=db.example PGUSER=alice PGDATABASE=dtmv python3 catchup.py last_event_id

The connection comes from the PG* environment variables (libpq's), as the
user herself. Stop it with SIGTERM or Ctrl-C.
"""
import json
import os
import select
import signal
import sys
import time

import psycopg

BATCH = 100  # events per call of events_since
POLL = 5  # seconds: look now and then even without a wake-up (a wake-up is a hint)

stopping = False


def stop(signum, frame):
    global stopping
    stopping = True


def load(path):
    """the id of the last event handled, or None the first time"""
    try:
        with open(path) as f:
            return int(f.read())
    except FileNotFoundError:
        return None


def save(path, last_id):
    """keep last_id on disk: written beside the old one, then renamed over it"""
    with open(path + ".tmp", "w") as f:
        f.write(f"{last_id}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def handle(event_id, twin, kind, payload):
    """what the application does with an event: here, print it"""
    print(f"event {event_id} {kind} {twin} {json.dumps(payload, sort_keys=True)}", flush=True)


def resync(conn, path):
    """start from the twins' state: the first time, and after events were pruned"""
    # the horizon first: a change made while we read the state comes again as an event
    last_id = conn.execute("SELECT dtmv.event_horizon()").fetchone()[0]
    for twin, reported in conn.execute("SELECT twin, reported FROM dtmv.twin_states ORDER BY twin"):
        print(f"state {twin} {json.dumps(reported, sort_keys=True)}", flush=True)
    save(path, last_id)
    return last_id


def catch_up(conn, path, last_id):
    """handle every event after last_id; returns the last one's id"""
    while True:
        rows = conn.execute("SELECT event_id, twin, kind, payload FROM dtmv.events_since(%s, %s)",
                            (last_id, BATCH)).fetchall()
        for event_id, twin, kind, payload in rows:
            handle(event_id, twin, kind, payload)
            save(path, event_id)
            last_id = event_id
        if len(rows) < BATCH:
            return last_id


def main(path):
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        try:
            with psycopg.connect(autocommit=True) as conn:
                woken = []
                conn.add_notify_handler(woken.append)
                # on every connection: channel names are private and may change
                channels = conn.execute("SELECT dtmv.listen()").fetchall()
                print(f"listening on {len(channels)} channel(s)", flush=True)
                last_id = load(path)  # where the last connection left off
                if last_id is None:
                    last_id = resync(conn, path)
                while not stopping:
                    woken.clear()
                    try:
                        last_id = catch_up(conn, path, last_id)
                    except psycopg.Error as e:
                        if e.sqlstate != "TW002":
                            raise
                        print(f"resync: {e.diag.message_primary}", flush=True)
                        last_id = resync(conn, path)
                        continue
                    if not woken:  # nothing came in while we read: wait
                        select.select([conn.fileno()], [], [], POLL)
        except psycopg.OperationalError as e:
            # the server restarted, the network broke, our session was ended
            print(f"connection lost: {str(e).strip()}; reconnecting", flush=True)
            time.sleep(1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: catchup.py FILE  (where the id of the last event handled is kept)")
    main(sys.argv[1])

#!/usr/bin/python3
"""Every committed event reaches every reader allowed to read it exactly once,
and nothing that rolled back reaches anyone (REQ-DT-06, the catch-up protocol
of docs/events.md), under a randomized concurrent load with real sessions.

Writers (gateway sessions) report on random twins in short transactions,
long ones (up to 2.5 s, holding their twin), transactions of several events,
and transactions that roll back. Readers follow docs/events.md: LISTEN, start
at event_horizon(), call events_since(last) and continue from the last id;
one reader's statements sleep before they call events_since (so the
statement's snapshot is older than the call), one pages with a small max.
Each payload carries a unique token; at the end a checker compares what each
reader received with what committed on the twins it may read.

Run inside a throwaway cluster (test/with-cluster.sh), with or without dtmv
preloaded. Prints TAP lines; exits non-zero on a failure.
    no_lost_events.py [SECONDS] [SEED]
"""
import os
import random
import select
import sys
import threading
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dtmvtest import Tap, connect  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 20
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
WRITERS = 5
TWINS = 16


def setup():
    with connect() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS dtmv CASCADE")
        for role, group, kind in (("nl_alice", "dtmv_user", "user"), ("nl_bob", "dtmv_user", "user"),
                                  ("nl_carol", "dtmv_user", "user"), ("nl_gw", "dtmv_gateway", "system")):
            c.execute(f"CREATE ROLE {role} LOGIN IN ROLE {group}")
            c.execute("SELECT dtmv.create_subject(%s, %s, %s)", (role, role, kind))
        # the gateway serves alice's meters (each binding confirmed by it)
        c.execute("SELECT dtmv.register_gateway('nl_gw', 'nl_alice')")
        c.execute("SET ROLE nl_alice")
        twins = [c.execute("SELECT dtmv.create_twin('meter', %s, physical_binding => %s)::text",
                           (f"meter {i}", f"NL-{i}")).fetchone()[0]
                 for i in range(TWINS)]
        c.execute("SET ROLE nl_gw")
        for i in range(TWINS):
            c.execute("SELECT dtmv.confirm_binding(%s)", (f"NL-{i}",))
        c.execute("SET ROLE nl_alice")
        # bob may read the even twins; carol none
        for t in twins[::2]:
            c.execute("SELECT dtmv.grant(%s, 'nl_bob', 'read')", (t,))
    return twins


committed = {}          # token -> twin
rolled_back = set()
log_lock = threading.Lock()
writers_done = threading.Event()
errors = []


def writer(wid, twins):
    rnd = random.Random(SEED * 100 + wid)
    conn = connect("nl_gw")
    n = 0
    deadline = time.time() + SECONDS
    while time.time() < deadline:
        # the last writer writes short transactions only, for volume
        kind = "short" if wid == WRITERS - 1 else rnd.choice(["short"] * 6 + ["long", "several", "several", "rollback"])
        written = []
        try:
            with conn.transaction() as tx:
                count = rnd.randint(2, 4) if kind == "several" else 1
                # long transactions hold the first four twins (a report
                # holds its twin to the end); the short-only writer keeps to
                # the others; several twins in one transaction, always in
                # one order (no deadlock)
                pool = twins[:4] if kind == "long" else twins[4:] if wid == WRITERS - 1 else twins
                chosen = sorted(rnd.sample(pool, count))
                for t in chosen:
                    n += 1
                    token = f"w{wid}n{n}"
                    conn.execute("SELECT dtmv.report(%s, 'reading', %s)",
                                 (t, psycopg.types.json.Jsonb({"token": token})))
                    written.append((token, t))
                if kind == "long":
                    time.sleep(rnd.uniform(0.5, 2.5))
                elif kind == "rollback":
                    time.sleep(rnd.uniform(0, 0.3))
                    raise psycopg.Rollback(tx)
        except psycopg.Error as e:      # a deadlock or a serialization error: not committed
            errors.append(str(e).splitlines()[0])
            with log_lock:
                rolled_back.update(tok for tok, _ in written)
            continue
        with log_lock:
            if kind == "rollback":
                rolled_back.update(tok for tok, _ in written)
            else:
                committed.update(written)
    conn.close()


received = {}           # reader name -> list of (id, token, twin)


def reader(name, role, mode, start):
    conn = connect(role)
    conn.execute("SELECT dtmv.listen()")
    got = received.setdefault(name, [])
    last = start
    quiet_since = None
    max_rows = 3 if mode == "paging" else 1000
    while True:
        if mode == "slow_statement":
            # the statement's snapshot is taken before the sleep; the
            # catch-up runs after whatever committed meanwhile
            sql = ("SELECT e.id, e.payload ->> 'token', e.twin::text"
                   "  FROM (SELECT pg_sleep(%s)) s, LATERAL dtmv.events_since(%s, %s) e ORDER BY e.id")
            params = (random.uniform(0, 0.3), last, max_rows)
        else:
            sql = "SELECT id, payload ->> 'token', twin::text FROM dtmv.events_since(%s, %s) ORDER BY id"
            params = (last, max_rows)
        rows = conn.execute(sql, params).fetchall()
        for row in rows:
            got.append(row)
            last = row[0]
        if len(rows) == max_rows:
            continue
        if rows:
            quiet_since = None
        elif writers_done.is_set():
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 3:
                break
        # wait for a wake-up (the next query reads it), or poll again after 200 ms
        select.select([conn.fileno()], [], [], 0.2)
    conn.close()


def main():
    twins = setup()
    readable = {"alice": set(twins), "alice_slow": set(twins), "bob_paging": set(twins[::2]), "carol": set()}
    with connect("nl_alice") as c:
        start = c.execute("SELECT dtmv.event_horizon()").fetchone()[0]
    readers = [threading.Thread(target=reader, args=a) for a in (
        ("alice", "nl_alice", "plain", start), ("alice_slow", "nl_alice", "slow_statement", start),
        ("bob_paging", "nl_bob", "paging", start), ("carol", "nl_carol", "plain", start))]
    writers = [threading.Thread(target=writer, args=(i, twins)) for i in range(WRITERS)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    writers_done.set()
    for t in readers:
        t.join()

    print(f"# seed {SEED}, {SECONDS:.0f} s: {len(committed)} events committed, {len(rolled_back)} rolled back"
          f" ({len(errors)} transactions failed: {sorted(set(errors))[:3]})")
    tap = Tap()
    check = tap.check
    check(len(committed) > 100 and len(rolled_back) > 0, "the load committed events and rolled some back")
    for name, may_read in readable.items():
        got = received[name]
        ids = [r[0] for r in got]
        tokens = [r[1] for r in got]
        expected = {tok for tok, twin in committed.items() if twin in may_read}
        missing = expected - set(tokens)
        extra = set(tokens) - expected
        dupes = len(tokens) - len(set(tokens))
        check(not missing, f"{name}: received every committed event it may read ({len(expected)})"
              + (f"; missing {len(missing)}, e.g. {sorted(missing)[:5]}" if missing else ""))
        check(not dupes, f"{name}: received each once ({dupes} duplicates)")
        check(not extra, f"{name}: received nothing rolled back or unreadable"
              + (f"; got {sorted(extra)[:5]}" if extra else ""))
        check(ids == sorted(set(ids)), f"{name}: ids strictly increasing")
        # a writer's events on one twin arrive in the order it wrote them
        seen = {}
        in_order = True
        for tok, twin in zip(tokens, (r[2] for r in got)):
            w, k = tok[1:].split("n")
            if seen.get((w, twin), -1) > int(k):
                in_order = False
            seen[(w, twin)] = int(k)
        check(in_order, f"{name}: each writer's events on a twin in the order written")
    tap.done()


if __name__ == "__main__":
    main()

"""Event delivery across systems (docs/federation.md, "Events across
systems"): a gateway at the twin system reports at a fixed rate; alice's
client at the metaverse system LISTENs (dtmv.listen()) and catches up with
dtmv.events_since. Prints the latency from each report (its call, and its
commit) to the client's read of the relayed event, p50 / p99 / max.

Environment: HOME_DSN (the twin system, as its gateway), MV_DSN (the
metaverse system, as alice), TWINS (comma list), BENCH_RATE (events/s, 1000),
BENCH_SECONDS (10), BENCH_WRITERS (2)."""
import json
import os
import select
import threading
import time

import psycopg

RATE = int(os.environ.get("BENCH_RATE", "1000"))
SECS = float(os.environ.get("BENCH_SECONDS", "10"))
WRITERS = int(os.environ.get("BENCH_WRITERS", "2"))
TWINS = os.environ["TWINS"].split(",")
sent = {}          # seq -> (call started, report returned), monotonic
got = {}           # seq -> read at the metaverse client
writers_done = threading.Event()


def writer(i):
    with psycopg.connect(os.environ["HOME_DSN"], autocommit=True) as conn:
        gap = WRITERS / RATE
        start = time.monotonic()
        k = 0
        while True:
            due = start + k * gap
            if due - start >= SECS:
                break
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            seq = f"{i}-{k}"
            t0 = time.monotonic()
            conn.execute("SELECT dtmv.report(%s, 'reading', %s::jsonb)",
                         (TWINS[(i + k) % len(TWINS)], json.dumps({"seq": seq})), prepare=True)
            sent[seq] = (t0, time.monotonic())
            k += 1


def reader(start):
    with psycopg.connect(os.environ["MV_DSN"], autocommit=True) as conn:
        conn.execute("SELECT dtmv.listen()")
        last = start
        quiet_since = None
        while True:
            rows = conn.execute("SELECT event_id, payload ->> 'seq' FROM dtmv.events_since(%s, 1000)",
                                (last,), prepare=True).fetchall()
            now = time.monotonic()
            for event_id, seq in rows:
                if seq is not None:
                    got[seq] = now
                last = event_id
            if len(rows) == 1000:
                continue
            if writers_done.is_set() and len(got) >= len(sent):
                break
            if rows:
                quiet_since = None
            elif writers_done.is_set():
                quiet_since = quiet_since or now
                if now - quiet_since > 10:
                    break
            # a wake-up makes the socket readable; a poll every 50 ms anyway
            select.select([conn.fileno()], [], [], 0.05)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def main():
    with psycopg.connect(os.environ["MV_DSN"], autocommit=True) as conn:
        start = conn.execute("SELECT dtmv.event_horizon()").fetchone()[0]
    r = threading.Thread(target=reader, args=(start,))
    r.start()
    ws = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    t0 = time.monotonic()
    for w in ws:
        w.start()
    for w in ws:
        w.join()
    took = time.monotonic() - t0
    writers_done.set()
    r.join()
    from_call = [(got[s] - c) * 1000 for s, (c, _) in sent.items() if s in got]
    from_commit = [(got[s] - d) * 1000 for s, (_, d) in sent.items() if s in got]
    print(f"reported {len(sent)} events in {took:.1f} s ({len(sent) / took:.0f} events/s, goal {RATE}), "
          f"{len(got)} reached alice's client at the metaverse system"
          f" ({len(sent) - len([s for s in sent if s in got])} missing)")
    print(f"latency, report's call -> read at the metaverse client: p50 {pct(from_call, 0.5):.1f} ms, "
          f"p99 {pct(from_call, 0.99):.1f} ms, max {max(from_call):.1f} ms (goal p99 < 50 ms)")
    print(f"latency, report's commit -> read at the metaverse client: p50 {pct(from_commit, 0.5):.1f} ms, "
          f"p99 {pct(from_commit, 0.99):.1f} ms, max {max(from_commit):.1f} ms")


main()

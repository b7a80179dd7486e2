#!/usr/bin/python3
"""dtmv's event log against PgQ doing the same work (REQ-DT-06; issue: events
that are never lost). Run by test/bench/events.sh in a cluster with dtmv
preloaded, after its set-up (bench_twins, roles bench_gw and bench_viewer).

Each side: 8 writers (pgbench, prepared statements) append an event with the
same payload for one of 1,000 twins, for SECONDS; one consumer follows that
side's protocol and counts what it receives:
  PgQ:  pgq.insert_event(queue, 'reading', payload, twin); pgq.ticker() every
        100 ms; the consumer loops next_batch / get_batch_events /
        finish_batch, polling every 10 ms when there is no batch;
  dtmv: dtmv.report(twin, 'reading', payload); the consumer follows
        docs/events.md: dtmv.listen(), events_since(last), continue from the
        last id, wait for a wake-up (or 200 ms).
The payload carries the writer's clock_timestamp(); latency is the time from
it (just before the commit) to the consumer having the event. Runs in the
order A B B A (PgQ, dtmv, dtmv, PgQ), then again with an idle session
holding a transaction id open in another database. Prints figures; never
fails on a figure (it does say when a consumer missed or repeated events).
    events_pgq.py [SECONDS]
"""
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dtmvtest import connect as test_connect  # noqa: E402

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
DB = os.environ.get("PGDATABASE", "postgres")


def connect(role=None, dbname=DB, autocommit=True):
    return test_connect(role, dbname, autocommit, search_path=dbname == DB)


def setup():
    with connect() as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pgq")
        c.execute("SELECT pgq.create_queue('bench')")
        # a tick on every pgq.ticker() call that has events (by default PgQ
        # waits for 500 events or 3 s): PgQ at its best with a 100 ms ticker
        c.execute("SELECT pgq.set_queue_config('bench', 'ticker_max_lag', '100 milliseconds')")
        c.execute("SELECT pgq.register_consumer('bench', 'bench_consumer')")
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = 'bench_other'").fetchone():
            c.execute("CREATE DATABASE bench_other")


SCRIPTS = {
    "pgq": """\\set n random(1, 1000)
SELECT pgq.insert_event('bench', 'reading',
       json_build_object('temp', 21, 'run', :run::int, 't', clock_timestamp())::text, id::text, NULL, NULL, NULL)
  FROM bench_twins WHERE n = :n;
""",
    "dtmv": """\\set n random(1, 1000)
SELECT dtmv.report(id, 'reading', jsonb_build_object('temp', 21, 'run', :run::int, 't', clock_timestamp()))
  FROM bench_twins WHERE n = :n;
""",
}
ROLES = {"pgq": None, "dtmv": "bench_gw"}


class Consumer(threading.Thread):
    """follows one side's protocol; records (event key, latency) for run"""

    def __init__(self, side, run):
        super().__init__(daemon=True)
        self.side, self.run_id = side, str(run)
        self.keys, self.latencies = [], []
        self.stop = threading.Event()

    def record(self, rows):
        """rows of (key, run, latency ms): the latency computed by the server
        as clock_timestamp() when reading minus the writer's timestamp"""
        for key, run, ms in rows:
            if run == self.run_id:
                self.keys.append(key)
                self.latencies.append(float(ms))

    def run_pgq(self):
        conn = connect()
        while not self.stop.is_set():
            with conn.transaction():
                batch = conn.execute("SELECT pgq.next_batch('bench', 'bench_consumer')").fetchone()[0]
                if batch is None:
                    pass
                else:
                    self.record(conn.execute(
                        "SELECT ev_id, ev_data::json ->> 'run',"
                        "       extract(epoch FROM clock_timestamp() - (ev_data::json ->> 't')::timestamptz) * 1000"
                        "  FROM pgq.get_batch_events(%s)", (batch,)).fetchall())
                    conn.execute("SELECT pgq.finish_batch(%s)", (batch,))
            if batch is None:
                time.sleep(0.01)
        conn.close()

    def run_dtmv(self):
        conn = connect("bench_viewer")
        conn.execute("SELECT dtmv.listen()")
        last = conn.execute("SELECT dtmv.event_horizon()").fetchone()[0]
        while not self.stop.is_set():
            rows = conn.execute(
                "SELECT id, payload ->> 'run',"
                "       extract(epoch FROM clock_timestamp() - (payload ->> 't')::timestamptz) * 1000"
                "  FROM dtmv.events_since(%s, 1000)", (last,)).fetchall()
            self.record(rows)
            if rows:
                last = rows[-1][0]
            if len(rows) < 1000:
                select.select([conn.fileno()], [], [], 0.2)
        conn.close()

    def run(self):
        (self.run_pgq if self.side == "pgq" else self.run_dtmv)()


def ticker(stop):
    conn = connect()
    while not stop.is_set():
        conn.execute("SELECT pgq.ticker()")
        time.sleep(0.1)
    conn.close()


def produce(side, run, rate=None):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(SCRIPTS[side])
    env = dict(os.environ)
    if ROLES[side]:
        env["PGOPTIONS"] = f"-c role={ROLES[side]}"
    limit = ["-R", str(rate)] if rate else []
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(CLIENTS), "-j", "2", "-T", str(SECONDS), *limit,
                          "-D", f"run={run}", "-f", f.name, DB], capture_output=True, text=True, env=env)
    os.unlink(f.name)
    found = re.search(r"number of transactions actually processed: (\d+)", out.stdout)
    if not found:
        sys.exit(f"pgbench failed: {out.stdout}{out.stderr}")
    processed = int(found.group(1))
    return processed


def one_run(side, run, rate=None):
    consumer = Consumer(side, run)
    consumer.start()
    time.sleep(0.5)
    t0 = time.time()
    produced = produce(side, run, rate)
    elapsed = time.time() - t0
    deadline = time.time() + 30
    while len(consumer.keys) < produced and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)     # anything more would be a duplicate
    consumer.stop.set()
    consumer.join()
    lat = sorted(consumer.latencies)
    got, distinct = len(consumer.keys), len(set(consumer.keys))
    p50 = statistics.median(lat) if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    return {"side": side, "rate": produced / SECONDS, "produced": produced, "got": got, "distinct": distinct,
            "p50": p50, "p99": p99, "elapsed": elapsed}


def report(r):
    exact = "every event exactly once" if r["got"] == r["distinct"] == r["produced"] else \
        f"MISSED {r['produced'] - r['distinct']}, DUPLICATES {r['got'] - r['distinct']}"
    print(f"  {r['side']:4}: produced {r['rate']:8.0f} events/s ({r['produced']}), consumer got {r['distinct']}"
          f" ({exact}); latency p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms", flush=True)


def series(title, run, rate=None):
    """A B B A: PgQ, dtmv, dtmv, PgQ; prints each run and the ratios of means"""
    print(f"== {title}", flush=True)
    results = []
    for side in ("pgq", "dtmv", "dtmv", "pgq"):
        run += 1
        r = one_run(side, run, rate)
        report(r)
        results.append(r)
    mean = {s: statistics.mean(r["rate"] for r in results if r["side"] == s) for s in ("pgq", "dtmv")}
    p50 = {s: statistics.mean(r["p50"] for r in results if r["side"] == s) for s in ("pgq", "dtmv")}
    p99 = {s: max(r["p99"] for r in results if r["side"] == s) for s in ("pgq", "dtmv")}
    exact = all(r["got"] == r["distinct"] == r["produced"] for r in results)
    print(f"  produced dtmv / PgQ (means): {mean['dtmv'] / mean['pgq']:.2f}x; latency p50 (mean) dtmv"
          f" {p50['dtmv']:.1f} ms, PgQ {p50['pgq']:.1f} ms; p99 (worst) dtmv {p99['dtmv']:.1f} ms, PgQ"
          f" {p99['pgq']:.1f} ms; {'every event delivered exactly once' if exact else 'EVENTS MISSED OR REPEATED'}",
          flush=True)
    return run


def main():
    setup()
    stop_ticker = threading.Event()
    tick = threading.Thread(target=ticker, args=(stop_ticker,), daemon=True)
    tick.start()
    run = 0
    rate = int(os.environ.get("BENCH_RATE", "2000"))
    run = series(f"flat out: {CLIENTS} writers, {SECONDS} s each, order A B B A (goal: dtmv >= 1.2x PgQ)", run)
    run = series(f"at {rate} events/s ({CLIENTS} writers, pgbench -R), {SECONDS} s each, A B B A"
                 " (goal: dtmv p99 < 20 ms)", run, rate)
    holder = connect(dbname="bench_other", autocommit=False)
    holder.execute("SELECT txid_current()")     # idle in transaction, holding an xid
    run = series(f"the same at {rate} events/s with an idle session holding an xid in another database", run, rate)
    holder.rollback()
    holder.close()
    stop_ticker.set()
    tick.join()


if __name__ == "__main__":
    main()

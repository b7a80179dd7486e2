"""The programs of docs/applications.md (docs/examples/), run as a user runs
them: psycopg 3, node-postgres and libpq (compiled here with cc ... -lpq),
each connecting with a login and password of its own from the PG*
environment. Checks what they did:

- the catch-up loop: every event its user may read, printed exactly once
  and in order (ids as in dtmv.events), none she may not read, across a
  forced reconnect (pg_terminate_backend of its session, with more than a
  batch written meanwhile), woken after it (LISTEN again), across a restart
  (the last id kept in a file) and a prune (TW002: resync from the twins'
  state, then on);
- the gateway, with its session lock and in pooler mode (through Debian's
  pgbouncer in transaction mode): confirms its device, completes a sync with
  the device's state (its lease renewed while the slow device answers),
  acknowledges a command with the device's result and fails one the device
  cannot do, answers again after a forced reconnect, and leaves alone a
  twin served by the same gateway through a device it does not have.

Also: each block of docs/applications.md marked as taken from an example
file is in that file, as it is. Run against a throwaway cluster with dtmv
preloaded (PG* from the environment) by test/run-tests.sh; prints TAP."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dtmvtest import Tap, connect  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(ROOT, "docs", "examples")
tap = Tap()
tmp = tempfile.mkdtemp(prefix="dtmv-apps-")
PASSWORD = "apps-secret"

# the C programs, built as docs/applications.md says
include = subprocess.run(["pg_config", "--includedir"], capture_output=True, text=True, check=True).stdout.strip()
for prog in ("catchup", "gateway"):
    subprocess.run(["cc", "-Wall", "-o", f"{tmp}/{prog}", f"{EXAMPLES}/libpq/{prog}.c", f"-I{include}", "-lpq"],
                   check=True)
LANGS = {
    "psycopg": lambda prog: ["/usr/bin/python3", f"{EXAMPLES}/python/{prog}.py"],
    "node-postgres": lambda prog: ["node", f"{EXAMPLES}/node/{prog}.js"],
    "libpq": lambda prog: [f"{tmp}/{prog}"],
}
if os.environ.get("DTMV_APPS_LANGS"):  # a few of them, while working on one
    LANGS = {k: v for k, v in LANGS.items() if k in os.environ["DTMV_APPS_LANGS"].split(",")}


class Program:
    """one of the examples, running; its output lines in .lines"""

    def __init__(self, argv, user, **env):
        env = dict(os.environ, PGUSER=user, PGPASSWORD=PASSWORD,
                   NODE_PATH=os.path.join(ROOT, "test", "clients", "node_modules"), **env)
        env.pop("PGOPTIONS", None)
        self.lines = []
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def matching(self, pattern):
        return [m for m in (re.match(pattern, line) for line in list(self.lines)) if m]

    def stop(self):
        """SIGTERM; its exit status (None if it did not exit within 10 s)"""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None

    def log(self):
        return "\n".join("# " + line for line in self.lines[-40:])


def wait_until(fn, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.05)
    return fn()


def check(ok, what, prog=None):
    if not tap.check(ok, what) and prog is not None:
        print(prog.log(), flush=True)
    return ok


admin = connect(search_path=False)
admin.execute("CREATE EXTENSION IF NOT EXISTS dtmv CASCADE")
for role, group, subject, kind in [("app_alice", "dtmv_user", "alice", "user"), ("app_bob", "dtmv_user", "bob", "user"),
                                   ("app_gw", "dtmv_gateway", "home gateway", "system")]:
    admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}' IN ROLE {group}")
    admin.execute("SELECT dtmv.create_subject(%s, %s, %s)", (subject, role, kind))
admin.execute("SELECT dtmv.register_gateway('home gateway', 'alice')")
alice = connect("app_alice", search_path=False)
bob = connect("app_bob", search_path=False)


def one(conn, sql, *params):
    return conn.execute(sql, params).fetchone()[0]


door = one(alice, "SELECT dtmv.create_twin('door', 'Front door')")
lamp = one(alice, "SELECT dtmv.create_twin('lamp', 'Desk lamp')")
safe = one(bob, "SELECT dtmv.create_twin('safe', 'Bob''s safe')")  # alice may not read it
admin.execute("SELECT dtmv.report(%s, 'status', '{\"light\": \"off\"}')", (lamp,))


def ticks(twin, first, last):
    """events on a twin, as its gateway reports them (here the superuser, who serves every twin)"""
    admin.execute("SELECT dtmv.report(%s, 'tick', jsonb_build_object('n', g)) FROM generate_series(%s::int, %s::int) g",
                  (twin, first, last))


def ordered():
    """every event committed has its id (the worker orders them)"""
    return wait_until(lambda: one(admin, "SELECT count(*) FROM dtmv.event_inbox") == 0, 10)


def catch_up_scenario(lang, base):
    path = f"{tmp}/last-event-id-{lang}"
    ticks_of = lambda prog: [(int(m[1]), json.loads(m[4])["n"]) for m in prog.matching(r"event (\d+) (tick) (\S+) (.*)$")
                             if m[3] == door]  # noqa: E731
    p = Program(LANGS[lang]("catchup") + [path], "app_alice")
    check(wait_until(lambda: p.matching("listening on 1 channel") and os.path.exists(path), 15),
          f"{lang} catch-up: listening, the first time from the twins' state", p)
    states = {m[1]: json.loads(m[2]) for m in p.matching(r"state (\S+) (.*)$")}
    expected = dict(admin.execute("SELECT twin::text, reported FROM dtmv.twin_states WHERE twin IN (%s, %s)", (door, lamp)))
    check(states == expected, f"{lang} catch-up: the state of her twins, not Bob's ({states})")

    ticks(door, base + 1, base + 20)
    ticks(safe, 1, 5)
    check(wait_until(lambda: len(ticks_of(p)) >= 20, 10), f"{lang} catch-up: 20 events", p)
    ended = one(admin, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'app_alice'"
                " AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
    ticks(door, base + 21, base + 170)  # more than a batch (100), while it reconnects
    check(ended >= 1 and wait_until(lambda: len(p.matching("listening")) == 2 and len(ticks_of(p)) >= 170, 15),
          f"{lang} catch-up: its session ended ({ended}), it reconnected and caught up", p)
    time.sleep(0.3)
    t0 = time.monotonic()
    ticks(door, base + 171, base + 171)
    check(wait_until(lambda: len(ticks_of(p)) >= 171, 10) and time.monotonic() - t0 < 2.5,
          f"{lang} catch-up: woken after the reconnect (listening again): {time.monotonic() - t0:.2f} s", p)
    check(p.stop() == 0, f"{lang} catch-up: stops on SIGTERM", p)
    got = ticks_of(p)
    db = [tuple(r) for r in admin.execute(
        "SELECT event_id, (payload->>'n')::int FROM dtmv.events WHERE twin = %s AND kind = 'tick'"
        " AND (payload->>'n')::int > %s ORDER BY event_id", (door, base))]
    check(got == db and [n for _, n in got] == list(range(base + 1, base + 172)),
          f"{lang} catch-up: every event once, in order, ids as in dtmv.events ({len(got)} of {len(db)})", p)
    ids = [int(m[1]) for m in p.matching(r"event (\d+) ")]
    check(ids == sorted(set(ids)) and not p.matching(rf"event \d+ \S+ {safe} "),
          f"{lang} catch-up: event ids rising, none of Bob's twin", p)
    with open(path) as f:
        check(int(f.read()) == ids[-1], f"{lang} catch-up: the file keeps the last id handled ({ids[-1]})")

    # stopped: events come and go (pruned); started again, it resyncs
    ticks(door, base + 172, base + 180)
    admin.execute("SELECT dtmv.report(%s, 'status', '{\"light\": \"on\"}')", (lamp,))
    ordered()
    check(one(admin, "SELECT dtmv.prune_events('0 seconds')") > 0, f"{lang} catch-up: events pruned while it was away")
    p = Program(LANGS[lang]("catchup") + [path], "app_alice")
    check(wait_until(lambda: p.matching("resync") and len(p.matching("state ")) == 2, 15),
          f"{lang} catch-up: started again, TW002 told it to resync", p)
    states = {m[1]: json.loads(m[2]) for m in p.matching(r"state (\S+) (.*)$")}
    check(states == {door: {"n": base + 180}, lamp: {"light": "on"}}, f"{lang} catch-up: the state it resynced from",
          p)
    time.sleep(0.3)
    ticks(door, base + 181, base + 181)
    check(wait_until(lambda: ticks_of(p), 10), f"{lang} catch-up: goes on after the resync", p)
    time.sleep(0.5)
    check([n for _, n in ticks_of(p)] == [base + 181], f"{lang} catch-up: the new event once, none pruned", p)
    check(p.stop() == 0, f"{lang} catch-up: stops on SIGTERM", p)


def gateway_scenario(lang, pooler, port):
    mode = "pooler mode, through pgbouncer" if pooler else "session lock"
    what = f"{lang} gateway ({mode})"
    serial = f"DOOR-{lang}-{'pooler' if pooler else 'direct'}"
    twin = one(alice, "SELECT dtmv.create_twin('door', %s, physical_binding => %s)", serial, serial)
    request = one(alice, "SELECT dtmv.request_sync(%s)", twin)
    opened = one(alice, "SELECT dtmv.interact(%s, 'open')", twin)
    camera = one(alice, "SELECT dtmv.interact(%s, 'view_camera')", twin)
    env = {"GATEWAY_LEASE": "2", "PRETEND_DEVICE_SECONDS": "3"}
    if pooler:
        env.update(PGHOST="127.0.0.1", PGPORT=str(port))
    g = Program(LANGS[lang]("gateway") + (["--pooler"] if pooler else []) + [serial], "app_gw", **env)
    status = lambda table, key, id: one(admin, f"SELECT status FROM dtmv.{table} WHERE {key} = %s", id)  # noqa: E731
    state = lambda: one(admin, "SELECT reported FROM dtmv.twin_states WHERE twin = %s", twin)  # noqa: E731
    check(wait_until(lambda: status("sync_requests", "request_id", request) in ("succeeded", "failed"), 20)
          and status("sync_requests", "request_id", request) == "succeeded",
          f"{what}: the sync succeeded", g)
    check(state() == {"door": "open", "battery": 87}, f"{what}: with the state the device reported ({state()})")
    check(len(g.matching(r".*lease renewed")) >= 2, f"{what}: its lease renewed while the device answered", g)
    result = lambda id: one(admin, "SELECT result FROM dtmv.commands WHERE command_id = %s", id)  # noqa: E731
    check(status("commands", "command_id", opened) == "succeeded" and result(opened) == {"door": "open"},
          f"{what}: the command done, with the device's result ({result(opened)})", g)
    check(status("commands", "command_id", camera) == "failed"
          and result(camera) == {"error": "a door cannot view_camera"},
          f"{what}: a command the device cannot do failed, with its reason ({result(camera)})", g)
    users = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'app_gw'"
    ended = one(admin, users)
    closed = one(alice, "SELECT dtmv.interact(%s, 'close')", twin)
    check(ended >= 1 and wait_until(lambda: status("commands", "command_id", closed) == "succeeded", 15)
          and state()["door"] == "closed", f"{what}: its session ended ({ended}), it answered the next command", g)
    check(g.stop() == 0, f"{what}: stops on SIGTERM", g)
    check(not g.matching(r"(?i).*(traceback|error:|GARDEN)"), f"{what}: no error, the garden lamp not named", g)


# pgbouncer in transaction mode before the cluster, for the gateway's login
bouncer_port = 6432 + os.getpid() % 1000
with open(f"{tmp}/pgbouncer.ini", "w") as f:
    f.write(f"""[databases]
* = host={os.environ.get('PGHOST', 'localhost')} port={os.environ.get('PGPORT', '5432')}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {bouncer_port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {tmp}/users.txt
pool_mode = transaction
server_round_robin = 1
default_pool_size = 3
logfile = {tmp}/pgbouncer.log
pidfile = {tmp}/pgbouncer.pid
""")
with open(f"{tmp}/users.txt", "w") as f:
    f.write(f'"app_gw" "{PASSWORD}"\n')
os.chmod(tmp, 0o755)
bouncer_cmd = ["/usr/sbin/pgbouncer", f"{tmp}/pgbouncer.ini"]
if os.geteuid() == 0:  # pgbouncer refuses to run as root
    shutil.chown(tmp, "postgres")
    for name in os.listdir(tmp):
        shutil.chown(os.path.join(tmp, name), "postgres")
    bouncer_cmd = ["runuser", "-u", "postgres", "--"] + bouncer_cmd
bouncer = subprocess.Popen(bouncer_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
try:
    # three server connections in the gateway's pool, handed out in turn: one
    # client's consecutive statements run in different server sessions
    through = dict(host="127.0.0.1", port=bouncer_port, user="app_gw", password=PASSWORD, dbname=admin.info.dbname)
    wait_until(lambda: subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(bouncer_port)]).returncode == 0, 10)
    held = [psycopg.connect(**through) for _ in range(3)]
    for c in held:
        c.execute("SELECT 1")  # each in an open transaction: a server connection each
    for c in held:  # committed: their server connections go back to the pool (closed in a transaction, dropped)
        c.commit()
        c.close()
    with psycopg.connect(autocommit=True, prepare_threshold=None, **through) as c:
        pids = {c.execute("SELECT pg_backend_pid()").fetchone()[0] for _ in range(6)}
    check(len(pids) > 1, f"through pgbouncer, one client's statements ran in {len(pids)} server sessions")
    for i, lang in enumerate(LANGS):
        catch_up_scenario(lang, 1000 * (i + 1))
    # a twin bound through the same gateway to a device no example has
    garden = one(alice, "SELECT dtmv.create_twin('lamp', 'Garden lamp', physical_binding => 'GARDEN-1')")
    admin.execute("SELECT dtmv.confirm_binding('GARDEN-1', %s, 'home gateway')", (garden,))
    garden_sync = one(alice, "SELECT dtmv.request_sync(%s)", garden)
    garden_cmd = one(alice, "SELECT dtmv.interact(%s, 'on')", garden)
    for lang in LANGS:
        for pooler in (False, True):
            gateway_scenario(lang, pooler, bouncer_port)
    garden_status = one(admin, "SELECT status FROM dtmv.sync_requests WHERE request_id = %s", garden_sync)
    check(garden_status == "pending",
          f"the garden lamp's sync waits for the gateway that has its device ({garden_status})")
    check(one(admin, "SELECT status FROM dtmv.commands WHERE command_id = %s", garden_cmd) == "queued"
          and one(admin, "SELECT reported FROM dtmv.twin_states WHERE twin = %s", garden) == {},
          "the garden lamp's command still queued, its state untouched")
finally:
    bouncer.terminate()
    bouncer.wait()

# the page shows parts of the examples: each as it is in its file
page = open(os.path.join(ROOT, "docs", "applications.md")).read()
blocks = re.findall(r"<!-- from (\S+) -->\s*```\w*\n(.*?)```", page, re.S)
check(len(blocks) >= 6, f"docs/applications.md shows {len(blocks)} parts of the examples")
for path, block in blocks:
    check(block in open(os.path.join(ROOT, path)).read(), f"docs/applications.md: a part of {path}, as it is there")
shutil.rmtree(tmp, ignore_errors=True)
tap.done()

"""Twin ids from psycopg 3, as docs/identity.md says: with the default
search_path (no SET: as through a transaction pooler), ids sent as str, as
uuid.UUID (psycopg sends the 32-digit form, typed uuid), in lists, in
binary, through client-side binding and COPY; received as str, and as
uuid.UUID with twin_id's oid given uuid's loaders. Run against a throwaway
cluster (PG* from the environment) by test/run-tests.sh; prints TAP."""
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import psycopg  # noqa: E402
from psycopg.types import TypeInfo  # noqa: E402
from psycopg.types.uuid import UUIDBinaryLoader, UUIDLoader  # noqa: E402

from dtmvtest import Tap, connect  # noqa: E402

tap = Tap()


def attempt(what, fn):
    """a check whose statement may fail: the failure is the check's"""
    try:
        return tap.check(fn(), what)
    except psycopg.Error as e:
        return tap.check(False, f"{what}: {e.sqlstate} {e}".strip())


admin = connect(search_path=False)
admin.execute("CREATE EXTENSION IF NOT EXISTS dtmv CASCADE")
admin.execute("DROP ROLE IF EXISTS py_alice")
admin.execute("CREATE ROLE py_alice LOGIN IN ROLE dtmv_user")
admin.execute("SELECT dtmv.create_subject('py_alice', 'py_alice')")

c = connect("py_alice", search_path=False)
path = c.execute("SHOW search_path").fetchone()[0]
tap.check(path == '"$user", public', f"the session's search_path is the default ({path})")

# received as text: a str in the canonical form
tid = c.execute("SELECT dtmv.create_twin('door', 'Front door')").fetchone()[0]
tap.check(isinstance(tid, str) and str(uuid.UUID(tid)) == tid, f"create_twin's id arrives as a str ({tid})")
other = c.execute("SELECT dtmv.create_twin('lamp', 'Desk lamp')").fetchone()[0]
u = uuid.UUID(tid)

name_by = "SELECT name FROM dtmv.twins WHERE id = %s"
for form, value in [("a str", tid), ("a str without hyphens", u.hex), ("a str in braces, upper case", "{" + tid.upper() + "}"),
                    ("a uuid.UUID", u)]:
    attempt(f"WHERE id = %s with {form}", lambda v=value: c.execute(name_by, (v,)).fetchone() == ("Front door",))
attempt("WHERE id = %s with a uuid.UUID, prepared (a generic plan)",
        lambda: all(c.execute(name_by, (u,), prepare=True).fetchone() == ("Front door",) for _ in range(7)))
attempt("WHERE id = ANY (%s) with a list of str",
        lambda: c.execute("SELECT count(*) FROM dtmv.twins WHERE id = ANY (%s)", ([tid, other],)).fetchone()[0] == 2)
attempt("WHERE id = ANY (%s) with a list of uuid.UUID",
        lambda: c.execute("SELECT count(*) FROM dtmv.twins WHERE id = ANY (%s)",
                          ([u, uuid.UUID(other)],)).fetchone()[0] == 2)
attempt("WHERE id IN (%s, %s)",
        lambda: c.execute("SELECT count(*) FROM dtmv.twins WHERE id IN (%s, %s)", (u, other)).fetchone()[0] == 2)
attempt("a join of twin ids, ORDER BY id",
        lambda: [r[0] for r in c.execute("SELECT r.id FROM dtmv.twins r JOIN dtmv.twin_states s ON r.id = s.twin"
                                          " ORDER BY r.id")] == [tid, other])
attempt("dtmv.twin_info(%s) with a uuid.UUID: jsonb arrives as a dict",
        lambda: c.execute("SELECT dtmv.twin_info(%s)", (u,)).fetchone()[0]["name"] == "Front door")
attempt("dtmv.twin_info(dtmv.create_twin(...)) in one statement",
        lambda: c.execute("SELECT dtmv.twin_info(dtmv.create_twin('door', 'Back door')) ->> 'name'").fetchone()
        == ("Back door",))
attempt("dtmv.has_right(%s, ...) with a uuid.UUID",
        lambda: c.execute("SELECT dtmv.has_right(%s, 'admin')", (u,)).fetchone() == (True,))

# client-side binding (ClientCursor: what some poolers and tools need)
cc = psycopg.ClientCursor(c)
attempt("ClientCursor, a uuid.UUID bound into the statement's text",
        lambda: cc.execute(name_by, (u,)).fetchone() == ("Front door",))
attempt("ClientCursor, a str bound into the statement's text",
        lambda: cc.execute(name_by, (u.hex,)).fetchone() == ("Front door",))

# binary parameters: a uuid.UUID goes as uuid's 16 bytes; a str goes as
# text, which twin_id does not compare with (docs/identity.md)
attempt("binary parameter: a uuid.UUID (%b)", lambda: c.execute("SELECT name FROM dtmv.twins WHERE id = %b", (u,)).fetchone()
        == ("Front door",))
try:
    c.execute("SELECT name FROM dtmv.twins WHERE id = %b", (tid,))
    tap.check(False, "binary parameter: a str (%b) is text, which twin_id does not compare with")
except psycopg.errors.UndefinedFunction as e:
    tap.check(True, f"binary parameter: a str (%b) is text, which twin_id does not compare with ({e.sqlstate})")

# received in binary: bytes, unless twin_id's oid gets uuid's loaders
attempt("binary results: the 16 bytes",
        lambda: c.cursor(binary=True).execute("SELECT id FROM dtmv.twins WHERE id = %s", (u,)).fetchone()[0]
        == u.bytes)
info = TypeInfo.fetch(c, "dtmv.twin_id")
c.adapters.register_loader(info.oid, UUIDLoader)
c.adapters.register_loader(info.oid, UUIDBinaryLoader)
attempt("with uuid's loaders for twin_id's oid: a uuid.UUID, text results",
        lambda: c.execute("SELECT id FROM dtmv.twins WHERE id = %s", (u,)).fetchone()[0] == u)
attempt("with uuid's loaders for twin_id's oid: a uuid.UUID, binary results",
        lambda: c.cursor(binary=True).execute("SELECT id FROM dtmv.twins WHERE id = %s", (u,)).fetchone()[0] == u)

# COPY writes a uuid.UUID as psycopg's dumper does: 32 digits, no hyphens
c.execute("CREATE TEMP TABLE copied (twin dtmv.twin_id)")


def copy_uuids():
    with c.cursor().copy("COPY copied (twin) FROM STDIN") as copy:
        copy.write_row([u])
        copy.write_row([uuid.UUID(other)])
    return c.execute("SELECT count(*) FROM copied JOIN dtmv.twins t ON t.id = copied.twin").fetchone()[0] == 2


attempt("COPY FROM STDIN of uuid.UUID values into a twin_id column", copy_uuids)

# a uuid that is not a twin id: equal to none; a function refuses it
v4 = uuid.uuid4()
attempt("a version 4 uuid.UUID matches no twin", lambda: c.execute(name_by, (v4,)).fetchone() is None)
try:
    c.execute("SELECT dtmv.twin_info(%s)", (v4,))
    tap.check(False, "twin_info refuses a uuid.UUID that is not a twin id")
except psycopg.errors.InvalidParameterValue as e:
    tap.check(True, f"twin_info refuses a uuid.UUID that is not a twin id ({e.sqlstate}: {e})")

# events_since: event_id, as dtmv.events names it; id, the same, as in 0.1
start = c.execute("SELECT dtmv.event_horizon()").fetchone()[0]
admin.execute("SELECT dtmv._append_event(%s, NULL, 'door_opened', '{}')", (u,))
attempt("events_since gives event_id, and id the same",
        lambda: [(r[0] == r[1], r[2]) for r in c.execute("SELECT event_id, id, kind FROM dtmv.events_since(%s)", (start,))]
        == [(True, "door_opened")])

c.close()
admin.close()
tap.done()

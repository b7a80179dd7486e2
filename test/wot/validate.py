"""W3C WoT: what dtmv.thing_description builds is a valid Thing Description
1.1, checked with the W3C's own JSON Schema (test/wot/w3c/), for every twin
of the demo (door, fridge, sofa, lamp, robots, food, chair) as each of its
users sees it, and a Thing Model round-trips: each model of test/wot/models/
(valid by the W3C's Thing Model schema) is imported as a kind, a twin of that
kind is described, and its actions, events and properties are the model's.
Beyond the schema, it checks what the TD 1.1 text asks and a schema cannot:
ops that fit read-only properties, the id, the times, the security in use.

Runs against the demo's database (test/run-tests.sh plays demo/run.sh
first), with Debian's python3-jsonschema. TAP output.

    PGDATABASE=dtmv_demo /usr/bin/python3 test/wot/validate.py
"""
import copy
import datetime
import glob
import json
import os
import sys

from jsonschema import Draft7Validator, FormatChecker

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dtmvtest import Tap, connect  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
tap = Tap()


def load(path):
    with open(path) as f:
        return json.load(f)


checker = FormatChecker()
td_schema = Draft7Validator(load(os.path.join(here, "w3c", "td-json-schema-validation.json")), format_checker=checker)
tm_schema = Draft7Validator(load(os.path.join(here, "w3c", "tm-json-schema-validation.json")), format_checker=checker)


def errors(validator, doc):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def check_valid(validator, doc, what):
    errs = errors(validator, doc)
    if not tap.check(not errs, what):
        for e in errs[:10]:
            print(f"# {e}")


# The validator is live: it checks the id's URI format (python3-rfc3987),
# and refuses descriptions that break the schema.
tap.check("uri" in checker.checkers, "the validator checks URI formats (the TD's id)")
good = {
    "@context": "https://www.w3.org/2022/wot/td/v1.1",
    "title": "x",
    "securityDefinitions": {"s": {"scheme": "nosec"}},
    "security": "s",
}
bad_ones = {
    "without securityDefinitions": {k: v for k, v in good.items() if k != "securityDefinitions"},
    "with an action op on an event": dict(good, events={"e": {"forms": [{"href": "x", "op": "invokeaction"}]}}),
    "with a property without forms": dict(good, properties={"p": {"type": "string"}}),
    "with an id that is not a URI": dict(good, id="not a uri"),
    "with an unknown data type": dict(good, properties={"p": {"type": "text", "forms": [{"href": "x"}]}}),
}
tap.check(not errors(td_schema, good), "the validator takes a minimal TD")
for what, doc in bad_ones.items():
    tap.check(bool(errors(td_schema, doc)), f"the validator refuses a TD {what}")

PROPERTY_OPS = {"readproperty"}
ROOT_OPS = {"readallproperties", "subscribeallevents"}


def check_td(td, twin, kind, actions, who):
    """the schema, and what TD 1.1 asks beyond it"""
    what = f"the TD of a twin of kind {kind}, as {who},"
    check_valid(td_schema, td, f"{what} is valid by the TD 1.1 JSON Schema")
    problems = []
    if td.get("id") != f"urn:uuid:{twin}":
        problems.append(f"id {td.get('id')}")
    for t in ("created", "modified"):
        try:
            if datetime.datetime.fromisoformat(td[t]).tzinfo is None:
                problems.append(f"{t} without a time zone")
        except (KeyError, ValueError) as e:
            problems.append(f"{t}: {e}")
    sec = td["security"] if isinstance(td["security"], list) else [td["security"]]
    if not all(s in td["securityDefinitions"] for s in sec):
        problems.append("security names no definition")
    for name, p in td.get("properties", {}).items():
        ops = {op for f in p["forms"] for op in ([f["op"]] if isinstance(f["op"], str) else f["op"])}
        if not p.get("readOnly") or ops - PROPERTY_OPS:
            problems.append(f"property {name}: readOnly {p.get('readOnly')}, ops {ops}")
    for name, a in td.get("actions", {}).items():
        if a["forms"][0]["href"] != f"dtmv:interact?twin={twin}&action={name}":
            problems.append(f"action {name}: {a['forms'][0]['href']}")
    for name, e in td.get("events", {}).items():
        if e["forms"][0]["href"] != f"dtmv:events_since?twin={twin}&kind={name}":
            problems.append(f"event {name}: {e['forms'][0]['href']}")
    if {f["op"] for f in td["forms"]} != ROOT_OPS:
        problems.append(f"root forms {td['forms']}")
    if set(td.get("actions", {})) != set(actions):
        problems.append(f"actions {sorted(td.get('actions', {}))}, the kind offers {sorted(actions)}")
    tap.check(not problems, f"{what} is what TD 1.1 asks: id, times, security, forms, actions")
    for p in problems:
        print(f"# {p}")


conn = connect()
offered = {}
for kind, action in conn.execute("SELECT kind, action FROM dtmv.kind_actions"):
    offered.setdefault(kind, set()).add(action)

# Every twin of the demo, as each of its users and gateways sees it (alice
# owns the home, bob may discover some of it and read one twin, the factory's
# and the shops' users theirs): the TDs of the twins each may discover.
kinds_seen = set()
roles = [r for (r,) in conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'demo\\_%' ORDER BY 1")]
for role in roles:
    conn.execute(f"SET ROLE {role}")
    twins = conn.execute("SELECT id::text, kind FROM dtmv.twins ORDER BY id").fetchall()
    for twin, kind in twins:
        td = conn.execute("SELECT dtmv.thing_description(%s::dtmv.twin_id)", (twin,)).fetchone()[0]
        check_td(td, twin, kind, offered.get(kind, set()), role)
        kinds_seen.add(kind)
    conn.execute("RESET ROLE")
expected_kinds = {"door", "fridge", "sofa", "lamp", "robot", "food", "chair", "inventory"}
tap.check(expected_kinds <= kinds_seen, f"twins of every kind of the demo were described: {sorted(kinds_seen)}")

# The door of the demo, which rang and opened: its doorbell event and its
# state (door, camera, doorbell) as properties.
conn.execute("SET ROLE demo_alice")
door_td = conn.execute("SELECT dtmv.thing_description(id) FROM dtmv.twins WHERE name = 'Front door'").fetchone()[0]
tap.check({"open", "close", "lock", "view_camera"} <= set(door_td["actions"])
          and {"doorbell", "command_succeeded", "location"} <= set(door_td["events"])
          and {"door", "camera", "doorbell"} <= set(door_td["properties"]),
          "the demo's door: its actions, the doorbell event, its state as properties")
conn.execute("RESET ROLE")


def strip(affordances, *keys):
    return {n: {k: v for k, v in a.items() if k not in keys} for n, a in affordances.items()}


# Thing Models round-trip.
admin = connect(role="demo_admin")
for path in sorted(glob.glob(os.path.join(here, "models", "*.tm.json"))):
    kind = os.path.basename(path)[: -len(".tm.json")]
    model = load(path)
    check_valid(tm_schema, model, f"the model {kind} is a Thing Model by the TM 1.1 JSON Schema")
    got = admin.execute("SELECT dtmv.define_kind_from_thing_model(%s::jsonb, kind => %s)",
                        (json.dumps(model), kind)).fetchone()[0]
    tap.check(got == kind, f"the model {kind} is imported as a kind")
    conn.execute("SET ROLE demo_alice")
    twin = conn.execute("SELECT dtmv.create_twin(%s, %s)::text", (kind, f"A {kind}")).fetchone()[0]
    td = conn.execute("SELECT dtmv.thing_description(%s::dtmv.twin_id)", (twin,)).fetchone()[0]
    conn.execute("RESET ROLE")
    actions = set(model.get("actions", {}))
    check_td(td, twin, kind, actions, "demo_alice (imported)")
    # what dtmv writes itself: forms (and the uriVariables of a model's own
    # forms), synchronous (commands are carried out later), readOnly
    # (properties change through actions), observable
    want_actions = strip(model.get("actions", {}), "forms", "uriVariables", "synchronous")
    tap.check(strip(td["actions"], "forms", "synchronous") == want_actions,
              f"{kind}: the TD's actions are the model's")
    own_events = {"location", "command_succeeded", "command_failed"}
    want_events = strip(model.get("events", {}), "forms", "uriVariables")
    tap.check({n: e for n, e in strip(td["events"], "forms").items() if n not in own_events or n in want_events}
              == want_events, f"{kind}: the TD's events are the model's, and dtmv's own")
    want_properties = strip(model.get("properties", {}), "forms", "uriVariables", "readOnly", "writeOnly", "observable")
    tap.check(strip(td["properties"], "forms", "readOnly") == want_properties,
              f"{kind}: the TD's properties are the model's")
    extra = [c for c in (model["@context"] if isinstance(model["@context"], list) else [model["@context"]])
             if c != "https://www.w3.org/2022/wot/td/v1.1"]
    types = [t for t in (model["@type"] if isinstance(model["@type"], list) else [model["@type"]])
             if t != "tm:ThingModel"]
    ctx = td["@context"] if isinstance(td["@context"], list) else [td["@context"]]
    tap.check(ctx == ["https://www.w3.org/2022/wot/td/v1.1"] + extra and td.get("@type", []) == types
              and td["description"] == model.get("description", f"A twin of kind {kind}."),
              f"{kind}: the model's vocabularies, semantic types and description")
    # a client follows the form of each action: dtmv.interact takes it
    conn.execute("SET ROLE demo_alice")
    for name, a in td["actions"].items():
        href = a["forms"][0]["href"]
        fn, query = href[len("dtmv:"):].split("?")
        args = dict(kv.split("=") for kv in query.split("&"))
        cmd = conn.execute(f"SELECT dtmv.{fn}(%s::dtmv.twin_id, %s)", (args["twin"], args["action"])).fetchone()[0]
        tap.check(cmd > 0, f"{kind}: the form of {name} calls {fn}, which takes it")
    conn.execute("RESET ROLE")

tap.done()

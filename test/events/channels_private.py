"""Nobody hears another's wake-ups (docs/events.md, "Channels"; issue 14,
item 6). PostgreSQL checks nothing on LISTEN, so a channel named only by an
id (dtmv_s<subject>, dtmv_w<world>, dtmv_g<gateway>) told anyone who
listened on it when someone's twins changed or commands came. A channel's
name now carries a keyed tag that only dtmv.listen() gives out.

Alice listens through dtmv.listen(), her gateway too; mallory listens on
every name she can work out from the ids (which she may learn: ids are
sequential and grants reveal them) and on her own channels. A report on
alice's door and a command to it wake alice and the gateway, and nobody
else. On the code before, mallory heard both on dtmv_s<alice>,
dtmv_w<world> and dtmv_g<gateway>.
"""
import os
import select
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dtmvtest import Tap, connect  # noqa: E402

tap = Tap()
with connect() as c:
    c.execute("CREATE EXTENSION IF NOT EXISTS dtmv CASCADE")
    for role, group, kind in (("cp_alice", "dtmv_user", "user"), ("cp_mallory", "dtmv_user", "user"),
                              ("cp_gw", "dtmv_gateway", "system"), ("cp_svc", "dtmv_gateway", "system")):
        c.execute(f"CREATE ROLE {role} LOGIN IN ROLE {group}")
        c.execute("SELECT dtmv.create_subject(%s, %s, %s)", (role, role, kind))
    ids = dict(c.execute("SELECT name, subject_id FROM dtmv.subjects").fetchall())
    gateway = c.execute("SELECT dtmv.register_gateway('cp_gw', 'cp_alice')").fetchone()[0]
    c.execute("SET ROLE cp_alice")
    door = c.execute("SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'CP-DOOR')::text").fetchone()[0]
    world = c.execute("SELECT dtmv.create_world('cp home')").fetchone()[0]
    c.execute("SELECT dtmv.use_twin(%s, %s)", (world, door))
    c.execute("SET ROLE cp_gw")
    c.execute("SELECT dtmv.confirm_binding('CP-DOOR')")


def listener(role):
    conn = connect(role)
    channels = [r[0] for r in conn.execute("SELECT dtmv.listen()").fetchall()]
    return conn, channels


alice, alice_channels = listener("cp_alice")
gw, gw_channels = listener("cp_gw")
mallory, mallory_channels = listener("cp_mallory")
guessed = [f"dtmv_s{ids['cp_alice']}", f"dtmv_w{world}", f"dtmv_g{gateway}",
           f"dtmv_s{ids['cp_gw']}", f"dtmv_s{ids['cp_alice']}_", f"dtmv_s{ids['cp_alice']}_0"]
for name in guessed:
    mallory.execute(f'LISTEN "{name}"')

tap.check(all(ch.startswith(f"dtmv_s{ids['cp_alice']}_") or ch.startswith(f"dtmv_w{world}_")
              for ch in alice_channels) and len(alice_channels) == 2,
          f"alice listens on her channel and her world's, both tagged: {alice_channels}")
tap.check(not set(alice_channels) & set(guessed), "no channel alice hears has a name worked out from an id")

with connect("cp_gw") as g:
    g.execute("SELECT dtmv.report(%s, 'doorbell', '{}')", (door,))
with connect("cp_alice") as a:
    a.execute("SELECT dtmv.interact(%s, 'open')", (door,))


def heard(conn, seconds):
    """the channels conn was notified on within seconds (psycopg 3.1: the
    notifications a connection got are handed over when it next reads)"""
    got = set()
    conn.add_notify_handler(lambda n: got.add(n.channel))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        select.select([conn.fileno()], [], [], 0.2)
        conn.execute("SELECT 1")
    return got


alice_heard = heard(alice, 5)
gw_heard = heard(gw, 3)
mallory_heard = heard(mallory, 3)
tap.check(set(alice_channels) <= alice_heard, f"alice was woken on her channels: {sorted(alice_heard)}")
tap.check(any(ch.startswith(f"dtmv_g{gateway}_") for ch in gw_heard),
          f"the gateway was woken for the command: {sorted(gw_heard)}")
tap.check(not mallory_heard, f"mallory heard nothing on the names she worked out: {sorted(mallory_heard)}")


# A service acting for alice hears her wake-ups on a channel of its own for
# her, only while she delegates read to it; never on hers (whose name would
# outlive the delegation). (Before: act_as + listen() gave it her own
# channel, which it kept hearing after undelegate.)
def service_listens():
    conn = connect("cp_svc", autocommit=False)
    conn.execute("SELECT dtmv.act_as('cp_alice')")
    channels = [r[0] for r in conn.execute("SELECT dtmv.listen()").fetchall()]
    conn.commit()
    return conn, channels


def ring():
    with connect("cp_gw") as g:
        g.execute("SELECT dtmv.report(%s, 'doorbell', '{}')", (door,))


with connect("cp_alice") as a:
    a.execute("SELECT dtmv.delegate('cp_svc', 'interact')")
svc, svc_channels = service_listens()
tap.check(svc_channels == [], f"a service delegated interact but not read listens on nothing for her: {svc_channels}")
svc.close()
with connect("cp_alice") as a:
    a.execute("SELECT dtmv.delegate('cp_svc', 'discover,read')")
svc, svc_channels = service_listens()
tap.check(len(svc_channels) == 1 and svc_channels[0].startswith(f"dtmv_d{ids['cp_alice']}_")
          and not set(svc_channels) & set(alice_channels),
          f"a service delegated read listens on its own channel for her, not hers: {svc_channels}")
ring()
tap.check(set(svc_channels) <= heard(svc, 5), "it is woken by her door")
with connect("cp_alice") as a:
    a.execute("SELECT dtmv.undelegate('cp_svc')")
later = connect("cp_svc")                      # a new session that saved the name
later.execute(f'LISTEN "{svc_channels[0]}"')
ring()
tap.check(not heard(svc, 3) and not heard(later, 1),
          "after undelegate the service hears nothing, on the name it kept, in any session")
svc.close()
later.close()

# A name that leaked is ended by a new channel key (dtmv_admin): from the
# next transaction on, in every backend, the worker's too.
leaked = alice_channels[0]
with connect() as c:
    c.execute("SELECT dtmv.rotate_channel_key()")
mallory.execute(f'LISTEN "{leaked}"')
alice.close()
alice, alice_channels = listener("cp_alice")
tap.check(leaked not in alice_channels, "after the key is rotated alice's channel has a new name")
ring()
tap.check(alice_channels[0] in heard(alice, 5), "she is woken on it")
tap.check(not heard(mallory, 2), "the leaked name hears nothing")

for conn in (alice, gw, mallory):
    conn.close()
tap.done()

"""Helpers shared by dtmv's Python tests and benchmarks (psycopg 3): a
connection as a role, and TAP output."""
import sys

import psycopg


def connect(role=None, dbname=None, autocommit=True, search_path=True):
    """a connection from the PG* environment, as role (SET ROLE) if given;
    search_path public, dtmv for twin_id's operators (docs/identity.md)"""
    conn = psycopg.connect(autocommit=autocommit, **({"dbname": dbname} if dbname else {}))
    if search_path:
        conn.execute("SET search_path = public, dtmv")
    if role:
        conn.execute(f"SET ROLE {role}")
    return conn


class Tap:
    """TAP lines: ok / not ok N - what; done() prints the plan"""

    def __init__(self):
        self.n = 0
        self.failed = False

    def check(self, ok, what):
        self.n += 1
        print(f"{'ok' if ok else 'not ok'} {self.n} - {what}", flush=True)
        self.failed |= not ok
        return ok

    def done(self):
        print(f"1..{self.n}")
        sys.exit(1 if self.failed else 0)

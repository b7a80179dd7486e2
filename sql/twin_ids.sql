-- Twin ids without ceremony (docs/identity.md): on the default search_path,
-- where dtmv is not (as for a connection from a transaction pooler, which
-- no SET reaches), twin ids compare, join, sort and go in IN and = ANY with
-- the twin_id indexes; a uuid goes where a twin_id does; the input takes
-- every form uuid's does.
SET search_path = "$user", public;
\set SHOW_CONTEXT never
CREATE ROLE regress_ids_alice LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('ids_alice', 'regress_ids_alice') > 0 AS created;
SET ROLE regress_ids_alice;
CREATE TEMP TABLE mine (label text PRIMARY KEY, id dtmv.twin_id);
INSERT INTO mine
	SELECT 'twin ' || n, dtmv.create_twin('lamp', 'Lamp ' || n) FROM generate_series(1, 40) n;
SELECT id AS t1 FROM mine WHERE label = 'twin 1' \gset
SELECT id AS t2 FROM mine WHERE label = 'twin 2' \gset
SELECT replace(:'t1', '-', '') AS t1_bare, replace(:'t2', '-', '') AS t2_bare,
	   '{' || upper(:'t1') || '}' AS t1_braced \gset

-- = with a literal, a text-typed literal's twin_id, a uuid; the forms of
-- uuid input; IN, = ANY, ORDER BY, a join.
SELECT count(*) AS by_literal FROM dtmv.twins WHERE id = :'t1';
SELECT count(*) AS by_cast FROM dtmv.twins WHERE id = :'t1'::dtmv.twin_id;
SELECT count(*) AS by_uuid FROM dtmv.twins WHERE id = :'t1'::uuid;
SELECT count(*) AS by_bare_form FROM dtmv.twins WHERE id = :'t1_bare';
SELECT count(*) AS by_braced_upper_form FROM dtmv.twins WHERE id = :'t1_braced';
SELECT count(*) AS by_in FROM dtmv.twins WHERE id IN (:'t1', :'t2');
SELECT count(*) AS not_equal FROM dtmv.twins WHERE id <> :'t1';
SELECT '{' || :'t1' || ',' || :'t2_bare' || '}' AS both \gset
SELECT count(*) AS by_any_literal FROM dtmv.twins WHERE id = ANY (:'both');
SELECT count(*) AS by_any_uuids FROM dtmv.twins WHERE id = ANY (ARRAY[:'t1'::uuid, :'t2'::uuid]);
SELECT bool_and(prev < id) AS ordered FROM (SELECT id, lag(id) OVER (ORDER BY id) AS prev FROM dtmv.twins) s;
SELECT min(id::text) = :'t1' AS oldest_first FROM (SELECT id FROM dtmv.twins ORDER BY id LIMIT 1) s;
SELECT count(*) AS joined FROM dtmv.twins r JOIN dtmv.twin_states s ON r.id = s.twin JOIN mine m ON m.id = r.id;
SELECT count(*) AS joined_with_uuid FROM dtmv.twins r JOIN (VALUES (:'t1'::uuid)) v(u) ON r.id = v.u;

-- As parameters: untyped (psql's, node-postgres's, psycopg's text), uuid
-- (psycopg's uuid.UUID, JDBC's java.util.UUID), arrays of either.
PREPARE by_id AS SELECT name FROM dtmv.twins WHERE id = $1;
EXECUTE by_id(:'t1');
EXECUTE by_id(:'t1_bare');
PREPARE by_uuid(uuid) AS SELECT name FROM dtmv.twins WHERE id = $1;
EXECUTE by_uuid(:'t1_bare');
PREPARE by_any AS SELECT name FROM dtmv.twins WHERE id = ANY ($1) ORDER BY id;
EXECUTE by_any(:'both');
PREPARE by_any_uuid(uuid[]) AS SELECT name FROM dtmv.twins WHERE id = ANY ($1) ORDER BY id;
EXECUTE by_any_uuid(ARRAY[:'t1', :'t2']::uuid[]);
-- A uuid that is not a twin_id equals no twin_id (twin_id and uuid compare
-- as they are); a function that takes a twin_id refuses it.
EXECUTE by_uuid('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
SELECT count(*) AS v4_uuid_in_any FROM dtmv.twins WHERE id = ANY (ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, :'t1']);
SELECT dtmv_test.attempt($$SELECT dtmv.twin_info('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid)$$);

-- Every one of these uses the twin_id indexes, also through the view's RLS
-- (dtmv.twins is alice's, not a superuser's, here): seq scans off, so that
-- the plan shows an index if one can serve the condition at all; generic
-- plans, so that they show the parameters rather than this run's ids.
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE by_id(:'t1');
EXPLAIN (COSTS OFF) EXECUTE by_uuid(:'t1');
EXPLAIN (COSTS OFF) EXECUTE by_any('{}');
EXPLAIN (COSTS OFF) EXECUTE by_any_uuid('{}');
PREPARE by_in AS SELECT name FROM dtmv.twins WHERE id IN ($1, $2);
EXPLAIN (COSTS OFF) EXECUTE by_in(:'t1', :'t2');
PREPARE after AS SELECT id FROM dtmv.twins WHERE id > $1 ORDER BY id LIMIT 1;
EXPLAIN (COSTS OFF) EXECUTE after(:'t1');
-- Joins: twin ids from a table of one's own with their twins' states (a
-- table with RLS), dtmv.twins with the states of one twin.
SET enable_hashjoin = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT s.reported FROM mine m JOIN dtmv.twin_states s ON s.twin = m.id WHERE m.label = 'twin 1';
PREPARE joined(uuid) AS
	SELECT r.name, s.reported FROM dtmv.twins r JOIN dtmv.twin_states s ON r.id = s.twin WHERE r.id = $1;
EXPLAIN (COSTS OFF) EXECUTE joined(:'t1');
RESET enable_mergejoin;
RESET enable_hashjoin;
-- A join of a uuid column (a client's table of ids) with twin ids hashes or
-- merges, as one of twin_id with twin_id does: a nested loop comparing
-- every pair was the only plan once (600 ms for 3,000 twins and 6,000 ids
-- against 4 ms).
CREATE TEMP TABLE mine_uuids AS SELECT label, id::uuid AS u FROM mine;
ANALYZE mine_uuids;
SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM mine_uuids m JOIN dtmv.twins r ON r.id = m.u;
SELECT count(*) AS hash_joined FROM mine_uuids m JOIN dtmv.twins r ON r.id = m.u;
SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM mine_uuids m JOIN dtmv.twins r ON m.u = r.id;
SELECT count(*) AS merge_joined FROM mine_uuids m JOIN dtmv.twins r ON m.u = r.id;
RESET enable_hashjoin;
RESET enable_nestloop;
-- id < ANY and <= ANY of a uuid[] through a twin_id index (they failed:
-- "missing operator 5(2950,2950)", the family had no < of uuid with uuid).
CREATE INDEX ON mine (id);
ANALYZE mine;
PREPARE before_any(uuid[]) AS SELECT count(*) FROM mine WHERE id < ANY ($1);
EXPLAIN (COSTS OFF) EXECUTE before_any('{}');
EXECUTE before_any(ARRAY[:'t1', :'t2']::uuid[]);
SELECT count(*) AS at_most_any FROM mine WHERE id <= ANY (ARRAY[:'t1'::uuid, :'t2'::uuid]);
-- ORDER BY: in the index's order.
EXPLAIN (COSTS OFF) SELECT twin FROM dtmv.twin_states ORDER BY twin LIMIT 1;
-- Release 0.1's way, a OPERATOR(dtmv.=) b, still works and still uses the
-- index: the planner inlines it into =.
SELECT count(*) AS by_0_1_operator FROM dtmv.twins WHERE id OPERATOR(dtmv.=) :'t1';
SELECT count(*) AS by_0_1_ordering FROM dtmv.twins WHERE id OPERATOR(dtmv.<) :'t2' AND id OPERATOR(dtmv.>=) :'t1';
PREPARE by_0_1_operator AS SELECT name FROM dtmv.twins WHERE id OPERATOR(dtmv.=) $1;
EXPLAIN (COSTS OFF) EXECUTE by_0_1_operator(:'t1');
RESET plan_cache_mode;
RESET enable_seqscan;
RESET ROLE;
-- The operator families are complete (PostgreSQL's own check of them).
SELECT c.opcname, amvalidate(c.oid) FROM pg_opclass c
 WHERE c.opcnamespace = 'dtmv'::regnamespace AND c.opcintype = 'dtmv.twin_id'::regtype ORDER BY 1;
-- The operators are pg_catalog's: a view that compares twin ids is written
-- out with a plain =, which pg_dump's empty search_path finds again.
CREATE VIEW ids_joined AS
	SELECT r.name FROM dtmv.twins r JOIN dtmv.twin_states s ON r.id = s.twin WHERE r.id <> s.twin;
SET search_path = '';
SELECT pg_get_viewdef('public.ids_joined'::regclass) AS as_pg_dump_writes_it;
SET search_path = "$user", public;
DROP VIEW ids_joined;
SELECT o.oprleft::regtype, o.oprname, o.oprright::regtype, o.oprnamespace::regnamespace AS schema, c.opcname AS class
  FROM pg_operator o
  JOIN pg_amop a ON a.amopopr = o.oid
  JOIN pg_opclass c ON c.opcfamily = a.amopfamily
 WHERE 'dtmv.twin_id'::regtype IN (o.oprleft, o.oprright)
 ORDER BY c.opcname, o.oprleft::regtype::text, o.oprright::regtype::text, a.amopstrategy;

-- Functions that take a twin_id take a uuid: psycopg sends a uuid.UUID as
-- uuid, in the 32-digit form.
SET ROLE regress_ids_alice;
SELECT dtmv.twin_info(:'t1_bare'::uuid) ->> 'name' AS info_by_uuid;
SELECT dtmv.has_right(:'t1'::uuid, 'admin') AS right_by_uuid;
PREPARE info(uuid) AS SELECT dtmv.twin_info($1) ->> 'name';
EXECUTE info(:'t2');

-- A reader sees what the writer before it in the same statement made
-- (it used to read the statement's snapshot: 42501, and has_right false).
SELECT dtmv.twin_info(dtmv.create_twin('door', 'Made and read')) ->> 'name' AS made_and_read;
SELECT dtmv.has_right(dtmv.create_twin('door', 'Made and asked'), 'admin') AS made_and_held;
SELECT dtmv.my_rights(dtmv.create_twin('door', 'Made and listed')) AS made_and_listed;
SELECT dtmv.sync_priority(dtmv.create_twin('door', 'Made with a priority', sync_priority => 4)) AS made_priority;

-- A kind is a lower-case identifier: 22023 saying so, not a CHECK of an
-- internal table.
\set VERBOSITY default
SELECT dtmv.create_twin('robot-arm', 'Arm');
SELECT dtmv.create_twin('Robot', 'Arm');
SELECT dtmv.create_twin('3d_printer', 'Printer');
SELECT dtmv.create_twin('robot_arm', 'Arm') IS NOT NULL AS robot_arm_is_a_kind;
RESET ROLE;
SELECT dtmv.define_action('robot_arm', 'pick-up');
\set VERBOSITY terse

-- events_since names an event's id event_id, as dtmv.events does; id, the
-- same, stays for clients written for release 0.1. (The events are written
-- as a gateway's report writes them; a kind of event is an identifier too.)
SET ROLE regress_ids_alice;
SELECT dtmv.event_horizon() AS start \gset
RESET ROLE;
SELECT dtmv._append_event(:'t1', NULL, 'lamp_switched', '{}') > 0 AS written;
SELECT dtmv._append_event(:'t1', NULL, 'lamp-switched', '{}');
SET ROLE regress_ids_alice;
SELECT kind, event_id = id AS same_id, event_id > :start AS after_start FROM dtmv.events_since(:start);
SELECT count(*) AS also_in_events FROM dtmv.events_since(:start) s JOIN dtmv.events e USING (event_id);
RESET ROLE;

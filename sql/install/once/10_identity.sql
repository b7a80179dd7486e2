-- Twin identity: the dtmv.twin_id base type (REQ-DT-01, REQ-DT-02, REQ-SI-02b).
-- Layout and rationale: src/twin_id.h, docs/identity.md.

CREATE TYPE dtmv.twin_id;

CREATE FUNCTION dtmv.twin_id_in(cstring) RETURNS dtmv.twin_id
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION dtmv.twin_id_out(dtmv.twin_id) RETURNS cstring
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION dtmv.twin_id_recv(internal) RETURNS dtmv.twin_id
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION dtmv.twin_id_send(dtmv.twin_id) RETURNS bytea
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE dtmv.twin_id (
	INPUT = dtmv.twin_id_in,
	OUTPUT = dtmv.twin_id_out,
	RECEIVE = dtmv.twin_id_recv,
	SEND = dtmv.twin_id_send,
	INTERNALLENGTH = 16,
	ALIGNMENT = char,
	STORAGE = plain
);
COMMENT ON TYPE dtmv.twin_id IS
	'identity of a digital twin: 16 bytes, time-ordered, names the twin system that maintains it (REQ-DT-01)';

CREATE FUNCTION dtmv.twin_id_eq(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION dtmv.twin_id_ne(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION dtmv.twin_id_lt(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION dtmv.twin_id_le(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION dtmv.twin_id_gt(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION dtmv.twin_id_ge(dtmv.twin_id, dtmv.twin_id) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION dtmv.twin_id_cmp(dtmv.twin_id, dtmv.twin_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION dtmv.twin_id_sortsupport(internal) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION dtmv.twin_id_hash(dtmv.twin_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION dtmv.twin_id_hash_extended(dtmv.twin_id, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION dtmv.twin_id_in(cstring) IS 'twin_id input: every form uuid input takes (8-4-4-4-12 or no hyphens, either case, braces), of a uuid with the twin_id layout';
COMMENT ON FUNCTION dtmv.twin_id_out(dtmv.twin_id) IS 'twin_id output: canonical 8-4-4-4-12 lower-case hexadecimal form';
COMMENT ON FUNCTION dtmv.twin_id_recv(internal) IS 'twin_id binary input: 16 bytes';
COMMENT ON FUNCTION dtmv.twin_id_send(dtmv.twin_id) IS 'twin_id binary output: 16 bytes';
COMMENT ON FUNCTION dtmv.twin_id_eq(dtmv.twin_id, dtmv.twin_id) IS 'implementation of = for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_ne(dtmv.twin_id, dtmv.twin_id) IS 'implementation of <> for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_lt(dtmv.twin_id, dtmv.twin_id) IS 'implementation of < for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_le(dtmv.twin_id, dtmv.twin_id) IS 'implementation of <= for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_gt(dtmv.twin_id, dtmv.twin_id) IS 'implementation of > for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_ge(dtmv.twin_id, dtmv.twin_id) IS 'implementation of >= for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_cmp(dtmv.twin_id, dtmv.twin_id) IS 'btree comparison for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_sortsupport(internal) IS 'btree sort support for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_hash(dtmv.twin_id) IS 'hash for twin_id';
COMMENT ON FUNCTION dtmv.twin_id_hash_extended(dtmv.twin_id, bigint) IS 'seeded 64-bit hash for twin_id';
-- The comparison operators live in pg_catalog, not in dtmv: a client whose
-- search_path does not name dtmv (the default "$user", public; a connection
-- from a transaction pooler, which no SET reaches) writes id = $1, joins,
-- IN and = ANY, and the planner uses the twin_id indexes. pg_catalog is
-- searched first on every search_path and only superusers create objects
-- there, so no one can put an operator of their own in their way; the
-- signatures name dtmv.twin_id, so they cannot clash with PostgreSQL's or
-- another extension's. Why this and not a cast to uuid: docs/identity.md,
-- "Why the operators are in pg_catalog". Release 0.1 had them in dtmv: the
-- update moves them (same oids, so every index keeps its operator class),
-- and dtmv.= and the others stay as operators for code written for 0.1
-- (replay/10_identity.sql).
CREATE OPERATOR pg_catalog.= (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_eq,
	COMMUTATOR = OPERATOR(pg_catalog.=), NEGATOR = OPERATOR(pg_catalog.<>),
	RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES
);
CREATE OPERATOR pg_catalog.<> (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_ne,
	COMMUTATOR = OPERATOR(pg_catalog.<>), NEGATOR = OPERATOR(pg_catalog.=),
	RESTRICT = neqsel, JOIN = neqjoinsel
);
CREATE OPERATOR pg_catalog.< (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_lt,
	COMMUTATOR = OPERATOR(pg_catalog.>), NEGATOR = OPERATOR(pg_catalog.>=),
	RESTRICT = scalarltsel, JOIN = scalarltjoinsel
);
CREATE OPERATOR pg_catalog.<= (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_le,
	COMMUTATOR = OPERATOR(pg_catalog.>=), NEGATOR = OPERATOR(pg_catalog.>),
	RESTRICT = scalarlesel, JOIN = scalarlejoinsel
);
CREATE OPERATOR pg_catalog.> (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_gt,
	COMMUTATOR = OPERATOR(pg_catalog.<), NEGATOR = OPERATOR(pg_catalog.<=),
	RESTRICT = scalargtsel, JOIN = scalargtjoinsel
);
CREATE OPERATOR pg_catalog.>= (
	LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_ge,
	COMMUTATOR = OPERATOR(pg_catalog.<=), NEGATOR = OPERATOR(pg_catalog.<),
	RESTRICT = scalargesel, JOIN = scalargejoinsel
);
CREATE OPERATOR CLASS dtmv.twin_id_ops DEFAULT FOR TYPE dtmv.twin_id USING btree AS
	OPERATOR 1 pg_catalog.<,
	OPERATOR 2 pg_catalog.<=,
	OPERATOR 3 pg_catalog.=,
	OPERATOR 4 pg_catalog.>=,
	OPERATOR 5 pg_catalog.>,
	FUNCTION 1 dtmv.twin_id_cmp(dtmv.twin_id, dtmv.twin_id),
	FUNCTION 2 dtmv.twin_id_sortsupport(internal);
CREATE OPERATOR CLASS dtmv.twin_id_hash_ops DEFAULT FOR TYPE dtmv.twin_id USING hash AS
	OPERATOR 1 pg_catalog.=,
	FUNCTION 1 dtmv.twin_id_hash(dtmv.twin_id),
	FUNCTION 2 dtmv.twin_id_hash_extended(dtmv.twin_id, bigint);

-- Same 16 bytes as uuid, so twin_id -> uuid needs no function; uuid ->
-- twin_id checks that the uuid has the twin_id layout. That one is implicit:
-- a uuid parameter (psycopg's uuid.UUID, JDBC's java.util.UUID) goes where a
-- twin_id does, in a function call (dtmv.twin_info($1)) as in a comparison
-- (id = $1, id = ANY($1)), and one that is not a twin_id is refused with
-- 22023. The other direction stays an assignment cast: with both implicit,
-- uuid = twin_id would be ambiguous.
CREATE FUNCTION dtmv.twin_id(uuid) RETURNS dtmv.twin_id
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_from_uuid' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv.twin_id(uuid) IS
	'cast a uuid to twin_id; fails with 22023 unless it is a version 8 uuid with the twin_id layout';
CREATE CAST (dtmv.twin_id AS uuid) WITHOUT FUNCTION AS ASSIGNMENT;
CREATE CAST (uuid AS dtmv.twin_id) WITH FUNCTION dtmv.twin_id(uuid) AS IMPLICIT;
CREATE CAST (dtmv.twin_id AS text) WITH INOUT AS ASSIGNMENT;
CREATE CAST (text AS dtmv.twin_id) WITH INOUT;

CREATE FUNCTION dtmv.twin_id_generate(system_no integer) RETURNS dtmv.twin_id
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_generate' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv.twin_id_generate(integer) IS
	'a new time-ordered twin_id for the twin system with this number (0 .. 2^30-1); needs no coordination';

CREATE FUNCTION dtmv.twin_system(twin dtmv.twin_id) RETURNS integer
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_system' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv.twin_system(dtmv.twin_id) IS
	'number of the twin system that maintains the twin (REQ-DT-02, REQ-SI-02b); see dtmv.systems';

CREATE FUNCTION dtmv.twin_created_at(twin dtmv.twin_id) RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'dtmv_twin_id_created_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dtmv.twin_created_at(dtmv.twin_id) IS
	'when the twin_id was generated, to the millisecond';

CREATE FUNCTION dtmv.twin_id_smaller(dtmv.twin_id, dtmv.twin_id) RETURNS dtmv.twin_id
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 OPERATOR(pg_catalog.<=) $2 THEN $1 ELSE $2 END $$;
COMMENT ON FUNCTION dtmv.twin_id_smaller(dtmv.twin_id, dtmv.twin_id) IS 'the smaller of two twin_ids (for min)';

CREATE FUNCTION dtmv.twin_id_larger(dtmv.twin_id, dtmv.twin_id) RETURNS dtmv.twin_id
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CASE WHEN $1 OPERATOR(pg_catalog.>=) $2 THEN $1 ELSE $2 END $$;
COMMENT ON FUNCTION dtmv.twin_id_larger(dtmv.twin_id, dtmv.twin_id) IS 'the larger of two twin_ids (for max)';
CREATE AGGREGATE dtmv.min(dtmv.twin_id) (
	SFUNC = dtmv.twin_id_smaller, STYPE = dtmv.twin_id, SORTOP = OPERATOR(pg_catalog.<), COMBINEFUNC = dtmv.twin_id_smaller, PARALLEL = SAFE
);
COMMENT ON AGGREGATE dtmv.min(dtmv.twin_id) IS 'the oldest twin_id';
CREATE AGGREGATE dtmv.max(dtmv.twin_id) (
	SFUNC = dtmv.twin_id_larger, STYPE = dtmv.twin_id, SORTOP = OPERATOR(pg_catalog.>), COMBINEFUNC = dtmv.twin_id_larger, PARALLEL = SAFE
);
COMMENT ON AGGREGATE dtmv.max(dtmv.twin_id) IS 'the newest twin_id';

-- Kinds of twin, of event and of action are lower-case identifiers
-- (^[a-z][a-z0-9_]*$): checked in C, since every event append checks one.
CREATE FUNCTION dtmv._is_identifier(name text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dtmv_is_identifier' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION dtmv._is_identifier(text) IS
	'internal: whether a name is a lower-case identifier, as kinds and actions are (^[a-z][a-z0-9_]*$)';

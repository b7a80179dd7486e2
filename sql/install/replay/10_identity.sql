-- twin_id's comparison operators under the names release 0.1 gave them:
-- dtmv.=, dtmv.<>, dtmv.<, dtmv.<=, dtmv.>, dtmv.>=. 0.1's docs told
-- clients to write a OPERATOR(dtmv.=) b; since 0.2 the operators are in
-- pg_catalog (once/10_identity.sql) and a = b works on every search_path.
-- An index's operator class has one operator per strategy, pg_catalog's,
-- so these are operators of their own; each is an SQL function that the
-- planner inlines into pg_catalog's operator, so a OPERATOR(dtmv.=) b still
-- uses the twin_id indexes (sql/twin_ids.sql shows it). In = ANY (an array)
-- and IN (a list) nothing is inlined: there they are as fast as any SQL
-- function is, and use no index. Made here, where they are missing, rather
-- than in the run-once files: a fresh install makes them after the type,
-- and the update from 0.1 after it has moved 0.1's operators to
-- pg_catalog (updates/0.1--0.2.sql), in one definition.
CREATE OR REPLACE FUNCTION dtmv.twin_id_eq_sql(a dtmv.twin_id, b dtmv.twin_id) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
AS $$ SELECT a OPERATOR(pg_catalog.=) b $$;
CREATE OR REPLACE FUNCTION dtmv.twin_id_ne_sql(a dtmv.twin_id, b dtmv.twin_id) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
AS $$ SELECT a OPERATOR(pg_catalog.<>) b $$;
CREATE OR REPLACE FUNCTION dtmv.twin_id_lt_sql(a dtmv.twin_id, b dtmv.twin_id) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
AS $$ SELECT a OPERATOR(pg_catalog.<) b $$;
CREATE OR REPLACE FUNCTION dtmv.twin_id_le_sql(a dtmv.twin_id, b dtmv.twin_id) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
AS $$ SELECT a OPERATOR(pg_catalog.<=) b $$;
CREATE OR REPLACE FUNCTION dtmv.twin_id_gt_sql(a dtmv.twin_id, b dtmv.twin_id) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
AS $$ SELECT a OPERATOR(pg_catalog.>) b $$;
CREATE OR REPLACE FUNCTION dtmv.twin_id_ge_sql(a dtmv.twin_id, b dtmv.twin_id) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF
AS $$ SELECT a OPERATOR(pg_catalog.>=) b $$;
COMMENT ON FUNCTION dtmv.twin_id_eq_sql(dtmv.twin_id, dtmv.twin_id) IS 'implementation of dtmv.= (release 0.1''s name of twin_id''s =), inlined into =';
COMMENT ON FUNCTION dtmv.twin_id_ne_sql(dtmv.twin_id, dtmv.twin_id) IS 'implementation of dtmv.<> (release 0.1''s name of twin_id''s <>), inlined into <>';
COMMENT ON FUNCTION dtmv.twin_id_lt_sql(dtmv.twin_id, dtmv.twin_id) IS 'implementation of dtmv.< (release 0.1''s name of twin_id''s <), inlined into <';
COMMENT ON FUNCTION dtmv.twin_id_le_sql(dtmv.twin_id, dtmv.twin_id) IS 'implementation of dtmv.<= (release 0.1''s name of twin_id''s <=), inlined into <=';
COMMENT ON FUNCTION dtmv.twin_id_gt_sql(dtmv.twin_id, dtmv.twin_id) IS 'implementation of dtmv.> (release 0.1''s name of twin_id''s >), inlined into >';
COMMENT ON FUNCTION dtmv.twin_id_ge_sql(dtmv.twin_id, dtmv.twin_id) IS 'implementation of dtmv.>= (release 0.1''s name of twin_id''s >=), inlined into >=';

DO $$
DECLARE
	-- operator, its function's suffix, commutator, negator
	ops CONSTANT text[] := ARRAY[['=', 'eq', '=', '<>'], ['<>', 'ne', '<>', '='], ['<', 'lt', '>', '>='],
								 ['<=', 'le', '>=', '>'], ['>', 'gt', '<', '<='], ['>=', 'ge', '<=', '<']];
	i integer;
BEGIN
	FOR i IN 1 .. pg_catalog.array_length(ops, 1) LOOP
		-- (one made before as another's commutator or negator is a shell: filled in here)
		CONTINUE WHEN EXISTS (SELECT FROM pg_catalog.pg_operator o
							   WHERE o.oprnamespace = 'dtmv'::regnamespace AND o.oprname = ops[i][1]
								 AND o.oprleft = 'dtmv.twin_id'::regtype AND o.oprright = 'dtmv.twin_id'::regtype
								 AND o.oprcode <> 0);
		EXECUTE pg_catalog.format(
			'CREATE OPERATOR dtmv.%1$s (LEFTARG = dtmv.twin_id, RIGHTARG = dtmv.twin_id, PROCEDURE = dtmv.twin_id_%2$s_sql, '
			'COMMUTATOR = OPERATOR(dtmv.%3$s), NEGATOR = OPERATOR(dtmv.%4$s))', ops[i][1], ops[i][2], ops[i][3], ops[i][4]);
		EXECUTE pg_catalog.format(
			'COMMENT ON OPERATOR dtmv.%1$s (dtmv.twin_id, dtmv.twin_id) IS %2$L', ops[i][1],
			pg_catalog.format('release 0.1''s name of twin_id''s %s: write %s (pg_catalog''s), which works on every search_path',
							  ops[i][1], ops[i][1]));
	END LOOP;
END
$$;

-- Kinds of twin, of event and of action are lower-case identifiers (the
-- tables that hold them CHECK dtmv._is_identifier): the functions that take
-- one say so with 22023 (src/twin_id.c), naming what a kind may be.
CREATE OR REPLACE FUNCTION dtmv._require_identifier(name text, what text) RETURNS void
	AS 'MODULE_PATHNAME', 'dtmv_require_identifier' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION dtmv._require_identifier(text, text) IS
	'internal: 22023 unless name (a kind of twin, of event, an action: what says which) is a lower-case identifier';

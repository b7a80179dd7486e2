-- twin_id compared with uuid, as a client sends it: psycopg a uuid.UUID,
-- JDBC a java.util.UUID, both with the type uuid. The operators = <> < <=
-- > >= between twin_id and uuid, either way round, are pg_catalog's (as
-- twin_id's own are, once/10_identity.sql) and members of twin_id's btree
-- operator family, so that id = $1, id = ANY ($1) with a uuid or a uuid[]
-- use the twin_id indexes, also through the row-level security of
-- dtmv.twins (the functions are leakproof; the uuid -> twin_id cast, which
-- refuses what is not a twin_id, is not, and a uuid[] cast to twin_id[]
-- would stop the condition at the view). A uuid that is not a twin_id is
-- equal to none: the comparison needs no cast and refuses nothing; a
-- function that takes a twin_id refuses it (22023, the implicit cast).
-- Same 16 bytes, same order: the C functions are twin_id's own.
DO $$
DECLARE
	-- operator, function, commutator, negator, restriction and join estimators
	ops CONSTANT text[] := ARRAY[
		['=', 'eq', '=', '<>', 'eqsel', 'eqjoinsel'],
		['<>', 'ne', '<>', '=', 'neqsel', 'neqjoinsel'],
		['<', 'lt', '>', '>=', 'scalarltsel', 'scalarltjoinsel'],
		['<=', 'le', '>=', '>', 'scalarlesel', 'scalarlejoinsel'],
		['>', 'gt', '<', '<=', 'scalargtsel', 'scalargtjoinsel'],
		['>=', 'ge', '<=', '<', 'scalargesel', 'scalargejoinsel']];
	sides CONSTANT text[] := ARRAY[['dtmv.twin_id', 'uuid'], ['uuid', 'dtmv.twin_id']];
	s integer;
	i integer;
	l text;
	r text;
BEGIN
	FOR s IN 1 .. 2 LOOP
		l := sides[s][1];
		r := sides[s][2];
		FOR i IN 1 .. pg_catalog.array_length(ops, 1) LOOP
			EXECUTE pg_catalog.format(
				'CREATE FUNCTION dtmv.twin_id_%1$s(%2$s, %3$s) RETURNS boolean '
				'AS %4$L, %5$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF',
				ops[i][2], l, r, 'MODULE_PATHNAME', 'dtmv_twin_id_' || ops[i][2]);
			EXECUTE pg_catalog.format(
				'COMMENT ON FUNCTION dtmv.twin_id_%1$s(%2$s, %3$s) IS %4$L',
				ops[i][2], l, r, pg_catalog.format('implementation of %s between %s and %s', ops[i][1], l, r));
			EXECUTE pg_catalog.format(
				'CREATE OPERATOR pg_catalog.%1$s (LEFTARG = %2$s, RIGHTARG = %3$s, PROCEDURE = dtmv.twin_id_%4$s, '
				'COMMUTATOR = OPERATOR(pg_catalog.%5$s), NEGATOR = OPERATOR(pg_catalog.%6$s), '
				'RESTRICT = %7$s, JOIN = %8$s%9$s)',
				ops[i][1], l, r, ops[i][2], ops[i][3], ops[i][4], ops[i][5], ops[i][6],
				CASE WHEN ops[i][1] = '=' THEN ', HASHES, MERGES' ELSE '' END);
		END LOOP;
		EXECUTE pg_catalog.format(
			'CREATE FUNCTION dtmv.twin_id_cmp(%1$s, %2$s) RETURNS integer '
			'AS %3$L, %4$L LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF',
			l, r, 'MODULE_PATHNAME', 'dtmv_twin_id_cmp');
		EXECUTE pg_catalog.format(
			'COMMENT ON FUNCTION dtmv.twin_id_cmp(%1$s, %2$s) IS %3$L',
			l, r, pg_catalog.format('btree comparison of %s with %s', l, r));
		EXECUTE pg_catalog.format(
			'ALTER OPERATOR FAMILY dtmv.twin_id_ops USING btree ADD '
			'OPERATOR 1 pg_catalog.< (%1$s, %2$s), OPERATOR 2 pg_catalog.<= (%1$s, %2$s), '
			'OPERATOR 3 pg_catalog.= (%1$s, %2$s), OPERATOR 4 pg_catalog.>= (%1$s, %2$s), '
			'OPERATOR 5 pg_catalog.> (%1$s, %2$s), FUNCTION 1 (%1$s, %2$s) dtmv.twin_id_cmp(%1$s, %2$s)',
			l, r);
	END LOOP;
	-- An index scan for id = ANY (a uuid[]) sorts the array's elements with
	-- the family's comparison of uuid with uuid, PostgreSQL's; id < ANY (a
	-- uuid[]) looks for the family's own < of uuid with uuid, and a merge
	-- join of a uuid column with a twin_id one sorts the uuids with it. So
	-- the family holds uuid's comparisons too: dtmv's operators over
	-- PostgreSQL's uuid functions, with names nobody writes (#<# ...), not
	-- pg_catalog's uuid operators, whose families and planning stay as they
	-- are for every uuid of the database.
	CREATE OPERATOR dtmv.#<# (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = pg_catalog.uuid_lt,
		COMMUTATOR = OPERATOR(dtmv.#>#), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
	CREATE OPERATOR dtmv.#<=# (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = pg_catalog.uuid_le,
		COMMUTATOR = OPERATOR(dtmv.#>=#), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
	CREATE OPERATOR dtmv.#=# (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = pg_catalog.uuid_eq,
		COMMUTATOR = OPERATOR(dtmv.#=#), RESTRICT = eqsel, JOIN = eqjoinsel);
	CREATE OPERATOR dtmv.#>=# (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = pg_catalog.uuid_ge,
		COMMUTATOR = OPERATOR(dtmv.#<=#), RESTRICT = scalargesel, JOIN = scalargejoinsel);
	CREATE OPERATOR dtmv.#># (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = pg_catalog.uuid_gt,
		COMMUTATOR = OPERATOR(dtmv.#<#), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
	ALTER OPERATOR FAMILY dtmv.twin_id_ops USING btree ADD
		OPERATOR 1 dtmv.#<# (uuid, uuid), OPERATOR 2 dtmv.#<=# (uuid, uuid), OPERATOR 3 dtmv.#=# (uuid, uuid),
		OPERATOR 4 dtmv.#>=# (uuid, uuid), OPERATOR 5 dtmv.#># (uuid, uuid),
		FUNCTION 1 (uuid, uuid) pg_catalog.uuid_cmp(uuid, uuid);
	-- Hash joins of a uuid column with a twin_id one: uuid's hash functions
	-- hash the same 16 bytes as twin_id's, so equal values hash alike.
	ALTER OPERATOR FAMILY dtmv.twin_id_hash_ops USING hash ADD
		OPERATOR 1 pg_catalog.= (dtmv.twin_id, uuid), OPERATOR 1 pg_catalog.= (uuid, dtmv.twin_id),
		OPERATOR 1 dtmv.#=# (uuid, uuid),
		FUNCTION 1 (uuid) pg_catalog.uuid_hash(uuid), FUNCTION 2 (uuid) pg_catalog.uuid_hash_extended(uuid, bigint);
END
$$;
COMMENT ON OPERATOR dtmv.#<# (uuid, uuid) IS 'uuid < uuid inside twin_id''s operator families (id < ANY (uuid[]), merge joins); write <';
COMMENT ON OPERATOR dtmv.#<=# (uuid, uuid) IS 'uuid <= uuid inside twin_id''s operator families; write <=';
COMMENT ON OPERATOR dtmv.#=# (uuid, uuid) IS 'uuid = uuid inside twin_id''s operator families; write =';
COMMENT ON OPERATOR dtmv.#>=# (uuid, uuid) IS 'uuid >= uuid inside twin_id''s operator families; write >=';
COMMENT ON OPERATOR dtmv.#># (uuid, uuid) IS 'uuid > uuid inside twin_id''s operator families; write >';

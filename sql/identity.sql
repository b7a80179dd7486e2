SET search_path = public, dtmv;
-- dtmv.twin_id: identity of a twin (REQ-DT-01, REQ-DT-02)
-- Canonical text round-trips exactly; upper-case input is accepted and
-- printed in the canonical lower-case form.
SELECT '0192f0c4-5a1e-8abc-8000-2a0000000001'::dtmv.twin_id;
SELECT '0192F0C4-5A1E-8ABC-BFFF-FFFFFFFFFFFF'::dtmv.twin_id;
SELECT t::text = '0192f0c4-5a1e-8abc-8000-2a0000000001' AS round_trip
  FROM (SELECT '0192f0c4-5a1e-8abc-8000-2a0000000001'::dtmv.twin_id AS t) s;
-- The twin system and creation time are read out of the id.
SELECT dtmv.twin_system('0192f0c4-5a1e-8abc-8000-2a0000000001');
SELECT dtmv.twin_system('0192f0c4-5a1e-8abc-bfff-ffffffffffff');
SELECT dtmv.twin_created_at('0192f0c4-5a1e-8abc-8000-2a0000000001') AT TIME ZONE 'UTC';

-- Bad input: 22P02, quoting the input and saying what form is expected.
\set VERBOSITY default
SELECT 'not-a-twin'::dtmv.twin_id;
SELECT ''::dtmv.twin_id;
SELECT '0192f0c4-5a1e-8abc-8000-2a000000000'::dtmv.twin_id;    -- 31 digits
SELECT '0192f0c4-5a1e-8abc-8000-2a00000000011'::dtmv.twin_id;  -- 33 digits
SELECT '0192f0c4-5a1e-4abc-8000-2a0000000001'::dtmv.twin_id;   -- a version 4 uuid
SELECT '0192f0c4-5a1e-8abc-c000-2a0000000001'::dtmv.twin_id;   -- wrong variant
SELECT '0192f0c4-5a1e-8abc-8000-2a000000000g'::dtmv.twin_id;   -- not hex
SELECT '{0192f0c4-5a1e-8abc-8000-2a0000000001'::dtmv.twin_id;  -- one brace

-- Every form that uuid input takes: no hyphens (psycopg sends a uuid.UUID
-- so), braces, upper case, a hyphen after any group of four digits.
SELECT '0192f0c45a1e8abc80002a0000000001'::dtmv.twin_id;
SELECT '{0192f0c4-5a1e-8abc-8000-2a0000000001}'::dtmv.twin_id;
SELECT '{0192F0C45A1E8ABC80002A0000000001}'::dtmv.twin_id;
SELECT '0192-f0c4-5a1e-8abc-8000-2a00-0000-0001'::dtmv.twin_id;
-- twin_id input takes what uuid input takes, and refuses what it refuses,
-- for every placement of hyphens and braces tried here.
CREATE FUNCTION pg_temp.takes(s text, t regtype) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SELECT %L::%s', s, t);
	RETURN true;
EXCEPTION WHEN invalid_text_representation THEN
	RETURN false;
END
$$;
WITH forms(s) AS (
	SELECT pre || regexp_replace('0192f0c45a1e8abc80002a0000000001', '(.{' || n || '})', '\1' || sep, 'g') || post
	  FROM (VALUES (''), ('{')) a(pre), (VALUES (''), ('}')) b(post),
		   (VALUES (''), ('-'), ('--')) c(sep), generate_series(1, 9) n
	UNION ALL
	VALUES ('0192f0c4-5a1e-8abc-8000-2a0000000001-'), ('-0192f0c4-5a1e-8abc-8000-2a0000000001'),
		   (' 0192f0c4-5a1e-8abc-8000-2a0000000001'), ('0192f0c4-5a1e-8abc-8000-2a0000000001 '),
		   ('{{0192f0c4-5a1e-8abc-8000-2a0000000001}}'), ('0192f0c4-5a1e-8abc-8000-2a000000000')
)
SELECT count(*) AS forms, count(*) FILTER (WHERE pg_temp.takes(s, 'uuid')) AS uuid_takes,
	   count(*) FILTER (WHERE pg_temp.takes(s, 'uuid') IS DISTINCT FROM pg_temp.takes(s, 'dtmv.twin_id')) AS disagree
  FROM forms;

-- Generation: the system number is embedded, ids are time-ordered and
-- strictly increasing within a backend, and unique.
CREATE TEMP TABLE gen AS
	SELECT n, dtmv.twin_id_generate(4242) AS id FROM generate_series(1, 20000) n;
SELECT count(DISTINCT id) = 20000 AS unique_ids,
	   bool_and(dtmv.twin_system(id) = 4242) AS system_embedded,
	   bool_and(dtmv.twin_created_at(id) BETWEEN now() - interval '1 minute' AND clock_timestamp()) AS time_embedded
  FROM gen;
SELECT count(*) AS out_of_order
  FROM (SELECT id, lag(id) OVER (ORDER BY n) AS prev FROM gen) s
 WHERE prev >= id;
SELECT bool_and(substr(id::text, 15, 1) = '8' AND substr(id::text, 20, 1) IN ('8', '9', 'a', 'b')) AS uuid_v8_layout
  FROM gen;
SELECT dtmv.twin_id_generate(1073741823) IS NOT NULL AS max_system_ok;
SELECT dtmv.twin_id_generate(1073741824);
SELECT dtmv.twin_id_generate(-1);

-- Comparison operators agree with the byte order of the canonical text.
SELECT a < b, a <= b, a = b, a <> b, a >= b, a > b, dtmv.twin_id_cmp(a, b)
  FROM (VALUES ('0192f0c4-5a1e-8abc-8000-2a0000000001'::dtmv.twin_id,
				'0192f0c4-5a1e-8abd-8000-000000000000'::dtmv.twin_id)) v(a, b);
SELECT count(*) AS text_order_disagrees
  FROM (SELECT id, lead(id) OVER (ORDER BY id) AS nxt FROM gen) s
 WHERE nxt IS NOT NULL AND NOT (id::text < nxt::text);

-- btree and hash indexes, hash joins, sorting.
CREATE TEMP TABLE ids (id dtmv.twin_id);
INSERT INTO ids SELECT id FROM gen;
CREATE INDEX ids_hash ON ids USING hash (id);
CREATE INDEX ids_btree ON ids (id);
ANALYZE ids;
EXPLAIN (COSTS OFF) SELECT * FROM ids WHERE id = '0192f0c4-5a1e-8abc-8000-2a0000000001';
EXPLAIN (COSTS OFF) SELECT * FROM ids WHERE id > '0192f0c4-5a1e-8abc-8000-2a0000000001' ORDER BY id LIMIT 1;
SELECT count(*) AS found_by_hash FROM ids WHERE id = (SELECT id FROM gen WHERE n = 777);
SELECT (SELECT id FROM ids ORDER BY id LIMIT 1) = (SELECT min(id) FROM gen) AS min_matches,
       (SELECT id FROM gen ORDER BY n DESC LIMIT 1) = (SELECT max(id) FROM ids) AS max_is_newest;
SET enable_mergejoin = off;
SET enable_nestloop = off;
SELECT count(*) AS hash_joined FROM ids JOIN gen USING (id);
RESET enable_mergejoin;
RESET enable_nestloop;
SELECT dtmv.twin_id_hash('0192f0c4-5a1e-8abc-8000-2a0000000001') =
	   dtmv.twin_id_hash('0192F0C4-5A1E-8ABC-8000-2A0000000001') AS hash_stable;
SELECT dtmv.twin_id_hash_extended('0192f0c4-5a1e-8abc-8000-2a0000000001', 0) <>
	   dtmv.twin_id_hash_extended('0192f0c4-5a1e-8abc-8000-2a0000000001', 1) AS seed_matters;

-- Casts: to uuid (same bytes), from uuid (only the twin_id layout), text.
SELECT '0192f0c4-5a1e-8abc-8000-2a0000000001'::dtmv.twin_id::uuid;
SELECT '0192f0c4-5a1e-8abc-8000-2a0000000001'::uuid::dtmv.twin_id;
SELECT 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid::dtmv.twin_id;
SELECT '0192f0c4-5a1e-8abc-8000-2a0000000001'::text::dtmv.twin_id::text;
SELECT count(*) AS uuid_round_trip_mismatches FROM gen WHERE id::uuid::dtmv.twin_id <> id;

-- Binary send/recv: the 16 bytes, through COPY BINARY.
SELECT dtmv.twin_id_send('0192f0c4-5a1e-8abc-8000-2a0000000001');
COPY (SELECT id FROM gen ORDER BY n) TO '/tmp/dtmv_identity_test.bin' (FORMAT binary);
CREATE TEMP TABLE copied (id dtmv.twin_id);
COPY copied FROM '/tmp/dtmv_identity_test.bin' (FORMAT binary);
SELECT count(*) AS binary_round_trip_matches FROM copied JOIN gen USING (id);
SELECT pg_column_size('0192f0c4-5a1e-8abc-8000-2a0000000001'::dtmv.twin_id) AS bytes;

-- What the replayed files make keeps what it names: a policy or a view its
-- operators and functions, a trigger its WHEN clause, a function its
-- parameters' types and defaults. The script's own search_path holds the
-- schemas of PostGIS, pg_trgm and btree_gist, public as often as not, where
-- the database owner may have put an operator that matches better than
-- pg_catalog's (&& for bigint[], say): from here on it holds no schema that
-- anyone but a superuser may write (sql/install/first.sql checks dtmv's).
-- PostGIS is named with its schema (sql/install/replay.sh). CREATE EXTENSION and
-- ALTER EXTENSION put the search_path back when the script ends.
SET search_path = pg_catalog, dtmv, pg_temp;

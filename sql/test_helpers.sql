-- The tests' own helpers (test/sql/test_helpers.sql, schema dtmv_test),
-- which are not part of the extension: loaded once into the regression
-- database, before the other files, which call them.
\set ECHO none
\i test/sql/test_helpers.sql
\set ECHO all
SELECT p.oid::regprocedure AS helper, p.provolatile AS volatility, l.lanname AS language,
	   has_function_privilege('dtmv_user', p.oid, 'EXECUTE') AS users_may_call
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'dtmv_test'::regnamespace
 ORDER BY p.proname;

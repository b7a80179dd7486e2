-- The harness alone: TW001 raised by a function that does nothing else, caught as in refused.sql.
\set n random(1, 10000)
SELECT bench_refused_floor(id) FROM bench_twins WHERE n = :n;

-- Baseline: a bare INSERT into an unindexed table.
\set n random(1, 1000)
INSERT INTO bench_bare (n, payload) VALUES (:n, '{"temp": 21}');

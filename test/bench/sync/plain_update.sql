-- Baseline: a plain single-row UPDATE.
\set n random(1, 10000)
UPDATE tb_twins SET v = v + 1 WHERE n = :n;

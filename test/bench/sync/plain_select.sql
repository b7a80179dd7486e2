-- Baseline: a plain single-row SELECT.
\set n random(1, 10000)
SELECT v FROM tb_twins WHERE n = :n;

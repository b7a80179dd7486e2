-- A request refused because a higher-priority sync runs on the twin (TW001).
\set n random(1, 10000)
SELECT bench_refused(id) FROM bench_twins WHERE n = :n;

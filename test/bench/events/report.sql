-- The gateway reports an event on one of 1,000 twins.
\set n random(1, 1000)
SELECT dtmv.report(id, 'reading', '{"temp": 21}') FROM bench_twins WHERE n = :n;

-- One sync cycle: a user requests, a gateway claims the most urgent request, and completes it.
\set n random(1, 10000)
SELECT dtmv.request_sync(id) FROM bench_twins WHERE n = :n;
SELECT coalesce((SELECT request_id FROM dtmv.claim_sync()), 0) AS claimed \gset
SELECT dtmv.complete_sync(:claimed, true, '{"ok": true}') WHERE :claimed > 0;

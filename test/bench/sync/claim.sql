-- Claim and complete only: requests were queued beforehand.
SELECT coalesce((SELECT request_id FROM dtmv.claim_sync()), 0) AS claimed \gset
SELECT dtmv.complete_sync(:claimed, true) WHERE :claimed > 0;

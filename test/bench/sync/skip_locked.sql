-- The textbook queue doing the same work: enqueue, claim with FOR UPDATE SKIP LOCKED by
-- priority, complete and store the reported state on the twin.
\set n random(1, 10000)
INSERT INTO tb_jobs (twin, priority) VALUES (:n, 0);
WITH next AS (SELECT id FROM tb_jobs WHERE status = 'pending' ORDER BY priority DESC, id
			  LIMIT 1 FOR UPDATE SKIP LOCKED),
claimed AS (UPDATE tb_jobs j SET status = 'running', started_at = now() FROM next
			 WHERE j.id = next.id RETURNING j.id, j.twin)
SELECT coalesce(max(id), 0) AS claimed, coalesce(max(twin), 0) AS claimed_twin FROM claimed \gset
UPDATE tb_jobs SET status = 'succeeded', finished_at = now() WHERE id = :claimed;
UPDATE tb_twins SET reported = '{"ok": true}', reported_at = now() WHERE n = :claimed_twin;

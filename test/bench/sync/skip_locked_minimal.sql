-- The minimal textbook queue, for reference: enqueue, claim with FOR UPDATE SKIP LOCKED by
-- priority, complete and store the reported state on the twin. It does less than dtmv: no
-- refusal check, two jobs of one twin can run at once, nobody else is answered, no events.
\set n random(1, 10000)
INSERT INTO tb_jobs (twin, priority, requester) VALUES (:n, 0, 'bench');
WITH next AS (SELECT id FROM tb_jobs WHERE status = 'pending' ORDER BY priority DESC, id
			  LIMIT 1 FOR UPDATE SKIP LOCKED),
claimed AS (UPDATE tb_jobs j SET status = 'running', started_at = now() FROM next
			 WHERE j.id = next.id RETURNING j.id, j.twin)
SELECT coalesce(max(id), 0) AS claimed, coalesce(max(twin), 0) AS claimed_twin FROM claimed \gset
UPDATE tb_jobs SET status = 'succeeded', finished_at = now() WHERE id = :claimed;
UPDATE tb_twins SET reported = '{"ok": true}', reported_at = now() WHERE n = :claimed_twin;

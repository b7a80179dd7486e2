-- The textbook FOR UPDATE SKIP LOCKED queue doing the same work as a dtmv cycle, one
-- statement per step as dtmv's:
--  request: refused while a run of higher priority is in progress on the twin, else queued;
--  claim: the most urgent pending job whose twin runs nothing, the twin's row locked with
--    the job's so that two gateways never run one twin; the twin's other pending jobs
--    become the run's batch; a lease for recovery;
--  complete: the job succeeds, its batch is superseded, the twin stores the reported
--    state, and every requester answered gets an event and a NOTIFY on its channel.
-- No rights are checked and no run lock is taken: dtmv does both besides.
\set n random(1, 10000)
INSERT INTO tb_jobs (twin, priority, requester)
	SELECT :n, 0, 'bench'
	 WHERE NOT EXISTS (SELECT FROM tb_jobs WHERE twin = :n AND status = 'running' AND priority > 0);
WITH next AS (SELECT j.id, j.twin FROM tb_jobs j JOIN tb_twins t ON t.n = j.twin
			   WHERE j.status = 'pending' AND t.running_job IS NULL
			   ORDER BY j.priority DESC, j.id LIMIT 1 FOR UPDATE OF j, t SKIP LOCKED),
twin AS (UPDATE tb_twins t SET running_job = next.id FROM next WHERE t.n = next.twin),
batch AS (UPDATE tb_jobs b SET batch = next.id FROM next
		   WHERE b.twin = next.twin AND b.status = 'pending' AND b.id <> next.id),
claimed AS (UPDATE tb_jobs j SET status = 'running', started_at = now(),
						lease_until = now() + interval '5 minutes'
			  FROM next WHERE j.id = next.id RETURNING j.id, j.twin)
SELECT coalesce(max(id), 0) AS claimed, coalesce(max(twin), 0) AS claimed_twin FROM claimed \gset
WITH done AS (UPDATE tb_jobs SET status = 'succeeded', finished_at = now()
			   WHERE id = :claimed AND status = 'running' RETURNING id, twin, requester, status),
superseded AS (UPDATE tb_jobs SET status = 'superseded', finished_at = now()
				WHERE twin = :claimed_twin AND status = 'pending' AND batch = :claimed
				RETURNING id, twin, requester, status),
twin AS (UPDATE tb_twins SET running_job = NULL, reported = '{"ok": true}', reported_at = now()
		  WHERE n = :claimed_twin),
answers AS (INSERT INTO tb_events (twin, subject, kind, payload)
			SELECT twin, requester, 'sync_answer', jsonb_build_object('request', id, 'status', status)
			  FROM (SELECT * FROM done UNION ALL SELECT * FROM superseded) a
			RETURNING subject)
SELECT pg_notify('answers_' || subject, '') FROM answers;

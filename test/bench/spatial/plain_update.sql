-- Baseline: a plain UPDATE of an unindexed column of the same table.
\set n random(1, :rows)
UPDATE dtmv.twin_positions SET moved_at = now() WHERE twin = (SELECT id FROM bench_twins WHERE n = :n);

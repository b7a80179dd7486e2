-- A twin moves a little (robots creep): dtmv.sync_location.
\set n random(1, :rows)
\set dx random(-50, 50)
SELECT dtmv.sync_location(id, ST_MakePoint(x + :dx / 100.0, y, z)) FROM bench_twins WHERE n = :n;

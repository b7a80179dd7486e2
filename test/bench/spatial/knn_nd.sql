-- The hand-written PostGIS answer: exact 3D k nearest with the n-D GiST index (<<->>).
\set x random(0, 999)
\set y random(0, 999)
\set f random(0, 4)
SELECT count(*) FROM (SELECT twin FROM bench_points ORDER BY position <<->> ST_MakePoint(:x, :y, :f * 4 + 1.5) LIMIT 10) k;

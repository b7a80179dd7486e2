-- dtmv.localize k=10 at a random spot of the site.
\set x random(0, 999)
\set y random(0, 999)
\set f random(0, 4)
SELECT count(*) FROM dtmv.localize(:space, ST_MakePoint(:x, :y, :f * 4 + 1.5), 1000, 10) WHERE twin IS NOT NULL;

#!/usr/bin/env bash
# Converting between a site's frame and WGS84 (docs/spatial.md, "How dtmv
# converts"): 10,000 twins with footprints on one site, read through
# twin_positions_wgs84 and spatial_map, and to_wgs84 point by point, as a
# dtmv user; each figure the median of 5 runs, each in a new session (so
# each pays for setting the frame's transformation up once). Prints figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/bench/lib.sh
export BENCH_DB=dtmv_bench_frames
twins=${TWINS:-10000}
createdb $BENCH_DB
trap 'dropdb --if-exists $BENCH_DB' EXIT
bsql -c "CREATE EXTENSION dtmv CASCADE" -c "CREATE ROLE bench_frames IN ROLE dtmv_user" \
	-c "SELECT dtmv.create_subject('bench frames', 'bench_frames')" >/dev/null
site=$(bsql -At -c "SET ROLE bench_frames" -c "SELECT dtmv.create_space('bench site', 'site', anchor_lon => 4.8357,
	anchor_lat => 45.764, anchor_alt => 172, heading => 15)")
bsql -c "SET ROLE bench_frames" -c "SELECT count(dtmv.place(dtmv.create_twin('crate', 'crate ' || i), $site,
	ST_MakePoint((i % 100) * 3.0 - 150, (i / 100) * 3.0 - 150, 1), footprint => dtmv.footprint_box(1, 1, 1)))
	FROM generate_series(1, $twins) i" >/dev/null
bsql -c "VACUUM ANALYZE"
as_user="SET ROLE bench_frames;"
view=$(median_ms 5 "$as_user" "SELECT count(position) FROM dtmv.twin_positions_wgs84")
view_fp=$(median_ms 5 "$as_user" "SELECT count(position), count(footprint) FROM dtmv.twin_positions_wgs84")
map=$(median_ms 5 "$as_user" "SELECT jsonb_array_length(dtmv.spatial_map($site) -> 'features')")
map_local=$(median_ms 5 "$as_user" "SELECT jsonb_array_length(dtmv.spatial_map($site, frame => 'local') -> 'features')")
points=$(median_ms 5 "$as_user" "SELECT count(dtmv.to_wgs84($site, ST_MakePoint(i, i, 1))) FROM generate_series(1, $twins) i")
first=$(median_ms 5 "$as_user" "SELECT dtmv.to_wgs84($site, ST_MakePoint(1, 2, 3))")
echo "twins: $twins on one site"
echo "twin_positions_wgs84, positions:        $view ms"
echo "twin_positions_wgs84, with footprints:  $view_fp ms"
echo "spatial_map, WGS84:                     $map ms"
echo "spatial_map, frame => 'local':          $map_local ms"
echo "to_wgs84, $twins calls:                 $points ms ($(awk -v t=$points -v n=$twins 'BEGIN {printf "%.1f", t * 1000 / n}') us a call)"
echo "to_wgs84, the first call of a session:  $first ms"

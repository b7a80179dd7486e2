#!/usr/bin/env bash
# GIS tools place dtmv's twins where they are (issue 15): GDAL itself reads
# the GeoJSON of dtmv.spatial_map, the view dtmv.twin_positions_wgs84
# through its PostgreSQL driver (PG:), both without the site's frame in
# PostGIS's spatial_ref_sys, and, once its creator published the frame
# there (dtmv.publish_site_crs), local positions tagged with their site's
# SRID (dtmv.site_srid), which GDAL reprojects on its own. Each must
# put a robot at local (16.04, 7.03, 0.9) of a site anchored in Lyon at the
# longitude, latitude and height computed here independently of dtmv (the
# frame's definition, docs/spatial.md: turn the axes by the heading, then
# PROJ's transverse Mercator centred on the anchor, then the anchor's
# height), to the centimetre. Runs inside a throwaway cluster
# (test/with-cluster.sh) as its superuser. TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0
failed=0
check() { n=$((n + 1)); if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi; }
work=$(mktemp -d)
trap 'rm -rf "$work"; dropdb --if-exists dtmv_gis' EXIT
db=dtmv_gis
sql() { psql -X -At -q -v ON_ERROR_STOP=1 -d $db "$@"; }

# the site and the robot
lon0=4.8357 lat0=45.764 alt0=172 heading=15
x=16.04 y=7.03 z=0.9
createdb $db
sql -c "CREATE EXTENSION dtmv CASCADE" -c "CREATE ROLE gis_alice LOGIN PASSWORD 'gis-test' IN ROLE dtmv_user" \
	-c "SELECT dtmv.create_subject('gis alice', 'gis_alice')" >/dev/null
site=$(sql -c "SET ROLE gis_alice" -c "SELECT dtmv.create_space('Lyon plant', 'site', anchor_lon => $lon0, anchor_lat => $lat0,
	anchor_alt => $alt0, heading => $heading)")
hall=$(sql -c "SET ROLE gis_alice" -c "SELECT dtmv.create_space('Hall', 'floor', $site, z_min => 0, z_max => 6)")
robot=$(sql -c "SET ROLE gis_alice" -c "SELECT dtmv.create_twin('robot', 'Robot', physical_binding => 'R-1')")
sql -c "SET ROLE gis_alice" -c "SELECT dtmv.place('$robot', $hall, ST_MakePoint($x, $y, $z), footprint => dtmv.footprint_box(1, 1, 2))" >/dev/null

# Where the robot is, computed apart: east and north of the anchor (the
# site's axes turned clockwise by the heading), then the inverse of the
# transverse Mercator projection by GDAL's gdaltransform, then the height.
read -r east north < <(awk -v x=$x -v y=$y -v h=$heading 'BEGIN {
	r = h * atan2(0, -1) / 180; printf "%.12f %.12f\n", x * cos(r) + y * sin(r), -x * sin(r) + y * cos(r) }')
read -r want_lon want_lat _ < <(echo "$east $north 0" | gdaltransform -output_xy \
	-s_srs "+proj=tmerc +lat_0=$lat0 +lon_0=$lon0 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs" \
	-t_srs "+proj=longlat +datum=WGS84 +no_defs")
want_h=$(awk -v a=$alt0 -v z=$z 'BEGIN { printf "%.6f", a + z }')
echo "# the robot should be at $want_lon $want_lat $want_h"

# within_cm "POINT Z (lon lat h)": within a centimetre of where the robot is
within_cm() {
	local got
	got=$(grep -o 'POINT Z ([^)]*)' <<<"$1" | head -1 | tr -d '()' | awk '{print $3, $4, $5}')
	echo "# got $got"
	[[ -n $got ]] && awk -v got="$got" -v lon=$want_lon -v lat=$want_lat -v h=$want_h 'BEGIN {
		split(got, g, " "); d = atan2(0, -1) / 180; R = 6378137
		dx = (g[1] - lon) * d * R * cos(lat * d); dy = (g[2] - lat) * d * R; dz = g[3] - h
		exit !(dx * dx + dy * dy + dz * dz < 0.01 * 0.01) }'
}
# the map and what GDAL reads from the database, as alice: her rights apply
conn="PG:dbname=$db host=${PGHOST:-localhost} port=${PGPORT:-5432} user=gis_alice password=gis-test"

# the site's anchor is in no row of spatial_ref_sys, which every role reads
check "making a site writes nothing into spatial_ref_sys" \
	test "$(sql -c "SELECT count(*) FROM spatial_ref_sys WHERE auth_name = 'dtmv' OR srtext LIKE '%$lat0%'")" = 0

# 1. the GeoJSON of spatial_map, as a file
PGPASSWORD=gis-test psql -X -At -v ON_ERROR_STOP=1 -d $db -U gis_alice -c "SELECT dtmv.spatial_map($site)" >"$work/map.geojson"
info=$(ogrinfo -ro -al "$work/map.geojson" 2>&1)
echo "$info" | sed -n '/^OGRFeature/,$p' | sed 's/^/# /'
check "ogrinfo reads spatial_map's GeoJSON in WGS84 (EPSG:4326 or 4979)" grep -qE 'ID\["EPSG",(4326|4979)\]' <<<"$info"
check "ogrinfo places the robot of spatial_map's GeoJSON near Lyon, to the centimetre" within_cm "$info"
check "... with its local coordinates among its fields" \
	grep -qE "local_x \(Real\) = $x" <<<"$info"

# 2. the view, through GDAL's PostgreSQL driver
info=$(ogrinfo -ro "$conn" "dtmv.twin_positions_wgs84(position)" 2>&1)
echo "$info" | sed -n '/^OGRFeature/,$p' | sed 's/^/# /'
check "ogrinfo on PG: reads twin_positions_wgs84's positions as EPSG:4979" grep -q 'ID\["EPSG",4979\]' <<<"$info"
check "ogrinfo on PG: places the robot near Lyon, to the centimetre" within_cm "$info"
info=$(ogrinfo -ro -so "$conn" "dtmv.twin_positions_wgs84(footprint)" 2>&1)
check "... and its footprint, a 3D solid in EPSG:4979" grep -q 'ID\["EPSG",4979\]' <<<"$info"
# (Extent: (lon min, lat min) - (lon max, lat max), a 1 m box about the robot)
read -r x0 y0 x1 y1 < <(grep '^Extent:' <<<"$info" | grep -oE '[-]?[0-9.]+' | tr '\n' ' ')
check "... standing about the robot's spot" \
	awk -v lon=$want_lon -v lat=$want_lat -v x0=$x0 -v y0=$y0 -v x1=$x1 -v y1=$y1 \
	'BEGIN { exit !(x0 < lon && lon < x1 && y0 < lat && lat < y1 && x1 - x0 < 0.0001 && y1 - y0 < 0.0001) }'

# 3. local coordinates tagged with the site's SRID, once alice published
# its frame: GDAL reads the frame's definition from spatial_ref_sys and
# reprojects to WGS84 by itself
srid=$(sql -c "SET ROLE gis_alice" -c "SELECT dtmv.publish_site_crs($site)")
check "alice publishes her site's frame: it has an SRID" test "$(sql -c "SELECT dtmv.site_srid($site)")" = "$srid"
local="SELECT t.twin::text AS twin, ST_SetSRID(t.position, dtmv.site_srid(t.site)) AS geom FROM dtmv.twin_positions t"
check "GDAL reads the site's frame from spatial_ref_sys" \
	grep -q 'DERIVEDPROJCRS\["dtmv site' <(ogrinfo -ro -so "$conn" -sql "$local" 2>&1)
ogr2ogr -f GeoJSON "$work/local.geojson" "$conn" -t_srs EPSG:4979 -sql "$local" 2>"$work/ogr2ogr.err"
cat "$work/ogr2ogr.err" | sed 's/^/# /'
info=$(ogrinfo -ro -al "$work/local.geojson" 2>&1)
echo "$info" | sed -n '/^OGRFeature/,$p' | sed 's/^/# /'
check "ogr2ogr -t_srs EPSG:4979 from the site's SRID places the robot near Lyon, to the centimetre" within_cm "$info"

echo "1..$n"
exit $failed

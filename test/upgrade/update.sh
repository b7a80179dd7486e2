#!/usr/bin/env bash
# ALTER EXTENSION dtmv UPDATE from each released version (sql/install/released/)
# keeps every row and ends with the objects that a fresh install of this
# version creates. The demo fills the old version; both databases are then
# described by pg_dump --binary-upgrade, which, unlike a plain dump, writes
# out every member object of the extension (functions, tables, policies,
# privileges, comments), and the descriptions are compared after removing
# what names objects by oid. Runs inside a throwaway cluster. TAP output.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0
failed=0
check() { n=$((n + 1)); if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=1; fi; }
q() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
work=$(mktemp -d)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

# the queries that read every row of every table (the columns it has now:
# an update may add columns, never change or drop one) and the state of
# every sequence of schema dtmv; run before and after the update
row_queries() {
	psql -X -At -v ON_ERROR_STOP=1 -d "$1" <<-'SQL'
		SELECT pg_catalog.format('SELECT %1$L, count(*), md5(coalesce(string_agg(ROW(%2$s)::text, ''|'' ORDER BY ROW(%2$s)::text), '''')) FROM %3$s x;',
								 c.relname,
								 (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
									FROM pg_catalog.pg_attribute a
								   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
								 c.oid::regclass)
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace = 'dtmv'::regnamespace AND c.relkind = 'r'
		 ORDER BY c.relname;
		SELECT pg_catalog.format('SELECT %L, last_value, is_called FROM %s;', c.relname, c.oid::regclass)
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace = 'dtmv'::regnamespace AND c.relkind = 'S'
		 ORDER BY c.relname;
	SQL
}
rows() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -f "$2"; }

# the objects of the database, without what differs between any two
# databases: binary_upgrade_* calls and the relfrozenxid updates name oids
# (the extension's configuration tables are listed apart, by name), setval
# the sequences' states (compared with the rows), \restrict a random key
objects() {
	pg_dump --schema-only --binary-upgrade -d "$1" |
		grep -v -e 'binary_upgrade_' -e '^-- Dumped' -e '^SET ' -e '^SELECT pg_catalog.set_config' \
			-e '^SELECT pg_catalog.setval' -e "^WHERE oid = '" -e '^\\restrict' -e '^\\unrestrict'
	PGOPTIONS='-c search_path=pg_catalog' q "$1" \
		"SELECT extversion, extconfig::regclass[]::text, extcondition::text FROM pg_catalog.pg_extension WHERE extname = 'dtmv'"
}

current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" dtmv.control)
# the session's search_path as it was before the script: the scripts pin
# their own for what they run (SET LOCAL), and it must not stay behind
path_after() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "SET search_path = public, dtmv" -c "$2" -c "SHOW search_path" | tail -1; }
createdb dtmv_fresh
check "CREATE EXTENSION leaves the session's search_path as it was" \
	test "$(path_after dtmv_fresh "CREATE EXTENSION dtmv CASCADE")" = "public, dtmv"
objects dtmv_fresh >"$work/fresh"

for script in sql/install/released/dtmv--*.sql; do
	old=${script##*/dtmv--}
	old=${old%.sql}
	db=dtmv_demo
	if ! DTMV_DEMO_VERSION=$old bash demo/run.sh >"$work/demo-$old.log" 2>&1; then
		check "the demo plays on $old" false
		tail -20 "$work/demo-$old.log"
		continue
	fi
	check "the demo plays on $old" test "$(q $db "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'dtmv'")" = "$old"
	row_queries $db >"$work/row-queries"
	rows $db "$work/row-queries" >"$work/rows-before"
	check "ALTER EXTENSION dtmv UPDATE from $old, leaving the session's search_path as it was" \
		test "$(path_after $db "ALTER EXTENSION dtmv UPDATE")" = "public, dtmv"
	check "$old is updated to $current" \
		test "$(q $db "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'dtmv'")" = "$current"
	rows $db "$work/row-queries" >"$work/rows-after"
	check "every row and sequence of $old is kept" diff -u "$work/rows-before" "$work/rows-after"
	check "the tables hold rows (the check compares something)" \
		test "$(awk -F'|' '$2 > 0' "$work/rows-before" | wc -l)" -gt 10
	objects $db >"$work/updated"
	check "updated from $old: the objects of a fresh $current install" diff -u "$work/fresh" "$work/updated"
	check "the updated database takes new twins and reports" \
		test "$(q $db "SET ROLE demo_alice; SELECT dtmv.create_twin('lamp', 'New lamp') IS NOT NULL" | tail -1)" = t
	# Bindings made before 0.2 name no gateway: they route nothing until
	# dtmv_admin confirms each through the gateway that serves the device.
	door=$(q $db "SELECT twin FROM dtmv.twin_states WHERE physical_binding = 'ACME-DOOR-0001'")
	check "a binding of $old routes nothing after the update" \
		grep -q 42501 <(psql -X -At -v VERBOSITY=sqlstate -d $db -c "SET ROLE demo_gateway; SELECT dtmv.report('$door', 'doorbell')" 2>&1)
	check "dtmv_admin confirms it through the gateway that serves the door" \
		q $db "SELECT dtmv.register_gateway('home gateway', 'alice'); SELECT dtmv.confirm_binding('ACME-DOOR-0001', '$door', 'home gateway')"
	check "then the gateway reports for the door" \
		q $db "SET ROLE demo_gateway; SELECT dtmv.report('$door', 'doorbell')"
	dropdb $db
done

# Built-in actions redefined under 0.1, where define_action turned the
# built-in row into the definition (so that a dump of it clashed, at
# restore, with the built-in row CREATE EXTENSION makes): the update makes
# the built-in row again beside the definition, which wins; a command queued
# under 0.1 keeps the patch it was asked with; the database then goes
# through pg_dump and pg_restore with nothing lost.
createdb dtmv_actions
q dtmv_actions "CREATE EXTENSION dtmv VERSION '0.1' CASCADE" >/dev/null
q dtmv_actions "CREATE ROLE update_actions_user IN ROLE dtmv_user" >/dev/null
q dtmv_actions "SELECT dtmv.create_subject('update_actions_user', 'update_actions_user');
	SELECT dtmv.define_action('door', 'open', '{\"door\": \"wide open\"}'), dtmv.define_action('door', 'knock');
	SET ROLE update_actions_user;
	SELECT dtmv.interact(dtmv.create_twin('door', 'Door'), 'open')" >/dev/null
door_actions="SELECT string_agg(action || '=' || coalesce(desired_patch::text, '-') || (CASE WHEN builtin THEN ' built in' ELSE '' END), ', ' ORDER BY action) FROM dtmv.kind_actions WHERE kind = 'door'"
redefined='close={"door": "closed"} built in, knock=-, lock={"door": "locked"} built in, open={"door": "wide open"}, view_camera=- built in'
check "0.1 with redefined built-in actions: the update goes through" q dtmv_actions "ALTER EXTENSION dtmv UPDATE"
check "... the doors offer each action once, the definition winning" \
	test "$(q dtmv_actions "$door_actions")" = "$redefined"
check "... the built-in row is made again beside the definition, as dtmv ships it" \
	test "$(q dtmv_actions "SELECT string_agg(desired_patch::text || ' ' || builtin, ', ' ORDER BY builtin) FROM dtmv.kind_action_definitions WHERE kind = 'door' AND action = 'open'")" = '{"door": "wide open"} false, {"door": "open"} true'
check "... the command queued under 0.1 keeps the patch it was asked with" \
	test "$(q dtmv_actions "SELECT desired_patch FROM dtmv.commands")" = '{"door": "wide open"}'
pg_dump -Fc -f "$work/actions.dump" dtmv_actions
createdb dtmv_actions_restored
check "... pg_restore of its dump reports no error" \
	pg_restore --exit-on-error -d dtmv_actions_restored "$work/actions.dump"
check "... and the restored doors offer the actions as defined" \
	test "$(q dtmv_actions_restored "$door_actions")" = "$redefined"
dropdb dtmv_actions_restored
dropdb dtmv_actions
q postgres "DROP ROLE update_actions_user" >/dev/null

# A dtmv_user may make an operator over a function of dtmv she may call;
# the update grants EXECUTE to PUBLIC on the functions of twin_id's
# operators and families, and must not take hers for dtmv's own (it granted
# twin_info and has_right to PUBLIC), nor grant on PostgreSQL's uuid
# functions in the families (a grant DROP EXTENSION would leave behind).
createdb dtmv_grants
q dtmv_grants "CREATE EXTENSION dtmv VERSION '0.1' CASCADE" >/dev/null
q dtmv_grants "CREATE ROLE update_operator_maker IN ROLE dtmv_user; CREATE ROLE update_nobody;
	CREATE SCHEMA maker AUTHORIZATION update_operator_maker;
	SET ROLE update_operator_maker;
	CREATE OPERATOR maker.?? (RIGHTARG = dtmv.twin_id, FUNCTION = dtmv.twin_info);
	CREATE OPERATOR maker.?! (LEFTARG = dtmv.twin_id, RIGHTARG = text, FUNCTION = dtmv.has_right)" >/dev/null
check "0.1 with a user's operators over dtmv's functions: the update goes through" \
	q dtmv_grants "ALTER EXTENSION dtmv UPDATE"
check "... and grants no one else her operators' functions" \
	test "$(q dtmv_grants "SELECT has_function_privilege('update_nobody', 'dtmv.twin_info(dtmv.twin_id)', 'EXECUTE'),
		has_function_privilege('update_nobody', 'dtmv.has_right(dtmv.twin_id, text)', 'EXECUTE')")" = 'f|f'
check "... while the functions of twin_id's own operators stay everyone's" \
	test "$(q dtmv_grants "SELECT has_function_privilege('update_nobody', 'dtmv.twin_id_eq(dtmv.twin_id, uuid)', 'EXECUTE')")" = t
q dtmv_grants "DROP SCHEMA maker CASCADE; DROP EXTENSION dtmv" >/dev/null
check "DROP EXTENSION leaves PostgreSQL's uuid functions with the privileges they had" \
	test "$(q dtmv_grants "SELECT count(*) FROM pg_catalog.pg_proc WHERE proname IN ('uuid_cmp', 'uuid_hash', 'uuid_hash_extended') AND proacl IS NOT NULL")" = 0
dropdb dtmv_grants
q postgres "DROP ROLE update_operator_maker; DROP ROLE update_nobody" >/dev/null

# An object outside dtmv that depends on a function the update drops (a
# SQL-standard body records the dependency): the update refuses, naming it,
# before it changes anything; without it, the update goes through.
createdb dtmv_dependent
q dtmv_dependent "CREATE EXTENSION dtmv VERSION '0.1' CASCADE" >/dev/null
q dtmv_dependent "CREATE FUNCTION public.finish(r bigint) RETURNS text LANGUAGE sql
	BEGIN ATOMIC SELECT dtmv.complete_sync(r, true, '{\"x\": 1}'::jsonb); END" >/dev/null
refusal=$(psql -X -At -d dtmv_dependent -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
	-c "ALTER EXTENSION dtmv UPDATE" 2>&1)
check "an update that would drop a function a user's object depends on is refused with 2BP01, naming it" \
	grep -q '2BP01.*function public.finish(bigint)' <<<"$refusal"
check "... and changes nothing" \
	test "$(q dtmv_dependent "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'dtmv'")" = 0.1
q dtmv_dependent "DROP FUNCTION public.finish(bigint)" >/dev/null
check "without the dependent object, the update goes through" q dtmv_dependent "ALTER EXTENSION dtmv UPDATE"
# What 0.1 accepted and 0.2 refuses (docs/spatial.md, "Frames"): a site
# with an infinite heading, one with a NaN anchor_alt, positions far outside
# today's frame. The update goes through; afterwards the map and the view
# give such a twin no WGS84 geometry (null) and place the others, and no
# site's anchor is written into spatial_ref_sys, which every role reads.
createdb dtmv_frames
q dtmv_frames "CREATE EXTENSION dtmv VERSION '0.1' CASCADE" >/dev/null
q dtmv_frames "CREATE ROLE update_frames_user IN ROLE dtmv_user" >/dev/null
q dtmv_frames "SELECT dtmv.create_subject('update_frames_user', 'update_frames_user')" >/dev/null
as_frames_user() { q dtmv_frames "SET ROLE update_frames_user; $1" | tail -1; }
spinning=$(as_frames_user "SELECT dtmv.create_space('spinning', 'site', anchor_lon => 4.85, anchor_lat => 45.75, heading => 'Infinity')")
sky=$(as_frames_user "SELECT dtmv.create_space('no height', 'site', anchor_lon => 4.85, anchor_lat => 45.75, anchor_alt => 'NaN')")
plant=$(as_frames_user "SELECT dtmv.create_space('plant', 'site', anchor_lon => 4.85, anchor_lat => 45.75, anchor_alt => 170)")
as_frames_user "SELECT dtmv.place(dtmv.create_twin('robot', 'near'), $plant, 'POINT Z (1 2 3)'),
	dtmv.place(dtmv.create_twin('robot', 'far'), $plant, 'POINT Z (2 0 0)'),
	dtmv.place(dtmv.create_twin('robot', 'very far'), $plant, 'POINT Z (3 0 0)'),
	dtmv.place(dtmv.create_twin('robot', 'spinning'), $spinning, 'POINT Z (1 1 1)'),
	dtmv.place(dtmv.create_twin('robot', 'no height'), $sky, 'POINT Z (1 1 1)')" >/dev/null
# (0.1's own library stored these; its SQL calls the library installed now,
# which refuses them, so they are written directly, as 0.1 left them)
q dtmv_frames "SET search_path = public, dtmv; UPDATE dtmv.twin_positions p SET position = CASE r.name WHEN 'far' THEN 'POINT Z (150000 0 0)'::geometry
	ELSE 'POINT Z (1e20 0 0)'::geometry END FROM dtmv.twin_registry r WHERE r.id = p.twin AND r.name IN ('far', 'very far')" >/dev/null
# a row of the plant's frame as an earlier build of 0.2 wrote it for every
# site, and a row of another writer's
q dtmv_frames "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext)
	VALUES (910000 + $plant, 'dtmv', $plant, 'DERIVEDPROJCRS[\"dtmv site $plant\"]'), (910100, 'mine', 7, 'GEOGCRS[\"mine\"]')" >/dev/null
check "0.1 with sites without a frame and positions outside today's frame: the update goes through" \
	q dtmv_frames "ALTER EXTENSION dtmv UPDATE"
check "... no site's anchor in spatial_ref_sys: the row an earlier 0.2 wrote is gone, another writer's stays" \
	test "$(q dtmv_frames "SELECT string_agg(srid || ':' || auth_name, ',') FROM spatial_ref_sys WHERE srid >= 910000 OR auth_name = 'dtmv'")" = 910100:mine
check "... spatial_map of the plant places the near twin and gives the far ones a null geometry" \
	test "$(as_frames_user "SELECT string_agg(f #>> '{properties,name}' || '=' || coalesce(f #>> '{geometry,type}', 'null'), ',' ORDER BY f #>> '{properties,name}')
		FROM jsonb_array_elements(dtmv.spatial_map($plant) -> 'features') f")" = 'far=null,near=Point,very far=null'
check "... so does twin_positions_wgs84" \
	test "$(as_frames_user "SELECT string_agg(name || '=' || coalesce(ST_AsText(position, 2), 'null'), ',' ORDER BY name) FROM dtmv.twin_positions_wgs84")" = \
	'far=null,near=POINT Z (4.85 45.75 173),no height=null,spinning=null,very far=null'
map_geometries() { as_frames_user "SELECT string_agg(coalesce(f #>> '{geometry,type}', 'null'), ',') FROM jsonb_array_elements(dtmv.spatial_map($1) -> 'features') f"; }
check "... spatial_map of a site without a frame gives its twin a null geometry" \
	test "$(map_geometries $spinning) $(map_geometries $sky)" = 'null null'
check "... to_wgs84 on it is refused with 22023" \
	grep -q 22023 <(psql -X -At -v VERBOSITY=sqlstate -d dtmv_frames -c "SET ROLE update_frames_user; SELECT dtmv.to_wgs84($spinning, 'POINT Z (1 1 1)')" 2>&1)
dropdb dtmv_frames
q postgres "DROP ROLE update_frames_user" >/dev/null

echo "1..$n"
exit $failed

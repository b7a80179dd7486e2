# Nothing is lost through pg_dump and pg_restore: the demo's data (a home,
# rights, groups, worlds, syncs, events, commands, kinds from Thing Models,
# actions defined, redefined and withdrawn) is dumped, restored into
# a new database, and every dtmv table compared row for row; then the
# restored database is used.
use strict;
use warnings;

use DtmvTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp  = PostgreSQL::Test::Utils::tempdir;
my $node = new_dtmv_node('demo', create => 0);
is(run_as($node, undef, "$tmp/demo.log", 'bash', "$TOP/demo/run.sh"),
	0, 'the demo played')
  or BAIL_OUT('the demo failed: ' . slurp_file("$tmp/demo.log"));

# Kinds from W3C Thing Models: a new one, and one for the built-in door,
# whose model stands beside the built-in one (docs/thing-descriptions.md).
is( $node->safe_psql(
		'dtmv_demo', q{SET ROLE demo_admin;
		SELECT dtmv.define_kind_from_thing_model('{"@context": "https://www.w3.org/2022/wot/td/v1.1",
			"@type": "tm:ThingModel", "title": "Smart door", "actions": {"open": {"title": "Open up"}}}', kind => 'door')
			|| ',' || dtmv.define_kind_from_thing_model('{"@context": "https://www.w3.org/2022/wot/td/v1.1",
			"@type": "tm:ThingModel", "title": "valve", "actions": {"shut": {}}, "events": {"leak": {}}}')}),
	'door,valve',
	'kinds defined from Thing Models');

# Actions: a built-in one redefined, a new one, a built-in one withdrawn
# (docs/events.md, "Actions"). The redefinition stands beside the built-in
# row, which CREATE EXTENSION makes again in the restored database.
$node->safe_psql(
	'dtmv_demo', q{SET ROLE demo_admin;
	SELECT dtmv.define_action('door', 'open', '{"door": "wide open"}');
	SELECT dtmv.define_action('door', 'knock', '{"knocked": true}');
	SELECT dtmv.withdraw_action('lamp', 'off');});

dump_and_restore($node, 'dtmv_demo', $node, 'dtmv_restored',
	'pg_restore reports no error');

for my $t (
	qw(subjects group_members systems twin_registry twin_states grants worlds
	world_twins sync_priorities sync_requests events commands kind_actions
	kind_action_definitions thing_models spaces published_frames twin_positions services captures boms bom_lines orders order_items)
  )
{
	my $sql =
	  "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM dtmv.$t x";
	is($node->safe_psql('dtmv_restored', $sql),
		$node->safe_psql('dtmv_demo', $sql),
		"dtmv.$t is the same after restore");
}
# A site's frame is in spatial_ref_sys only once published (docs/spatial.md,
# "Publishing a site's frame"): the demo publishes its factory's, not
# alice's flat's. pg_dump keeps the published row with PostGIS's rows, so
# the restored factory keeps its SRID and ST_Transform places local
# positions as before; the flat's anchor is in no row, before or after.
my $frames =
  "SELECT string_agg(s.name || ':' || coalesce(dtmv.site_srid(s.space_id)::text, 'none') || ':'"
  . " || coalesce(public.ST_AsText(public.ST_Transform(public.ST_SetSRID(public.ST_MakePoint(100, 0, 0), dtmv.site_srid(s.space_id)), 4979), 9), '-'),"
  . " ',' ORDER BY s.space_id) FROM dtmv.spaces s WHERE s.kind = 'site'";
like($node->safe_psql('dtmv_demo', $frames),
	qr/^Alice's factory:91\d{4}:POINT Z \(4\.83\d+ 45\.76\d+ 172\),Alice's flat:none:-$/,
	'the demo\'s factory has its frame\'s SRID, the flat none');
is($node->safe_psql('dtmv_restored', $frames),
	$node->safe_psql('dtmv_demo', $frames),
	'the sites keep their frames\' SRIDs (or none) after restore');
my $rows = "SELECT coalesce(string_agg(r.srid || ':' || r.auth_name || ':' || r.auth_srid || ':' || (r.srtext = dtmv.site_crs(r.auth_srid)), ',' ORDER BY r.srid), '-')"
  . " FROM public.spatial_ref_sys r WHERE r.srid >= 910000 OR r.auth_name = 'dtmv' OR r.srtext LIKE '%dtmv site%'";
my $published = "SELECT string_agg(p.srid || ':dtmv:' || p.site || ':true', ',' ORDER BY p.srid) FROM dtmv.published_frames p";
is($node->safe_psql('dtmv_demo', $rows), $node->safe_psql('dtmv_demo', $published),
	'spatial_ref_sys holds the published frame and nothing of the flat');
is($node->safe_psql('dtmv_restored', $rows), $node->safe_psql('dtmv_demo', $published),
	'... and so after restore: the published frame, as the restored site has it');
is( $node->safe_psql('dtmv_restored', 'SELECT dtmv.local_system()'),
	$node->safe_psql('dtmv_demo', 'SELECT dtmv.local_system()'),
	'the twin system keeps its number');
my $bob_sees =
  'SELECT string_agg(name, \',\' ORDER BY name) FROM dtmv.twins';
is( sql_as($node, 'demo_bob', $bob_sees, 'dtmv_demo') . ','
	  . sql_as($node, 'demo_bob', $bob_sees, 'dtmv_restored'),
	'Living-room sofa,Living-room sofa',
	'rights still filter: bob sees only the sofa, as before the dump');
is( sql_as(
		$node, 'demo_alice',
		"SELECT dtmv.thing_description(id) #>> '{actions,open,title}' FROM dtmv.twins WHERE kind = 'door'",
		'dtmv_restored'),
	'Open up',
	'the restored door is described by its imported Thing Model');
my $actions =
  "SELECT string_agg(kind || '.' || action || '=' || coalesce(desired_patch::text, '-'), ' ' ORDER BY kind, action)"
  . " FROM dtmv.kind_actions WHERE kind IN ('door', 'lamp')";
is( sql_as($node, 'demo_alice', $actions, 'dtmv_restored'),
	'door.close={"door": "closed"} door.knock={"knocked": true} door.lock={"door": "locked"} '
	  . 'door.open={"door": "wide open"} door.view_camera=- lamp.on={"light": "on"}',
	'the restored kinds offer the actions as defined before the dump, one row each');
is( sql_as(
		$node, 'demo_alice',
		"SELECT dtmv.interact(id, 'open') > 0 FROM dtmv.twins WHERE kind = 'door';
		 SELECT dtmv.twin_info(id) #>> '{desired,door}' FROM dtmv.twins WHERE kind = 'door'",
		'dtmv_restored'),
	"t\nwide open",
	'interact in the restored database opens the door as redefined');
is( sql_as(
		$node, 'demo_alice',
		"SELECT dtmv.create_twin('lamp', 'New lamp') IS NOT NULL",
		'dtmv_restored'),
	't',
	'the restored database takes new twins');

done_testing();

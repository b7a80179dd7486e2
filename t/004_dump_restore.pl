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
	kind_action_definitions thing_models spaces twin_positions services captures boms bom_lines orders order_items)
  )
{
	my $sql =
	  "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM dtmv.$t x";
	is($node->safe_psql('dtmv_restored', $sql),
		$node->safe_psql('dtmv_demo', $sql),
		"dtmv.$t is the same after restore");
}
# each site's frame is registered in spatial_ref_sys (docs/spatial.md):
# pg_dump keeps the rows with PostGIS's, so the restored sites keep their
# SRIDs, and ST_Transform places local positions as before
my $frames =
  "SELECT string_agg(s.space_id || ':' || coalesce(dtmv.site_srid(s.space_id)::text, 'none') || ':'"
  . " || public.ST_AsText(public.ST_Transform(public.ST_SetSRID(public.ST_MakePoint(100, 0, 0), dtmv.site_srid(s.space_id)), 4979), 9),"
  . " ',' ORDER BY s.space_id) FROM dtmv.spaces s WHERE s.kind = 'site'";
like($node->safe_psql('dtmv_demo', $frames),
	qr/^\d+:91\d{4}:POINT Z \(4\.83/, 'the demo\'s site has its frame\'s SRID');
is($node->safe_psql('dtmv_restored', $frames),
	$node->safe_psql('dtmv_demo', $frames),
	'the sites keep their frames\' SRIDs after restore');
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

# Nothing is lost through pg_dump and pg_restore: the demo's data (a home,
# rights, groups, worlds, syncs, events, commands) is dumped, restored into
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

dump_and_restore($node, 'dtmv_demo', $node, 'dtmv_restored',
	'pg_restore reports no error');

for my $t (
	qw(subjects group_members systems twin_registry twin_states grants worlds
	world_twins sync_priorities sync_requests events commands kind_actions
	spaces twin_positions services captures boms bom_lines orders order_items)
  )
{
	my $sql =
	  "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM dtmv.$t x";
	is($node->safe_psql('dtmv_restored', $sql),
		$node->safe_psql('dtmv_demo', $sql),
		"dtmv.$t is the same after restore");
}
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
		"SELECT dtmv.create_twin('lamp', 'New lamp') IS NOT NULL",
		'dtmv_restored'),
	't',
	'the restored database takes new twins');

done_testing();

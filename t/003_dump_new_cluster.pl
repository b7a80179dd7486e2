# The event log survives pg_dump and pg_restore into another cluster, whose
# transaction ids start low again: a reader resumes from the last id it got
# before the dump and receives, exactly once, the events that were written
# but not yet delivered, then new ones; a new client starts at
# event_horizon(); new events get larger ids and collide with nothing.
# (Event ids once were transaction ids shifted: in a restored cluster they
# went backwards, and reports failed with 23505 once they caught up.)
use strict;
use warnings;

use DtmvTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $tmp = PostgreSQL::Test::Utils::tempdir;

# The source: a gateway reports on a meter; its cluster has used a few
# thousand transaction ids, as any cluster that ran for a while has.
my $source = new_dtmv_node('source');
$source->safe_psql(
	'postgres', q{
CREATE ROLE fc_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE fc_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('alice', 'fc_alice');
SELECT dtmv.create_subject('gateway', 'fc_gw', 'system');
SELECT dtmv.register_gateway('gateway', 'alice');
});
append_to_file("$tmp/xid.sql", 'SELECT txid_current();');
run_or_bail($source, 'pgbench', '-n', '-t', '3000', '-f', "$tmp/xid.sql");

my $meter = sql_as($source, 'fc_alice',
	"SELECT dtmv.create_twin('meter', 'Water meter', physical_binding => 'FC-METER')"
);
# the meter is connected to the gateway (the binding and the gateway are
# dumped and restored with the rest)
sql_as($source, 'fc_gw', "SELECT dtmv.confirm_binding('FC-METER')");
my $start = sql_as($source, 'fc_alice', 'SELECT dtmv.event_horizon()');
sub report
{
	my ($node, $db, @readings) = @_;
	sql_as($node, 'fc_gw',
		"SELECT dtmv.report('$meter', 'reading', '{\"n\": $_}')", $db)
	  for @readings;
	return;
}
my $readings = "SELECT string_agg(payload ->> 'n', ',' ORDER BY id) FROM dtmv.events_since(%s)";
report($source, 'postgres', 1 .. 3);
# alice's client catches up: its last id is the one it keeps
my $last = sql_as($source, 'fc_alice',
	"SELECT max(id) FROM dtmv.events_since($start)");
is(sql_as($source, 'fc_alice', sprintf($readings, $start)),
	'1,2,3', 'before the dump alice got the three readings');
# two more readings commit, not yet delivered when the dump is taken
report($source, 'postgres', 4, 5);

# The target: a new cluster, fresh transaction ids, the source's roles
# (the superuser's exists there already: psql reports it, and goes on).
run_or_bail($source, 'pg_dumpall', '--roles-only', '-f', "$tmp/roles.sql");
my $target = new_dtmv_node('target', create => 0);
run_as($target, undef, "$tmp/roles.log", 'psql', '-X', '-q', '-f',
	"$tmp/roles.sql");
dump_and_restore($source, 'postgres', $target, 'dtmv_restored',
	'pg_restore into the new cluster reports no error');
cmp_ok(
	$target->safe_psql('dtmv_restored', 'SELECT txid_current()'), '<',
	$source->safe_psql('postgres', 'SELECT txid_current()'),
	"the new cluster's transaction ids are below the source's");

is(sql_as($target, 'fc_alice', sprintf($readings, $last), 'dtmv_restored'),
	'4,5',
	'alice resumes from her last id: the two readings written before the dump, once'
);
my $horizon =
  sql_as($target, 'fc_alice', 'SELECT dtmv.event_horizon()', 'dtmv_restored');
cmp_ok($horizon, '>', $last, 'event_horizon() is past every restored id');
report($target, 'dtmv_restored', 6, 7);
is( $target->safe_psql(
		'dtmv_restored',
		"SELECT count(*) FROM dtmv.event_inbox i FULL JOIN dtmv.events e USING (entry_id)
		  WHERE coalesce(e.payload, i.payload) ->> 'n' IN ('6', '7')"),
	'2',
	'new reports in the restored database succeed (no id collides)');
is(sql_as($target, 'fc_alice', sprintf($readings, $last), 'dtmv_restored'),
	'4,5,6,7',
	'alice, from her last id, gets every reading once, new ones after restored ones'
);
is(sql_as($target, 'fc_alice', sprintf($readings, $horizon), 'dtmv_restored'),
	'6,7',
	'a new client starting at event_horizon() gets the new readings');
is( $target->safe_psql(
		'dtmv_restored',
		'SELECT max(event_id) < 2^53 AND max(entry_id) < 2^53 FROM dtmv.events'),
	't',
	'ids stay below 2^53 (JavaScript numbers)');

done_testing();

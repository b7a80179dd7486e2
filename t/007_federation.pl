# Federation (REQ-SI-01, REQ-SI-02b; docs/federation.md): three clusters, the
# home's and the factory's twin systems and a metaverse system (mv1), linked
# through postgres_fdw servers and dblink. At mv1, twin_info, search_twins,
# search_all_twins, request_sync and sync_status of a remote twin run at the
# twin's system as the acting user (alice@mv1) and give what the same call
# gives there, errors and SQLSTATEs included; a user without rights there
# sees nothing; an unregistered system, a stopped cluster, a remote call that
# runs too long and a link killed mid-call give the documented errors within
# a bound, with nothing half done; mv1's link cannot act as a local user of
# the twin system.
use strict;
use warnings;

use DtmvTest;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $home    = new_dtmv_node('fed_home');
my $factory = new_dtmv_node('fed_factory');
my $mv      = new_dtmv_node('fed_mv');

# SQL as ROLE at NODE: (SQLSTATE of the first error or '', its message,
# the output, seconds taken).
sub attempt
{
	my ($node, $role, $sql) = @_;
	my ($out, $err) = ('', '');
	my $t0 = time;
	$node->psql(
		'postgres',
		"SET search_path = public, dtmv;\nSET ROLE $role;\n$sql",
		stdout => \$out,
		stderr => \$err,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	my $took = time - $t0;
	my ($state, $msg) = $err =~ /ERROR:\s+([0-9A-Z]{5}): ([^\n]*)/;
	return ($state // '', $msg // '', $out, $took);
}

my %no;
for my $twin ([ $home, 'home' ], [ $factory, 'factory' ])
{
	my ($node, $name) = @$twin;
	$no{$name} = $node->safe_psql('postgres', "SELECT dtmv.local_system('twin')");
}
$no{mv1} = $mv->safe_psql('postgres', "SELECT dtmv.local_system('metaverse')");

# The twin systems: mv1 registered, its link a dtmv_gateway login there,
# neither superuser nor owner of anything.
for my $node ($home, $factory)
{
	$node->safe_psql(
		'postgres', qq{
CREATE ROLE mv1_link LOGIN IN ROLE dtmv_gateway;
CREATE ROLE owner_user LOGIN IN ROLE dtmv_user;
CREATE ROLE carol LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('owner', 'owner_user');
SELECT dtmv.create_subject('carol', 'carol');
SELECT dtmv.create_subject('dave\@mv1');       -- a local subject with a remote-looking name
SELECT dtmv.create_subject('mv1 link', 'mv1_link', 'system');
SELECT dtmv.register_system('mv1', 'metaverse', $no{mv1}, link => 'mv1 link');
SELECT dtmv.create_remote_user('alice', 'mv1');
SELECT dtmv.create_remote_user('bob', 'mv1');
});
}
my $door = sql_as($home, 'owner_user',
	q{SELECT dtmv.create_twin('door', 'Front door', '{"room": "hall"}')});
my $robot = sql_as($factory, 'owner_user',
	q{SELECT dtmv.create_twin('robot_arm', 'Arm 1', '{"cell": 3}')});
sql_as($home, 'owner_user', qq{
SELECT dtmv.grant('$door', 'alice\@mv1', 'read,sync');
SELECT dtmv.grant('$door', 'carol', 'read');
});
sql_as($factory, 'owner_user', qq{SELECT dtmv.grant('$robot', 'alice\@mv1', 'discover')});

# The metaverse system: dblink in a schema of its own, postgres_fdw servers
# and user mappings made by dtmv_admin, a system subject for each twin
# system, to which users delegate.
$mv->safe_psql(
	'postgres', q{
CREATE EXTENSION postgres_fdw;
CREATE SCHEMA dtmv_link;
CREATE EXTENSION dblink SCHEMA dtmv_link;
CREATE ROLE fed_admin LOGIN IN ROLE dtmv_admin;
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO fed_admin;
CREATE ROLE alice LOGIN IN ROLE dtmv_user;
CREATE ROLE bob LOGIN IN ROLE dtmv_user;
CREATE ROLE erin LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('alice', 'alice');
SELECT dtmv.create_subject('bob', 'bob');
SELECT dtmv.create_subject('erin', 'erin');
});
my $owner = $mv->safe_psql('postgres',
	q{SELECT r.rolname FROM pg_extension e JOIN pg_roles r ON r.oid = e.extowner WHERE e.extname = 'dtmv'});
for my $twin ([ $home, 'home' ], [ $factory, 'factory' ])
{
	my ($node, $name) = @$twin;
	my ($host, $port) = ($node->host, $node->port);
	sql_as($mv, 'fed_admin', qq{
CREATE SERVER ${name}_srv FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$host', port '$port', dbname 'postgres', connect_timeout '2');
CREATE USER MAPPING FOR $owner SERVER ${name}_srv OPTIONS (user 'mv1_link');
SELECT dtmv.create_subject('$name', NULL, 'system');
SELECT dtmv.register_system('$name', 'twin', $no{$name}, fdw_server => '${name}_srv', link => '$name');
});
}
for my $user ('alice', 'bob')
{
	sql_as($mv, $user, q{
SELECT dtmv.delegate('home', 'discover,read,sync');
SELECT dtmv.delegate('factory', 'discover,read,sync');
});
}

my ($state, $msg, $out, $took);

# --- twin_info: what the same call gives at the twin's system
my $direct = sub {
	my ($user, $sql) = @_;
	return attempt($home, 'mv1_link',
		"BEGIN;\nSELECT dtmv.act_for_link('$user', 'discover,read,sync');\n$sql\nCOMMIT;");
};
my (undef, undef, $there) = $direct->('alice', "SELECT dtmv.twin_info('$door');");
$there =~ s/^\n+//;    # act_for_link's empty row
(undef, undef, $out) = attempt($mv, 'alice', "SELECT dtmv.twin_info('$door');");
like($out, qr/"name": "Front door"/, 'alice reads the door of the home system through mv1');
like($out, qr/"rights": "discover,read,sync"/, '... with the rights granted to alice@mv1 there');
is($out, $there, '... exactly what twin_info gives at the home system for alice@mv1');

($state, $msg) = attempt($mv, 'bob', "SELECT dtmv.twin_info('$door');");
my ($state_there, $msg_there) = $direct->('bob', "SELECT dtmv.twin_info('$door');");
is($state, '42501', 'bob, without rights at the home system, is refused the door through mv1');
is("$state $msg", "$state_there $msg_there", '... with the SQLSTATE and message the home system gives bob@mv1');

($state, $msg) = attempt($mv, 'erin', "SELECT dtmv.twin_info('$door');");
is($state, '42501', 'erin, who did not delegate to home at mv1, is refused before any call');
like($msg, qr/permission denied to act at system "home"/, '... naming the system');

# --- search: one remote system, or all connected
(undef, undef, $out) = attempt($mv, 'bob',
	"SELECT count(*) FROM dtmv.search_twins(system => $no{home});");
is($out, '0', 'bob finds nothing at the home system through mv1');
(undef, undef, $out) = attempt($mv, 'bob', 'SELECT count(*) FROM dtmv.search_all_twins();');
is($out, '0', 'bob finds nothing across the connected systems');
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT id FROM dtmv.search_twins(kind => 'door', system => $no{home});");
is($out, $door, 'alice finds the door at the home system');
(undef, undef, $out) = attempt($mv, 'alice',
	'SELECT string_agg(name, \', \' ORDER BY name) FROM dtmv.search_all_twins();');
is($out, 'Arm 1, Front door', 'alice finds the twins of both twin systems');

# --- request_sync and sync_status, run at the home system
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT dtmv.request_sync('$door') AS r \\gset\nSELECT dtmv.sync_status(:r);");
is($out, 'pending', 'alice requests a sync of the door through mv1: pending');
is( $home->safe_psql(
		'postgres',
		q{SELECT count(*) FROM dtmv.sync_requests r JOIN dtmv.subjects s USING (subject_id) WHERE s.name = 'alice@mv1'}),
	'1',
	'... queued at the home system for alice@mv1');
my $request = $mv->safe_psql('postgres', 'SELECT max(request_id) FROM dtmv.remote_sync_requests');
($state, $msg) = attempt($mv, 'bob', "SELECT dtmv.sync_status($request);");
my $remote_request = $home->safe_psql('postgres', 'SELECT max(request_id) FROM dtmv.sync_requests');
($state_there, $msg_there) = $direct->('bob', "SELECT dtmv.sync_status($remote_request);");
is("$state $msg", "$state_there $msg_there",
	"bob asking for alice's request gets the home system's refusal ($state_there)");
($state, $msg) = attempt($mv, 'bob', "SELECT dtmv.request_sync('$door');");
is($state, '42501', 'bob may not request a sync of the door (remote 42501 kept)');

# --- the link is scoped to mv1's users
($state) = attempt($home, 'mv1_link', "BEGIN;\nSELECT dtmv.act_as('carol');");
is($state, '42501', "mv1's link cannot act_as a local user of the home system");
(undef, undef, $out) = attempt($home, 'mv1_link',
	"BEGIN;\nSELECT dtmv.act_for_link('carol', 'discover,read');\nSELECT dtmv.whoami();\nCOMMIT;");
is($out =~ s/^\n+//r, 'carol@mv1', 'act_for_link names carol of mv1, never the local carol');
($state) = $direct->('carol', "SELECT dtmv.twin_info('$door');");
is($state, '42501', '... who does not get the local carol\'s read on the door');
($state, $msg) = attempt($home, 'mv1_link', "SELECT dtmv.act_for_link('dave', 'read');");
is($state, '42501', 'a local subject named dave@mv1 is not taken by the link');
($state) = attempt($home, 'mv1_link', "SELECT dtmv.act_for_link('alice\@mv2', 'read');");
is($state, '22023', 'a name with a system of its own is refused');
($state) = attempt($home, 'carol', "SELECT dtmv.act_for_link('alice', 'read');");
is($state, '42501', 'a login that is no registered link may not act for remote users');
is($home->safe_psql('postgres', q{SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'mv1_link'}),
	'f', "mv1's link logs in as a role without superuser, createrole or createdb");

# --- an unregistered system
($state, $msg, undef, $took) = attempt($mv, 'alice',
	'SELECT dtmv.twin_info(dtmv.twin_id_generate(777));');
is($state, '42704', 'a twin id of an unregistered system: 42704');
like($msg, qr/system 777, which is not registered here/, '... naming the system');

# --- remote errors keep their SQLSTATE: a remote statement timeout
my $before_home = $home->safe_psql('postgres', 'SELECT count(*) FROM dtmv.sync_requests');
my $before_mv = $mv->safe_psql('postgres', 'SELECT count(*) FROM dtmv.remote_sync_requests');
my $lock = $home->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE dtmv.sync_requests IN ACCESS EXCLUSIVE MODE;');
($state, $msg, undef, $took) = attempt($mv, 'alice',
	"RESET ROLE;\nSET dtmv.remote_timeout = 1000;\nSET ROLE alice;\nSELECT dtmv.request_sync('$door');");
is($state, '57014', 'a call that runs longer than dtmv.remote_timeout there: 57014');
like($msg, qr/system "home" \(\d+\) did not answer within 1s/, '... naming the system');
cmp_ok($took, '<', 4, "... within the bound (took ${\ sprintf('%.2f', $took)} s)");

# --- the link killed mid-call: nothing half done
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $call = start_as($mv, 'alice', "$tmp/killed", 'psql', '-X', '-v', 'VERBOSITY=verbose', '-c',
	"SELECT dtmv.request_sync('$door')");
my $waiting = wait_for_value($home,
	q{SELECT count(*) FROM pg_stat_activity WHERE usename = 'mv1_link' AND wait_event_type = 'Lock'},
	'1', 10);
is($waiting, '1', "mv1's call waits at the home system");
$home->safe_psql('postgres',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mv1_link' AND wait_event_type = 'Lock'});
$call->finish;
my $killed = slurp_file("$tmp/killed");
like($killed, qr/ERROR:\s+08006: lost the connection to system "home"/,
	'the link killed mid-call: 08006 naming the system');
$lock->query_safe('COMMIT;');
$lock->quit;
is($home->safe_psql('postgres', 'SELECT count(*) FROM dtmv.sync_requests'), $before_home,
	'... nothing was queued at the home system');
is($mv->safe_psql('postgres', 'SELECT count(*) FROM dtmv.remote_sync_requests'), $before_mv,
	'... nor recorded at mv1');
(undef, undef, $out) = attempt($mv, 'alice', "SELECT dtmv.twin_info('$door') ->> 'name';");
is($out, 'Front door', 'the next call opens a new link');

# --- a stopped system: a link open in the session is tried again once,
# then the connection is refused
my $factory_dir = $factory->data_dir;
my $pg_ctl = `pg_config --bindir` =~ s/\s+$//r;
$pg_ctl .= '/pg_ctl';
($state, $msg, $out, $took) = attempt($mv, 'alice',
	"SELECT dtmv.twin_info('$robot') ->> 'name';\n"
	  . "\\! $pg_ctl -D '$factory_dir' -m immediate -w stop >/dev/null\n"
	  . "SELECT dtmv.twin_info('$robot') ->> 'name';");
$factory->_update_pid(-1);    # stopped behind its back
is($out, 'Arm 1', 'alice reads the robot of the factory system');
is($state, '08001', 'the factory stopped: 08001');
like($msg, qr/could not connect to system "factory"/, '... naming the system');
cmp_ok($took, '<', 5, "... within the bound (took ${\ sprintf('%.2f', $took)} s)");
($state, $msg) = attempt($mv, 'alice', 'SELECT count(*) FROM dtmv.search_all_twins();');
is($state, '08001', 'a search across the connected systems fails whole when one is down');

# --- dblink where others may use it is refused
$mv->safe_psql('postgres', 'GRANT USAGE ON SCHEMA dtmv_link TO PUBLIC');
($state) = attempt($mv, 'alice', "SELECT dtmv.twin_info('$door');");
is($state, '42501', 'links refuse a dblink that roles other than superusers may use');

done_testing();

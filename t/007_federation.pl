# Federation (REQ-SI-01, REQ-SI-02b; docs/federation.md): three clusters, the
# home's and the factory's twin systems and a metaverse system (mv1), linked
# through postgres_fdw servers and dblink. At mv1, twin_info, search_twins,
# search_all_twins, request_sync, sync_status, interact, command_status of a
# remote twin, and localize, services_at, spatial_map of a remote site, run at the
# twin's system as the acting user (alice@mv1) and give what the same call
# gives there, errors and SQLSTATEs included; a user without rights there
# sees nothing; an unregistered system, a stopped cluster, a remote call that
# runs too long and a link killed mid-call give the documented errors within
# a bound, with nothing half done; mv1's link cannot act as a local user of
# the twin system.
use strict;
use warnings;

use DtmvTest;
use DtmvFederation;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use POSIX ();

my $home    = new_dtmv_node('fed_home');
my $factory = new_dtmv_node('fed_factory');
my $mv      = new_dtmv_node('fed_mv');

# What SQL at NODE prints, or '' if it fails (a relation main's code lacks).
sub peek
{
	my ($node, $sql) = @_;
	my $out = '';
	$node->psql('postgres', $sql, stdout => \$out);
	return $out;
}

my %no;
$no{home} = local_system_no($home, 'twin');
$no{factory} = local_system_no($factory, 'twin');
$no{mv1} = local_system_no($mv, 'metaverse');

# The twin systems: mv1 registered, its link a dtmv_gateway login there,
# neither superuser nor owner of anything, which logs in with a password
# (this run's own; the nodes trust every other local login).
for my $node ($home, $factory)
{
	accept_link($node, name => 'mv1', kind => 'metaverse', no => $no{mv1}, login => 'mv1_link');
	$node->safe_psql(
		'postgres', qq{
CREATE ROLE owner_user LOGIN IN ROLE dtmv_user;
CREATE ROLE carol LOGIN IN ROLE dtmv_user;
SELECT dtmv.create_subject('owner', 'owner_user');
SELECT dtmv.create_subject('carol', 'carol');
SELECT dtmv.create_subject('dave\@mv1');       -- a local subject with a remote-looking name
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

# The metaverse system: dblink in a schema of its own, which dtmv_link (the
# role links connect as) may use; postgres_fdw servers and user mappings
# for dtmv_link made by dtmv_admin, a system subject for each twin system,
# to which users delegate.
prepare_caller($mv, 'fed_admin');
users($mv, 'alice', 'bob', 'erin');
link_to($mv, admin => 'fed_admin', target => $home, name => 'home', kind => 'twin', no => $no{home}, login => 'mv1_link');
link_to($mv, admin => 'fed_admin', target => $factory, name => 'factory', kind => 'twin', no => $no{factory}, login => 'mv1_link');
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

# --- search_all_twins asks every system at once: with both twin systems'
# registries locked, both searches wait there together; once the locks go
# it gives the twins of both
my $ptmp = PostgreSQL::Test::Utils::tempdir;
my @locks = map { $_->background_psql('postgres') } $home, $factory;
$_->query_safe('BEGIN; LOCK TABLE dtmv.twin_registry IN ACCESS EXCLUSIVE MODE;') for @locks;
my $search = start_as($mv, 'alice', "$ptmp/parallel", 'psql', '-X', '-At', '-c',
	q{SELECT string_agg(name, ', ' ORDER BY name) FROM dtmv.search_all_twins();});
my $waiting_at = join ' ', map {
	wait_for_value($_,
		q{SELECT count(*) FROM pg_stat_activity WHERE usename = 'mv1_link' AND wait_event_type = 'Lock'}, '1', 10)
} $home, $factory;
is($waiting_at, '1 1', 'search_all_twins asks both twin systems at once: both searches wait there together');
$_->query_safe('COMMIT;') for @locks;
$_->quit for @locks;
$search->finish;
is(slurp_file("$ptmp/parallel") =~ s/\s+$//r, 'Arm 1, Front door', '... and gives the twins of both once they answer');

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
(undef, undef, $out) = attempt($mv, 'alice', "SELECT dtmv.request_sync('$door');");
is($out, $request, '... asked again while pending: the same request id, as at the home system');
is($mv->safe_psql('postgres', 'SELECT count(*) FROM dtmv.remote_sync_requests'), '1', '... recorded once at mv1');
for my $user ('bob', 'erin')
{
	($state, $msg) = attempt($mv, $user, "SELECT dtmv.sync_status($request);");
	my ($state_unknown, $msg_unknown) = attempt($mv, $user, 'SELECT dtmv.sync_status(987654321);');
	is("$state " . ($msg =~ s/\d+/N/gr), "$state_unknown " . ($msg_unknown =~ s/\d+/N/gr),
		"$user asking for alice's remote request gets the refusal of an unknown id ($state_unknown): ids reveal nothing");
}
($state, $msg) = attempt($mv, 'bob', "SELECT dtmv.request_sync('$door');");
is($state, '42501', 'bob may not request a sync of the door (remote 42501 kept)');

# --- interact and command_status, run at the home system: alice may
# interact with the door there and lets mv1 pass that on
sql_as($home, 'owner_user', qq{SELECT dtmv.grant('$door', 'alice\@mv1', 'interact')});
sql_as($mv, 'alice', q{SELECT dtmv.delegate('home', 'discover,read,sync,interact')});
my $act = sub {    # with the rights mv1 passes on for each
	my ($user, $sql) = @_;
	my $rights = $user eq 'alice' ? 'discover,read,sync,interact' : 'discover,read,sync';
	return attempt($home, 'mv1_link', "BEGIN;\nSELECT dtmv.act_for_link('$user', '$rights');\n$sql\nCOMMIT;");
};
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT dtmv.interact('$door', 'open', '{\"speed\": 2}') AS c \\gset\nSELECT :c, dtmv.command_status(:c);");
my ($command, $status) = split /\|/, $out;
$command = 0 unless ($command // '') =~ /^\d+$/;    # (main's code: none; the checks below fail, not die)
is($status, 'queued', 'alice opens the door of the home system through mv1: queued');
my ($remote_command, $remote_args) = split /\|/, $home->safe_psql('postgres', q{
SELECT c.command_id, c.args FROM dtmv.commands c JOIN dtmv.subjects s USING (subject_id)
 WHERE s.name = 'alice@mv1' AND c.action = 'open'});
$remote_command = 0 unless ($remote_command // '') =~ /^\d+$/;
is($remote_args, '{"speed": 2}', '... the command is queued at the home system for alice@mv1, with its arguments');
is(peek($mv, "SELECT remote_command_id FROM dtmv.remote_commands WHERE command_id = $command"),
	$remote_command, '... and mv1 knows it by an id of its own');
is( $home->safe_psql('postgres', "SELECT desired->>'door' FROM dtmv.twin_states WHERE twin = '$door'"),
	'open', '... the door\'s desired state is set there');
(undef, undef, $there) = $act->('alice', "SELECT dtmv.command_status($remote_command);");
is($status, $there =~ s/^\n+//r, '... command_status gives what it gives at the home system');
$home->safe_psql('postgres', "UPDATE dtmv.commands SET status = 'succeeded' WHERE command_id = $remote_command");
(undef, undef, $out) = attempt($mv, 'alice', "SELECT dtmv.command_status($command);");
is($out, 'succeeded', '... and follows the command there');
($state, $msg) = attempt($mv, 'bob', "SELECT dtmv.command_status($command);");
is("$state $msg", "42501 permission denied: command $command is not yours",
	"bob asking for alice's command is refused at mv1, as for any command not his");
for my $case ([ 'bob', "'$door', 'open'", 'bob, without interact there' ],
	[ 'alice', "'$door', 'fly'", 'an action the door does not offer' ],
	[ 'alice', "'$door', NULL", 'no action' ])
{
	my ($user, $args, $what) = @$case;
	my $before = $home->safe_psql('postgres', 'SELECT count(*) FROM dtmv.commands');
	my $before_mv = peek($mv, 'SELECT count(*) FROM dtmv.remote_commands');
	($state, $msg) = attempt($mv, $user, "SELECT dtmv.interact($args);");
	($state_there, $msg_there) = $act->($user, "SELECT dtmv.interact($args);");
	isnt($state, '', "interact refused through mv1: $what ($state)");
	is("$state $msg", "$state_there $msg_there", '... with the SQLSTATE and message of the home system');
	is($home->safe_psql('postgres', 'SELECT count(*) FROM dtmv.commands')
		  . ' ' . peek($mv, 'SELECT count(*) FROM dtmv.remote_commands'),
		"$before $before_mv", '... and no command at either side');
}

# --- localize, services_at and spatial_map of a site of the home system,
# named by its number there and the system's (system =>)
$home->safe_psql('postgres', q{SELECT dtmv.register_system('shop', 'third_party', 4343)});
my $site = sql_as($home, 'owner_user',
	q{SELECT dtmv.create_space('Home', 'site', anchor_lon => 4.85, anchor_lat => 45.75, anchor_alt => 170, heading => 30)});
sql_as($home, 'owner_user', qq{
SELECT dtmv.place('$door', $site, ST_MakePoint(1, 2, 0));
SELECT dtmv.create_twin('lamp', 'Hall lamp') AS lamp \\gset
SELECT dtmv.place(:'lamp', $site, ST_MakePoint(4.25, -3.5, 2.125));
SELECT dtmv.grant_space($site, 'alice\@mv1', 'discover');
});
$home->safe_psql('postgres', qq{
SELECT dtmv.register_service(4343, 'Delivery', 'delivery', $site, ST_MakeEnvelope(-10, -10, 10, 10, 0), 0, 3)});
for my $call ([ "dtmv.localize($site, ST_MakePoint(1.5, 2, 0.5), 50, 5)", 'localize' ],
	[ "dtmv.localize($site, ST_MakePoint(1.5, 2, 0.5), 50, 1)", 'localize, k 1' ],
	[ "dtmv.services_at($site, ST_MakePoint(1.5, 2, 0.5))", 'services_at' ],
	[ "dtmv.spatial_map($site)", 'spatial_map' ],
	[ "dtmv.spatial_map($site, 'local')", "spatial_map, frame 'local'" ])
{
	my ($sql, $what) = @$call;
	my $routed = $sql =~ s/\)$/, system => $no{home})/r;
	for my $user ('alice', 'bob')
	{
		my ($s_mv, $m_mv, $o_mv) = attempt($mv, $user, "SELECT * FROM $routed;");
		my ($s_home, $m_home, $o_home) = $direct->($user, "SELECT * FROM $sql;");
		$o_home =~ s/^\n+//;
		is("$s_mv $m_mv|$o_mv", "$s_home $m_home|$o_home",
			"$what at the home system's site through mv1, as $user: what it gives there ("
			  . ($s_mv || (() = $o_mv =~ /\n/g) + ($o_mv ne '') . ' rows') . ')');
	}
}
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT string_agg(coalesce(name, '?'), ', ') FROM dtmv.localize($site, ST_MakePoint(1.5, 2, 0.5), 50, system => $no{home});");
is($out, 'Front door, Hall lamp, Delivery', 'alice localizes the door, the lamp and the service there');
(undef, undef, $out) = attempt($mv, 'bob',
	"SELECT count(*) FROM dtmv.localize($site, ST_MakePoint(1.5, 2, 0.5), 50, system => $no{home});");
is($out, '0', 'bob, without rights there, localizes nothing');
for my $bad ([ "dtmv.spatial_map(9999999, system => $no{home})", 'a space that does not exist there' ],
	[ "dtmv.localize($site, ST_SetSRID(ST_MakePoint(1, 2, 0), 4326), 5, system => $no{home})", 'a position in WGS84' ],
	[ "dtmv.spatial_map($site, 'utm', system => $no{home})", 'an unknown frame' ])
{
	my ($sql, $what) = @$bad;
	($state, $msg) = attempt($mv, 'alice', "SELECT * FROM $sql;");
	($state_there, $msg_there) = $direct->('alice', "SELECT * FROM " . ($sql =~ s/, system => \d+\)$/)/r) . ';');
	isnt($state, '', "refused through mv1: $what ($state)");
	is("$state $msg", "$state_there $msg_there", '... with the SQLSTATE and message of the home system');
}
($state, $msg) = attempt($mv, 'alice', "SELECT dtmv.spatial_map($site, system => 777);");
is("$state $msg", '42704 system 777 is not registered here', 'a site of an unregistered system: 42704');

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

# --- one subject never stands for a system both ways: a login that users
# delegate to for calls to a system could act_as them here (review 1)
$mv->safe_psql('postgres', 'CREATE ROLE loop_link LOGIN IN ROLE dtmv_gateway; CREATE ROLE loop_in LOGIN IN ROLE dtmv_gateway;');
my $notes = sql_as($mv, 'erin', q{SELECT dtmv.create_twin('notes', 'Erin notes')});
($state, $msg) = attempt($mv, 'fed_admin', q{
SELECT dtmv.create_subject('loop', 'loop_link', 'system');
SELECT dtmv.register_system('loop', 'twin', 424243, fdw_server => 'home_srv', link => 'loop');});
is($state, '22023', 'a system subject with a login is refused as the one users delegate to for calls out');
like($msg, qr/system subject "loop" has a login/, '... saying why');
attempt($mv, 'fed_admin', q{
SELECT dtmv.create_subject('loop out', NULL, 'system');
SELECT dtmv.create_subject('loop in', 'loop_in', 'system');
SELECT dtmv.register_system('loop', 'twin', 424243, fdw_server => 'home_srv', link => 'loop out', link_login => 'loop in');
});
sql_as($mv, 'erin', q{SELECT dtmv.delegate('loop out', 'discover,read,sync'); SELECT dtmv.delegate('loop in', 'read');});
($state, undef, $out) = attempt($mv, 'loop_in', "BEGIN;\nSELECT dtmv.act_as('erin');\nSELECT dtmv.twin_info('$notes') ->> 'name';\nCOMMIT;");
is($state, '42501', "a system linked both ways: its link's login cannot act_as a user who delegated to it");
unlike($out, qr/Erin notes/, '... and reads nothing of hers');
(undef, undef, $out) = attempt($mv, 'loop_in', "BEGIN;\nSELECT dtmv.act_for_link('zed', 'read');\nSELECT dtmv.whoami();\nCOMMIT;");
is($out =~ s/^\n+//r, 'zed@loop', '... it acts only for its own system\'s users (act_for_link)');

# --- act_for_link locks the delegation row it checks: a concurrent call
# with other rights waits, rather than lend them to this one (review 6)
my $s1 = $home->background_psql('postgres');
$s1->query_safe("SET ROLE mv1_link; BEGIN; SELECT dtmv.act_for_link('alice', 'discover,read,sync');");
my $s2 = start_as($home, 'mv1_link', PostgreSQL::Test::Utils::tempdir . '/s2', 'psql', '-X', '-c',
	"SELECT dtmv.act_for_link('alice', 'read')");
is( wait_for_value($home,
		q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%act_for_link(''alice'', ''read'')%' AND wait_event_type = 'Lock'},
		'1', 5),
	'1', 'a concurrent act_for_link for the same user with other rights waits for the first call to end');
is($s1->query_safe('RESET ROLE; SELECT dtmv._acting_rights() = dtmv._rights_mask(\'discover,read,sync\'); COMMIT;'), 't',
	'... which acts with the rights it was given');
$s2->finish;
$s1->quit;

# --- search_all_twins skips the systems where what the acting service may
# use for the user gives no right (review 9)
$mv->safe_psql('postgres', 'CREATE ROLE mv_svc LOGIN IN ROLE dtmv_gateway');
sql_as($mv, 'fed_admin', q{SELECT dtmv.create_subject('mv svc', 'mv_svc', 'system')});
sql_as($mv, 'alice', q{SELECT dtmv.delegate('mv svc', 'interact')});
($state, $msg, $out) = attempt($mv, 'mv_svc',
	"BEGIN;\nSELECT dtmv.act_as('alice');\nSELECT count(*) FROM dtmv.search_all_twins();\nCOMMIT;");
is("$state|" . ($out =~ s/^\n+//r), '|0',
	'a service acting for alice with interact only searches every system: the systems it may not use are skipped');

# --- a dtmv_admin's own foreign server and user mappings: links connect as
# dtmv_link, never as the superuser who owns dtmv, so dblink demands a
# password that the other side asks for. fed_admin owns a database of mv1's
# cluster, whose dtmv.act_for_link would make her a superuser if a link ran
# it as one; the cluster trusts its local socket.
$mv->safe_psql('postgres', q{
CREATE DATABASE evil OWNER fed_admin;
SELECT dtmv.create_subject('fedadm', 'fed_admin');
});
$mv->safe_psql('evil', q{
SET ROLE fed_admin;
CREATE SCHEMA dtmv;
CREATE TABLE dtmv.ran (who text);
CREATE FUNCTION dtmv.act_for_link(a text, b text) RETURNS void LANGUAGE plpgsql AS
$$BEGIN INSERT INTO dtmv.ran VALUES (current_user); ALTER ROLE fed_admin SUPERUSER; END$$;
CREATE FUNCTION dtmv.twin_info(t text) RETURNS text LANGUAGE sql AS $$SELECT jsonb_build_object('id', t)::text$$;
});
my $superuser = $mv->safe_psql('postgres', 'SELECT current_user');
my ($mv_host, $mv_port) = ($mv->host, $mv->port);
sql_as($mv, 'fed_admin', qq{
CREATE SERVER evil_srv FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$mv_host', port '$mv_port', dbname 'evil', connect_timeout '2');
CREATE USER MAPPING FOR $superuser SERVER evil_srv OPTIONS (user '$superuser');
CREATE USER MAPPING FOR dtmv_link SERVER evil_srv OPTIONS (user '$superuser');
GRANT USAGE ON FOREIGN SERVER evil_srv TO dtmv_link;
SELECT dtmv.create_subject('evil', NULL, 'system');
SELECT dtmv.register_system('evil', 'twin', 4242, fdw_server => 'evil_srv', link => 'evil');
SELECT dtmv.delegate('evil', 'read');
});
($state, $msg) = attempt($mv, 'fed_admin', 'SELECT dtmv.twin_info(dtmv.twin_id_generate(4242));');
is($state, '42501', "a dtmv_admin's passwordless user mappings to the cluster's own socket are refused");
like($msg, qr/the link to system "evil" \(4242\) must log in with a password/, '... naming the system');
sql_as($mv, 'fed_admin', q{ALTER USER MAPPING FOR dtmv_link SERVER evil_srv OPTIONS (ADD password 'unused')});
($state) = attempt($mv, 'fed_admin', 'SELECT dtmv.twin_info(dtmv.twin_id_generate(4242));');
is($state, '42501', '... and so is a password that the other side does not ask for');
is($mv->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'fed_admin'}),
	'f', '... fed_admin is no superuser');
is($mv->safe_psql('evil', 'SELECT count(*) FROM dtmv.ran'), '0', '... and nothing ran at the other side');

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
my ($waiting, $killed) = kill_link_while_waiting($mv, 'alice', "SELECT dtmv.request_sync('$door')", $home, 'mv1_link');
is($waiting, '1', "mv1's call waits at the home system");
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

# --- the link killed mid-interact: no command at either side
$before_home = $home->safe_psql('postgres', "SELECT count(*), max(desired_at) FROM dtmv.commands, dtmv.twin_states WHERE twin_states.twin = '$door'");
$before_mv = peek($mv, 'SELECT count(*) FROM dtmv.remote_commands');
$lock = $home->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE dtmv.commands IN ACCESS EXCLUSIVE MODE;');
($waiting, $killed) = kill_link_while_waiting($mv, 'alice', "SELECT dtmv.interact('$door', 'close')", $home, 'mv1_link');
is($waiting, '1', "mv1's interact waits at the home system");
like($killed, qr/ERROR:\s+08006: lost the connection to system "home"/,
	'the link killed mid-interact: 08006 naming the system');
$lock->query_safe('COMMIT;');
$lock->quit;
is($home->safe_psql('postgres', "SELECT count(*), max(desired_at) FROM dtmv.commands, dtmv.twin_states WHERE twin_states.twin = '$door'"),
	$before_home, '... no command at the home system, the desired state untouched');
is(peek($mv, 'SELECT count(*) FROM dtmv.remote_commands'), $before_mv, '... none recorded at mv1');
is($home->safe_psql('postgres', "SELECT count(*) FROM dtmv.commands WHERE action = 'close'"), '0',
	'... and it was not tried again');

# --- a cancel here while the call waits there (a local statement_timeout
# shorter than dtmv.remote_timeout): 57014 at once, which does not claim
# that the other side timed out; the call is cancelled there too
$before_home = $home->safe_psql('postgres', 'SELECT count(*) FROM dtmv.sync_requests');
$before_mv = $mv->safe_psql('postgres', 'SELECT count(*) FROM dtmv.remote_sync_requests');
$lock = $home->background_psql('postgres');
$lock->query_safe('BEGIN; LOCK TABLE dtmv.sync_requests IN ACCESS EXCLUSIVE MODE;');
my $err;
($state, $msg, undef, $took, $err) = attempt($mv, 'alice',
	"RESET ROLE;\nSET dtmv.remote_timeout = 20000;\nSET statement_timeout = 1000;\nSET ROLE alice;\n"
	  . "SELECT dtmv.request_sync('$door');");
is($state, '57014', 'a statement_timeout here while the call waits there: 57014');
like($msg, qr/^canceling statement due to statement timeout while waiting for system "home" \(\d+\)$/,
	'... saying that it was cancelled here');
like($err, qr/HINT:\s+Whether it was done there is not known.*\(a sync request, a command\) may exist there/s,
	'... and that whether a request exists there is not known');
cmp_ok($took, '<', 4, "... at once (took ${\ sprintf('%.2f', $took)} s)");
is( wait_for_value($home,
		q{SELECT count(*) FROM pg_stat_activity WHERE usename = 'mv1_link' AND wait_event_type = 'Lock'}, '0', 10),
	'0', '... and cancelled at the home system');
$lock->query_safe('COMMIT;');
$lock->quit;
is($home->safe_psql('postgres', 'SELECT count(*) FROM dtmv.sync_requests'), $before_home,
	'... where nothing was queued');
is($mv->safe_psql('postgres', 'SELECT count(*) FROM dtmv.remote_sync_requests'), $before_mv,
	'... nor recorded at mv1');

# --- the twin system hangs mid-call (its link's backend stopped, the
# kernel still answering for it): bounded here by dtmv.remote_timeout + 1 s
my $bg = $mv->background_psql('postgres', on_error_stop => 0, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
$bg->query_safe('SET dtmv.remote_timeout = 1000; SET ROLE alice;');
my $links_before = $home->safe_psql('postgres',
	q{SELECT coalesce(string_agg(pid::text, ','), '0') FROM pg_stat_activity WHERE usename = 'mv1_link'});
$out = $bg->query_safe("SELECT dtmv.twin_info('$door') ->> 'name';");
is($out, 'Front door', "a session at mv1 reads the door");
my $link_pid = $home->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE usename = 'mv1_link' AND pid NOT IN ($links_before)");
like($link_pid, qr/^\d+$/, '... through its link, one backend at the home system');
kill 'STOP', $link_pid;
$bg->{stderr} = '';
my $t0 = time;
$bg->query("SELECT dtmv.twin_info('$door') ->> 'name';");
$took = time - $t0;
$err = $bg->{stderr};
kill 'CONT', $link_pid;
like($err, qr/ERROR:\s+57014: system "home" \(\d+\) did not answer within 1s/,
	'the link\'s backend stopped mid-call: 57014 naming the system');
like($err, qr/HINT:\s+Whether it was done there is not known/, '... not claiming that nothing was done there');
cmp_ok($took, '<', 4, "... within dtmv.remote_timeout + 1 s (took ${\ sprintf('%.2f', $took)} s)");
$bg->{stderr} = '';
$out = $bg->query_safe("SELECT dtmv.twin_info('$door') ->> 'name';");
is($out, 'Front door', 'the system going on again, the next call works');

# --- the whole twin system hangs (its postmaster stopped too): giving up,
# or a cancel here, closes the link without a cancel request, which would
# wait for the stopped postmaster (review 3). A safety net continues the
# system after 10 s.
my $postmaster = $home->{_pid};
for my $case ([ 'the deadline', 'SET dtmv.remote_timeout = 1000; SET statement_timeout = 0;', qr/57014: system "home" \(\d+\) did not answer within 1s/ ],
	[ 'a statement_timeout here', 'SET dtmv.remote_timeout = 20000; SET statement_timeout = 1000;', qr/57014: canceling statement due to statement timeout while waiting for system "home"/ ])
{
	my ($what, $set, $expect) = @$case;
	$bg->query_safe("RESET ROLE; SELECT dblink.dblink_disconnect(c) FROM unnest(dblink.dblink_get_connections()) c; $set SET ROLE alice;");
	$links_before = $home->safe_psql('postgres',
		q{SELECT coalesce(string_agg(pid::text, ','), '0') FROM pg_stat_activity WHERE usename = 'mv1_link'});
	$bg->query_safe("SELECT dtmv.twin_info('$door') ->> 'name';");
	$link_pid = $home->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE usename = 'mv1_link' AND pid NOT IN ($links_before)");
	kill 'STOP', $postmaster, $link_pid;
	my $net = fork // die "fork: $!";
	if (!$net) { sleep 10; kill 'CONT', $postmaster, $link_pid; POSIX::_exit(0); }
	$bg->{stderr} = '';
	$t0 = time;
	$bg->query("SELECT dtmv.twin_info('$door') ->> 'name';");
	$took = time - $t0;
	$err = $bg->{stderr};
	$bg->{stderr} = '';
	kill 'CONT', $postmaster, $link_pid;
	kill 'KILL', $net;
	waitpid $net, 0;
	like($err, $expect, "the twin system's postmaster and backend stopped, $what: 57014");
	cmp_ok($took, '<', 4, "... at once, no cancel request waiting for the postmaster (took ${\ sprintf('%.2f', $took)} s)");
}
$bg->query_safe('RESET statement_timeout');
is( wait_for_value($home, q{SELECT count(*) FROM pg_stat_activity WHERE usename = 'mv1_link' AND state = 'active'}, '0', 10),
	'0', '... and the calls there ended once it went on (the closed link)');
$out = $bg->query_safe("SELECT dtmv.twin_info('$door') ->> 'name';");
is($out, 'Front door', '... and the next call works');
$bg->quit;

# --- connect_timeout is checked on every new link: 0 (wait forever) or
# none is refused, at registration and after an ALTER SERVER (review 4)
($state, $msg) = attempt($mv, 'fed_admin', qq{
CREATE SERVER zero_srv FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${\ $home->host}', port '${\ $home->port}', dbname 'postgres', connect_timeout '0');
SELECT dtmv.create_subject('zero', NULL, 'system');
SELECT dtmv.register_system('zero', 'twin', 424244, fdw_server => 'zero_srv', link => 'zero');});
is($state, '22023', 'a foreign server with connect_timeout 0 is refused at registration');
for my $opt ("SET connect_timeout '0'", 'DROP connect_timeout')
{
	sql_as($mv, 'fed_admin', "ALTER SERVER home_srv OPTIONS ($opt)");
	($state, $msg) = attempt($mv, 'alice', "SELECT dtmv.twin_info('$door');");
	is($state, '22023', "a link's server altered afterwards ($opt): refused on the next new link");
	like($msg, qr/foreign server "home_srv" has (connect_timeout '0', not 1 to 60 seconds|no connect_timeout)/, '... saying why');
	sql_as($mv, 'fed_admin', "ALTER SERVER home_srv OPTIONS (" . ($opt =~ /^SET/ ? 'SET' : 'ADD') . " connect_timeout '2')");
}

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
($state, $msg, $out) = attempt($mv, 'alice',
	"\\set ON_ERROR_STOP 0\nSELECT count(*) FROM dtmv.search_all_twins();\nSELECT dtmv.twin_info('$door') ->> 'name';");
is($state, '08001', 'a search across the connected systems fails whole when one is down');
is($out, 'Front door', '... and the next call in that session reads the home system');

# --- a twin system that lies: its answers about other twins than its own,
# beyond max, about another twin than the one asked, or too large, are not
# passed on
my $mine = sql_as($mv, 'alice', q{SELECT dtmv.create_twin('diary', 'Alice diary')});
$home->safe_psql('postgres', qq{
CREATE OR REPLACE FUNCTION dtmv.search_twins(kind text DEFAULT NULL, name text DEFAULT NULL,
	properties jsonb DEFAULT NULL, system integer DEFAULT NULL, max integer DEFAULT 100)
RETURNS SETOF dtmv.twins LANGUAGE sql SECURITY DEFINER AS \$\$
	SELECT (jsonb_populate_record(NULL::dtmv.twins, jsonb_build_object(
		'id', '$mine', 'system_no', $no{mv1}, 'kind', 'diary', 'name', 'Alice diary (send your PIN)'))).*
	UNION ALL
	SELECT (jsonb_populate_record(NULL::dtmv.twins, jsonb_build_object(
		'id', '$door', 'system_no', $no{home}, 'kind', 'door', 'name', 'Front door'))).*
	  FROM generate_series(1, 5)
\$\$;
CREATE OR REPLACE FUNCTION dtmv.twin_info(twin dtmv.twin_id) RETURNS jsonb LANGUAGE sql SECURITY DEFINER AS \$\$
	SELECT jsonb_build_object('id', CASE WHEN twin = '$door' THEN twin::text ELSE '$mine' END,
							  'rights', 'admin', 'state', repeat('x', 100000))
\$\$;
});
(undef, undef, $out) = attempt($mv, 'alice',
	"SELECT count(*), count(*) FILTER (WHERE id = '$mine') FROM dtmv.search_twins(system => $no{home}, max => 3);");
is($out, '3|0', "a lying system's search: only its own twins, at most max");
($state, $msg) = attempt($mv, 'alice', "SELECT dtmv.twin_info(dtmv.twin_id_generate($no{home}));");
is($state, '08P01', "a lying system's twin_info of another twin: 08P01");
like($msg, qr/system "home" \(\d+\) answered twin_info of .* with another twin/, '... naming the system');
($state, $msg) = attempt($mv, 'alice',
	"RESET ROLE;\nSET dtmv.remote_max_bytes = '64kB';\nSET ROLE alice;\nSELECT dtmv.twin_info('$door');");
is($state, '54000', 'an answer larger than dtmv.remote_max_bytes: 54000');
like($msg, qr/system "home" \(\d+\) answered \d+ bytes, more than dtmv.remote_max_bytes \(64kB\)/, '... naming the system');

$home->safe_psql('postgres', qq{
CREATE OR REPLACE FUNCTION dtmv.spatial_map(space bigint, frame text DEFAULT 'wgs84', system integer DEFAULT NULL)
RETURNS jsonb LANGUAGE sql SECURITY DEFINER AS \$\$
	SELECT jsonb_build_object('type', 'FeatureCollection', 'space', space,
							  'features', jsonb_build_array(jsonb_build_object('type', 'Feature', 'id', '$mine')))
\$\$;
CREATE OR REPLACE FUNCTION dtmv.localize(space bigint, pos geometry, radius double precision, k integer DEFAULT 10,
										 system integer DEFAULT NULL)
RETURNS TABLE (twin dtmv.twin_id, name text, kind text, distance double precision, service_id bigint)
LANGUAGE sql SECURITY DEFINER AS \$\$
	SELECT '$door'::dtmv.twin_id, 'Front door', 'door', 1.0::float8, NULL::bigint FROM generate_series(0, k)
\$\$;
});
($state, $msg) = attempt($mv, 'alice', "SELECT dtmv.spatial_map(1, system => $no{home});");
is($state, '08P01', "a lying system's spatial_map with a twin of another system: 08P01");
like($msg, qr/system "home" \(\d+\) answered spatial_map with a twin not its own/, '... naming the system');
($state, $msg) = attempt($mv, 'alice', "SELECT * FROM dtmv.localize(1, ST_MakePoint(0, 0, 0), 10, 3, system => $no{home});");
is($state, '08P01', "a lying system's localize with more than k twins: 08P01");
like($msg, qr/system "home" \(\d+\) answered localize with 4 twins, more than k \(3\)/, '... naming the system');

# --- an error of the connection's class raised by the call there (a third
# system it calls is down, say) is passed on as it is, the call run once and
# the link kept (review 5)
$home->safe_psql('postgres', q{
CREATE SEQUENCE public.calls;    -- counts calls whatever rolls back
CREATE OR REPLACE FUNCTION dtmv.twin_info(twin dtmv.twin_id) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	PERFORM nextval('public.calls');
	RAISE EXCEPTION 'the third system is down' USING ERRCODE = 'sqlclient_unable_to_establish_sqlconnection';
END $$;
});
($state, $msg, $out) = attempt($mv, 'alice',
	"\\set ON_ERROR_STOP 0\nSELECT count(*) >= 0 FROM dtmv.search_twins(system => $no{home});\n"
	  . "SELECT dtmv.twin_info('$door');\n"
	  . "RESET ROLE;\nSELECT dblink.dblink_get_connections();");
is("$state $msg", '08001 the third system is down', "a remote 08001 of the call's own is passed on as it is");
is($home->safe_psql('postgres', 'SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM public.calls'), '1',
	'... the call ran once there');
like($out, qr/dtmv_link_$no{home}/, '... and the link stays open');

# --- dblink where others may use it is refused
$mv->safe_psql('postgres', 'GRANT USAGE ON SCHEMA dblink TO PUBLIC');
($state) = attempt($mv, 'alice', "SELECT dtmv.twin_info('$door');");
is($state, '42501', 'links refuse a dblink that roles other than superusers may use');

done_testing();

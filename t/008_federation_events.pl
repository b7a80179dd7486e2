# Events across systems (REQ-SI-01, REQ-MV-04; docs/federation.md, "Events
# across systems"): a gateway at the home's twin system reports on two
# twins, the door (alice@mv1 may read it) and the lamp (she may not). At the
# metaverse system mv1, alice's client LISTENs (dtmv.listen()) and catches up
# with dtmv.events_since: it hears wake-ups, and gets every door event of
# the home system exactly once, in the home system's order, and no lamp
# event; bob, who delegated too but may read nothing there, gets nothing.
# Reports go on, in random numbers at random moments, across a restart of
# the home system, a restart of mv1 (the client reconnects and goes on from
# its last id), and the link's backend at the home system killed several
# times mid-stream. Then the relay falls behind a prune at the home system:
# alice gets one remote_events_lost, and the relay goes on from there.
use strict;
use warnings;

use DtmvTest;
use DtmvFederation;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $home = new_dtmv_node('fev_home', preload => 1);
my $mv = new_dtmv_node('fev_mv', preload => 1, conf => 'dtmv.remote_timeout = 2000');

my $home_no = local_system_no($home, 'twin');
my $mv_no = local_system_no($mv, 'metaverse');

# The home system: mv1 accepted; a gateway that serves the door and the
# lamp of their owner; alice@mv1 may read the door, carol (local) the lamp.
accept_link($home, name => 'mv1', kind => 'metaverse', no => $mv_no, login => 'mv1_link');
$home->safe_psql('postgres', q{
CREATE ROLE owner_user LOGIN IN ROLE dtmv_user;
CREATE ROLE carol LOGIN IN ROLE dtmv_user;
CREATE ROLE home_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('owner', 'owner_user');
SELECT dtmv.create_subject('carol', 'carol');
SELECT dtmv.create_subject('home gateway', 'home_gw', 'system');
SELECT dtmv.register_gateway('home gateway', 'owner');
SELECT dtmv.create_remote_user('alice', 'mv1');
SELECT dtmv.create_remote_user('bob', 'mv1');
});
my $door = sql_as($home, 'owner_user',
	q{SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'DOOR-1')});
my $lamp = sql_as($home, 'owner_user',
	q{SELECT dtmv.create_twin('lamp', 'Hall lamp', physical_binding => 'LAMP-1')});
sql_as($home, 'owner_user', qq{
SELECT dtmv.grant('$door', 'alice\@mv1', 'read,sync');
SELECT dtmv.grant('$lamp', 'carol', 'read');
});
sql_as($home, 'home_gw', q{SELECT dtmv.confirm_binding('DOOR-1'); SELECT dtmv.confirm_binding('LAMP-1');});

# mv1: the home system linked; alice and bob let mv1 read for them there,
# erin does not.
prepare_caller($mv, 'fed_admin');
users($mv, 'alice', 'bob', 'erin');
link_to($mv, admin => 'fed_admin', target => $home, name => 'home', kind => 'twin', no => $home_no, login => 'mv1_link');
sql_as($mv, 'alice', q{SELECT dtmv.delegate('home', 'read,sync')});
sql_as($mv, 'bob', q{SELECT dtmv.delegate('home', 'read')});

# The relay starts for alice and bob at the home system's horizon, and
# listens there for each.
is( wait_for_value($mv,
		'SELECT count(*) FROM dtmv.remote_event_cursors WHERE last_remote_id IS NOT NULL AND channel IS NOT NULL',
		'2', 20),
	'2',
	'the relay at mv1 keeps a cursor for alice and bob at the home system, and listens there');
is($mv->safe_psql('postgres',
		q{SELECT count(*) FROM dtmv.remote_event_cursors c JOIN dtmv.subjects s USING (subject_id) WHERE s.name = 'erin'}),
	'0', '... none for erin, who did not delegate');
my $home_start = $home->safe_psql('postgres', 'SELECT dtmv.event_horizon()');

# --- alice's client at mv1: LISTEN, catch up, reconnect when told
my %client = (last => undef, got => [], wakeups => 0, bg => undef, channel => undef);

sub client_connect
{
	$client{bg} = $mv->background_psql('postgres', on_error_stop => 0);
	$client{bg}->query_safe('SET ROLE alice');
	($client{channel}) = grep { /^dtmv_s/ } split /\n/, $client{bg}->query_safe('SELECT dtmv.listen()');
	$client{last} //= $client{bg}->query_safe('SELECT dtmv.event_horizon()');
	return;
}

# one catch-up read: the events after the last id, and the wake-ups psql
# printed since the last query
sub client_read
{
	my $out = $client{bg}->query(
		"SELECT event_id || '|' || coalesce(twin::text, '') || '|' || kind || '|' || coalesce(payload->>'n', '')"
		  . " FROM dtmv.events_since($client{last})");
	for my $line (split /\n/, $out)
	{
		if ($line =~ /^Asynchronous notification "\Q$client{channel}\E"/)
		{
			$client{wakeups}++;
		}
		elsif ($line =~ /^(\d+)\|([^|]*)\|([^|]*)\|(.*)$/)
		{
			push @{ $client{got} }, { id => $1, twin => $2, kind => $3, n => $4 };
			$client{last} = $1;
		}
	}
	return;
}

# The door's events at the home system since the start: what alice must get.
sub door_events_at_home
{
	return [ split /\n/, $home->safe_psql('postgres',
		"SELECT payload->>'n' FROM dtmv.events WHERE twin = '$door' AND event_id > $home_start ORDER BY event_id") ];
}

# Reads until the client has every door event the home system has logged,
# for up to SECONDS; then once more after the relay's periodic round, for
# anything extra.
sub client_catch_up
{
	my ($seconds) = @_;
	my $want = scalar @{ door_events_at_home() };
	my $deadline = time + $seconds;
	while (time < $deadline)
	{
		client_read();
		last if (grep { $_->{kind} eq 'reading' } @{ $client{got} }) >= $want;
		sleep 0.05;
	}
	sleep 1.5;
	client_read();
	return;
}

# Reports at the home system by its gateway: COUNT of them, each on the door
# or the lamp at random, a random pause of up to 20 ms between them; numbered
# per twin. In the background; its harness.
my %n = ($door => 0, $lamp => 0);
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $batches = 0;

sub start_reports
{
	my ($count) = @_;
	my $file = "$tmp/reports" . ++$batches . '.sql';
	open my $fh, '>', $file or die $!;
	for (1 .. $count)
	{
		my $twin = rand() < 0.6 ? $door : $lamp;
		$n{$twin}++;
		printf $fh "SELECT dtmv.report('%s', 'reading', '{\"n\": %d}');\nSELECT pg_sleep(%.3f);\n",
		  $twin, $n{$twin}, rand(0.02);
	}
	close $fh;
	return start_as($home, 'home_gw', "$tmp/reports$batches.log", 'psql', '-X', '-q', '-f', $file);
}

client_connect();

# --- steady: reports, wake-ups, catch-up
my $reports = start_reports(20 + int rand 40);
$reports->finish;
client_catch_up(20);
cmp_ok($client{wakeups}, '>', 0, "alice's client at mv1 hears wake-ups for the home system's door ($client{wakeups})");
is_deeply([ map { $_->{n} } grep { $_->{kind} eq 'reading' } @{ $client{got} } ], door_events_at_home(),
	'... and catches up every door event exactly once, in order');

# --- the home system restarts mid-stream
$reports = start_reports(30 + int rand 60);
sleep rand 0.5;
$home->stop('immediate');
$reports->finish;
$home->start;
$reports = start_reports(20 + int rand 40);
$reports->finish;
client_catch_up(30);
is_deeply([ map { $_->{n} } grep { $_->{kind} eq 'reading' } @{ $client{got} } ], door_events_at_home(),
	'across a restart of the home system: every door event exactly once, in order');

# --- mv1 restarts mid-stream; the client reconnects and goes on from its last id
$reports = start_reports(30 + int rand 60);
sleep rand 0.5;
$client{bg}->{run}->kill_kill;
$mv->stop('immediate');
$mv->start;
client_connect();
$reports->finish;
client_catch_up(30);
is_deeply([ map { $_->{n} } grep { $_->{kind} eq 'reading' } @{ $client{got} } ], door_events_at_home(),
	'across a restart of mv1: every door event exactly once, in order');

# --- the link's backend at the home system killed mid-stream, several times
$reports = start_reports(60 + int rand 60);
my $killed = 0;
for (1 .. 3)
{
	sleep 0.1 + rand 0.4;
	$killed += $home->safe_psql('postgres',
		q{SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mv1_link') k});
}
$reports->finish;
cmp_ok($killed, '>', 0, "the link's backends at the home system were killed $killed times");
client_catch_up(30);
my @readings = grep { $_->{kind} eq 'reading' } @{ $client{got} };
is_deeply([ map { $_->{n} } @readings ], door_events_at_home(),
	'across the link killed mid-stream: every door event exactly once, in order');

# --- what arrived, checked whole
is(scalar(grep { $_->{twin} ne $door } @readings), 0, 'alice got no event of the lamp, which she may not read');
is(sql_as($mv, 'alice', "SELECT count(*) FROM dtmv.events_since(0, 100000) WHERE kind = 'reading'"),
	scalar(@readings), "mv1's log holds each of alice's door events once");
is(sql_as($mv, 'bob', 'SELECT count(*) FROM dtmv.events_since(0, 100000)'),
	'0', 'bob, who may read nothing at the home system, got nothing');
is(sql_as($mv, 'erin', 'SELECT count(*) FROM dtmv.events_since(0, 100000)'), '0', '... nor did erin');
is($mv->safe_psql('postgres',
		q{SELECT string_agg(s.name || '=' || c.relayed, ',' ORDER BY s.name) FROM dtmv.remote_event_cursors c JOIN dtmv.subjects s USING (subject_id)}),
	'alice=' . scalar(@readings) . ',bob=0', "the cursors count what was relayed");
cmp_ok(sql_as($home, 'carol', "SELECT count(*) FROM dtmv.events_since($home_start, 100000) WHERE twin = '$lamp'"),
	'>', 0, '(the lamp had events: carol reads them at the home system)');

# --- the relay behind a prune at the home system: mv1's link may not log
# in, reports go on, the home system prunes them; once the link is back,
# alice gets one remote_events_lost, then the events after the horizon
$home->safe_psql('postgres', q{
ALTER ROLE mv1_link NOLOGIN;
SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'mv1_link') k;
});
$reports = start_reports(10);
$reports->finish;
$home->safe_psql('postgres', q{SELECT dtmv.prune_events('0 s')});
$home->safe_psql('postgres', 'ALTER ROLE mv1_link LOGIN');
my $lost_at = wait_for_value($mv,
	q{SELECT lost FROM dtmv.remote_event_cursors c JOIN dtmv.subjects s USING (subject_id) WHERE s.name = 'alice'},
	'1', 20);
is($lost_at, '1', 'the relay fell behind a prune at the home system: it says so once');
$home_start = $home->safe_psql('postgres', 'SELECT dtmv.event_horizon()');
my $before = scalar @{ $client{got} };
$reports = start_reports(10);
$reports->finish;
client_catch_up(20);
my @after = @{ $client{got} }[ $before .. $#{ $client{got} } ];
is(scalar(grep { $_->{kind} eq 'remote_events_lost' } @after), 1, "alice's client gets one remote_events_lost");
is_deeply([ map { $_->{n} } grep { $_->{kind} eq 'reading' } @after ], door_events_at_home(),
	'... and then the door events after it, exactly once, in order');

# --- dtmv.relay_events(), for installations without the worker: dtmv_admin
# only; called over and over while the worker relays too, nothing twice
my ($state) = attempt($mv, 'alice', 'SELECT dtmv.relay_events()');
is($state, '42501', 'relay_events is dtmv_admin\'s');
($state) = attempt($mv, 'fed_admin', q{SELECT dtmv.relay_events('nowhere')});
is($state, '42704', '... for a system registered here');
$home_start = $home->safe_psql('postgres', 'SELECT dtmv.event_horizon()');
$before = scalar @{ $client{got} };
$reports = start_reports(30 + int rand 30);
my $manual = 0;
$manual += sql_as($mv, 'fed_admin', q{SELECT dtmv.relay_events('home')}) for 1 .. 20;
$reports->finish;
client_catch_up(20);
@after = @{ $client{got} }[ $before .. $#{ $client{got} } ];
is_deeply([ map { $_->{n} } grep { $_->{kind} eq 'reading' } @after ], door_events_at_home(),
	"dtmv_admin's relay_events beside the worker ($manual events relayed by it): every door event once, in order");

# --- a sync answer: alice requests a sync of the door through mv1, the
# gateway at the home system completes it there; the answer, addressed to
# alice@mv1 there, reaches her with mv1's id of her request
my $local_request = sql_as($mv, 'alice', "SELECT dtmv.request_sync('$door')");
my $completed = sql_as($home, 'home_gw', q{
SELECT request_id FROM dtmv.claim_sync('1 minute', false) \\gset
SELECT dtmv.complete_sync(:request_id, true, '{"door": "closed"}');
SELECT :request_id;});
my ($remote_request) = $completed =~ /(\d+)\s*$/;
my $answer = '';
for (1 .. 100)
{
	$answer = sql_as($mv, 'alice',
		"SELECT payload->>'request', payload->>'remote_request', payload->>'status' FROM dtmv.events_since(0) WHERE kind = 'sync_answer'");
	last if $answer ne '';
	sleep 0.1;
}
is($answer, "$local_request|$remote_request|succeeded",
	"a sync answer at the home system reaches alice at mv1 with mv1's request id ($local_request; $remote_request there)");

$client{bg}->quit;
done_testing();

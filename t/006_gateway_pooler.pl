# The gateway program for real deployments (issue 15, item 3):
# gateway/dtmv-home run against a real server, directly and through
# Debian's pgbouncer in transaction mode (started here, with server
# connections handed out in turn, so that a claim and its completion run in
# different server sessions). Devices are stand-ins (gateway/stand-in-device):
# a door that answers, a slow thermostat, a lamp that fails, a meter that
# answers garbage, a camera that never answers; a garden lamp is bound
# through the same gateway and confirmed, but is not configured for this
# gateway program.
# Syncs complete with the state the device reports (nothing made up), a
# slow device's lease is renewed (its run survives a recovery after the
# first lease has passed) and its run completes, the twin not configured is
# not touched, and each failure is one line of the log.
use strict;
use warnings;

use DtmvTest;
use IPC::Run ();
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);

my $home = "$TOP/gateway/dtmv-home";
my $driver = "$TOP/gateway/stand-in-device";
-x $home or BAIL_OUT("$home is not built (make)");
my ($pgbouncer) = grep { -x } ('/usr/sbin/pgbouncer', '/usr/bin/pgbouncer');
defined $pgbouncer or BAIL_OUT('pgbouncer is not installed (test/setup.sh)');

my $lease = 2;      # seconds: the thermostat takes three times as long
my $slow = 6;
my $timeout = 10;    # the camera never answers

# pgbouncer in front of NODE, in transaction mode, for USERS (trusted, as
# the node trusts local connections); returns its port and harness.
sub start_pgbouncer
{
	my ($node, $dir, @users) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	append_to_file("$dir/users.txt", qq{"$_" ""\n}) for @users;
	append_to_file(
		"$dir/pgbouncer.ini", qq{[databases]
postgres = host=@{[ $node->host ]} port=@{[ $node->port ]} dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
server_round_robin = 1
default_pool_size = 3
max_client_conn = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
});
	my $h = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ],
		'<', \undef, '>&', "$dir/pgbouncer.out");
	for (1 .. 100)
	{
		last if bouncer_psql($port, $users[0], 'SELECT 1') eq '1';
		sleep 0.1;
	}
	return ($port, $h);
}

# a statement through pgbouncer as USER; its output ('' on failure)
sub bouncer_psql
{
	my ($port, $user, @sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port, '-U', $user,
			'-d', 'postgres', map { ('-c', $_) } @sql
		],
		'<', \undef, '>', \$out, '2>', \$err);
	chomp $out;
	return $out;
}

sub gateway_scenario
{
	my ($pooler) = @_;
	my $mode = $pooler ? 'through pgbouncer' : 'direct';
	my $node = new_dtmv_node($pooler ? 'gw_pooler' : 'gw_direct');
	my $dir = PostgreSQL::Test::Utils::tempdir;
	my $devices = "$dir/devices";
	mkdir $devices;
	my $alice = sub { sql_as($node, 'home_alice', @_) };
	my $su = sub { sql_as($node, undef, $_[0]) };

	$su->(
		q{
CREATE ROLE home_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE home_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('alice', 'home_alice');
SELECT dtmv.create_subject('home gateway', 'home_gw', 'system');
SELECT dtmv.register_gateway('home gateway', 'alice');
});
	my %twin;
	for (
		[ door => 'door', 'DOOR-1' ],
		[ thermostat => 'thermostat', 'THERMO-1' ],
		[ lamp => 'lamp', 'LAMP-1' ],
		[ meter => 'meter', 'METER-1' ],
		[ camera => 'camera', 'CAM-1' ],
		[ garden => 'lamp', 'GARDEN-1' ])
	{
		my ($name, $kind, $serial) = @$_;
		$twin{$name} = $alice->(
			"SELECT dtmv.create_twin('$kind', '$name', physical_binding => '$serial')"
		);
	}
	# the garden lamp is served by the gateway (confirmed by the
	# administrator), but its device is elsewhere: not configured here
	$su->("SELECT dtmv.confirm_binding('GARDEN-1', '$twin{garden}')");

	append_to_file("$devices/DOOR-1.json",
		'{"door": "closed", "battery": 87}');
	append_to_file("$devices/THERMO-1.json", '{"temp_c": 21.5}');
	append_to_file("$devices/THERMO-1.delay", $slow);
	append_to_file("$devices/LAMP-1.fail", "bulb socket does not answer\n");
	append_to_file("$devices/METER-1.json", 'not json at all');
	append_to_file("$devices/CAM-1.delay", 60);
	# ... having closed its output: the timeout holds all the same
	append_to_file("$devices/CAM-1.mute", "");
	append_to_file("$devices/GARDEN-1.json", '{"light": "on"}');

	my %env = node_env($node, undef, DTMV_DEVICES => $devices);
	delete $env{PGOPTIONS};
	$env{PGUSER} = 'home_gw';
	my $bouncer;
	if ($pooler)
	{
		my $port;
		($port, $bouncer) = start_pgbouncer($node, $dir, 'home_gw');
		@env{qw(PGHOST PGPORT)} = ('127.0.0.1', $port);
		# three server connections in the gateway's pool, handed out in
		# turn: consecutive statements of one client run in different
		# server sessions
		my @sleepers = map {
			IPC::Run::start(
				[
					'psql', '-X', '-h', '127.0.0.1', '-p', $port, '-U',
					'home_gw', '-d', 'postgres', '-c', 'SELECT pg_sleep(1)'
				],
				'<', \undef, '>', '/dev/null', '2>', '/dev/null')
		} 1 .. 3;
		$_->finish for @sleepers;
		my @pids = split /\n/,
		  bouncer_psql($port, 'home_gw', ('SELECT pg_backend_pid()') x 6);
		my %distinct = map { $_ => 1 } @pids;
		cmp_ok(scalar(keys %distinct), '>', 1,
			"$mode: one client's statements ran in several server sessions (@pids)"
		);
	}

	# alice asks every twin for a sync, and acts on three
	my %req;
	$req{$_} = $alice->("SELECT dtmv.request_sync('$twin{$_}')")
	  for qw(door thermostat lamp meter camera garden);
	my %cmd;
	# arguments longer than any fixed buffer reach the device whole
	$cmd{door} = $alice->(
		"SELECT dtmv.interact('$twin{door}', 'open', jsonb_build_object('note', repeat('x', 400), 'level', 7))");
	$cmd{lamp} = $alice->("SELECT dtmv.interact('$twin{lamp}', 'on')");
	$cmd{garden} = $alice->("SELECT dtmv.interact('$twin{garden}', 'on')");
	my $garden_before =
	  $su->("SELECT reported FROM dtmv.twin_states WHERE twin = '$twin{garden}'");

	my @cmd = (
		$home, 'gateway', '--driver', $driver, '--lease', $lease,
		'--device-timeout', $timeout, '--seconds', 90,
		map { ('--device', $_) } qw(DOOR-1 THERMO-1 LAMP-1 METER-1 CAM-1));
	push @cmd, '--pooler' if $pooler;
	my $log = "$dir/gateway.log";
	my $gateway = do
	{
		local %ENV = %env;
		IPC::Run::start(\@cmd, '<', \undef, '>&', $log);
	};

	my $status = sub {
		$su->(
			"SELECT status FROM dtmv.sync_requests WHERE request_id = $req{$_[0]}"
		);
	};
	# the slow thermostat: once its first lease has passed, a recovery
	# finds its run alive, its lease renewed
	is(wait_for_value($node,
			"SELECT status FROM dtmv.sync_requests WHERE request_id = $req{thermostat}",
			'running', 30),
		'running', "$mode: the thermostat's sync runs");
	my $first_lease = $su->(
		"SELECT lease_until FROM dtmv.sync_requests WHERE request_id = $req{thermostat}"
	);
	sleep $lease + 1.5;
	is($su->('SELECT dtmv.recover_syncs()'),
		0, "$mode: a recovery after the first lease passed requeues nothing");
	is($status->('thermostat'), 'running',
		"$mode: the slow thermostat still has its run");
	is( $su->(
			"SELECT lease_until > '$first_lease' AND lease_until > now() FROM dtmv.sync_requests WHERE request_id = $req{thermostat}"
		),
		't',
		"$mode: its lease was renewed");

	my $all = join(',', map { $req{$_} } qw(door thermostat lamp meter camera garden));
	is( wait_for_value(
			$node,
			"SELECT string_agg(status, ',' ORDER BY request_id) FROM dtmv.sync_requests WHERE request_id IN ($all)",
			'succeeded,succeeded,failed,failed,failed,pending',
			$slow + $timeout + 30),
		'succeeded,succeeded,failed,failed,failed,pending',
		"$mode: door and thermostat synced; lamp, meter and camera failed; the garden lamp waits"
	);
	is( wait_for_value(
			$node,
			"SELECT string_agg(status, ',' ORDER BY command_id) FROM dtmv.commands WHERE command_id IN ($cmd{door}, $cmd{lamp}, $cmd{garden})",
			'succeeded,failed,queued',
			10),
		'succeeded,failed,queued',
		"$mode: the door opened, the lamp failed, the garden lamp's command waits"
	);
	$gateway->signal('TERM');
	$gateway->finish;
	my $out = slurp_file($log);
	note "--- $mode: gateway log\n$out";

	# the state the devices reported, nothing else
	my $reported = sub {
		$alice->(
			"SELECT reported::text FROM dtmv.twin_states WHERE twin = '$twin{$_[0]}'"
		);
	};
	is( $alice->(
			"SELECT reported ->> 'battery' FROM dtmv.twin_states WHERE twin = '$twin{door}'"
		),
		'87',
		"$mode: the door's sync stored the battery level the door reported");
	is( $alice->(
			"SELECT reported ->> 'temp_c' FROM dtmv.twin_states WHERE twin = '$twin{thermostat}'"
		),
		'21.5',
		"$mode: the slow thermostat's sync stored the temperature it reported"
	);
	is( $su->(
			"SELECT count(*) FROM dtmv.twin_states WHERE reported ?| array['synced_by', 'synced_at']"
		),
		0,
		"$mode: no twin has made-up state");
	is( $su->(
			"SELECT (result ->> 'done') || ' ' || ((result ->> 'args_bytes')::int = octet_length(args::text))::text FROM dtmv.commands WHERE command_id = $cmd{door}"
		),
		'open true',
		"$mode: the door command's result is the door's answer, to its whole arguments (over 400 bytes)");
	is( $su->(
			"SELECT result ->> 'error' FROM dtmv.commands WHERE command_id = $cmd{lamp}"
		),
		'the device driver exited with status 1: bulb socket does not answer',
		"$mode: the lamp command failed with the device's reason");
	is( $su->(
			"SELECT bool_and(session_lock = " . ($pooler ? 'false' : 'true')
			  . ") FROM dtmv.sync_requests WHERE started_at IS NOT NULL"),
		't',
		"$mode: every run was claimed "
		  . ($pooler ? 'without a session lock' : 'with a session lock'));

	# the twin not configured for this gateway program is not touched
	is($status->('garden'), 'pending',
		"$mode: the garden lamp's sync was never claimed");
	is( $su->(
			"SELECT started_at IS NULL FROM dtmv.sync_requests WHERE request_id = $req{garden}"
		),
		't',
		"$mode: the garden lamp's request never ran");
	is( $su->(
			"SELECT status FROM dtmv.commands WHERE command_id = $cmd{garden}"),
		'queued',
		"$mode: the garden lamp's command was never taken");
	is( $su->(
			"SELECT reported FROM dtmv.twin_states WHERE twin = '$twin{garden}'"),
		$garden_before,
		"$mode: the garden lamp's state is untouched");
	like($out, qr/twin \Q$twin{garden}\E is bound through this gateway to device GARDEN-1, which is not configured here/,
		"$mode: the gateway says it leaves the garden lamp alone");
	unlike($out, qr/device GARDEN-1\b(?!, which is not configured)/,
		"$mode: the gateway did nothing with the garden lamp's device");

	# a slow device's lease renewed, in the log
	like($out, qr/sync $req{thermostat} of twin \S+ \(device THERMO-1\): the device is still working; lease renewed/,
		"$mode: the gateway logged the thermostat's lease renewals");

	# one line for each failure, saying why
	my @failures = grep { /failed/ } split /\n/, $out;
	is(scalar(@failures), 4, "$mode: four failures, four lines")
	  or diag join "\n", @failures;
	like($out, qr/sync $req{lamp} of twin \S+ \(device LAMP-1\) failed: the device driver exited with status 1: bulb socket does not answer$/m,
		"$mode: the lamp's failure, with the device's reason");
	like($out, qr/sync $req{meter} of twin \S+ \(device METER-1\) failed: the device's answer is not a JSON object the server takes \(22P02: .*\): not json at all$/m,
		"$mode: the meter's garbage, refused");
	like($out, qr/sync $req{camera} of twin \S+ \(device CAM-1\) failed: no answer from the device within $timeout s$/m,
		"$mode: the camera's silence, timed out");
	like($out, qr/command $cmd{lamp} from alice: on on device LAMP-1 failed: the device driver exited with status 1: bulb socket does not answer$/m,
		"$mode: the lamp command's failure");
	unlike($out, qr/connection lost|not running in this session/,
		"$mode: no lost connection, no run lost to another session");

	if (!Test::More->builder->is_passing)
	{
		diag "--- gateway log\n$out";
		diag "--- pgbouncer log\n" . slurp_file("$dir/pgbouncer.log")
		  if $pooler && -e "$dir/pgbouncer.log";
	}
	if ($bouncer)
	{
		$bouncer->signal('INT');
		$bouncer->finish;
	}
	$node->stop;
	return;
}

gateway_scenario(0);
gateway_scenario(1);

done_testing();

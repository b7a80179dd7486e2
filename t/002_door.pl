# Scenario 7.2.1 across real processes (REQ-DT-06, REQ-MV-03, REQ-MV-04): the
# gateway program (gateway/dtmv-home) reports a guest at the door, alice's
# client is woken and catches up, bob (no right on the door) hears nothing,
# alice opens the door through its twin, the gateway opens it and
# acknowledges; after a server restart the gateway reconnects and carries
# out the next command; the answer to alice's sync request wakes her.
# Bob squats the door's serial before alice registers it (issue 14): his
# binding stays pending, routes nothing, and alice's registration works.
# Twice: writers NOTIFY themselves; then dtmv preloaded, the worker sends
# coalesced wake-ups.
use strict;
use warnings;

use DtmvTest;
use PostgreSQL::Test::Utils;
use Test::More;

my $home = "$TOP/gateway/dtmv-home";
-x $home or BAIL_OUT("$home is not built (make)");

sub door_scenario
{
	my ($preload) = @_;
	my $mode = $preload ? 'worker NOTIFY' : 'direct NOTIFY';
	my $node = new_dtmv_node($preload ? 'door_worker' : 'door_direct',
		preload => $preload);
	load_test_helpers($node);
	my $logs = PostgreSQL::Test::Utils::tempdir;
	my $sql  = sub { sql_as($node, @_) };
	my $door_reported = sub {
		$sql->('door_alice',
			"SELECT reported ->> 'door' FROM dtmv.twin_states WHERE twin = '$_[0]'"
		);
	};

	$node->safe_psql(
		'postgres', q{
CREATE ROLE door_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE door_bob LOGIN IN ROLE dtmv_user;
CREATE ROLE door_gw LOGIN IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('alice', 'door_alice');
SELECT dtmv.create_subject('bob', 'door_bob');
SELECT dtmv.create_subject('home gateway', 'door_gw', 'system');
SELECT dtmv.register_gateway('home gateway', 'alice');
});
	# bob binds the real door's serial first, to a twin of his own
	my $squat = $sql->('door_bob',
		"SELECT dtmv.create_twin('door', 'Not my door', physical_binding => 'DOOR-1')"
	);
	my $door = $sql->('door_alice',
		"SELECT dtmv.create_twin('door', 'Front door', physical_binding => 'DOOR-1')"
	);
	note "$mode: wake-ups sent by the background worker: "
	  . $node->safe_psql('postgres', 'SELECT dtmv_test._notifier_active()');
	my $start = $sql->('door_alice', 'SELECT dtmv.event_horizon()');

	# the door is connected to the gateway: it confirms alice's binding
	my $gateway = start_as($node, 'door_gw', "$logs/gateway", $home,
		'gateway', '--device', 'DOOR-1', '--driver',
		"$TOP/gateway/stand-in-device", '--seconds', '60', '--acks', '2');
	my $alice = start_as($node, 'door_alice', "$logs/alice", $home, 'watch',
		'doorbell', '--seconds', '20', '--since', $start);
	my $bob = start_as($node, 'door_bob', "$logs/bob", $home, 'watch',
		'doorbell', '--seconds', '5', '--since', $start);
	wait_for_line("$logs/alice", qr/watching/)
	  && wait_for_line("$logs/bob", qr/watching/)
	  && wait_for_line("$logs/gateway", qr/listening/);

	run_as($node, 'door_gw', "$logs/ring", $home, 'ring', 'DOOR-1',
		'cam/front/0001.jpg');
	$alice->finish;
	is($alice->result(0), 0, "$mode: alice's client saw the doorbell event");
	like(
		slurp_file("$logs/alice"),
		qr/woken on channel dtmv_s/,
		"$mode: alice was woken by a notification on her channel");
	like(
		slurp_file("$logs/alice"),
		qr/"camera": "cam\/front\/0001.jpg"/,
		"$mode: the event carries the camera snapshot reference");
	$bob->finish;
	is($bob->result(0), 1, "$mode: bob's client saw no event");
	unlike(
		slurp_file("$logs/bob"),
		qr/woken on channel/,
		"$mode: bob heard no notification");
	is( $sql->(
			'door_alice',
			"SELECT dtmv.twin_info('$door') -> 'reported' ->> 'camera'"),
		'cam/front/0001.jpg',
		"$mode: alice sees the snapshot through the door's twin");

	my $before = $sql->('door_alice', 'SELECT dtmv.event_horizon()');
	$alice = start_as($node, 'door_alice', "$logs/alice2", $home, 'watch',
		'command_succeeded', '--seconds', '20', '--since', $before);
	my $squat_cmd =
	  $sql->('door_bob', "SELECT dtmv.interact('$squat', 'open')");
	$sql->('door_alice', "SELECT dtmv.interact('$door', 'open')");
	$alice->finish;
	is($alice->result(0), 0,
		"$mode: the gateway opened the door and alice saw the acknowledgement"
	);
	is($door_reported->($door), 'open', "$mode: the door is reported open");
	like(
		slurp_file("$logs/gateway"),
		qr/device DOOR-1 is here: its binding to twin \Q$door\E is confirmed/,
		"$mode: the gateway confirmed alice's binding of the door");
	is( $sql->('door_bob', "SELECT dtmv.command_status($squat_cmd)"),
		'queued',
		"$mode: bob's command on the twin he bound to the door's serial reached no gateway"
	);
	is( $sql->(
			'door_bob',
			"SELECT binding_confirmed_at IS NULL FROM dtmv.twin_states WHERE twin = '$squat'"
		),
		't',
		"$mode: bob's squatted binding stays pending");

	# The server restarts under the gateway; it reconnects and takes the
	# next command.
	$node->restart;
	$sql->('door_alice', "SELECT dtmv.interact('$door', 'close')");
	$gateway->finish;
	is($gateway->result(0), 0,
		"$mode: after a server restart the gateway reconnected and acknowledged the next command"
	);
	like(
		slurp_file("$logs/gateway"),
		qr/reconnecting/,
		"$mode: the gateway said it reconnected");
	is($door_reported->($door), 'closed',
		"$mode: the door is reported closed");

	# A sync's answer is an event addressed to its requester: alice is
	# woken on her own channel when the gateway completes the sync she
	# asked for.
	$before = $sql->('door_alice', 'SELECT dtmv.event_horizon()');
	$alice = start_as($node, 'door_alice', "$logs/alice3", $home, 'watch',
		'sync_answer', '--seconds', '20', '--since', $before);
	wait_for_line("$logs/alice3", qr/watching/);
	$sql->('door_alice', "SELECT dtmv.request_sync('$door')");
	is( $sql->(
			'door_gw',
			q{SELECT dtmv.complete_sync(request_id, true, '{"door": "closed"}') FROM dtmv.claim_sync()}
		),
		'succeeded',
		"$mode: the gateway completed alice's sync");
	$alice->finish;
	is($alice->result(0), 0,
		"$mode: alice saw the answer to her sync request");
	like(
		slurp_file("$logs/alice3"),
		qr/woken on channel dtmv_s/,
		"$mode: alice was woken on her own channel for it");

	if (!Test::More->builder->is_passing)
	{
		diag "--- $_\n" . slurp_file("$logs/$_")
		  for qw(gateway alice bob ring alice2 alice3);
	}
	$node->stop;
	return;
}

door_scenario(0);
door_scenario(1);

done_testing();

# Several dtmv systems, each its own cluster, linked as docs/federation.md
# "Connecting two systems, step by step" says: the called system makes a
# dtmv_gateway login for the caller's link, asks it for a password and
# registers the caller with that login's subject as its link; the calling
# system reaches it through a postgres_fdw server and a user mapping for
# dtmv_link, with dblink in a schema of its own, and registers it with a
# system subject that its users delegate to. Used by t/007 (routed calls),
# t/008 (events), t/009 (orders through a shop).
package DtmvFederation;

use strict;
use warnings;

use Exporter 'import';
use DtmvTest;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time);

our @EXPORT = qw(attempt local_system_no accept_link prepare_caller link_to link_password users
  kill_link_while_waiting);

# One password for every link of a run (the nodes trust every other local
# login).
my $password = join '', map { sprintf '%02x', int rand 256 } 1 .. 12;
sub link_password { return $password }

# SQL as ROLE at NODE: (SQLSTATE of the first error or '', its message,
# the output, seconds taken, stderr).
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
	return ($state // '', $msg // '', $out, $took, $err);
}

# The number of NODE's own system of KIND ('twin' or 'metaverse').
sub local_system_no
{
	my ($node, $kind) = @_;
	return $node->safe_psql('postgres', "SELECT dtmv.local_system('$kind')");
}

# At NODE, the called system: the caller (registered here as NAME, of KIND,
# number NO) logs in as LOGIN, a dtmv_gateway login asked for its password,
# whose subject "<NAME> link" is the caller's link.
sub accept_link
{
	my ($node, %a) = @_;
	my $hba = slurp_file($node->data_dir . '/pg_hba.conf');
	open my $fh, '>', $node->data_dir . '/pg_hba.conf' or die $!;
	print $fh "local all $a{login} scram-sha-256\n$hba";
	close $fh;
	$node->reload;
	$node->safe_psql(
		'postgres', qq{
CREATE ROLE $a{login} LOGIN PASSWORD '$password' IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('$a{name} link', '$a{login}', 'system');
SELECT dtmv.register_system('$a{name}', '$a{kind}', $a{no}, link => '$a{name} link'
	@{[ $a{operator} ? ", operator => '$a{operator}'" : '' ]});
});
	return;
}

# At NODE, a calling system: postgres_fdw, dblink in a schema of its own
# that dtmv_link may use, and ADMIN, a dtmv_admin login that may make
# foreign servers.
sub prepare_caller
{
	my ($node, $admin) = @_;
	$node->safe_psql(
		'postgres', qq{
CREATE EXTENSION postgres_fdw;
CREATE SCHEMA dblink;
CREATE EXTENSION dblink SCHEMA dblink;
GRANT USAGE ON SCHEMA dblink TO dtmv_link;
CREATE ROLE $admin LOGIN IN ROLE dtmv_admin;
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO $admin;
});
	return;
}

# At NODE (prepared by prepare_caller), as ADMIN: reach TARGET (a node) as
# the system NAME of KIND, number NO, logging in there as LOGIN (which
# accept_link made there); the system subject NAME stands for it here.
sub link_to
{
	my ($node, %a) = @_;
	my ($host, $port) = ($a{target}->host, $a{target}->port);
	sql_as($node, $a{admin}, qq{
CREATE SERVER $a{name}_srv FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$host', port '$port', dbname 'postgres', connect_timeout '2');
CREATE USER MAPPING FOR dtmv_link SERVER $a{name}_srv OPTIONS (user '$a{login}', password '$password');
GRANT USAGE ON FOREIGN SERVER $a{name}_srv TO dtmv_link;
SELECT dtmv.create_subject('$a{name}', NULL, 'system');
SELECT dtmv.register_system('$a{name}', '$a{kind}', $a{no}, fdw_server => '$a{name}_srv', link => '$a{name}'
	@{[ $a{operator} ? ", operator => '$a{operator}'" : '' ]});
});
	return;
}

# At a system: a dtmv_user login and a subject of the same name for each NAME.
sub users
{
	my ($node, @names) = @_;
	$node->safe_psql('postgres',
		join '', map { "CREATE ROLE $_ LOGIN IN ROLE dtmv_user;\nSELECT dtmv.create_subject('$_', '$_');\n" } @names);
	return;
}

# The link killed mid-call: SQL, run at CALLER as ROLE, waits at CALLED for a
# lock the test holds there; once the link's backend there (the login
# LOGIN) is seen waiting, it is terminated. Returns '1' if it was seen
# waiting (within 10 s), and the call's psql output (VERBOSITY verbose).
sub kill_link_while_waiting
{
	my ($caller, $role, $sql, $called, $login) = @_;
	my $out = PostgreSQL::Test::Utils::tempdir . '/killed';
	my $call = start_as($caller, $role, $out, 'psql', '-X', '-v', 'VERBOSITY=verbose', '-c', $sql);
	my $waits = "FROM pg_stat_activity WHERE usename = '$login' AND wait_event_type = 'Lock'";
	my $waiting = wait_for_value($called, "SELECT count(*) $waits", '1', 10);
	$called->safe_psql('postgres', "SELECT pg_terminate_backend(pid) $waits");
	$call->finish;
	return ($waiting, slurp_file($out));
}

1;

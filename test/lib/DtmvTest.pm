# What dtmv's TAP tests (t/*.pl) share: clusters of their own through
# PostgreSQL::Test::Cluster, dtmv created in them, SQL as a given role,
# client programs (the gateway, pg_dump...) run against a node, and waits
# with a bound. make installcheck runs the tests with this directory in
# prove's include path (PG_PROVE_FLAGS in the Makefile), from the top of
# the tree.
#
# initdb and postgres refuse to run as root. Run as root (make test, CI),
# a test gives the postgres user the directory PostgreSQL::Test::Utils
# writes its logs to (TESTDIR/tmp_check) and becomes that user before any
# node is made, as pg_virtualenv runs its servers as postgres.

package DtmvTest;

use strict;
use warnings;

use Cwd ();
use IPC::Run ();
use POSIX ();
use Time::HiRes qw(sleep time);

BEGIN
{
	if ($> == 0)
	{
		my ($uid, $gid) = (getpwnam('postgres'))[ 2, 3 ];
		die "running as root, and there is no postgres user to run the servers as\n"
		  unless defined $uid;
		my $tmp_check = ($ENV{TESTDIR} // '.') . '/tmp_check';
		for my $dir ($tmp_check, "$tmp_check/log")
		{
			mkdir $dir;
			chown $uid, $gid, $dir or die "could not chown $dir: $!\n";
		}
		$) = "$gid $gid";
		$( = $gid;
		POSIX::setuid($uid) or die "could not become postgres: $!\n";
		$ENV{HOME} = (getpwuid($uid))[7];
		$ENV{USER} = $ENV{LOGNAME} = 'postgres';
	}
}

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use Exporter 'import';
our @EXPORT = qw(new_dtmv_node load_test_helpers sql_as node_env run_as
  start_as run_or_bail dump_and_restore wait_for_value wait_for_line $TOP);

# The top of the tree (prove runs the tests from there).
our $TOP = Cwd::getcwd();

# A started node: preload => 1 puts dtmv in shared_preload_libraries (its
# background worker); conf => more postgresql.conf lines. With dtmv created
# in its postgres database unless create => 0.
sub new_dtmv_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'dtmv'")
	  if $opt{preload};
	$node->append_conf('postgresql.conf', $opt{conf}) if defined $opt{conf};
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION dtmv CASCADE')
	  unless defined $opt{create} && !$opt{create};
	return $node;
}

# The tests' own helpers (schema dtmv_test), into a database with dtmv.
sub load_test_helpers
{
	my ($node, $db) = @_;
	$node->safe_psql($db // 'postgres',
		slurp_file("$TOP/test/sql/test_helpers.sql"));
	return;
}

# SQL run as a role (undef: the superuser) with search_path public, dtmv;
# its output (psql -At), dying on an error.
sub sql_as
{
	my ($node, $role, $sql, $db) = @_;
	my $set = 'SET search_path = public, dtmv;';
	$set .= " SET ROLE $role;" if defined $role;
	return $node->safe_psql($db // 'postgres', "$set\n$sql");
}

# The environment of a client of the node: libpq variables for it, with
# PGOPTIONS="-c role=ROLE" when a role is given, and more variables.
sub node_env
{
	my ($node, $role, %more) = @_;
	my %env = (
		%ENV,
		PGHOST => $node->host,
		PGPORT => $node->port,
		PGDATABASE => 'postgres',
		%more);
	$env{PGOPTIONS} = "-c role=$role" if defined $role;
	return %env;
}

# Runs a client program against the node (as ROLE, see node_env), its
# output (stdout and stderr) to a file; returns its exit code.
sub run_as
{
	my ($node, $role, $out, @cmd) = @_;
	my $h = start_as($node, $role, $out, @cmd);
	$h->finish;
	return $h->result(0);
}

# Starts a client program in the background, the same way; returns its
# IPC::Run harness (finish it, then ->result is its exit code).
sub start_as
{
	my ($node, $role, $out, @cmd) = @_;
	local %ENV = node_env($node, $role);
	return IPC::Run::start(\@cmd, '<', \undef, '>&', $out);
}

# run_as as the superuser, giving up the whole test (with the program's
# output) if the program fails: for the steps that set a test up.
sub run_or_bail
{
	my ($node, @cmd) = @_;
	my $out = PostgreSQL::Test::Utils::tempdir . '/out';
	run_as($node, undef, $out, @cmd) == 0
	  or BAIL_OUT("@cmd failed: " . slurp_file($out));
	return;
}

# pg_dump -Fc of database DB of node FROM, restored by pg_restore
# --exit-on-error into a new database NEW_DB of node TO (the same node or
# another, whose roles are there already); a test NAME that pg_restore
# reports no error.
sub dump_and_restore
{
	my ($from, $db, $to, $new_db, $name) = @_;
	my $tmp = PostgreSQL::Test::Utils::tempdir;
	run_or_bail($from, 'pg_dump', '-Fc', '-f', "$tmp/dump", $db);
	$to->safe_psql('postgres', "CREATE DATABASE $new_db");
	is( run_as(
			$to, undef, "$tmp/pg_restore.log", 'pg_restore',
			'--exit-on-error', '-d', $new_db, "$tmp/dump"),
		0,
		$name) or diag slurp_file("$tmp/pg_restore.log");
	return;
}

# Runs a query (as the superuser) every 0.1 s until it returns EXPECTED,
# for up to SECONDS; returns its last result.
sub wait_for_value
{
	my ($node, $sql, $expected, $seconds, $db) = @_;
	my $deadline = time() + $seconds;
	my $got;
	while (1)
	{
		$got = $node->safe_psql($db // 'postgres', $sql);
		last if $got eq $expected || time() >= $deadline;
		sleep 0.1;
	}
	return $got;
}

# Waits up to 10 s for a line matching PATTERN in FILE; true if it came.
sub wait_for_line
{
	my ($file, $pattern) = @_;
	for (1 .. 100)
	{
		return 1 if -e $file && slurp_file($file) =~ $pattern;
		sleep 0.1;
	}
	return 0;
}

1;

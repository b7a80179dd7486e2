# What dtmv's federation TAP tests (t/007_federation.pl,
# t/008_federation_events.pl) share: systems in clusters of their own,
# linked as docs/federation.md says, step by step. A twin system lets a
# metaverse system's link log in (a dtmv_gateway login, with a password,
# registered as that system's link); the metaverse system has postgres_fdw,
# dblink in a schema of its own, a dtmv_admin login (fed_admin) who makes a
# foreign server and a user mapping for dtmv_link to each twin system and
# registers it.

package DtmvFederation;

use strict;
use warnings;

use DtmvTest;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time);

use Exporter 'import';
our @EXPORT = qw(attempt link_password local_system accept_metaverse prepare_metaverse link_twin_system users);

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

# A password for the links of this run (the nodes trust every other local login).
sub link_password
{
	return join '', map { sprintf '%02x', int rand 256 } 1 .. 12;
}

# The node's system number, once its own system is made of KIND.
sub local_system
{
	my ($node, $kind) = @_;
	return $node->safe_psql('postgres', "SELECT dtmv.local_system('$kind')");
}

# At a twin system: the metaverse system MV (its name, number) registered,
# its link the login MV_link, a dtmv_gateway that logs in with PASSWORD
# (pg_hba asks it for one), neither superuser nor owner of anything.
sub accept_metaverse
{
	my ($node, $mv, $mv_no, $password) = @_;
	my $hba = slurp_file($node->data_dir . '/pg_hba.conf');
	open my $fh, '>', $node->data_dir . '/pg_hba.conf' or die $!;
	print $fh "local all ${mv}_link scram-sha-256\n$hba";
	close $fh;
	$node->reload;
	$node->safe_psql(
		'postgres', qq{
CREATE ROLE ${mv}_link LOGIN PASSWORD '$password' IN ROLE dtmv_gateway;
SELECT dtmv.create_subject('$mv link', '${mv}_link', 'system');
SELECT dtmv.register_system('$mv', 'metaverse', $mv_no, link => '$mv link');
});
	return;
}

# At a metaverse system, once: postgres_fdw, dblink in a schema of its own
# that dtmv_link (the role links connect as) may use, and fed_admin, a
# dtmv_admin login that may make postgres_fdw servers.
sub prepare_metaverse
{
	my ($node) = @_;
	$node->safe_psql(
		'postgres', q{
CREATE EXTENSION postgres_fdw;
CREATE SCHEMA dblink;
CREATE EXTENSION dblink SCHEMA dblink;
GRANT USAGE ON SCHEMA dblink TO dtmv_link;
CREATE ROLE fed_admin LOGIN IN ROLE dtmv_admin;
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO fed_admin;
});
	return;
}

# At a metaverse system MV_NODE, by fed_admin: the twin system TWIN_NODE
# registered as NAME (number NO) through a foreign server NAME_srv and a
# user mapping for dtmv_link that logs in as MV_link with PASSWORD, and a
# system subject NAME to which users delegate.
sub link_twin_system
{
	my ($node, $twin, $name, $no, $mv, $password) = @_;
	my ($host, $port) = ($twin->host, $twin->port);
	sql_as($node, 'fed_admin', qq{
CREATE SERVER ${name}_srv FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$host', port '$port', dbname 'postgres', connect_timeout '2');
CREATE USER MAPPING FOR dtmv_link SERVER ${name}_srv OPTIONS (user '${mv}_link', password '$password');
GRANT USAGE ON FOREIGN SERVER ${name}_srv TO dtmv_link;
SELECT dtmv.create_subject('$name', NULL, 'system');
SELECT dtmv.register_system('$name', 'twin', $no, fdw_server => '${name}_srv', link => '$name');
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

1;

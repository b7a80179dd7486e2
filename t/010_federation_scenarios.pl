# The scenarios across separate systems (issue 16, docs/federation.md):
# four clusters on their own ports, the home's and the factory's twin
# systems, a metaverse cluster (the systems mv1 and mv2, one database each)
# and a shop, linked by demo/federation/systems.sql; then each
# demo/federation/7.*.sql, the same files make demo plays, moves from
# system to system and checks each step with demo.expect or
# demo.wait_until (an error stops
# it). Here: every file plays to its end, every check it holds printed
# "ok", and the refusals it shows are the twin system's own.
use strict;
use warnings;

use DtmvTest;
use IPC::Run ();
use PostgreSQL::Test::Utils;
use Test::More;

my %node;
for my $system (qw(home factory mv shop))
{
	$node{$system} = new_dtmv_node("scen_$system", preload => 1);
	# the links log in with their password: the caller refuses them otherwise
	my $hba_file = $node{$system}->data_dir . '/pg_hba.conf';
	my $hba = slurp_file($hba_file);
	open my $fh, '>', $hba_file or die $!;
	print $fh "local all mv1_link,mv2_link,shop_link scram-sha-256\n$hba";
	close $fh;
	$node{$system}->reload;
}

my $dir = "$TOP/demo/federation";
my @scenarios = sort { $a cmp $b } map { s{.*/}{}r } glob("$dir/7.*.sql");
ok(scalar(@scenarios) >= 2, 'scenario files found: ' . join(' ', @scenarios));
my $link_pw = join '', map { sprintf '%02x', int rand 256 } 1 .. 12;
my @files = map { ('-f', $_) } ('systems.sql', @scenarios);
my ($out, $err) = ('', '');
my $ran = IPC::Run::run(
	[
		'psql', '-X', '-h', $node{home}->host, '-p', $node{home}->port,
		'-d', 'postgres',
		'-v', 'ON_ERROR_STOP=1',
		'-v', 'host=' . $node{home}->host,
		'-v', "link_pw=$link_pw",
		(map { ('-v', "${_}_port=" . $node{$_}->port) } qw(home factory mv shop)),
		@files
	],
	'<', \undef, '>', \$out, '2>', \$err,
	init => sub { chdir $dir or die "chdir $dir: $!" });
note($out);
note($err);
ok($ran, 'the systems are linked and every scenario plays to its end');

# Each demo.expect call printed its line: none was skipped.
for my $file (@scenarios)
{
	my $sql = slurp_file("$dir/$file");
	my @checks = $sql =~ /demo\.(?:expect|wait_until)\([^;]*?,\s*'((?:[^']|'')*)'\);/g;
	my $calls = () = $sql =~ /demo\.(?:expect|wait_until)\(/g;
	ok($calls > 0, "$file checks something");
	is(scalar(@checks), $calls, "$file: each of its checks is looked for below");
	for my $what (@checks)
	{
		$what =~ s/''/'/g;
		like($out, qr/^ ok: \Q$what\E\s*$/m, "$file: $what");
	}
}

# What bob (no right at home) is told through mv1 is home's own refusal.
like($err, qr/7\.2\.1_door\.sql:\d+: ERROR:  permission denied: discover right on twin [-0-9a-f]+ is required/,
	'bob@mv1 asking for the door through mv1: home\'s refusal (discover)');
like($err, qr/7\.2\.1_door\.sql:\d+: ERROR:  permission denied: sync right on twin [-0-9a-f]+ is required/,
	'bob@mv1 asking for a sync through mv1: home\'s refusal (sync)');
like($err, qr/7\.1\.1_7\.1\.2_shop\.sql:\d+: ERROR:  permission denied: discover right on twin [-0-9a-f]+ is required/,
	'the shop reading a twin of alice\'s it was not granted: home\'s refusal');
unlike($err, qr/ERROR:(?!  permission denied: (discover|sync) right)/, 'no other error');

done_testing();

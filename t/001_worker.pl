# REQ-DT-07: with dtmv preloaded, the background worker queues a sync for a
# twin whose sync period has elapsed, with no client polling; without
# preloading, nothing is queued by itself. An error in one part of the
# worker's round is logged and does not stop it: wake-ups still go out.
use strict;
use warnings;

use DtmvTest;
use PostgreSQL::Test::Utils;
use Test::More;

# A twin with a 1-second sync period, created by its owner.
my $meter = q{
SELECT dtmv.create_subject('owner');
BEGIN;
SELECT dtmv.act_as('owner');
SELECT dtmv.create_twin('meter', 'Water meter', sync_period => '1 second');
COMMIT;
};
my $queued =
  'SELECT count(*) FROM dtmv.sync_requests WHERE subject_id IS NULL';

my $preloaded = new_dtmv_node('preloaded',
	preload => 1,
	conf => 'dtmv.sync_check_interval = 200');
$preloaded->safe_psql('postgres', $meter);
my $n = wait_for_value($preloaded, "SELECT ($queued) > 0", 't', 30);
ok($n eq 't', 'preloaded: the worker queued a periodic sync within 30 s')
  or diag 'requests queued by the twin system: '
  . $preloaded->safe_psql('postgres', $queued);

my $plain = new_dtmv_node('not_preloaded');
$plain->safe_psql('postgres', $meter);
sleep 3;
is($plain->safe_psql('postgres', $queued),
	'0', 'not preloaded: nothing queued by itself in 3 s');
$plain->stop;

# Make the periodic part of every round fail, append an event, and wait up
# to 5 s for the worker to order it (and send its wake-up, in the same
# transaction).
$preloaded->safe_psql(
	'postgres', q{
-- the library no longer matches sync_requests: the recovery of dead syncs
-- (C, src/sync_queue.c) fails on every round (src/catalog.c checks)
ALTER TABLE dtmv.sync_requests RENAME COLUMN ready TO ready_renamed;
});
sleep 2;    # a few failing rounds (sync_check_interval = 200 ms)
my $worker_pid =
  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dtmv worker'";
my $before = $preloaded->safe_psql('postgres', $worker_pid);
my $id     = $preloaded->safe_psql('postgres',
	"SELECT dtmv._append_event(NULL, dtmv.create_subject('listener'), 'test', '{}')"
);
my $sent = wait_for_value($preloaded,
	"SELECT count(*) FROM dtmv.events WHERE entry_id = $id", '1', 5);
my $after = $preloaded->safe_psql('postgres', $worker_pid);
ok($before ne '' && $before eq $after,
	'preloaded: a failing part of the round does not stop the worker')
  or diag "worker pid before '$before', after '$after'";
is($sent, '1', 'preloaded: the worker still orders events and sends wake-ups');
ok($preloaded->log_contains(qr/ERROR:  dtmv relation \S*sync_requests\S* does not match the dtmv library/),
	'preloaded: the failing part is logged (as an ERROR)');

done_testing();

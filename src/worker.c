/*
 * worker.c
 *		The background worker: events ordered and their listeners woken as
 *		soon as writers commit (REQ-DT-06), periodic sync without client
 *		polling (REQ-DT-07 "at an appropriate period"), dead syncs requeued.
 *
 * When dtmv is in shared_preload_libraries, one background worker connects
 * to the database named by dtmv.database.  Its loop is a sequence of named
 * parts (worker_parts), each in a transaction of its own:
 *
 *	 - order events, send wake-ups (event_order.c): writers set its latch
 *	   when they commit (notifier.c); rounds at least dtmv.notify_interval
 *	   apart coalesce what commits in between;
 *	 - every dtmv.sync_check_interval: requeue syncs whose gateway died or
 *	   whose lease expired (sync_recover_dead, as dtmv.recover_syncs), and
 *	   queue a sync for each twin whose period has elapsed (sync_queue_due,
 *	   as dtmv.queue_due_syncs);
 *	 - at most once a second, VACUUM the event inbox (worker_vacuum_inbox).
 *
 * No part waits for a lock without a bound: busy twins are skipped
 * (try-locks) and every other lock wait ends at WORKER_LOCK_TIMEOUT (the
 * inbox's VACUUM aside, which waits for buffer pins like any VACUUM).  An
 * error in a part is logged and rolled back, and that part is tried again a second later
 * while the others go on.  Until the extension is created in that
 * database, or while the server is read-only, it only waits.  Without
 * preloading, everything else works: writers NOTIFY themselves, readers
 * have events ordered by a short-lived worker (event_order.c), and a
 * gateway may call the sync functions itself.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/extension.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "event_order.h"
#include "notifier.h"
#include "sync_lock.h"
#include "sync_queue.h"
#include "catalog.h"
#include "worker.h"

static char *worker_database = NULL;
static int	worker_interval_ms = 1000;
static int	notify_interval_ms = 10;
static int	twin_lock_timeout_ms = 30000;

void
WorkerInit(void)
{
	DefineCustomIntVariable("dtmv.sync_check_interval",
							"How often the dtmv background worker recovers dead syncs and queues the syncs that fell due.",
							NULL, &worker_interval_ms, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	/*
	 * Every notification wakes every listening backend of the database
	 * (PostgreSQL 15), so under a stream of events the rounds of wake-ups
	 * are spaced: what commits meanwhile goes out in the next round.
	 */
	DefineCustomIntVariable("dtmv.notify_interval",
							"Shortest time between two rounds of event wake-ups sent by the dtmv background worker.",
							"Events committed in between are coalesced into the next round; 0 sends a round on every commit that wakes the worker.",
							&notify_interval_ms, 10, 0, 10000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	/*
	 * A twin's lock is held to the end of its transaction: the worker ends
	 * a session that has held one longer than this.
	 */
	DefineCustomIntVariable("dtmv.twin_lock_timeout",
							"Longest time a session may hold a twin's lock in one transaction before the dtmv background worker ends it.",
							"Any client's session, a superuser's too; 0 ends none.",
							&twin_lock_timeout_ms, 30000, 0, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	/* A postmaster-level setting can only be defined while preloading. */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("dtmv.database",
							   "Database whose events the dtmv background worker orders and whose syncs it recovers and queues.",
							   NULL, &worker_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);

	worker_register("dtmv worker", "dtmv_worker_main");
}

/*
 * A background worker of dtmv's, registered while preloading: it connects
 * to dtmv.database, starts once recovery is over and again 10 s after it
 * died.
 */
void
worker_register(const char *name, const char *function)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dtmv");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	RegisterBackgroundWorker(&worker);
}

/*
 * How long any lock the worker waits for may keep it waiting.  Every part
 * of a round tries its twins' locks and skips a busy twin; this bounds
 * what is left (a row a user's transaction holds), so that no user's open
 * transaction can stop the worker: the part fails, is logged, and is tried
 * again WORKER_RETRY_MS later while the other parts go on.
 */
#define WORKER_LOCK_TIMEOUT "1s"

/*
 * What the memory context was when the running part's step began: it
 * outlives the part's transaction (for VACUUM's arguments).
 */
static MemoryContext worker_step_context = NULL;

/*
 * The settings of every dtmv background worker (this one and the
 * short-lived orderer): no lock wait without a bound; and the database's
 * settings (which its owner may change) neither stop it nor put code of
 * theirs on the superuser's search_path.
 */
void
worker_session_settings(void)
{
	SetConfigOption("lock_timeout", WORKER_LOCK_TIMEOUT, PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * One part of a round, in a transaction of its own: an error in it is
 * logged and rolled back, and the worker goes on (a background worker
 * without this dies at its first error and is restarted only 10 s later,
 * losing what the other part of the round had done).  READ COMMITTED
 * whatever default_transaction_isolation says: the event orderer needs a
 * snapshot per statement.  With snapshot, the part runs with an active
 * snapshot (SPI wants an outer one); without, it may commit and start
 * transactions itself (VACUUM).  A read-only server
 * (default_transaction_read_only, as when fencing a primary) is skipped
 * quietly: nothing could be written.  Returns false on an error.
 */
bool
worker_step(const char *activity, WorkerPart part, bool snapshot)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext portal = PortalContext;
	volatile bool ok = true;

	worker_step_context = caller;
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		XactIsoLevel = XACT_READ_COMMITTED;
		if (snapshot)
			PushActiveSnapshot(GetTransactionSnapshot());
		if (!XactReadOnly && OidIsValid(get_extension_oid("dtmv", true)))
		{
			pgstat_report_activity(STATE_RUNNING, activity);
			part();
		}
		if (snapshot)
			PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(caller);	/* the commit leaves TopMemoryContext current */
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
		PortalContext = portal;
		EmitErrorReport();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(caller);
		FlushErrorState();
		RESUME_INTERRUPTS();
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}

/* set by a part that has more to do at once (a full batch of events) */
static bool worker_part_more = false;

/* events moved since the inbox was last vacuumed (worker_vacuum_inbox) */
static int64 worker_moved_since_vacuum = 0;

/*
 * Order the events that committed and wake their listeners (event_order.c):
 * one batch.  If another transaction holds the order lock (a reader's
 * orderer, started before this worker attached), the batch is skipped and
 * tried on the next round.
 */
static void
worker_order_events(void)
{
	int			n = event_order_batch(EVENT_ORDER_BATCH, false, true, NULL);

	if (n > 0)
		worker_moved_since_vacuum += n;
	worker_part_more = n == EVENT_ORDER_BATCH;
}

/* queue the syncs that fell due (REQ-DT-07), a thousand at most per round */
static void
worker_queue_due_syncs(void)
{
	(void) sync_queue_due(1000, true);
}

/* end the sessions that held a twin's lock too long */
static void
worker_end_overdue_twin_locks(void)
{
	if (twin_lock_timeout_ms > 0)
		(void) sync_lock_end_overdue(twin_lock_timeout_ms);
}

/* requeue the syncs whose gateway died or whose lease expired */
static void
worker_recover_syncs(void)
{
	(void) sync_recover_dead();
}

/*
 * VACUUM the event inbox, where the orderer deletes every row it moves.
 * PostgreSQL cleans such rows as scans pass them only while the oldest
 * transaction of the cluster moves on: a transaction idle in any database
 * stops that, and every round of the orderer then steps over all the rows
 * it has moved since (docs/benchmarks.md: 37,648 index tuples read in 10 s
 * without one, 9,383,581 with one).  VACUUM works out the horizon of this
 * database alone, so it can remove them; autovacuum comes by only once a
 * minute.  Its own transactions, as for any VACUUM (a worker_step without
 * a snapshot).
 * Like any VACUUM, it waits for a cleanup lock on each index page it
 * cleans (no lock_timeout covers that: a reader holding a pin on one, with
 * a cursor left open, delays the worker until it lets go); and it updates
 * the database's frozen xid, a scan of pg_class, once a second at most.
 */
#define WORKER_VACUUM_EVERY_MS 1000
#define WORKER_VACUUM_AFTER_ROWS 1000

static TimestampTz worker_last_vacuum = 0;

static bool
worker_vacuum_due(bool sync_due)
{
	return worker_moved_since_vacuum >= WORKER_VACUUM_AFTER_ROWS &&
		TimestampDifferenceExceeds(worker_last_vacuum, GetCurrentTimestamp(), WORKER_VACUUM_EVERY_MS);
}

/* a part without a snapshot: vacuum() commits and starts transactions */
static void
worker_vacuum_inbox(void)
{
	MemoryContext portal = PortalContext;
	VacuumParams params;
	List	   *rels;

	worker_last_vacuum = GetCurrentTimestamp();
	/* vacuum's arguments must outlive this transaction, which it commits */
	MemoryContextSwitchTo(worker_step_context);
	rels = list_make1(makeVacuumRelation(NULL, catalog_table_relid(CATALOG_EVENT_INBOX), NIL));
	memset(&params, 0, sizeof(params));
	/* as autovacuum: a table someone else is vacuuming is skipped, not waited for */
	params.options = VACOPT_VACUUM | VACOPT_PROCESS_TOAST | VACOPT_SKIP_LOCKED;
	params.freeze_min_age = params.freeze_table_age = -1;
	params.multixact_freeze_min_age = params.multixact_freeze_table_age = -1;
	params.log_min_duration = -1;
	params.index_cleanup = VACOPTVALUE_UNSPECIFIED;
	/* no truncation: it would lock out the writers, and the inbox refills at once */
	params.truncate = VACOPTVALUE_DISABLED;
	params.nworkers = -1;
	/* vacuum's memory lives under PortalContext, as in autovacuum */
	PortalContext = worker_step_context;
	/* commits this transaction, vacuums in its own, starts a new one */
	vacuum(rels, &params, NULL, true);
	PortalContext = portal;
	worker_moved_since_vacuum = 0;
}

/* how long a part that failed waits before it is tried again */
#define WORKER_RETRY_MS 1000

static bool
worker_every_round(bool sync_due)
{
	return true;
}

static bool
worker_on_sync_timer(bool sync_due)
{
	return sync_due;
}

/* the parts of a round, and when each that failed is to be tried again (0: none pending) */
typedef struct WorkerPartState
{
	const char *activity;
	WorkerPart	part;
	bool		(*due) (bool sync_due);	/* does it run in this round? */
	int			repeats;		/* at most, while it has more to do at once */
	bool		snapshot;		/* run with an active snapshot (worker_step) */
	TimestampTz retry_at;
} WorkerPartState;

static WorkerPartState worker_parts[] = {
	{"dtmv: order events, send wake-ups", worker_order_events, worker_every_round, 10, true, 0},
	{"dtmv: recover dead syncs", worker_recover_syncs, worker_on_sync_timer, 1, true, 0},
	{"dtmv: end overdue twin locks", worker_end_overdue_twin_locks, worker_on_sync_timer, 1, true, 0},
	{"dtmv: queue due syncs", worker_queue_due_syncs, worker_on_sync_timer, 1, true, 0},
	{"dtmv: vacuum the event inbox", worker_vacuum_inbox, worker_vacuum_due, 1, false, 0},
};

#define WORKER_NPARTS lengthof(worker_parts)

/*
 * A round: order events and send wake-ups (again while batches come full,
 * up to ten); then, if it is time, recover dead syncs, end the sessions
 * that held a twin's lock too long, and queue due syncs;
 * then, if due, vacuum the inbox.  Each part apart: one that fails or waits
 * out its lock timeout holds back none of the others.
 */
static void
worker_round(bool sync_due)
{
	int			i;

	for (i = 0; i < (int) WORKER_NPARTS; i++)
	{
		WorkerPartState *p = &worker_parts[i];
		TimestampTz now = GetCurrentTimestamp();
		int			r;

		if (now < p->retry_at || !p->due(sync_due))
			continue;
		for (r = 0; r < p->repeats; r++)
		{
			worker_part_more = false;
			if (!worker_step(p->activity, p->part, p->snapshot))
			{
				p->retry_at = TimestampTzPlusMilliseconds(now, WORKER_RETRY_MS);
				break;
			}
			p->retry_at = 0;
			if (!worker_part_more)
				break;
		}
	}
}

/* how long the worker may sleep: its interval, or less if a retry falls due sooner */
static long
worker_sleep_ms(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms = worker_interval_ms;
	int			i;

	for (i = 0; i < (int) WORKER_NPARTS; i++)
		if (worker_parts[i].retry_at != 0)
			sleep_ms = Min(sleep_ms, Max(TimestampDifferenceMilliseconds(now, worker_parts[i].retry_at), 1));
	return sleep_ms;
}

/*
 * A background worker of dtmv's waits for its latch (set by a writer's
 * commit, a signal) or the timeout, then ends if told to and reloads its
 * settings if asked.
 */
void
worker_wait(long timeout_ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

void
dtmv_worker_main(Datum main_arg)
{
	MemoryContext round_context;
	TimestampTz last_sync;
	TimestampTz last_round = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(worker_database, NULL, 0);
	ereport(LOG,
			(errmsg("dtmv worker started in database \"%s\"", worker_database)));

	worker_session_settings();
	NotifierAttach();
	round_context = AllocSetContextCreate(TopMemoryContext, "dtmv worker round",
										  ALLOCSET_DEFAULT_SIZES);
	last_sync = GetCurrentTimestamp();
	for (;;)
	{
		MemoryContext old;
		TimestampTz now;
		bool		sync_due;

		worker_wait(worker_sleep_ms());
		now = GetCurrentTimestamp();
		while (notify_interval_ms > 0 &&
			   !TimestampDifferenceExceeds(last_round, now, notify_interval_ms))
		{
			long		secs;
			int			usecs;

			/*
			 * Too soon after the last round: let more commits join this one.
			 * Writers' wake-ups are absorbed here (this round will cover
			 * them); a SIGTERM sets the latch too and ends the wait.
			 */
			TimestampDifference(now, TimestampTzPlusMilliseconds(last_round, notify_interval_ms),
								&secs, &usecs);
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 secs * 1000 + usecs / 1000 + 1, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			now = GetCurrentTimestamp();
		}
		last_round = now;
		sync_due = TimestampDifferenceExceeds(last_sync, now, worker_interval_ms);
		if (sync_due)
			last_sync = now;
		old = MemoryContextSwitchTo(round_context);
		worker_round(sync_due);
		MemoryContextSwitchTo(old);
		MemoryContextReset(round_context);
	}
}


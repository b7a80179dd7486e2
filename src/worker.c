/*
 * worker.c
 *		Periodic sync without client polling (REQ-DT-07 "at an appropriate
 *		period").
 *
 * When dtmv is in shared_preload_libraries, one background worker connects
 * to the database named by dtmv.database and, every
 * dtmv.sync_check_interval milliseconds, queues a sync request for each
 * twin whose sync period has elapsed (dtmv.queue_due_syncs) and requeues
 * syncs whose gateway died or whose lease expired (dtmv.recover_syncs).
 * It also sends the coalesced wake-ups of event listeners (notifier.c):
 * writers set its latch when they commit, and each wake-up runs
 * dtmv.notify_pending().  Each part runs in its own transaction, and an
 * error in one is logged and rolled back without stopping the worker (the
 * part is tried again a second later).  Until the extension is created in
 * that database, or while the server is read-only, it only waits.  Without preloading, everything else works: writers NOTIFY
 * themselves, and a gateway may call the sync functions itself.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "notifier.h"
#include "worker.h"

static char *worker_database = NULL;
static int	worker_interval_ms = 1000;
static int	notify_interval_ms = 50;

void
WorkerInit(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("dtmv.sync_check_interval",
							"How often the dtmv background worker looks for twins due to sync.",
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
							&notify_interval_ms, 50, 0, 10000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	/* A postmaster-level setting can only be defined while preloading. */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("dtmv.database",
							   "Database in which the dtmv background worker queues periodic syncs.",
							   NULL, &worker_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dtmv");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dtmv_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dtmv periodic sync");
	snprintf(worker.bgw_type, BGW_MAXLEN, "dtmv periodic sync");
	RegisterBackgroundWorker(&worker);
}

/*
 * One part of a round, in a transaction of its own: an error in it is
 * logged and rolled back, and the worker goes on (a background worker
 * without this dies at its first error and is restarted only 10 s later,
 * losing what the other part of the round had done).  A read-only
 * server (default_transaction_read_only, as when fencing a primary) is
 * skipped quietly: nothing could be written.  Returns false on an error.
 */
static bool
worker_step(const char *activity, const char *sql)
{
	MemoryContext caller = CurrentMemoryContext;
	volatile bool ok = true;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (!XactReadOnly && OidIsValid(get_extension_oid("dtmv", true)))
		{
			pgstat_report_activity(STATE_RUNNING, activity);
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			if (SPI_execute(sql, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "dtmv worker query failed: %s", sql);
			SPI_finish();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(caller);	/* the commit leaves TopMemoryContext current */
	}
	PG_CATCH();
	{
		HOLD_INTERRUPTS();
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

/* how long a part that failed waits before it is tried again */
#define WORKER_RETRY_MS 1000

/* when a part that failed is to be tried again (0: none pending) */
static TimestampTz notify_retry_at = 0;
static TimestampTz sync_retry_at = 0;

/* a round: wake-ups; then, if it is time, queue due syncs and recover dead ones */
static void
worker_round(bool sync_due)
{
	TimestampTz now = GetCurrentTimestamp();

	if (now >= notify_retry_at)
		notify_retry_at = worker_step("dtmv: send event wake-ups", "SELECT dtmv.notify_pending()") ?
			0 : TimestampTzPlusMilliseconds(now, WORKER_RETRY_MS);
	if (sync_due && now >= sync_retry_at)
		sync_retry_at = worker_step("dtmv: queue due syncs, recover dead ones",
									"SELECT dtmv.queue_due_syncs(1000), dtmv.recover_syncs()") ?
			0 : TimestampTzPlusMilliseconds(now, WORKER_RETRY_MS);
}

/* how long the worker may sleep: its interval, or less if a retry falls due sooner */
static long
worker_sleep_ms(void)
{
	TimestampTz now = GetCurrentTimestamp();
	long		sleep_ms = worker_interval_ms;
	TimestampTz retries[2] = {notify_retry_at, sync_retry_at};
	int			i;

	for (i = 0; i < 2; i++)
		if (retries[i] != 0)
			sleep_ms = Min(sleep_ms, Max(TimestampDifferenceMilliseconds(now, retries[i]), 1));
	return sleep_ms;
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
			(errmsg("dtmv periodic sync worker started in database \"%s\"", worker_database)));

	NotifierAttach();
	round_context = AllocSetContextCreate(TopMemoryContext, "dtmv worker round",
										  ALLOCSET_DEFAULT_SIZES);
	last_sync = GetCurrentTimestamp();
	for (;;)
	{
		MemoryContext old;
		TimestampTz now;
		bool		sync_due;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 worker_sleep_ms(), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
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


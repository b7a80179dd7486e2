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
 * dtmv.notify_pending().  Until the extension is created in that database
 * it only waits.  Without preloading, everything else works: writers NOTIFY
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

/* one round, in one transaction: send wake-ups; queue due syncs and recover dead ones if it is time */
static void
worker_round(bool sync_due)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(get_extension_oid("dtmv", true)))
	{
		pgstat_report_activity(STATE_RUNNING, "dtmv: notify, queue due syncs");
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT dtmv.notify_pending()", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "dtmv notify query failed");
		if (sync_due &&
			SPI_execute("SELECT dtmv.queue_due_syncs(1000), dtmv.recover_syncs()", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "dtmv periodic sync query failed");
		SPI_finish();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
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
						 worker_interval_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		now = GetCurrentTimestamp();
		if (notify_interval_ms > 0 &&
			!TimestampDifferenceExceeds(last_round, now, notify_interval_ms))
		{
			long		secs;
			int			usecs;

			/* too soon after the last round: let more commits join this one */
			TimestampDifference(now, TimestampTzPlusMilliseconds(last_round, notify_interval_ms),
								&secs, &usecs);
			(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 secs * 1000 + usecs / 1000 + 1, PG_WAIT_EXTENSION);
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


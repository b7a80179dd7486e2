/*
 * federation_events.c
 *		The event relay's background worker: the events of remote twins
 *		pulled into this system's log for its users (docs/federation.md,
 *		"Events across systems"; REQ-SI-01, REQ-MV-04).
 *
 * The relay itself is SQL (sql/install/replay/67_federation_events.sql):
 * dtmv._relay_round pulls, for each (remote system, local user) whose
 * channel at that system woke or for every one, the events after her
 * cursor through the system's link, and appends them here with the cursor
 * moved in one transaction.  This worker runs it: every
 * dtmv.relay_poll_interval a round of the users whose wake-ups the links
 * heard (dblink_get_notify reads only what is on the links' sockets, no
 * round trip), and every dtmv.relay_interval a round of every user, which
 * opens links that are not open, listens again there, and catches up what
 * a lost wake-up left behind.
 *
 * It is a worker of its own, not a part of the event orderer's loop
 * (worker.c): a pull waits for another system, up to dtmv.remote_timeout
 * and a second more, and no remote system may delay the ordering of this
 * system's events.  It serves dtmv.database, like that worker, and only
 * while dtmv is preloaded; without it, dtmv.relay_events() does the same
 * round, called by dtmv_admin or a scheduler.
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "federation_events.h"
#include "worker.h"

static int	relay_poll_interval_ms = 5;
static int	relay_interval_ms = 1000;

void
FederationEventsInit(void)
{
	DefineCustomIntVariable("dtmv.relay_poll_interval",
							"How often the dtmv event relay looks whether a remote system woke one of its users.",
							"A look reads only what is already on the links' sockets.",
							&relay_poll_interval_ms, 5, 1, 10000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("dtmv.relay_interval",
							"How often the dtmv event relay pulls the events of remote systems for every user, woken or not.",
							NULL, &relay_interval_ms, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	worker_register("dtmv event relay", "dtmv_relay_main");
}

/* whether this round is of every user (else of the woken ones) */
static bool relay_everyone = false;

/*
 * One relay round (a worker_step: a transaction of its own).  Nothing while
 * the database's dtmv predates the relay (a library newer than the
 * extension, before ALTER EXTENSION dtmv UPDATE).
 */
static void
relay_round(void)
{
	int			rc;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "dtmv event relay: SPI_connect failed");
	rc = SPI_execute("SELECT pg_catalog.to_regprocedure('dtmv._relay_round(boolean,integer)') IS NOT NULL",
					 true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "dtmv event relay: unexpected result %s", SPI_result_code_string(rc));
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		rc = SPI_execute(relay_everyone ? "SELECT dtmv._relay_round(true)" : "SELECT dtmv._relay_round(false)",
						 false, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "dtmv event relay: unexpected result %s", SPI_result_code_string(rc));
	}
	SPI_finish();
}

void
dtmv_relay_main(Datum main_arg)
{
	const char *database;
	TimestampTz last_everyone = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	database = GetConfigOption("dtmv.database", false, false);
	BackgroundWorkerInitializeConnection(database, NULL, 0);
	ereport(LOG,
			(errmsg("dtmv event relay started in database \"%s\"", database)));
	worker_session_settings();

	for (;;)
	{
		TimestampTz now;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 relay_poll_interval_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		now = GetCurrentTimestamp();
		relay_everyone = TimestampDifferenceExceeds(last_everyone, now, relay_interval_ms);
		if (relay_everyone)
			last_everyone = now;
		(void) worker_step(relay_everyone ? "dtmv: relay the events of other systems, every user"
						   : "dtmv: relay the events of other systems, woken users",
						   relay_round, true);
	}
}

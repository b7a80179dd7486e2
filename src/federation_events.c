/*
 * federation_events.c
 *		The event relay's background worker: the events of remote twins
 *		pulled into this system's log for its users (docs/federation.md,
 *		"Events across systems"; REQ-SI-01, REQ-MV-04).
 *
 * The relay itself is SQL (sql/install/replay/67_federation_events.sql):
 * a pull, for one (remote system, local user), reads the events after her
 * cursor through the system's link, and appends them here with the cursor
 * moved in one transaction.  This worker runs the pulls: every
 * dtmv.relay_poll_interval those of the users whose wake-ups the links
 * heard (dblink_get_notify reads only what is on the links' sockets, no
 * round trip; looked at here with a kept plan, as it runs 200 times a
 * second), and every dtmv.relay_interval those of every user
 * (dtmv._relay_round), which open links that are not open, listen again
 * there, and catch up what a lost wake-up left behind.
 *
 * It is a worker of its own, not a part of the event orderer's loop
 * (worker.c): a pull waits for another system, up to dtmv.remote_timeout
 * and a second more, and no remote system may delay the ordering of this
 * system's events.  It serves dtmv.database, like that worker, and only
 * while dtmv is preloaded; without it, dtmv.relay_events() does the same
 * round, called by dtmv_admin or a scheduler.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
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

/* whether the database's dtmv has the relay (seen in the last round of everyone) */
static bool relay_installed = false;

/*
 * The pairs whose channel woke: the notifications every open link of this
 * session received (dblink_get_notify reads what is on the socket), matched
 * with the cursors' channels.  A kept plan, for dblink's schema of when it
 * was made: this runs every dtmv.relay_poll_interval, and parsing and
 * planning it, or PL/pgSQL's dynamic statements, would be most of its cost.
 */
static SPIPlanPtr relay_woken_plan = NULL;
static Oid	relay_woken_schema = InvalidOid;

/* dblink's schema, or InvalidOid without dblink */
static Oid
relay_dblink_schema(void)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	Oid			schema = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("dblink"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		schema = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return schema;
}

/* the woken pairs as two SQL arrays (system numbers, subject ids); false for none */
static bool
relay_woken(Datum *systems, Datum *subjects)
{
	Oid			schema = relay_dblink_schema();
	int			rc;
	bool		isnull;

	if (!OidIsValid(schema))
		return false;
	if (relay_woken_plan == NULL || schema != relay_woken_schema)
	{
		const char *dbl = quote_identifier(get_namespace_name(schema));
		char	   *sql = psprintf("SELECT pg_catalog.array_agg(w.system_no), pg_catalog.array_agg(w.subject_id)"
								   "  FROM (SELECT DISTINCT c.system_no, c.subject_id"
								   "          FROM pg_catalog.unnest(%s.dblink_get_connections()) k(conn)"
								   "         CROSS JOIN LATERAL %s.dblink_get_notify(k.conn) n"
								   "          JOIN dtmv.remote_event_cursors c"
								   "            ON k.conn OPERATOR(pg_catalog.=) ('dtmv_link_' OPERATOR(pg_catalog.||) c.system_no)"
								   "           AND c.channel OPERATOR(pg_catalog.=) n.notify_name) w",
								   dbl, dbl);

		if (relay_woken_plan != NULL)
			SPI_freeplan(relay_woken_plan);
		relay_woken_plan = NULL;
		relay_woken_schema = InvalidOid;
		relay_woken_plan = SPI_prepare(sql, 0, NULL);
		if (relay_woken_plan == NULL || SPI_keepplan(relay_woken_plan) != 0)
			elog(ERROR, "dtmv event relay: cannot plan a statement: %s", SPI_result_code_string(SPI_result));
		relay_woken_schema = schema;
	}
	rc = SPI_execute_plan(relay_woken_plan, NULL, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "dtmv event relay: unexpected result %s", SPI_result_code_string(rc));
	*systems = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return false;
	*subjects = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	return true;
}

/*
 * One relay round (a worker_step: a transaction of its own).  Of everyone:
 * dtmv._relay_round(), which also drops the cursors of users who no longer
 * delegate read.  Of the woken: only if a link heard a wake-up, the pulls of
 * those users (dtmv._relay_pulls).  Nothing while the database's dtmv
 * predates the relay (a library newer than the extension, before ALTER
 * EXTENSION dtmv UPDATE).
 */
static void
relay_round(void)
{
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "dtmv event relay: SPI_connect failed");
	if (relay_everyone)
	{
		bool		isnull;

		rc = SPI_execute("SELECT pg_catalog.to_regprocedure('dtmv._relay_round(integer)') IS NOT NULL",
						 true, 1);
		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "dtmv event relay: unexpected result %s", SPI_result_code_string(rc));
		relay_installed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		if (relay_installed)
		{
			rc = SPI_execute("SELECT dtmv._relay_round()", false, 1);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "dtmv event relay: unexpected result %s", SPI_result_code_string(rc));
		}
	}
	else if (relay_installed)
	{
		Datum		args[2];
		Oid			types[2] = {INT4ARRAYOID, INT8ARRAYOID};

		if (relay_woken(&args[0], &args[1]))
		{
			rc = SPI_execute_with_args("SELECT dtmv._relay_pulls($1, $2)", 2, types, args, NULL, false, 1);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "dtmv event relay: unexpected result %s", SPI_result_code_string(rc));
		}
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

		worker_wait(relay_poll_interval_ms);
		now = GetCurrentTimestamp();
		relay_everyone = TimestampDifferenceExceeds(last_everyone, now, relay_interval_ms);
		if (relay_everyone)
			last_everyone = now;
		(void) worker_step(relay_everyone ? "dtmv: relay the events of other systems, every user"
						   : "dtmv: relay the events of other systems, woken users",
						   relay_round, true);
	}
}

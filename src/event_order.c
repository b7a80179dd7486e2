/*
 * event_order.c
 *		The delivery order of events: ids given after commit, by one orderer
 *		at a time (REQ-DT-06, REQ-MV-04, scenario 7.2.1).
 *
 * A client catches up with "every event after the last id I got".  That is
 * safe only if no event can ever appear below an id a reader has already
 * seen.  Ids taken while writing cannot promise it (a transaction takes 10,
 * another takes 11 and commits first), and neither can a horizon at the
 * oldest running transaction (any idle transaction in the cluster holds it
 * back, and the read and the horizon must come from one snapshot).  So
 * writers append to dtmv.event_inbox with a mere entry number, and the
 * orderer, in a transaction of its own:
 *
 *	 1. takes the order lock (one orderer at a time, held to its commit);
 *	 2. with a snapshot taken after that lock, reads the last id given
 *		(dtmv.event_order) and the committed events of the inbox (an
 *		uncommitted one is invisible to it and waits for a later batch);
 *	 3. moves them to dtmv.events with the next ids, in entry order, and
 *		records the new last id; with wake, NOTIFYs their channels.
 *
 * Why no reader can skip an event: an id exists only once its orderer has
 * committed, and each orderer starts after the one before it committed
 * (the lock is let go of after the commit is visible), so it sees that
 * orderer's work and gives larger ids.  A reader's snapshot therefore sees
 * the ids of a prefix of the orderers, every id of each; whatever it has
 * not seen gets a larger id than all it saw.  An event of a long
 * transaction is ordered when that transaction commits, and holds back no
 * one else's.  Ids count events from 1, never reach 2^53 in practice, and
 * say nothing of a cluster's transaction ids: a dump restored elsewhere
 * carries the last id given on, and new events get larger ones.
 *
 * Who orders: the background worker when dtmv is preloaded (worker.c,
 * right after writers commit, coalesced); otherwise a reader's
 * dtmv.events_since starts a short-lived background worker that orders
 * what has committed and waits for it.  Never the reader's own
 * transaction: the lock would stay with it until it ends, holding back
 * every other reader, and ids it handed out would be lost if it rolled
 * back.
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "event_order.h"
#include "notifier.h"
#include "sync_lock.h"
#include "twin_id.h"
#include "wake_channels.h"
#include "worker.h"

/* how long a reader waits for the orderer it started */
#define ORDER_WAIT_MS 10000

/*
 * Move the committed events of the inbox (the oldest entries first, at most
 * $2) to the log, numbered from $1 + 1 in entry order.  A row not yet
 * committed is invisible to this statement's snapshot; one that someone is
 * deleting (dtmv.drop_twin, in a transaction still open) is skipped rather
 * than waited for, and gets a later id if it stays.  Rows are taken by
 * ctid, found in entry order.  Every operator is named with its schema:
 * the orderer runs as a superuser, with search_path set to pg_catalog only
 * (order_batch_settings), and no database setting may put an operator of
 * its own in its way.
 */
static const char *const order_move_sql =
"WITH moved AS ("
"  DELETE FROM dtmv.event_inbox i"
"   WHERE i.ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
"           SELECT j.ctid FROM dtmv.event_inbox j ORDER BY j.entry_id LIMIT $2"
"              FOR UPDATE SKIP LOCKED))"
"  RETURNING i.*)"
" INSERT INTO dtmv.events (event_id, entry_id, twin, subject_id, kind, payload, created_at)"
" SELECT $1 OPERATOR(pg_catalog.+) pg_catalog.row_number() OVER (ORDER BY m.entry_id),"
"        m.entry_id, m.twin, m.subject_id, m.kind, m.payload, m.created_at"
"   FROM moved m"
" RETURNING event_id, twin, subject_id";

/*
 * The last id given: the recorded one, or should the log or the pruning
 * record hold a larger one (rows being restored by pg_restore while an
 * orderer runs; a log pruned whole whose event_order row was not restored),
 * that one: no id is ever given twice.  The orderer reads it, and SQL
 * through dtmv._last_event_id (event_horizon, events_since).
 */
static const char *const order_last_sql =
"SELECT coalesce(GREATEST((SELECT o.last_id FROM dtmv.event_order o),"
"                         (SELECT pg_catalog.max(e.event_id) FROM dtmv.events e),"
"                         (SELECT r.pruned_through FROM dtmv.event_retention r)), 0)";

static const char *const order_record_sql =
"INSERT INTO dtmv.event_order AS o (last_id) VALUES ($1)"
" ON CONFLICT ON CONSTRAINT event_order_pkey DO UPDATE SET last_id = excluded.last_id";

static void
order_locktag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, 0, 0, DTMV_LOCKSPACE_EVENT_ORDER);
}

/*
 * The orderer's statements, planned once per backend (a worker orders a
 * batch every few milliseconds; parsing and planning them each time was a
 * good part of an idle event's latency).  Kept plans are revalidated by the
 * plan cache when dtmv's tables change.
 */
typedef struct OrderPlan
{
	const char *sql;
	SPIPlanPtr	plan;
} OrderPlan;

static OrderPlan order_plans[4];

/* run one statement of the orderer with a new snapshot; elog on failure */
static void
order_execute(const char *sql, int nargs, Oid *types, Datum *values, int expect)
{
	OrderPlan  *slot = NULL;
	SPIPlanPtr	plan;
	int			i;
	int			rc;

	for (i = 0; i < (int) lengthof(order_plans) && slot == NULL; i++)
		if (order_plans[i].sql == sql || order_plans[i].sql == NULL)
			slot = &order_plans[i];
	if (slot != NULL && slot->sql == sql)
		plan = slot->plan;
	else
	{
		plan = SPI_prepare(sql, nargs, types);
		if (plan == NULL)
			elog(ERROR, "dtmv event orderer: cannot plan a statement: %s", SPI_result_code_string(SPI_result));
		if (slot != NULL && SPI_keepplan(plan) == 0)
		{
			slot->sql = sql;
			slot->plan = plan;
		}
	}
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	if (rc != expect)
		elog(ERROR, "dtmv event orderer: unexpected result %s", SPI_result_code_string(rc));
}

/* the last id given (order_last_sql), inside SPI */
static int64
order_last_id(void)
{
	bool		isnull;

	order_execute(order_last_sql, 0, NULL, NULL, SPI_OK_SELECT);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* dtmv._last_event_id(): the last event id given (0 before the first) */
PG_FUNCTION_INFO_V1(dtmv_last_event_id);
Datum
dtmv_last_event_id(PG_FUNCTION_ARGS)
{
	int64		last_id;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	last_id = order_last_id();
	SPI_finish();
	PG_RETURN_INT64(last_id);
}

/*
 * What every orderer runs with, whoever calls it and whatever the database's
 * settings: search_path pg_catalog (for this call: the statements name
 * dtmv's tables and every operator with their schemas), and a synchronous
 * commit (for the transaction).  An id a reader has seen must survive a
 * crash: with an asynchronous commit the ordering could be lost after
 * readers consumed its ids, and the same ids given to other events.
 */
static int
order_batch_settings(void)
{
	int			nestlevel;

	/*
	 * As SET LOCAL: until the transaction ends, so that its commit obeys.
	 * Only "off" is raised (to "local": flushed before it is seen); a
	 * stricter setting (waiting for standbys) is kept.
	 */
	if (synchronous_commit < SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
		(void) set_config_option("synchronous_commit", "local", PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
	/* as a function's SET clause: until this call returns */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/*
 * NOTIFY the channels a batch wakes, with a snapshot taken now (after the
 * order lock: a grant that committed meanwhile counts), unless PostgreSQL's
 * notification queue is more than half full: a NOTIFY that finds it full
 * fails at commit, which would undo the ordering too (a listener idle in a
 * transaction, in any database, holds the queue's tail).  Clients then find
 * the events by polling; the WARNING says why.
 */
static int
order_wake(const WakeEvent *events, int n)
{
	int			nchannels;
	WakeChannel *channels;

	if (DatumGetFloat8(DirectFunctionCall1(pg_notification_queue_usage, (Datum) 0)) > 0.5)
	{
		ereport(WARNING,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("dtmv events ordered without wake-ups: the notification queue is more than half full"),
				 errhint("A session that LISTENs and stays idle in a transaction holds the queue; clients that poll events_since still get every event.")));
		return 0;
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	channels = wake_channels(events, n, &nchannels);
	nchannels = wake_notify(channels, nchannels, true);
	PopActiveSnapshot();
	return nchannels;
}

int
event_order_batch(int max, bool wait, bool wake, int *woken)
{
	LOCKTAG		tag;
	int64		last_id = 0;
	int			n;
	int			nestlevel;
	bool		isnull;
	Datum		d;
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		args[2];

	if (woken)
		*woken = 0;
	if (max < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a batch of events to order must be positive, not %d", max)));
	/* each statement must see what committed before the lock: see above */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("events are ordered only in READ COMMITTED transactions")));
	order_locktag(&tag);
	if (LockAcquire(&tag, ExclusiveLock, false, !wait) == LOCKACQUIRE_NOT_AVAIL)
		return -1;

	nestlevel = order_batch_settings();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	last_id = order_last_id();
	args[0] = Int64GetDatum(last_id);
	args[1] = Int32GetDatum(max);
	order_execute(order_move_sql, 2, types, args, SPI_OK_INSERT_RETURNING);
	n = (int) SPI_processed;
	if (n > 0)
	{
		SPITupleTable *moved = SPI_tuptable;
		WakeEvent  *events = palloc0(sizeof(WakeEvent) * n);
		int			i;

		for (i = 0; i < n; i++)
		{
			events[i].id = DatumGetInt64(SPI_getbinval(moved->vals[i], moved->tupdesc, 1, &isnull));
			d = SPI_getbinval(moved->vals[i], moved->tupdesc, 2, &isnull);
			events[i].has_twin = !isnull;
			if (!isnull)
				events[i].twin = *DatumGetTwinIdP(d);
			d = SPI_getbinval(moved->vals[i], moved->tupdesc, 3, &isnull);
			events[i].has_addressee = !isnull;
			events[i].addressee = isnull ? 0 : DatumGetInt64(d);
		}
		args[0] = Int64GetDatum(last_id + n);
		order_execute(order_record_sql, 1, types, args, SPI_OK_INSERT);
		if (wake)
		{
			int			nchannels = order_wake(events, n);

			if (woken)
				*woken = nchannels;
		}
	}
	SPI_finish();
	AtEOXact_GUC(true, nestlevel);
	return n;
}

/*
 * dtmv._order_events(max, wake, OUT ordered, OUT woken): the orderer in the
 * calling transaction (for the superuser and tests; the worker calls
 * event_order_batch itself).  ordered is NULL if another transaction is
 * ordering.
 */
PG_FUNCTION_INFO_V1(dtmv_order_events);
Datum
dtmv_order_events(PG_FUNCTION_ARGS)
{
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int			woken;
	int			n;

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "dtmv._order_events must return a record");
	n = event_order_batch(PG_GETARG_INT32(0), false, PG_GETARG_BOOL(1), &woken);
	values[0] = Int32GetDatum(n);
	nulls[0] = n < 0;
	values[1] = Int32GetDatum(woken);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

/* are committed events (or this transaction's own) waiting in the inbox? */
static bool
order_inbox_waiting(void)
{
	bool		waiting;
	bool		isnull;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	order_execute("SELECT EXISTS (SELECT 1 FROM dtmv.event_inbox)", 0, NULL, NULL, SPI_OK_SELECT);
	waiting = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return waiting;
}

/*
 * dtmv._order_committed_events(): for a reader, when no background worker
 * orders this database's events.  If events wait in the inbox, start a
 * short-lived worker that orders the committed ones in its own
 * transaction, and wait for it to end (at most ORDER_WAIT_MS in all).  True
 * if one ran to its end.  Nothing on a standby, which cannot write.
 */
PG_FUNCTION_INFO_V1(dtmv_order_committed_events);
static bool order_start_and_wait(TimestampTz give_up);

/* wait ms (or for the latch), unless give_up has come: then false */
static bool
order_nap(long ms, TimestampTz give_up)
{
	if (GetCurrentTimestamp() >= give_up)
		return false;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	return true;
}

Datum
dtmv_order_committed_events(PG_FUNCTION_ARGS)
{
	TimestampTz give_up = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ORDER_WAIT_MS);
	LOCKTAG		tag;
	bool		ran;

	if (NotifierActive() || RecoveryInProgress())
		PG_RETURN_BOOL(false);

	/*
	 * One reader at a time starts an orderer (background worker slots are
	 * few, and one orderer's batch serves everyone): the others wait for it
	 * to end and look again.  The launcher's lock is a transaction lock
	 * taken only if free and let go of when the orderer has ended.
	 */
	order_locktag(&tag);
	tag.locktag_field3 = 1;		/* the launcher's, beside the order lock */
	for (;;)
	{
		if (!order_inbox_waiting())
			PG_RETURN_BOOL(false);
		if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
			break;
		if (!order_nap(5, give_up))
			PG_RETURN_BOOL(false);
	}
	/* the orderer that held it may have moved them all meanwhile */
	ran = order_inbox_waiting() && order_start_and_wait(give_up);
	LockRelease(&tag, ExclusiveLock, false);
	PG_RETURN_BOOL(ran);
}

/*
 * Start the short-lived orderer and wait for it to end (until give_up);
 * true if it ended (whether it ordered anything or, say, gave up waiting
 * for the order lock).
 */
static bool
order_start_and_wait(TimestampTz give_up)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "dtmv");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "dtmv_event_order_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "dtmv event orderer");
	snprintf(worker.bgw_type, BGW_MAXLEN, "dtmv event orderer");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		/* correct all the same: these events are delivered by a later call */
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no background worker slot to order dtmv events"),
				 errhint("Raise max_worker_processes, or preload dtmv (shared_preload_libraries) so that its own worker orders events.")));
		return false;
	}
	for (;;)
	{
		BgwHandleStatus status = GetBackgroundWorkerPid(handle, &pid);

		if (status == BGWH_STOPPED)
			return true;
		if (status == BGWH_POSTMASTER_DIED || !order_nap(10, give_up))
			return false;
	}
}

/*
 * The short-lived orderer a reader starts: order what has committed, a
 * batch per transaction, and exit.  It waits for the order lock at most
 * lock_timeout (another orderer is at work: its batch will serve).  It
 * sends the wake-ups of what it ordered, with their ids: a reader whose
 * call could not see them (its snapshot older than this commit, as in
 * REPEATABLE READ, or no worker slot was free) is woken again and calls
 * again.
 */
/* the last batch of the short-lived orderer: full means more may wait */
static int	order_last_batch = 0;

static void
order_one_batch(void)
{
	order_last_batch = event_order_batch(EVENT_ORDER_BATCH, true, true, NULL);
}

void
dtmv_event_order_main(Datum main_arg)
{
	int			batches;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);
	/* the database's settings must neither stop it nor run code as it */
	worker_session_settings();
	SetConfigOption("application_name", "dtmv event orderer", PGC_USERSET, PGC_S_OVERRIDE);
	/* a batch per transaction (worker_step), while they come full */
	for (batches = 0; batches < 100; batches++)
	{
		order_last_batch = 0;
		if (!worker_step("dtmv: order events", order_one_batch, true) ||
			order_last_batch < EVENT_ORDER_BATCH)
			break;
	}
	pgstat_report_stat(true);
	proc_exit(0);
}

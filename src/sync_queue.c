/*
 * sync_queue.c
 *		Requesting a sync, and the refusal of REQ-DT-08 note 1, in C
 *		(REQ-DT-07, REQ-DT-08, scenario 7.1.3).
 *
 * While a sync of higher priority runs on a twin, every request of lower
 * priority is refused with TW001; under load that is most requests, so the
 * refusal is decided here with a few index probes and no lock and no write:
 * the caller's right and priority, what runs on the twin (sync_twins) and
 * whether its gateway is alive (its lease, its run lock).  A request that
 * is not refused goes on to dtmv._queue_sync (SQL), which decides again
 * under the twin's lock, since a run may have started or ended meanwhile.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "rights.h"
#include "sync_lock.h"
#include "table_write.h"
#include "twin_id.h"

/* REQ-DT-08 note 1: the refusal's own SQLSTATE */
#define ERRCODE_SYNC_REFUSED MAKE_SQLSTATE('T', 'W', '0', '0', '1')

/* a column's value in a row read by table_scan_key, or false if NULL */
static bool
sync_column(HeapTuple tuple, TupleDesc desc, const char *column, Datum *value)
{
	AttrNumber	attno = InvalidAttrNumber;
	bool		isnull;
	int			i;

	for (i = 0; i < desc->natts && attno == InvalidAttrNumber; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && strcmp(NameStr(TupleDescAttr(desc, i)->attname), column) == 0)
			attno = i + 1;
	if (attno == InvalidAttrNumber)
		elog(ERROR, "a column %s of a dtmv table is missing", column);
	*value = heap_getattr(tuple, attno, desc, &isnull);
	return !isnull;
}

typedef struct PriorityScan
{
	int64	   *subjects;		/* the caller and its groups, sorted */
	int			nsubjects;
	bool		found;
	int32		priority;		/* the highest set for one of them */
} PriorityScan;

static bool
sync_priority_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	PriorityScan *ps = arg;
	Datum		subject;
	Datum		priority;
	int			i;

	if (!sync_column(tuple, desc, "subject_id", &subject) || !sync_column(tuple, desc, "priority", &priority))
		return true;
	for (i = 0; i < ps->nsubjects; i++)
		if (ps->subjects[i] == DatumGetInt64(subject))
		{
			if (!ps->found || DatumGetInt32(priority) > ps->priority)
				ps->priority = DatumGetInt32(priority);
			ps->found = true;
		}
	return true;
}

typedef struct ColumnScan
{
	const char *column;
	bool		found;
	Datum		value;
} ColumnScan;

static bool
sync_first_value(HeapTuple tuple, TupleDesc desc, void *arg)
{
	ColumnScan *cs = arg;

	cs->found = sync_column(tuple, desc, cs->column, &cs->value);
	return false;
}

/*
 * The caller's sync priority on a twin: the highest set for it or one of
 * its groups (sync_priorities), else the twin's default; NULL (false) if the
 * twin has none.  What dtmv.sync_priority(twin) says.
 */
static bool
sync_priority_of(const TwinId *twin, int64 subject, int32 *priority)
{
	PriorityScan ps = {0};
	ColumnScan	cs = {"sync_priority"};

	if (subject >= 0)
	{
		ps.subjects = rights_subjects_of(subject, &ps.nsubjects);
		table_scan_key("sync_priorities", "sync_priorities_pkey", TwinIdPGetDatum(twin), sync_priority_row, &ps);
		if (ps.found)
		{
			*priority = ps.priority;
			return true;
		}
	}
	table_scan_key("twin_registry", "twin_registry_pkey", TwinIdPGetDatum(twin), sync_first_value, &cs);
	if (cs.found)
		*priority = DatumGetInt32(cs.value);
	return cs.found;
}

typedef struct RunScan
{
	bool		alive;
} RunScan;

static bool
sync_run_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	RunScan    *rs = arg;
	Datum		status;
	Datum		lease;
	Datum		session_lock;
	Datum		id;

	/* a run that took no session lock lives by its lease alone */
	rs->alive = sync_column(tuple, desc, "status", &status) &&
		strcmp(TextDatumGetCString(status), "running") == 0 &&
		sync_column(tuple, desc, "lease_until", &lease) &&
		DatumGetTimestampTz(lease) > GetCurrentTransactionStartTimestamp() &&
		sync_column(tuple, desc, "request_id", &id) &&
		((sync_column(tuple, desc, "session_lock", &session_lock) && !DatumGetBool(session_lock)) ||
		 sync_run_lock_held(DatumGetInt64(id)));
	return false;
}

/*
 * Whether a request runs with a live gateway: its lease holds and, if it
 * took a session run lock, some backend still holds that lock.
 */
static bool
sync_run_alive(int64 request)
{
	RunScan		rs = {false};

	table_scan_key("sync_requests", "sync_requests_pkey", Int64GetDatum(request), sync_run_row, &rs);
	return rs.alive;
}

/* dtmv._run_alive(request): the same test for the SQL of the queue */
PG_FUNCTION_INFO_V1(dtmv_run_alive);
Datum
dtmv_run_alive(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sync_run_alive(PG_GETARG_INT64(0)));
}

/* TW001, naming the running request and priority that hold the twin */
static void
sync_refuse(const TwinId *twin, int64 running_request, int32 running_priority, int32 priority)
{
	ereport(ERROR,
			(errcode(ERRCODE_SYNC_REFUSED),
			 errmsg("a sync of higher priority (%d) is in progress on the twin", running_priority),
			 errdetail("Sync request " INT64_FORMAT ", at priority %d, holds twin %s; this request's priority is %d.",
					   running_request, running_priority, twin_id_to_cstring(twin), priority),
			 errhint("Request again once it completes (REQ-DT-08).")));
}

typedef struct TwinRun
{
	bool		running;
	int64		request;
	int32		priority;
} TwinRun;

static bool
sync_twin_row(HeapTuple tuple, TupleDesc desc, void *arg)
{
	TwinRun    *tr = arg;
	Datum		request;
	Datum		priority;

	tr->running = sync_column(tuple, desc, "running_request", &request) &&
		sync_column(tuple, desc, "running_priority", &priority);
	if (tr->running)
	{
		tr->request = DatumGetInt64(request);
		tr->priority = DatumGetInt32(priority);
	}
	return false;
}

/* dtmv._refuse_sync(twin, running_request, running_priority, priority): raise TW001 */
PG_FUNCTION_INFO_V1(dtmv_refuse_sync);
Datum
dtmv_refuse_sync(PG_FUNCTION_ARGS)
{
	sync_refuse(PG_GETARG_TWINID_P(0), PG_GETARG_INT64(1), PG_GETARG_INT32(2), PG_GETARG_INT32(3));
	PG_RETURN_VOID();
}

/*
 * dtmv.request_sync(twin): ask that a twin be synchronised, at the caller's
 * priority; needs sync.  Refused with TW001 while a sync of higher priority
 * runs there; a request that is not refused here is queued by
 * dtmv._queue_sync, which decides again under the twin's lock.
 */
PG_FUNCTION_INFO_V1(dtmv_request_sync);
Datum
dtmv_request_sync(PG_FUNCTION_ARGS)
{
	TwinId	   *twin = PG_ARGISNULL(0) ? NULL : PG_GETARG_TWINID_P(0);
	int64		subject;
	int32		priority = 0;
	bool		has_priority;
	TwinRun		tr = {false};
	Oid			argtypes[3];
	FmgrInfo	queue;
	LOCAL_FCINFO(queue_call, 3);
	Datum		id;

	rights_require(twin, 1 << RIGHT_SYNC);	/* a NULL twin never passes */
	subject = rights_current_subject();
	has_priority = sync_priority_of(twin, subject, &priority);

	/* what had committed when this statement started is reason enough */
	if (has_priority)
	{
		table_scan_key("sync_twins", "sync_twins_pkey", TwinIdPGetDatum(twin), sync_twin_row, &tr);
		if (tr.running && tr.priority > priority && sync_run_alive(tr.request))
			sync_refuse(twin, tr.request, tr.priority, priority);
	}

	argtypes[0] = twin_id_type_oid();
	argtypes[1] = INT8OID;
	argtypes[2] = INT4OID;
	fmgr_info(LookupFuncName(list_make2(makeString("dtmv"), makeString("_queue_sync")), 3, argtypes, false),
			  &queue);
	InitFunctionCallInfoData(*queue_call, &queue, 3, InvalidOid, NULL, NULL);
	queue_call->args[0].value = TwinIdPGetDatum(twin);
	queue_call->args[0].isnull = false;
	queue_call->args[1].value = Int64GetDatum(subject);
	queue_call->args[1].isnull = subject < 0;
	queue_call->args[2].value = Int32GetDatum(priority);
	queue_call->args[2].isnull = !has_priority;
	id = FunctionCallInvoke(queue_call);
	if (queue_call->isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(id);
}

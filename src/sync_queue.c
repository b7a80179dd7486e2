/*
 * sync_queue.c
 *		The priority sync queue (REQ-DT-07, REQ-DT-08, scenario 7.1.3):
 *		requesting, claiming and completing a sync, and requeueing a run
 *		whose gateway died, in C.
 *
 * Every request is a row of dtmv.sync_requests; three partial indexes on it
 * are the queue:
 *   sync_requests_pending (twin, priority DESC, request_id) WHERE pending:
 *		one twin's waiting requests, most urgent first;
 *   sync_requests_running UNIQUE (twin) WHERE running: what runs on a twin,
 *		and the guarantee that at most one request ever runs per twin;
 *   sync_requests_queue (gateway, request_id) WHERE ready: for each twin
 *		that has pending requests and nothing running, its oldest one (the
 *		twin's place in line), under the gateway that serves the twin.  A
 *		gateway's claim reads its part of this index in request order, so a
 *		backlog of requests behind running twins is never scanned (they are
 *		not ready), nor any other gateway's twins.
 * The ready flag is kept true on exactly that request: set when the first
 * request is queued on a free twin, moved when a run ends.  Priority
 * decides which of a twin's requests runs (claim_twin), not which twin
 * comes first (docs/sync.md, "Semantics").
 *
 * Every decision about a twin is taken under its twin lock (sync_lock.c)
 * with a snapshot taken after the lock, so decisions on one twin are
 * serialised and never wait across twins.  The one exception is the
 * refusal of REQ-DT-08 note 1, the common answer under load: a live run of
 * higher priority that had committed when the statement started is reason
 * enough, decided with index probes and no lock and no write.
 *
 * The writes of a request, a claim and a completion go through
 * table_write.c, as UPDATE and INSERT statements would make them
 * (constraints, indexes, foreign keys); as PL/pgSQL these functions ran
 * some twenty statements per cycle.  They give up what a statement has
 * beyond one row's write: rules, statement and BEFORE row triggers
 * (refused), column defaults (every column is set), privilege and RLS
 * checks (the functions check the caller's role and rights), the executor
 * hooks.  The periodic queueing (sync_queue_due), once a second, keeps
 * SQL statements for its schedule rows.  Reads are index scans
 * (table_read.c) with the snapshots described below.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "actor.h"
#include "agents.h"
#include "events.h"
#include "rights.h"
#include "sync_lock.h"
#include "sync_queue.h"
#include "table_read.h"
#include "table_write.h"
#include "twin_id.h"

/* REQ-DT-08 note 1: the refusal's own SQLSTATE */
#define ERRCODE_SYNC_REFUSED MAKE_SQLSTATE('T', 'W', '0', '0', '1')

/*
 * dtmv.max_sync_lease: the longest lease a claim may take, in seconds.  A
 * run holds its twin until it completes or its lease expires; without a
 * bound, a gateway's claim with a lease of a century would pin the twin
 * for everyone (only the gateway's own death frees a session-locked run).
 */
static int	max_sync_lease_s = 3600;

void
SyncQueueInit(void)
{
	DefineCustomIntVariable("dtmv.max_sync_lease",
							"Longest lease a gateway's dtmv.claim_sync may take.",
							"A run holds its twin until it completes or its lease expires.",
							&max_sync_lease_s, 3600, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
}

/*
 * The caller's sync priority on a twin: the highest set for it or one of
 * its groups (sync_priorities), else the twin's default; NULL (false) if the
 * twin has none.  What dtmv.sync_priority(twin) says.
 */
static bool
sync_priority_of(const TwinId *twin, int64 subject, int32 *priority)
{
	Datum		d;

	if (subject >= 0)
	{
		int			nsubjects;
		int64	   *subjects = rights_subjects_of(subject, &nsubjects);
		bool		found = false;
		TableRead	tr;

		table_read_begin(&tr, CATALOG_SYNC_PRIORITIES_PKEY, NULL);
		table_read_key(&tr, 1, BTEqualStrategyNumber, TwinIdPGetDatum(twin));
		while (table_read_next(&tr))
		{
			bool		isnull;
			int64		who = DatumGetInt64(table_read_value(&tr, Anum_sync_priorities_subject_id, &isnull));
			int32		p = DatumGetInt32(table_read_value(&tr, Anum_sync_priorities_priority, &isnull));

			if (bsearch(&who, subjects, nsubjects, sizeof(int64), int64_cmp) != NULL &&
				(!found || p > *priority))
			{
				*priority = p;
				found = true;
			}
		}
		table_read_end(&tr);
		if (found)
			return true;
	}
	if (!table_read_first_value(CATALOG_TWIN_REGISTRY_PKEY, TwinIdPGetDatum(twin),
								Anum_twin_registry_sync_priority, &d))
		return false;
	*priority = DatumGetInt32(d);
	return true;
}

/* one request, as read from or to be written to its row */
typedef struct SyncRequest
{
	int64		id;
	TwinId		twin;
	bool		has_subject;
	int64		subject;
	int32		priority;
	char		status[16];
	bool		has_batch;
	int64		batch;
	TimestampTz requested_at;
	bool		has_started;
	TimestampTz started_at;
	bool		has_finished;
	TimestampTz finished_at;
	bool		has_lease;
	TimestampTz lease_until;
	bool		has_session_lock;
	bool		session_lock;
	bool		has_gateway_pid;
	int32		gateway_pid;
	bool		ready;
	bool		has_gateway;	/* the gateway whose queue a ready request */
	int64		gateway;		/* is in: the one serving its twin */
} SyncRequest;

/* the request a read found */
static void
request_from_read(TableRead *tr, SyncRequest *r)
{
	Datum	   *values;
	bool	   *nulls;

	slot_getallattrs(tr->slot);
	values = tr->slot->tts_values;
	nulls = tr->slot->tts_isnull;
#define COL(col) (Anum_sync_requests_##col - 1)
	memset(r, 0, sizeof(SyncRequest));
	r->id = DatumGetInt64(values[COL(request_id)]);
	memcpy(&r->twin, DatumGetTwinIdP(values[COL(twin)]), sizeof(TwinId));
	r->has_subject = !nulls[COL(subject_id)];
	r->subject = r->has_subject ? DatumGetInt64(values[COL(subject_id)]) : 0;
	r->priority = DatumGetInt32(values[COL(priority)]);
	text_to_cstring_buffer(DatumGetTextPP(values[COL(status)]), r->status, sizeof(r->status));
	r->has_batch = !nulls[COL(batch)];
	r->batch = r->has_batch ? DatumGetInt64(values[COL(batch)]) : 0;
	r->requested_at = DatumGetTimestampTz(values[COL(requested_at)]);
	r->has_started = !nulls[COL(started_at)];
	r->started_at = r->has_started ? DatumGetTimestampTz(values[COL(started_at)]) : 0;
	r->has_finished = !nulls[COL(finished_at)];
	r->finished_at = r->has_finished ? DatumGetTimestampTz(values[COL(finished_at)]) : 0;
	r->has_lease = !nulls[COL(lease_until)];
	r->lease_until = r->has_lease ? DatumGetTimestampTz(values[COL(lease_until)]) : 0;
	r->has_session_lock = !nulls[COL(session_lock)];
	r->session_lock = r->has_session_lock && DatumGetBool(values[COL(session_lock)]);
	r->has_gateway_pid = !nulls[COL(gateway_pid)];
	r->gateway_pid = r->has_gateway_pid ? DatumGetInt32(values[COL(gateway_pid)]) : 0;
	r->ready = !nulls[COL(ready)] && DatumGetBool(values[COL(ready)]);
	if (catalog_table_has(tr->rel, Anum_sync_requests_gateway))
	{
		r->has_gateway = !nulls[COL(gateway)];
		r->gateway = r->has_gateway ? DatumGetInt64(values[COL(gateway)]) : 0;
	}
#undef COL
}

/*
 * The columns of a request into a row's values (the others left as they
 * are); natts: the table's (a schema still at 0.1 has no gateway column).
 */
static void
request_to_values(const SyncRequest *r, Datum *values, bool *nulls, int natts)
{
#define SET(col, value, isnull) \
	do { \
		values[Anum_sync_requests_##col - 1] = (isnull) ? (Datum) 0 : (value); \
		nulls[Anum_sync_requests_##col - 1] = (isnull); \
	} while (0)
	SET(request_id, Int64GetDatum(r->id), false);
	SET(twin, TwinIdPGetDatum(&r->twin), false);
	SET(subject_id, Int64GetDatum(r->subject), !r->has_subject);
	SET(priority, Int32GetDatum(r->priority), false);
	SET(status, CStringGetTextDatum(r->status), false);
	SET(batch, Int64GetDatum(r->batch), !r->has_batch);
	SET(requested_at, TimestampTzGetDatum(r->requested_at), false);
	SET(started_at, TimestampTzGetDatum(r->started_at), !r->has_started);
	SET(finished_at, TimestampTzGetDatum(r->finished_at), !r->has_finished);
	SET(lease_until, TimestampTzGetDatum(r->lease_until), !r->has_lease);
	SET(session_lock, BoolGetDatum(r->session_lock), !r->has_session_lock);
	SET(gateway_pid, Int32GetDatum(r->gateway_pid), !r->has_gateway_pid);
	SET(ready, BoolGetDatum(r->ready), false);
	if (natts >= Anum_sync_requests_gateway)
		SET(gateway, Int64GetDatum(r->gateway), !r->has_gateway);
#undef SET
}

static bool
request_is(const SyncRequest *r, const char *status)
{
	return strcmp(r->status, status) == 0;
}

/*
 * Whether a request is its twin's place in the queue, and then in which
 * gateway's queue: the one that serves the twin now (none: no gateway
 * claims it until one does; dtmv._requeue_twin moves it when the twin's
 * binding changes).  Under the twin's lock.
 */
static void
request_set_ready(SyncRequest *r, bool ready)
{
	r->ready = ready;
	r->has_gateway = ready && agents_serving_gateway(&r->twin, &r->gateway);
	if (!r->has_gateway)
		r->gateway = 0;
}

/* a request's new state: ended with status (ready no more) */
static void
request_finish(SyncRequest *r, const char *status)
{
	strlcpy(r->status, status, sizeof(r->status));
	r->has_finished = true;
	r->finished_at = GetCurrentTransactionStartTimestamp();
	request_set_ready(r, false);
}

/* a request's new state: waiting again, as before any claim */
static void
request_requeue_state(SyncRequest *r)
{
	strlcpy(r->status, "pending", sizeof(r->status));
	r->has_started = r->has_lease = r->has_session_lock = r->has_gateway_pid = false;
	r->has_batch = false;
}

/* by request id: the order answers are sent in */
static int
request_id_cmp(const void *a, const void *b)
{
	const SyncRequest *ra = a;
	const SyncRequest *rb = b;

	return ra->id < rb->id ? -1 : ra->id > rb->id ? 1 : 0;
}

/* reading requests */

/*
 * The requests an index holds (with key: those whose first index column
 * equals it), in its order, at most max (0: all); *n gets the count.
 */
static SyncRequest *
requests_read(CatalogIndex index, const Datum *key, int max, int *n)
{
	SyncRequest *rows = NULL;
	int			cap = 0;
	TableRead	tr;

	*n = 0;
	table_read_begin(&tr, index, NULL);
	if (key)
		table_read_key(&tr, 1, BTEqualStrategyNumber, *key);
	while ((max == 0 || *n < max) && table_read_next(&tr))
	{
		rows = array_reserve(rows, *n, &cap, sizeof(SyncRequest));
		request_from_read(&tr, &rows[(*n)++]);
	}
	table_read_end(&tr);
	return rows;
}

/* the request with this id, as the active snapshot sees it */
static bool
request_by_id(int64 id, SyncRequest *r)
{
	Datum		key = Int64GetDatum(id);
	int			n;
	SyncRequest *rows = requests_read(CATALOG_SYNC_REQUESTS_PKEY, &key, 1, &n);

	if (n == 1)
		*r = rows[0];
	return n == 1;
}

/* the request running on a twin, if any */
static bool
request_running_on(const TwinId *twin, SyncRequest *r)
{
	Datum		key = TwinIdPGetDatum(twin);
	int			n;
	SyncRequest *rows = requests_read(CATALOG_SYNC_REQUESTS_RUNNING, &key, 1, &n);

	if (n == 1 && request_is(&rows[0], "running"))
		*r = rows[0];
	return n == 1 && request_is(&rows[0], "running");
}

/* a twin's pending requests, most urgent first */
static SyncRequest *
requests_pending_on(const TwinId *twin, int *n)
{
	Datum		key = TwinIdPGetDatum(twin);

	return requests_read(CATALOG_SYNC_REQUESTS_PENDING, &key, 0, n);
}

/* writing requests */

/*
 * The new version of a request's row: what the queue changes, and nothing
 * else (subject_id may have been set NULL meanwhile, by the deletion of
 * its subject, and stays so).
 */
static void
request_modify(TableWrite *tw, Datum *values, bool *nulls, void *arg)
{
	static const AttrNumber changed[] = {
		Anum_sync_requests_status, Anum_sync_requests_batch, Anum_sync_requests_started_at,
		Anum_sync_requests_finished_at, Anum_sync_requests_lease_until, Anum_sync_requests_session_lock,
		Anum_sync_requests_gateway_pid, Anum_sync_requests_ready, Anum_sync_requests_gateway
	};
	int			natts = RelationGetDescr(tw->rel)->natts;
	Datum	   *ours = palloc(natts * sizeof(Datum));
	bool	   *ours_null = palloc(natts * sizeof(bool));
	int			i;

	request_to_values((const SyncRequest *) arg, ours, ours_null, natts);
	for (i = 0; i < (int) lengthof(changed); i++)
	{
		AttrNumber	attno = changed[i];

		if (attno > natts)
			continue;			/* a schema still at 0.1 */
		values[attno - 1] = ours[attno - 1];
		nulls[attno - 1] = ours_null[attno - 1];
	}
}

/* write a request's new state over its row (gone with its twin: nothing to do) */
static void
request_store(TableWrite *tw, SyncRequest *r)
{
	(void) table_write_update_row(tw, CATALOG_SYNC_REQUESTS_PKEY, Int64GetDatum(r->id), request_modify, r);
}

/* insert a new request; its id from the table's identity sequence */
static void
request_insert(TableWrite *tw, SyncRequest *r)
{
	TupleDesc	desc = RelationGetDescr(tw->rel);
	Datum	   *values = palloc0(desc->natts * sizeof(Datum));
	bool	   *nulls = palloc(desc->natts * sizeof(bool));

	r->id = nextval_internal(catalog_sequence_relid(CATALOG_SYNC_REQUESTS_REQUEST_ID_SEQ), false);
	memset(nulls, true, desc->natts * sizeof(bool));
	request_to_values(r, values, nulls, desc->natts);
	table_write_insert(tw, values, nulls);
}

/*
 * After the twin's run ended (or none runs), the ready flag on its oldest
 * pending request and on no other: the twin keeps its place in the queue
 * (the order of its oldest request), whatever the priorities of the
 * requests that join it; which of them runs is decided by priority when a
 * gateway claims the twin.  rows are the twin's pending requests as they
 * will be, in any order.  Writes what changed.
 */
static void
requests_store_pending(TableWrite *tw, SyncRequest *rows, const SyncRequest *before, int n, bool running)
{
	int			oldest = -1;
	int			i;

	for (i = 0; i < n; i++)
		if (request_is(&rows[i], "pending") &&
			(oldest < 0 || request_id_cmp(&rows[i], &rows[oldest]) < 0))
			oldest = i;
	for (i = 0; i < n; i++)
	{
		if (request_is(&rows[i], "pending"))
			request_set_ready(&rows[i], !running && i == oldest);
		if (memcmp(&rows[i], &before[i], sizeof(SyncRequest)) != 0)
			request_store(tw, &rows[i]);
	}
}

/* a copy of n requests, to compare with after changing them */
static SyncRequest *
requests_copy(const SyncRequest *rows, int n)
{
	SyncRequest *copy = palloc((n > 0 ? n : 1) * sizeof(SyncRequest));

	memcpy(copy, rows, n * sizeof(SyncRequest));
	return copy;
}

/* see this decision's own writes so far, in the snapshot it pushed */
static void
sync_decision_snapshot_advance(void)
{
	CommandCounterIncrement();
	UpdateActiveSnapshotCommandId();
}

/*
 * Decisions taken under a twin's lock see what committed before it was
 * granted: the latest snapshot, in every isolation level (the queue is
 * shared by all sessions, as a sequence is; a REPEATABLE READ transaction
 * deciding on what it saw when it began could queue a second ready request
 * or leave none), that also sees this transaction's writes so far, those
 * of the calling statement included (a claim and a completion in one
 * statement).
 */
static void
sync_decision_snapshot_push(void)
{
	PushActiveSnapshot(GetLatestSnapshot());
	sync_decision_snapshot_advance();
}

/*
 * For the reads that choose what to lock: the statement's snapshot, seeing
 * this transaction's writes so far too; no new snapshot is taken.
 */
static void
sync_own_writes_snapshot_push(void)
{
	PushCopiedSnapshot(GetActiveSnapshot());
	sync_decision_snapshot_advance();
}

/*
 * Whether a request runs with a live gateway: its lease holds and, if it
 * took a session run lock, some backend still holds that lock.  A run that
 * took no session lock lives by its lease alone.
 */
static bool
request_alive(const SyncRequest *r)
{
	return request_is(r, "running") && r->has_lease &&
		r->lease_until > GetCurrentTransactionStartTimestamp() &&
		((r->has_session_lock && !r->session_lock) ||
		 (r->has_started && sync_run_lock_held(r->id, r->started_at)));
}

/*
 * A running request whose gateway is gone or whose lease expired goes back
 * to pending, and so does its batch; call with the twin lock held and a
 * decision snapshot.  Returns whether it was requeued.
 */
static bool
request_recover_if_dead(SyncRequest *run)
{
	SyncRequest *rows;
	SyncRequest *before;
	int			n;
	int			i;
	TableWrite	tw;
	int32		gateway_pid = run->gateway_pid;

	if (!request_is(run, "running") || request_alive(run))
		return false;
	rows = requests_pending_on(&run->twin, &n);
	rows = repalloc(rows == NULL ? palloc(sizeof(SyncRequest)) : rows, (n + 1) * sizeof(SyncRequest));
	rows[n++] = *run;
	before = requests_copy(rows, n);
	request_requeue_state(&rows[n - 1]);
	for (i = 0; i < n - 1; i++)
		if (rows[i].has_batch && rows[i].batch == run->id)
			rows[i].has_batch = false;
	table_write_open(&tw, CATALOG_SYNC_REQUESTS);
	requests_store_pending(&tw, rows, before, n, false);
	table_write_close(&tw);
	sync_decision_snapshot_advance();
	ereport(LOG,
			(errmsg("dtmv: sync request " INT64_FORMAT " on twin %s requeued: its gateway (pid %d) is gone or its lease expired",
					run->id, twin_id_to_cstring(&run->twin), gateway_pid)));
	return true;
}

/* the same for a request read afresh, under a decision snapshot, by its id */
static bool
request_recover_by_id(int64 id)
{
	SyncRequest run;
	bool		requeued;

	sync_decision_snapshot_push();
	requeued = request_by_id(id, &run) && request_recover_if_dead(&run);
	PopActiveSnapshot();
	return requeued;
}

/*
 * dtmv._recover_if_dead(request): the same, for a caller that holds the
 * twin's lock (version 0.1's recover_syncs, in PL/pgSQL; today's is
 * sync_recover_dead).
 */
PG_FUNCTION_INFO_V1(dtmv_recover_if_dead);
Datum
dtmv_recover_if_dead(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(request_recover_by_id(PG_GETARG_INT64(0)));
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

/*
 * Queue a request, under the twin's lock: refused (TW001) while a live run
 * of higher priority holds the twin; a subject's request still pending and
 * not yet in a batch is returned again; else a new request, ready for a
 * claim if nothing runs and it outranks what waits.  subject < 0: the twin
 * system's own (periodic) request.
 */
static int64
sync_queue(const TwinId *twin, int64 subject, int32 priority)
{
	SyncRequest run;
	bool		running;
	SyncRequest *pending;
	SyncRequest *before;
	SyncRequest r;
	int			n;
	int			i;
	TableWrite	tw;

	sync_lock_twin(twin);
	sync_decision_snapshot_push();
	running = request_running_on(twin, &run);
	if (running && request_recover_if_dead(&run))
		running = false;
	if (running && run.priority > priority)
		sync_refuse(twin, run.id, run.priority, priority);
	pending = requests_pending_on(twin, &n);
	for (i = 0; i < n && subject >= 0; i++)
		if (pending[i].has_subject && pending[i].subject == subject && !pending[i].has_batch)
		{
			PopActiveSnapshot();
			return pending[i].id;
		}

	memset(&r, 0, sizeof(SyncRequest));
	r.twin = *twin;
	r.has_subject = subject >= 0;
	r.subject = subject;
	r.priority = priority;
	strlcpy(r.status, "pending", sizeof(r.status));
	r.requested_at = GetCurrentTransactionStartTimestamp();
	/*
	 * The first request on a free twin takes the twin's place in the queue;
	 * later ones join it there (the twin keeps its place, whatever their
	 * priority: requests_store_pending).
	 */
	request_set_ready(&r, !running && n == 0);
	table_write_open(&tw, CATALOG_SYNC_REQUESTS);
	request_insert(&tw, &r);
	before = requests_copy(pending, n);
	requests_store_pending(&tw, pending, before, n, running);
	table_write_close(&tw);
	PopActiveSnapshot();
	return r.id;
}

/*
 * dtmv._requeue_twin(twin): after a change of the twin's binding, made
 * under its lock in this transaction: its ready request goes to the queue
 * of the gateway that serves it now (requests_store_pending works that out
 * for every request it stores), on the twin's requests as committed by now.
 */
PG_FUNCTION_INFO_V1(dtmv_requeue_twin);
Datum
dtmv_requeue_twin(PG_FUNCTION_ARGS)
{
	TwinId	   *twin = PG_GETARG_TWINID_P(0);
	SyncRequest run;
	SyncRequest *pending;
	SyncRequest *before;
	bool		running;
	int			n;
	TableWrite	tw;

	sync_lock_twin(twin);		/* the caller's already: held to its end */
	sync_decision_snapshot_push();
	running = request_running_on(twin, &run);
	pending = requests_pending_on(twin, &n);
	before = requests_copy(pending, n);
	table_write_open(&tw, CATALOG_SYNC_REQUESTS);
	requests_store_pending(&tw, pending, before, n, running);
	table_write_close(&tw);
	PopActiveSnapshot();
	PG_RETURN_VOID();
}

/* dtmv._queue_sync(twin, subject, priority): for version 0.1's queue_due_syncs (PL/pgSQL) */
PG_FUNCTION_INFO_V1(dtmv_queue_sync);
Datum
dtmv_queue_sync(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a twin and a priority are required")));
	PG_RETURN_INT64(sync_queue(PG_GETARG_TWINID_P(0), PG_ARGISNULL(1) ? -1 : PG_GETARG_INT64(1),
							   PG_GETARG_INT32(2)));
}

/* recovering dead runs and queueing periodic syncs: the worker's sync steps */

/*
 * Is a run a suspect: its lease expired, or it took a session lock and its
 * gateway backend is no longer there?  Only a first cut, from one read of
 * the running requests: request_recover_if_dead decides by the run lock
 * itself (a pid can be reused; the lock cannot lie).
 */
static bool
request_suspect(const SyncRequest *r)
{
	return (r->has_lease && r->lease_until <= GetCurrentTransactionStartTimestamp()) ||
		(r->has_session_lock && r->session_lock && r->has_gateway_pid &&
		 BackendPidGetProc(r->gateway_pid) == NULL);
}

/*
 * Requeue every running request whose gateway died or whose lease expired,
 * with its batch; how many.  A twin someone is deciding on now is skipped
 * (its lock is tried, never waited for): it is not dead, or the next round
 * finds it.
 */
int
sync_recover_dead(void)
{
	int			nrunning;
	SyncRequest *running = requests_read(CATALOG_SYNC_REQUESTS_RUNNING, NULL, 0, &nrunning);
	int			n = 0;
	int			i;

	for (i = 0; i < nrunning; i++)
		if (request_is(&running[i], "running") && request_suspect(&running[i]) &&
			sync_try_lock_twin(&running[i].twin) && request_recover_by_id(running[i].id))
			n++;
	return n;
}

/* dtmv.recover_syncs(): gateways (and the worker, which calls sync_recover_dead) */
PG_FUNCTION_INFO_V1(dtmv_recover_syncs);
Datum
dtmv_recover_syncs(PG_FUNCTION_ARGS)
{
	actor_require_role(GATEWAY_ROLE, "recover sync requests");
	PG_RETURN_INT32(sync_recover_dead());
}

/*
 * The twins due for a periodic sync, oldest due first, and the schedule's
 * row of one taken for this transaction, as SQL statements: once a second,
 * not a hot path, and a row lock that skips a row someone else holds
 * (FOR UPDATE SKIP LOCKED) is the statement's to take.  Every operator is
 * named with its schema: the worker runs with search_path pg_catalog.
 * twin_id's = is written dtmv.=, the name that both a database still at
 * release 0.1 and one at 0.2 know (0.2's is inlined into pg_catalog.=, and
 * uses the same indexes: docs/identity.md).
 */
static const char *const due_select_sql =
"SELECT s.twin, g.sync_period, g.sync_priority"
"  FROM dtmv.sync_schedule s JOIN dtmv.twin_registry g ON g.id OPERATOR(dtmv.=) s.twin"
" WHERE s.next_due OPERATOR(pg_catalog.<=) pg_catalog.now() AND g.sync_period IS NOT NULL"
" ORDER BY s.next_due LIMIT $1";

static const char *const due_lock_sql =
"SELECT 1 FROM dtmv.sync_schedule s"
" WHERE s.twin OPERATOR(dtmv.=) $1 AND s.next_due OPERATOR(pg_catalog.<=) pg_catalog.now()"
"   FOR UPDATE SKIP LOCKED";

static const char *const due_reschedule_sql =
"UPDATE dtmv.sync_schedule s SET next_due = pg_catalog.now() OPERATOR(pg_catalog.+) $2"
" WHERE s.twin OPERATOR(dtmv.=) $1";

typedef struct DueTwin
{
	TwinId		twin;
	Interval	period;
	int32		priority;
} DueTwin;

/*
 * Queue a sync for each twin whose sync period has elapsed (at most max,
 * the oldest due first; no limit if has_max is false); how many.  Each
 * due twin is rescheduled a period from now; one with a request pending or
 * running is served by that one.  A twin someone is deciding on (its lock
 * busy) or whose schedule row another transaction holds is skipped until
 * the next call.
 */
int
sync_queue_due(int32 max, bool has_max)
{
	Oid			select_types[1] = {INT4OID};
	Oid			twin_types[2];
	Datum		arg;
	SPIPlanPtr	lock_plan;
	SPIPlanPtr	reschedule_plan;
	DueTwin    *due;
	int			ndue;
	int			n = 0;
	int			i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	arg = Int32GetDatum(max);
	if (SPI_execute_with_args(due_select_sql, 1, select_types, &arg, has_max ? NULL : "n", false, 0) !=
		SPI_OK_SELECT)
		elog(ERROR, "dtmv: cannot read the sync schedule");
	ndue = (int) SPI_processed;
	if (ndue == 0)
	{
		SPI_finish();
		return 0;
	}
	due = SPI_palloc(ndue * sizeof(DueTwin));
	for (i = 0; i < ndue; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		due[i].twin = *DatumGetTwinIdP(SPI_getbinval(tuple, desc, 1, &isnull));
		due[i].period = *DatumGetIntervalP(SPI_getbinval(tuple, desc, 2, &isnull));
		due[i].priority = DatumGetInt32(SPI_getbinval(tuple, desc, 3, &isnull));
	}
	twin_types[0] = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	twin_types[1] = INTERVALOID;
	lock_plan = SPI_prepare(due_lock_sql, 1, twin_types);
	reschedule_plan = SPI_prepare(due_reschedule_sql, 2, twin_types);
	if (lock_plan == NULL || reschedule_plan == NULL)
		elog(ERROR, "dtmv: cannot plan the sync schedule's statements: %s", SPI_result_code_string(SPI_result));

	for (i = 0; i < ndue; i++)
	{
		Datum		args[2] = {TwinIdPGetDatum(&due[i].twin), IntervalPGetDatum(&due[i].period)};
		SyncRequest run;
		int			npending;
		bool		busy;

		/* the twin's lock first, then its rows, as everywhere; never waited for */
		if (!sync_try_lock_twin(&due[i].twin))
			continue;
		if (SPI_execute_plan(lock_plan, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "dtmv: cannot lock a row of the sync schedule");
		if (SPI_processed == 0)
			continue;			/* rescheduled meanwhile, or held by another */
		if (SPI_execute_plan(reschedule_plan, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "dtmv: cannot reschedule a sync");

		/*
		 * A sync already asked for or running serves; else queue one.  Under
		 * the twin's lock nothing can start running meanwhile, so the queue
		 * cannot refuse it (TW001).
		 */
		sync_decision_snapshot_push();
		busy = request_running_on(&due[i].twin, &run);
		if (!busy)
		{
			(void) requests_pending_on(&due[i].twin, &npending);
			busy = npending > 0;
		}
		PopActiveSnapshot();
		if (busy)
			continue;
		(void) sync_queue(&due[i].twin, -1, due[i].priority);
		n++;
	}
	SPI_finish();
	return n;
}

/* dtmv.queue_due_syncs(max): gateways (and the worker, which calls sync_queue_due) */
PG_FUNCTION_INFO_V1(dtmv_queue_due_syncs);
Datum
dtmv_queue_due_syncs(PG_FUNCTION_ARGS)
{
	actor_require_role(GATEWAY_ROLE, "queue periodic syncs");
	PG_RETURN_INT32(sync_queue_due(PG_ARGISNULL(0) ? 0 : PG_GETARG_INT32(0), !PG_ARGISNULL(0)));
}

/*
 * dtmv.request_sync(twin): ask that a twin be synchronised, at the caller's
 * priority; needs sync.  Refused with TW001 while a sync of higher priority
 * runs there: first without a lock, from what had committed when this
 * statement started; then, if not refused, under the twin's lock.
 */
PG_FUNCTION_INFO_V1(dtmv_request_sync);
Datum
dtmv_request_sync(PG_FUNCTION_ARGS)
{
	TwinId	   *twin = PG_ARGISNULL(0) ? NULL : PG_GETARG_TWINID_P(0);
	int64		subject;
	int32		priority = 0;
	SyncRequest run;

	rights_require(twin, DTMV_RIGHT_SYNC_MASK);	/* a NULL twin never passes */
	subject = rights_current_subject();
	if (!sync_priority_of(twin, subject, &priority))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("twin %s does not exist", twin_id_to_cstring(twin))));
	if (request_running_on(twin, &run) && run.priority > priority && request_alive(&run))
		sync_refuse(twin, run.id, run.priority, priority);
	PG_RETURN_INT64(sync_queue(twin, subject, priority));
}

/* claiming */

/*
 * Where a claim is in the queue.  A gateway reads its own queue (the index
 * sync_requests_queue, from its key) in request order, each time from
 * after the last request it looked at: a claim reads each ready twin at
 * most once, however many are locked, and never gives up early.  A
 * superuser reads every gateway's queue, and a schema still at release
 * 0.1 its own queue (sync_requests_ready); both skip the twins tried.
 */
typedef struct ClaimScan
{
	bool		scoped;			/* a 0.2 schema (agents_schema_scoped) */
	bool		by_gateway;
	int64		gateway;
	int64		after;			/* by_gateway: the last request looked at */
	TwinId	   *tried;			/* otherwise: the twins tried */
	int			ntried;
	int			cap;
	bool		filtered;		/* only the twins bound to these devices */
	char	  **bindings;
	int			nbindings;
} ClaimScan;

/* bindings: the devices whose twins may be claimed (NULL: every twin served) */
static void
claim_scan_init(ClaimScan *cs, ArrayType *bindings)
{
	memset(cs, 0, sizeof(ClaimScan));
	cs->scoped = agents_schema_scoped();
	cs->by_gateway = cs->scoped && !superuser_arg(GetOuterUserId());
	cs->gateway = cs->by_gateway ? agents_gateway_self() : -1;
	if (bindings != NULL)
	{
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			i;

		deconstruct_array(bindings, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
		cs->filtered = true;
		cs->bindings = palloc0(Max(n, 1) * sizeof(char *));
		for (i = 0; i < n; i++)
			if (!nulls[i])
				cs->bindings[cs->nbindings++] = TextDatumGetCString(elems[i]);
	}
}

/* is the twin bound to one of the devices the claim is for? */
static bool
claim_binding_wanted(const ClaimScan *cs, const TwinId *twin)
{
	Datum		d;
	char	   *binding;
	int			i;

	if (!cs->filtered)
		return true;
	if (!table_read_first_value(CATALOG_TWIN_STATES_PKEY, TwinIdPGetDatum(twin), Anum_twin_states_physical_binding,
								&d))
		return false;
	binding = TextDatumGetCString(d);
	for (i = 0; i < cs->nbindings; i++)
		if (strcmp(cs->bindings[i], binding) == 0)
			return true;
	return false;
}

/*
 * The next ready request in the queue whose twin no other session is
 * deciding on: its twin locked (until the end of the transaction) into
 * *twin.  False once the queue is read to its end.
 */
static bool
claim_candidate(ClaimScan *cs, TwinId *twin)
{
	TableRead	tr;
	bool		locked = false;

	if (cs->by_gateway && cs->gateway < 0)
		return false;			/* not a gateway: it serves nothing */
	table_read_begin(&tr, cs->scoped ? CATALOG_SYNC_REQUESTS_QUEUE : CATALOG_SYNC_REQUESTS_READY, NULL);
	if (cs->by_gateway)
	{
		table_read_key(&tr, 1, BTEqualStrategyNumber, Int64GetDatum(cs->gateway));
		table_read_key(&tr, 2, BTGreaterStrategyNumber, Int64GetDatum(cs->after));
	}
	while (!locked && table_read_next(&tr))
	{
		SyncRequest r;
		bool		seen = false;
		int64		serving;
		int			i;

		request_from_read(&tr, &r);
		cs->after = r.id;
		if (!r.ready || !request_is(&r, "pending"))
			continue;
		/* only the twins this gateway serves (its queue may lag a rebinding) */
		if (cs->by_gateway ? !(agents_serving_gateway(&r.twin, &serving) && serving == cs->gateway)
			: !agents_serves(&r.twin))
			continue;
		/* and, if the claim names devices, only theirs */
		if (!claim_binding_wanted(cs, &r.twin))
			continue;
		for (i = 0; i < cs->ntried && !seen; i++)
			seen = memcmp(&cs->tried[i], &r.twin, sizeof(TwinId)) == 0;
		if (seen)
			continue;
		if (!cs->by_gateway)
		{
			cs->tried = array_reserve(cs->tried, cs->ntried, &cs->cap, sizeof(TwinId));
			cs->tried[cs->ntried++] = r.twin;
		}
		/* a twin another session is deciding on is skipped, not waited for */
		if (sync_try_lock_twin(&r.twin))
		{
			*twin = r.twin;
			locked = true;
		}
	}
	table_read_end(&tr);
	return locked;
}

/*
 * Run a twin's most urgent pending request, if nothing runs there: with the
 * twin lock held and a decision snapshot.  Every other request pending on
 * the twin joins its batch; batch_size counts the run too.
 */
static bool
claim_twin(const ClaimScan *cs, const TwinId *twin, TimestampTz lease_until, bool session_lock,
		   SyncRequest *claimed, int *batch_size)
{
	SyncRequest run;
	SyncRequest *pending;
	int			n;
	int			i;
	TableWrite	tw;

	if (request_running_on(twin, &run))
		return false;
	/* still served by this gateway, now that its lock is held (a decision snapshot) */
	if (!agents_serves(twin) || !claim_binding_wanted(cs, twin))
		return false;
	pending = requests_pending_on(twin, &n);
	if (n == 0)
		return false;
	strlcpy(pending[0].status, "running", sizeof(pending[0].status));
	pending[0].has_started = pending[0].has_lease = pending[0].has_session_lock = pending[0].has_gateway_pid = true;
	pending[0].started_at = GetCurrentTransactionStartTimestamp();
	pending[0].lease_until = lease_until;
	pending[0].session_lock = session_lock;
	pending[0].gateway_pid = MyProcPid;
	pending[0].has_batch = false;
	request_set_ready(&pending[0], false);
	table_write_open(&tw, CATALOG_SYNC_REQUESTS);
	request_store(&tw, &pending[0]);
	for (i = 1; i < n; i++)
	{
		pending[i].has_batch = true;
		pending[i].batch = pending[0].id;
		request_set_ready(&pending[i], false);
		request_store(&tw, &pending[i]);
	}
	table_write_close(&tw);
	if (session_lock && !sync_run_lock(pending[0].id, pending[0].started_at))
		elog(ERROR, "the run lock of sync request " INT64_FORMAT " is held by another session", pending[0].id);
	*claimed = pending[0];
	*batch_size = n;
	return true;
}

/* is this run (request, start) still running? for the locks a session keeps */
static bool
sync_run_current(int64 request, TimestampTz started)
{
	SyncRequest r;
	bool		current;

	sync_own_writes_snapshot_push();
	current = request_by_id(request, &r) && request_is(&r, "running") && r.has_started &&
		r.started_at == started;
	PopActiveSnapshot();
	return current;
}

/* requeue the runs of dead gateways, at most once a second per session */
static void
claim_sweep(void)
{
	if (sync_sweep_due(1000))
		(void) sync_recover_dead();
}

/*
 * When a lease given to claim_sync or renew_sync ends: from the
 * transaction's start, as applied (calendar months and days), not as an
 * interval compares; 22023 unless positive and within dtmv.max_sync_lease.
 */
static TimestampTz
sync_lease_until(Interval *lease)
{
	TimestampTz lease_until;
	Interval	zero = {0};

	if (lease == NULL ||
		DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(lease), IntervalPGetDatum(&zero))) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease must be positive, not %s",
						lease ? DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(lease))) : "NULL")));
	lease_until = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														  TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
														  IntervalPGetDatum(lease)));
	if (lease_until <= GetCurrentTransactionStartTimestamp() ||
		lease_until - GetCurrentTransactionStartTimestamp() > (int64) max_sync_lease_s * USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lease %s is not positive or is longer than dtmv.max_sync_lease (%d s)",
						DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(lease))),
						max_sync_lease_s),
				 errhint("Ask for a shorter lease; the operator sets the maximum.")));
	return lease_until;
}

/*
 * dtmv.claim_sync(lease, session_lock [, bindings]): gateways only.  Among
 * the twins the gateway serves (bound to one of bindings, when given), in
 * its queue's order, the first that is free: its most urgent request, now
 * running, as one row; no row if there is none.
 */
PG_FUNCTION_INFO_V1(dtmv_claim_sync);
Datum
dtmv_claim_sync(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Interval   *lease = PG_ARGISNULL(0) ? NULL : PG_GETARG_INTERVAL_P(0);
	bool		session_lock = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
	/* bindings came with 0.2's three-argument declaration */
	ArrayType  *bindings = PG_NARGS() > 2 && !PG_ARGISNULL(2) ? PG_GETARG_ARRAYTYPE_P(2) : NULL;
	TimestampTz lease_until;
	ClaimScan	scan;
	TwinId		twin;
	SyncRequest claimed;
	int			batch_size = 0;
	bool		found = false;

	actor_require_role(GATEWAY_ROLE, "claim sync requests");
	lease_until = sync_lease_until(lease);
	InitMaterializedSRF(fcinfo, 0);
	claim_sweep();
	sync_run_locks_forget_stale(sync_run_current);

	claim_scan_init(&scan, bindings);
	while (!found)
	{
		bool		locked;

		sync_own_writes_snapshot_push();
		locked = claim_candidate(&scan, &twin);
		PopActiveSnapshot();
		if (!locked)
			break;
		sync_decision_snapshot_push();
		found = claim_twin(&scan, &twin, lease_until, session_lock, &claimed, &batch_size);
		PopActiveSnapshot();
	}

	if (found)
	{
		Datum		values[6];
		bool		nulls[6] = {false};
		Datum		requested_by = (Datum) 0;
		bool		has_name = claimed.has_subject &&
			table_read_first_value(CATALOG_SUBJECTS_PKEY, Int64GetDatum(claimed.subject), Anum_subjects_name,
								   &requested_by);

		values[0] = Int64GetDatum(claimed.id);
		values[1] = TwinIdPGetDatum(&claimed.twin);
		values[2] = Int32GetDatum(claimed.priority);
		values[3] = requested_by;
		nulls[3] = !has_name;
		values[4] = TimestampTzGetDatum(claimed.requested_at);
		values[5] = Int32GetDatum(batch_size);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* completing */

/* the new version of a sync_schedule row: next due a period from now */
static void
complete_reschedule(TableWrite *tw, Datum *values, bool *nulls, void *arg)
{
	AttrNumber	next_due = Anum_sync_schedule_next_due;

	values[next_due - 1] = DirectFunctionCall2(timestamptz_pl_interval,
											   TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()),
											   PointerGetDatum(arg));
	nulls[next_due - 1] = false;
}

/* a periodically synchronised twin is next due a period after this sync */
static void
complete_reschedule_twin(const TwinId *twin)
{
	Datum		period;
	TableWrite	tw;

	if (!table_read_first_value(CATALOG_TWIN_REGISTRY_PKEY, TwinIdPGetDatum(twin), Anum_twin_registry_sync_period,
								&period))
		return;
	table_write_open(&tw, CATALOG_SYNC_SCHEDULE);
	(void) table_write_update_row(&tw, CATALOG_SYNC_SCHEDULE_PKEY, TwinIdPGetDatum(twin), complete_reschedule,
								  DatumGetPointer(period));
	table_write_close(&tw);
}

/* every answer reaches its requester as an event addressed to it */
static void
complete_answer(const SyncRequest *r)
{
	char		payload[96];

	if (!r->has_subject)
		return;
	snprintf(payload, sizeof(payload), "{\"request\": " INT64_FORMAT ", \"status\": \"%s\"}", r->id, r->status);
	(void) event_append(TwinIdPGetDatum(&r->twin), false, Int64GetDatum(r->subject), false, "sync_answer",
						DirectFunctionCall1(jsonb_in, CStringGetDatum(payload)), false);
}

/*
 * The running request id, for its gateway to complete or renew (what: "complete", "renew"):
 * its twin locked, read under a decision snapshot that the caller pops.
 * 42501 unless the gateway serves its twin (the same for a request that does
 * not exist, so that no gateway learns of others' requests); 55000 unless it
 * is running, and, claimed with a session lock, running in this session.
 */
static void
sync_running_request(int64 id, const char *what, SyncRequest *req)
{
	bool		found;
	char		action[64];

	snprintf(action, sizeof(action), "%s sync requests", what);
	sync_own_writes_snapshot_push();
	found = request_by_id(id, req);
	PopActiveSnapshot();
	/* only the gateway that serves the twin, checked before its lock */
	if (!superuser_arg(GetOuterUserId()) && (!found || !agents_serves(&req->twin)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s sync request " INT64_FORMAT, what, id),
				 errdetail("It does not exist, or its twin is not served by this gateway.")));
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sync request " INT64_FORMAT " does not exist", id)));
	sync_lock_twin(&req->twin);
	agents_require_serves_now(&req->twin, action);
	sync_decision_snapshot_push();
	if (!request_by_id(id, req))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sync request " INT64_FORMAT " does not exist", id)));
	/* a run this session no longer has: let go of its lock, if held */
	if (!request_is(req, "running") ||
		(req->session_lock && !sync_run_lock_mine(req->id, req->started_at)))
		sync_run_unlock(id);
	if (request_is(req, "pending"))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sync request " INT64_FORMAT " is not running", id),
				 errdetail("Its status is pending."),
				 errhint("Its lease expired or its gateway session ended, so it was queued again.")));
	if (!request_is(req, "running"))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sync request " INT64_FORMAT " is not running", id),
				 errdetail("Its status is %s.", req->status)));
	if (req->session_lock && !sync_run_lock_mine(req->id, req->started_at))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("sync request " INT64_FORMAT " is not running in this session", id),
				 errdetail("Its run holds a session lock: the session that claimed it completes it."),
				 errhint("If this session claimed it, its lease expired or it was thought dead, and another gateway claimed it again.")));
}

/* a request id argument, never NULL */
static int64
sync_request_arg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a sync request id is required")));
	return PG_GETARG_INT64(argno);
}

/*
 * dtmv.renew_sync(request, lease): gateways only.  A run goes on: its lease
 * ends lease from now (within dtmv.max_sync_lease), so that a slow device
 * keeps its run; returns the new end.  What may complete a run may renew
 * it; 55000 if it is not running or its lease has ended.
 */
PG_FUNCTION_INFO_V1(dtmv_renew_sync);
Datum
dtmv_renew_sync(PG_FUNCTION_ARGS)
{
	int64		id;
	TimestampTz lease_until;
	SyncRequest req;
	TableWrite	tw;

	actor_require_role(GATEWAY_ROLE, "renew sync leases");
	id = sync_request_arg(fcinfo, 0);
	lease_until = sync_lease_until(PG_ARGISNULL(1) ? NULL : PG_GETARG_INTERVAL_P(1));
	sync_running_request(id, "renew", &req);
	/*
	 * A lease that has ended is not renewed: the run is lost (docs/sync.md)
	 * whether or not a recovery has requeued it yet, so that a late renewal
	 * never decides which it is.
	 */
	if (req.has_lease && req.lease_until <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the lease of sync request " INT64_FORMAT " has ended", id),
				 errdetail("It ended at %s.", timestamptz_to_str(req.lease_until)),
				 errhint("Renew a lease before it ends; the run will be queued again.")));
	req.lease_until = lease_until;
	req.has_lease = true;
	table_write_open(&tw, CATALOG_SYNC_REQUESTS);
	request_store(&tw, &req);
	table_write_close(&tw);
	PopActiveSnapshot();
	PG_RETURN_TIMESTAMPTZ(lease_until);
}

/*
 * dtmv.complete_sync(request, ok, reported, replace): gateways only.  Finish
 * a run: on success merge the reported state into the twin's (as a report
 * does; replace: store it instead) and answer its batch "superseded",
 * on failure send its batch back to the queue; either way the twin's most
 * urgent pending request becomes ready.  55000 if it is not running.
 */
PG_FUNCTION_INFO_V1(dtmv_complete_sync);
Datum
dtmv_complete_sync(PG_FUNCTION_ARGS)
{
	int64		id;
	bool		ok;
	Datum		reported;
	bool		has_reported;
	bool		replace;
	SyncRequest req;
	SyncRequest *pending;
	SyncRequest *before;
	SyncRequest *answered;
	int			nanswered = 0;
	int			n;
	int			i;
	TableWrite	tw;

	actor_require_role(GATEWAY_ROLE, "complete sync requests");
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ok must be true or false")));
	id = sync_request_arg(fcinfo, 0);
	ok = PG_GETARG_BOOL(1);
	has_reported = !PG_ARGISNULL(2);
	reported = has_reported ? PG_GETARG_DATUM(2) : (Datum) 0;
	/* replace came with 0.2: the 0.1 declaration passes three arguments */
	replace = PG_NARGS() > 3 && !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);

	sync_running_request(id, "complete", &req);

	pending = requests_pending_on(&req.twin, &n);
	before = requests_copy(pending, n);
	answered = palloc((n + 1) * sizeof(SyncRequest));
	request_finish(&req, ok ? "succeeded" : "failed");
	answered[nanswered++] = req;
	for (i = 0; i < n; i++)
		if (pending[i].has_batch && pending[i].batch == id)
		{
			if (ok)
			{
				/* asked before this integration started: it answers them */
				request_finish(&pending[i], "superseded");
				answered[nanswered++] = pending[i];
			}
			else
				pending[i].has_batch = false;	/* the object was not reached: wait for another run */
		}
	table_write_open(&tw, CATALOG_SYNC_REQUESTS);
	request_store(&tw, &req);
	requests_store_pending(&tw, pending, before, n, false);
	table_write_close(&tw);

	if (ok)
	{
		(void) twin_state_store_reported(TwinIdPGetDatum(&req.twin), reported, !has_reported, replace);
		complete_reschedule_twin(&req.twin);
	}
	sync_run_unlock_at_commit(id);
	PopActiveSnapshot();

	qsort(answered, nanswered, sizeof(SyncRequest), request_id_cmp);
	for (i = 0; i < nanswered; i++)
		complete_answer(&answered[i]);
	PG_RETURN_TEXT_P(cstring_to_text(ok ? "succeeded" : "failed"));
}

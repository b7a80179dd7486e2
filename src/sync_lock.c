/*
 * sync_lock.c
 *		The two kinds of advisory lock the sync queue takes (REQ-DT-07/08).
 *
 * A twin lock is an exclusive transaction lock on one twin: request,
 * claim and completion each take it before deciding anything about that
 * twin, so decisions on one twin are serialised and decisions on different
 * twins never wait for each other.  Every other writer of a twin's rows
 * (report, moves, commands, grants, ...) takes it first too: one lock
 * order, the twin's lock then its rows, so that no mix of calls on one
 * twin can deadlock (docs/events.md).  The twin_id's 16 bytes are hashed to
 * the 64 bits a lock tag holds; two twins that collide only share a lock.
 *
 * A run lock is an exclusive session lock on one run of a sync request
 * (the request and when that run started), held by the gateway backend
 * that claimed it.  It dies with that backend, which is how a crashed
 * gateway is noticed: whoever can take the lock knows its holder is gone.
 * It also tells who may complete the run.  One per running twin; none per
 * pending request.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "sync_lock.h"
#include "twin_id.h"

/*
 * The run locks this session holds, and what their transaction means to do
 * with them.  A session lock outlives an abort, but the claim that took it
 * does not: those taken in a transaction (or subtransaction) that aborts
 * are released with it.  Likewise the completion that lets go of one may
 * still roll back: the lock is let go of when its transaction commits.
 */
typedef struct RunLock
{
	int64		request;
	TimestampTz started;
	bool		taken_in_xact;	/* by the running transaction ... */
	SubTransactionId taken_subid;	/* ... in this subtransaction */
	SubTransactionId release_subid; /* to be released at commit, as asked
									 * in this subtransaction (or Invalid) */
} RunLock;

static List *run_locks = NIL;

/* when this backend last swept for dead gateways */
static TimestampTz last_sweep = 0;

static void run_locktag(LOCKTAG *tag, int64 request, TimestampTz started);

typedef bool (*RunLockTest) (const RunLock *rl, const void *arg);

/*
 * Release and forget the run locks that pass test; how many.  One may not
 * be held any more: pg_advisory_unlock_all() and DISCARD ALL drop every
 * session advisory lock, ours included.
 */
static int
run_locks_release_if(RunLockTest test, const void *arg)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, run_locks)
	{
		RunLock    *rl = lfirst(lc);
		LOCKTAG		tag;

		if (!test(rl, arg))
			continue;
		run_locktag(&tag, rl->request, rl->started);
		if (LockHeldByMe(&tag, ExclusiveLock) && LockRelease(&tag, ExclusiveLock, true))
			n++;
		run_locks = foreach_delete_current(run_locks, lc);
		pfree(rl);
	}
	return n;
}

/* taken by the running transaction (arg: in that subtransaction, or Invalid for any) */
static bool
run_lock_taken_in(const RunLock *rl, const void *arg)
{
	SubTransactionId subid = *(const SubTransactionId *) arg;

	return rl->taken_in_xact && (subid == InvalidSubTransactionId || rl->taken_subid == subid);
}

static bool
run_lock_release_asked(const RunLock *rl, const void *arg)
{
	return rl->release_subid != InvalidSubTransactionId;
}

/* of the request, and held from an earlier transaction, for no completion of this one */
static bool
run_lock_of_request(const RunLock *rl, const void *arg)
{
	return rl->request == *(const int64 *) arg && !rl->taken_in_xact &&
		rl->release_subid == InvalidSubTransactionId;
}

/*
 * Whether this transaction took a twin's lock: a prepared transaction would
 * keep it, with no session that dtmv.twin_lock_timeout could end, until
 * someone commits or rolls it back.
 */
static bool twin_locked_in_xact = false;

static void
sync_lock_xact_callback(XactEvent event, void *arg)
{
	SubTransactionId any = InvalidSubTransactionId;
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (twin_locked_in_xact)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that holds a dtmv twin's lock"),
						 errdetail("A prepared transaction would keep the twin's decisions waiting beyond dtmv.twin_lock_timeout.")));
			/*
			 * A run lock follows its transaction's outcome (released if a
			 * claim rolls back, let go of when a completion commits); a
			 * prepared transaction's outcome comes later, from any session.
			 */
			foreach(lc, run_locks)
				if (((RunLock *) lfirst(lc))->taken_in_xact || run_lock_release_asked(lfirst(lc), NULL))
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot PREPARE a transaction that claimed or completed a dtmv sync")));
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			twin_locked_in_xact = false;
			run_locks_release_if(run_lock_taken_in, &any);
			foreach(lc, run_locks)
				((RunLock *) lfirst(lc))->release_subid = InvalidSubTransactionId;
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			twin_locked_in_xact = false;
			run_locks_release_if(run_lock_release_asked, NULL);
			foreach(lc, run_locks)
				((RunLock *) lfirst(lc))->taken_in_xact = false;
			break;
		default:
			break;
	}
}

static void
sync_lock_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid,
						   void *arg)
{
	ListCell   *lc;

	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		run_locks_release_if(run_lock_taken_in, &mySubid);
		foreach(lc, run_locks)
			if (((RunLock *) lfirst(lc))->release_subid == mySubid)
				((RunLock *) lfirst(lc))->release_subid = InvalidSubTransactionId;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		foreach(lc, run_locks)
		{
			RunLock    *rl = lfirst(lc);

			if (rl->taken_in_xact && rl->taken_subid == mySubid)
				rl->taken_subid = parentSubid;
			if (rl->release_subid == mySubid)
				rl->release_subid = parentSubid;
		}
}

void
SyncLockInit(void)
{
	RegisterXactCallback(sync_lock_xact_callback, NULL);
	RegisterSubXactCallback(sync_lock_subxact_callback, NULL);
}

static void
twin_locktag(LOCKTAG *tag, const TwinId *twin)
{
	uint64		h = hash_bytes_extended(twin->data, TWIN_ID_LEN, 0);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h,
						 DTMV_LOCKSPACE_TWIN);
}

/*
 * A run lock names one run: the request and the time its run started, so
 * that a run of the same request claimed again later (after its lease
 * expired) is told apart from the old one, whose gateway may still hold
 * its lock.
 */
static void
run_locktag(LOCKTAG *tag, int64 request, TimestampTz started)
{
	int64		run[2] = {request, (int64) started};
	uint64		h = hash_bytes_extended((const unsigned char *) run, sizeof(run), 0);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h, DTMV_LOCKSPACE_RUN);
}

/* wait for and take the twin lock until the end of the transaction */
void
sync_lock_twin(const TwinId *twin)
{
	LOCKTAG		tag;

	twin_locktag(&tag, twin);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	twin_locked_in_xact = true;
}

/* take the twin lock until the end of the transaction if it is free */
bool
sync_try_lock_twin(const TwinId *twin)
{
	LOCKTAG		tag;

	twin_locktag(&tag, twin);
	if (LockAcquire(&tag, ExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return false;
	twin_locked_in_xact = true;
	return true;
}

/*
 * The twins' locks the worker has seen held, and since when: one entry per
 * lock and holding transaction (a backend's pid and its transaction's
 * start), forgotten as soon as a round no longer sees it.  A lock passed on
 * to another session, or taken again by the same session in a new
 * transaction, starts afresh.
 */
typedef struct TwinLockSeen
{
	int32		pid;
	TimestampTz xact_start;
	int64		lock;			/* the tag's two keys */
	TimestampTz first_seen;
	bool		seen;			/* in the current round */
} TwinLockSeen;

static TwinLockSeen *locks_seen = NULL;
static int	nlocks_seen = 0;
static int	caplocks_seen = 0;

/*
 * End the sessions that have held a twin's lock in one transaction for
 * longer than timeout_ms (as the worker saw it: up to a round more).  A
 * twin's lock is held to the end of its transaction, so a transaction left
 * open (a user's request_sync never committed, a client that hangs) would
 * otherwise hold that twin's decisions, its reports and completions, and
 * its queued syncs (claims skip a locked twin), for as long as it likes.
 * Any client's session, a superuser's too (privileges say nothing of how
 * long one may hold a twin); never a background worker's, and not one that
 * is itself waiting for a lock (the session it waits for is the one to
 * end).  Terminated, not cancelled: a cancel does not end a transaction
 * that is idle.  For the background worker, which runs as a superuser, in
 * the database it serves; returns how many it ended.
 */
int
sync_lock_end_overdue(int timeout_ms)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(DTMV_LOCKSPACE_TWIN)};
	TimestampTz now = GetCurrentTimestamp();
	int			ended = 0;
	uint64		i;
	int			k;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(
							  "SELECT h.pid, a.xact_start, (h.classid::pg_catalog.int8 << 32) | h.objid::pg_catalog.int8,"
							  "       a.usename::text, a.wait_event_type IS NOT DISTINCT FROM 'Lock'"
							  "  FROM pg_catalog.pg_locks h"
							  "  JOIN pg_catalog.pg_stat_activity a ON a.pid = h.pid"
							  " WHERE h.locktype = 'advisory' AND h.granted AND h.objsubid = $1"
							  "   AND h.database = (SELECT d.oid FROM pg_catalog.pg_database d"
							  "                      WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"
							  "   AND a.backend_type = 'client backend' AND a.xact_start IS NOT NULL",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading the holders of twin locks failed");
	for (k = 0; k < nlocks_seen; k++)
		locks_seen[k].seen = false;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		pid = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
		TimestampTz xact_start = DatumGetTimestampTz(SPI_getbinval(row, desc, 2, &isnull));
		int64		lock = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
		bool		waiting = DatumGetBool(SPI_getbinval(row, desc, 5, &isnull));
		TwinLockSeen *e = NULL;

		for (k = 0; k < nlocks_seen && e == NULL; k++)
			if (locks_seen[k].pid == pid && locks_seen[k].xact_start == xact_start && locks_seen[k].lock == lock)
				e = &locks_seen[k];
		if (e == NULL)
		{
			if (nlocks_seen == caplocks_seen)
			{
				/* the worker's memory, from round to round */
				caplocks_seen = caplocks_seen > 0 ? caplocks_seen * 2 : 16;
				locks_seen = locks_seen ? repalloc(locks_seen, caplocks_seen * sizeof(TwinLockSeen)) :
					MemoryContextAlloc(TopMemoryContext, caplocks_seen * sizeof(TwinLockSeen));
			}
			e = &locks_seen[nlocks_seen++];
			e->pid = pid;
			e->xact_start = xact_start;
			e->lock = lock;
			e->first_seen = now;
		}
		e->seen = true;
		if (!waiting && TimestampDifferenceExceeds(e->first_seen, now, timeout_ms) &&
			DatumGetBool(DirectFunctionCall2(pg_terminate_backend, Int32GetDatum(pid), Int64GetDatum(0))))
		{
			ereport(LOG,
					(errmsg("dtmv: ended the session of user %s (pid %d): it held a twin's lock for longer than dtmv.twin_lock_timeout",
							SPI_getvalue(row, desc, 4), pid)));
			ended++;
		}
	}
	/* forget the locks no longer held */
	for (k = 0; k < nlocks_seen;)
		if (!locks_seen[k].seen)
			locks_seen[k] = locks_seen[--nlocks_seen];
		else
			k++;
	SPI_finish();
	return ended;
}

PG_FUNCTION_INFO_V1(dtmv_lock_twin);
Datum
dtmv_lock_twin(PG_FUNCTION_ARGS)
{
	sync_lock_twin(PG_GETARG_TWINID_P(0));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(dtmv_try_lock_twin);
Datum
dtmv_try_lock_twin(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(sync_try_lock_twin(PG_GETARG_TWINID_P(0)));
}

/* take the session lock of a run; false if another backend holds it */
bool
sync_run_lock(int64 request, TimestampTz started)
{
	LOCKTAG		tag;
	LockAcquireResult res;
	MemoryContext old;

	/* allocated before the lock is taken: no lock may go untracked */
	RunLock    *rl = MemoryContextAlloc(TopMemoryContext, sizeof(RunLock));

	run_locktag(&tag, request, started);
	res = LockAcquire(&tag, ExclusiveLock, true, true);
	if (res == LOCKACQUIRE_OK)
	{
		rl->request = request;
		rl->started = started;
		rl->taken_in_xact = true;
		rl->taken_subid = GetCurrentSubTransactionId();
		rl->release_subid = InvalidSubTransactionId;
		old = MemoryContextSwitchTo(TopMemoryContext);
		run_locks = lappend(run_locks, rl);
		MemoryContextSwitchTo(old);
		return true;
	}
	pfree(rl);
	if (res == LOCKACQUIRE_ALREADY_HELD || res == LOCKACQUIRE_ALREADY_CLEAR)
		LockRelease(&tag, ExclusiveLock, true);	/* hold it once, not twice */
	return res != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Release now this session's run locks on a request whose run is over
 * (those of this transaction's own claim or completion follow it instead);
 * false if none.
 */
bool
sync_run_unlock(int64 request)
{
	return run_locks_release_if(run_lock_of_request, &request) > 0;
}

/*
 * Release this session's run locks on a request when the transaction
 * commits: the completion that asks may still be rolled back, and the run
 * must then still be seen alive.
 */
void
sync_run_unlock_at_commit(int64 request)
{
	ListCell   *lc;

	foreach(lc, run_locks)
	{
		RunLock    *rl = lfirst(lc);

		if (rl->request == request)
			rl->release_subid = GetCurrentSubTransactionId();
	}
}

typedef struct StaleTest
{
	SyncRunCurrent current;
} StaleTest;

static bool
run_lock_stale(const RunLock *rl, const void *arg)
{
	return !rl->taken_in_xact && rl->release_subid == InvalidSubTransactionId &&
		!((const StaleTest *) arg)->current(rl->request, rl->started);
}

/*
 * Release the run locks this session still holds for runs that are over
 * (requeued after their lease expired, claimed again elsewhere) and that it
 * never completed; current says whether a run still is.
 */
void
sync_run_locks_forget_stale(SyncRunCurrent current)
{
	StaleTest	st = {current};

	if (run_locks != NIL)
		run_locks_release_if(run_lock_stale, &st);
}

/* does this session hold the lock of a run? */
bool
sync_run_lock_mine(int64 request, TimestampTz started)
{
	LOCKTAG		tag;

	run_locktag(&tag, request, started);
	return LockHeldByMe(&tag, ExclusiveLock);
}

/* is the lock of a run held, by this backend or another? */
bool
sync_run_lock_held(int64 request, TimestampTz started)
{
	LOCKTAG		tag;

	if (sync_run_lock_mine(request, started))
		return true;
	run_locktag(&tag, request, started);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ExclusiveLock, true);
	return false;
}

/* true at most once per every_ms milliseconds in this backend */
bool
sync_sweep_due(int every_ms)
{
	TimestampTz now = GetCurrentTimestamp();

	if (!TimestampDifferenceExceeds(last_sweep, now, every_ms))
		return false;
	last_sweep = now;
	return true;
}

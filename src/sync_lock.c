/*
 * sync_lock.c
 *		The two kinds of advisory lock the sync queue takes (REQ-DT-07/08).
 *
 * A twin lock is an exclusive transaction lock on one twin: request,
 * claim and completion each take it before deciding anything about that
 * twin, so decisions on one twin are serialised and decisions on different
 * twins never wait for each other.  The twin_id's 16 bytes are hashed to
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
#include "common/hashfn.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lock.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "sync_lock.h"
#include "twin_id.h"

/*
 * The run locks this session holds.  A session lock outlives an abort, but
 * the claim that took it does not: so those taken in a transaction (or
 * subtransaction) that aborts are released with it.
 */
typedef struct RunLock
{
	int64		request;
	TimestampTz started;
	SubTransactionId subid;		/* that took it, while its transaction runs */
	bool		in_xact;		/* taken by the running transaction */
} RunLock;

static List *run_locks = NIL;

/* when this backend last swept for dead gateways */
static TimestampTz last_sweep = 0;

static void run_locktag(LOCKTAG *tag, int64 request, TimestampTz started);

/* release and forget the run locks taken by the running (sub)transaction */
static void
run_locks_release_aborted(bool sub, SubTransactionId subid)
{
	ListCell   *lc;

	foreach(lc, run_locks)
	{
		RunLock    *rl = lfirst(lc);
		LOCKTAG		tag;

		if (!rl->in_xact || (sub && rl->subid != subid))
			continue;
		run_locktag(&tag, rl->request, rl->started);
		LockRelease(&tag, ExclusiveLock, true);
		run_locks = foreach_delete_current(run_locks, lc);
		pfree(rl);
	}
}

static void
sync_lock_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			run_locks_release_aborted(false, InvalidSubTransactionId);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			foreach(lc, run_locks)
				((RunLock *) lfirst(lc))->in_xact = false;
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
		run_locks_release_aborted(true, mySubid);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		foreach(lc, run_locks)
		{
			RunLock    *rl = lfirst(lc);

			if (rl->in_xact && rl->subid == mySubid)
				rl->subid = parentSubid;
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
}

/* take the twin lock until the end of the transaction if it is free */
bool
sync_try_lock_twin(const TwinId *twin)
{
	LOCKTAG		tag;

	twin_locktag(&tag, twin);
	return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
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

	run_locktag(&tag, request, started);
	res = LockAcquire(&tag, ExclusiveLock, true, true);
	if (res == LOCKACQUIRE_ALREADY_HELD || res == LOCKACQUIRE_ALREADY_CLEAR)
		LockRelease(&tag, ExclusiveLock, true);	/* hold it once, not twice */
	else if (res == LOCKACQUIRE_OK)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		RunLock    *rl = palloc(sizeof(RunLock));

		rl->request = request;
		rl->started = started;
		rl->subid = GetCurrentSubTransactionId();
		rl->in_xact = true;
		run_locks = lappend(run_locks, rl);
		MemoryContextSwitchTo(old);
	}
	return res != LOCKACQUIRE_NOT_AVAIL;
}

/* release every run lock this session holds on a request; false if none */
bool
sync_run_unlock(int64 request)
{
	ListCell   *lc;
	bool		released = false;

	foreach(lc, run_locks)
	{
		RunLock    *rl = lfirst(lc);
		LOCKTAG		tag;

		if (rl->request != request)
			continue;
		run_locktag(&tag, rl->request, rl->started);
		released |= LockRelease(&tag, ExclusiveLock, true);
		run_locks = foreach_delete_current(run_locks, lc);
		pfree(rl);
	}
	return released;
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

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
 * A run lock is an exclusive session lock on one running sync request,
 * held by the gateway backend that claimed it.  It dies with that backend,
 * which is how a crashed gateway is noticed: whoever can take the lock
 * knows its holder is gone.  One per running twin; none per pending
 * request.
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
 * Run locks taken in the current transaction.  A session lock outlives an
 * abort, but the claim that took it does not: so on abort they are
 * released, and on commit merely forgotten.
 */
static List *run_locks_this_xact = NIL;

/* when this backend last swept for dead gateways */
static TimestampTz last_sweep = 0;

static void run_locktag(LOCKTAG *tag, int64 request);

static void
sync_lock_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			foreach(lc, run_locks_this_xact)
			{
				LOCKTAG		tag;
				int64	   *request = (int64 *) lfirst(lc);

				run_locktag(&tag, *request);
				LockRelease(&tag, ExclusiveLock, true);
			}
			/* FALLTHROUGH */
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			list_free_deep(run_locks_this_xact);
			run_locks_this_xact = NIL;
			break;
		default:
			break;
	}
}

void
SyncLockInit(void)
{
	RegisterXactCallback(sync_lock_xact_callback, NULL);
}

static void
twin_locktag(LOCKTAG *tag, const TwinId *twin)
{
	uint64		h = hash_bytes_extended(twin->data, TWIN_ID_LEN, 0);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h,
						 DTMV_LOCKSPACE_TWIN);
}

static void
run_locktag(LOCKTAG *tag, int64 request)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) ((uint64) request >> 32),
						 (uint32) request, DTMV_LOCKSPACE_RUN);
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

/* take the session run lock of a request; false if another backend holds it */
bool
sync_run_lock(int64 request)
{
	LOCKTAG		tag;
	LockAcquireResult res;

	run_locktag(&tag, request);
	res = LockAcquire(&tag, ExclusiveLock, true, true);
	if (res == LOCKACQUIRE_ALREADY_HELD || res == LOCKACQUIRE_ALREADY_CLEAR)
		LockRelease(&tag, ExclusiveLock, true);	/* hold it once, not twice */
	else if (res == LOCKACQUIRE_OK)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		int64	   *remembered = palloc(sizeof(int64));

		*remembered = request;
		run_locks_this_xact = lappend(run_locks_this_xact, remembered);
		MemoryContextSwitchTo(old);
	}
	return res != LOCKACQUIRE_NOT_AVAIL;
}

/* release this backend's run lock of a request, if it holds it */
bool
sync_run_unlock(int64 request)
{
	LOCKTAG		tag;

	run_locktag(&tag, request);
	if (!LockHeldByMe(&tag, ExclusiveLock))
		return false;
	return LockRelease(&tag, ExclusiveLock, true);
}

/* is the run lock of a request held, by this backend or another? */
bool
sync_run_lock_held(int64 request)
{
	LOCKTAG		tag;

	run_locktag(&tag, request);
	if (LockHeldByMe(&tag, ExclusiveLock))
		return true;
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

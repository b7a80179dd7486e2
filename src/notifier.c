/*
 * notifier.c
 *		Coalesced wake-ups for event listeners (REQ-DT-06, scenario 7.2.1).
 *
 * On PostgreSQL 15 every transaction that NOTIFYs takes one cluster-wide
 * lock at commit, and every NOTIFY signals every listening backend of the
 * database.  With many writers and many listeners that serialises the write
 * path.  So when dtmv is preloaded, writers do not NOTIFY: an event append
 * (events.c) asks to wake the background worker when the transaction
 * commits, and the worker (worker.c) orders the events that committed
 * (event_order.c) and sends, in that transaction, one notification per
 * channel for the batch.  Without preloading, writers NOTIFY directly.
 * Whether a worker serves this database (NotifierActive) also tells a
 * reader whether it must have the events ordered itself.
 *
 * Shared state: the worker's latch and database, set when the worker starts
 * and cleared when it exits.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "notifier.h"

typedef struct NotifierShared
{
	slock_t		mutex;
	Latch	   *latch;			/* the worker's, while it runs */
	Oid			dboid;			/* the database it serves */
} NotifierShared;

static NotifierShared *notifier = NULL;
static bool wake_at_commit = false;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
notifier_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(NotifierShared)));
}

static void
notifier_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	notifier = ShmemInitStruct("dtmv notifier", sizeof(NotifierShared), &found);
	if (!found)
	{
		SpinLockInit(&notifier->mutex);
		notifier->latch = NULL;
		notifier->dboid = InvalidOid;
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
notifier_xact_callback(XactEvent event, void *arg)
{
	Latch	   *latch = NULL;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (wake_at_commit && notifier != NULL)
			{
				SpinLockAcquire(&notifier->mutex);
				latch = notifier->latch;
				SpinLockRelease(&notifier->mutex);
				if (latch != NULL)
					SetLatch(latch);
			}
			wake_at_commit = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* a prepared transaction's events are picked up by the worker's timer */
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

/* from _PG_init: shared memory when preloading, the commit callback always */
void
NotifierInit(void)
{
	RegisterXactCallback(notifier_xact_callback, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = notifier_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = notifier_shmem_startup;
}

static void
notifier_detach(int code, Datum arg)
{
	SpinLockAcquire(&notifier->mutex);
	if (notifier->latch == MyLatch)
	{
		notifier->latch = NULL;
		notifier->dboid = InvalidOid;
	}
	SpinLockRelease(&notifier->mutex);
}

/* from the worker, once connected: writers in its database wake it from now on */
void
NotifierAttach(void)
{
	if (notifier == NULL)
		return;
	SpinLockAcquire(&notifier->mutex);
	notifier->latch = MyLatch;
	notifier->dboid = MyDatabaseId;
	SpinLockRelease(&notifier->mutex);
	before_shmem_exit(notifier_detach, 0);
}

/* is a worker sending this database's wake-ups? */
bool
NotifierActive(void)
{
	bool		active = false;

	if (notifier != NULL)
	{
		SpinLockAcquire(&notifier->mutex);
		active = notifier->latch != NULL && notifier->dboid == MyDatabaseId;
		SpinLockRelease(&notifier->mutex);
	}
	return active;
}

/* wake the worker when this transaction commits */
void
NotifierWakeAtCommit(void)
{
	wake_at_commit = true;
}

PG_FUNCTION_INFO_V1(dtmv_notifier_active);
Datum
dtmv_notifier_active(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(NotifierActive());
}


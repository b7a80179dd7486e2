/*
 * dtmv.c
 *		Entry point of the dtmv extension: module magic and _PG_init, which
 *		calls one initialiser per module.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "actor.h"
#include "geometry.h"
#include "notifier.h"
#include "rights.h"
#include "sync_lock.h"
#include "sync_queue.h"
#include "table_write.h"
#include "worker.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

void
_PG_init(void)
{
	ActorInit();
	RightsInit();
	GeometryInit();
	TableWriteInit();
	SyncLockInit();
	SyncQueueInit();
	NotifierInit();
	WorkerInit();

	/* No dtmv.* setting exists but ours; none names who is acting. */
	MarkGUCPrefixReserved("dtmv");
}

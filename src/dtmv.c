/*
 * dtmv.c
 *		Entry point of the dtmv extension: module magic and _PG_init, which
 *		calls one initialiser per module.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "actor.h"
#include "catalog.h"
#include "geometry.h"
#include "notifier.h"
#include "sync_lock.h"
#include "table_write.h"
#include "worker.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

void
_PG_init(void)
{
	CatalogInit();
	ActorInit();
	GeometryInit();
	TableWriteInit();
	SyncLockInit();
	NotifierInit();
	WorkerInit();

	/* No dtmv.* setting exists but ours; none names who is acting. */
	MarkGUCPrefixReserved("dtmv");
}

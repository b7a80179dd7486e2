/*
 * dtmv.c
 *		The library's entry point: PG_MODULE_MAGIC and _PG_init.
 *
 * _PG_init runs once in each process that loads the library: in the
 * postmaster when dtmv is in shared_preload_libraries (its children inherit
 * what it set up), otherwise in a backend at its first call of a dtmv
 * function.  It calls one initialiser per module, each registering what its
 * module needs of the server: the relation-id cache's relcache callback
 * (catalog.c), the acting subject's transaction callbacks (actor.c), the
 * PostGIS lookups' invalidation (geometry.c), that of the direct writes'
 * CHECK cache (table_write.c), the run locks' transaction callbacks
 * (sync_lock.c), the wake-up at commit (notifier.c; its shared memory only
 * while preloading), and the settings and the background worker (worker.c;
 * dtmv.database and the worker only while preloading), and the bound on
 * calls on other systems (federation.c), and the event relay's settings and
 * worker (federation_events.c; the worker only while preloading).  Then it reserves
 * the dtmv. prefix of settings, so that no one can SET a dtmv.* variable of
 * their own.
 *
 * Nothing else lives here: the C of each SQL function is in the file of its
 * concern (docs/operations.md, "How a call travels").  No header file:
 * nothing calls into this one.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "actor.h"
#include "catalog.h"
#include "federation.h"
#include "federation_events.h"
#include "geometry.h"
#include "notifier.h"
#include "sync_lock.h"
#include "sync_queue.h"
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
	SyncQueueInit();
	NotifierInit();
	WorkerInit();
	FederationInit();
	FederationEventsInit();

	/* No dtmv.* setting exists but ours; none names who is acting. */
	MarkGUCPrefixReserved("dtmv");
}

/*
 * dtmv.c
 *		Entry point of the dtmv extension: module magic and _PG_init, which
 *		calls one initialiser per module.
 */
#include "postgres.h"

#include "fmgr.h"

#include "actor.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

void
_PG_init(void)
{
	ActorInit();
}

/*
 * worker.h
 *		The background worker that queues periodic syncs (REQ-DT-07).
 */
#ifndef DTMV_WORKER_H
#define DTMV_WORKER_H

#include "postgres.h"
#include "fmgr.h"

extern void WorkerInit(void);
extern PGDLLEXPORT void dtmv_worker_main(Datum main_arg);

#endif							/* DTMV_WORKER_H */

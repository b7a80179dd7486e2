/*
 * worker.h
 *		The background worker: events ordered and woken, periodic and dead
 *		syncs (REQ-DT-06, REQ-DT-07); and what dtmv's other background
 *		worker (the short-lived orderer, event_order.c) shares with it.
 */
#ifndef DTMV_WORKER_H
#define DTMV_WORKER_H

#include "postgres.h"
#include "fmgr.h"

extern void WorkerInit(void);

/* register a background worker of dtmv's (while preloading) */
extern void worker_register(const char *name, const char *function);

/* a part of a background worker's work: runs in a transaction of its own */
typedef void (*WorkerPart) (void);

/* run a part in a READ COMMITTED transaction of its own; false on an error (logged) */
extern bool worker_step(const char *activity, WorkerPart part, bool snapshot);

/* wait for the latch or the timeout; then end if told to, reload settings if asked */
extern void worker_wait(long timeout_ms);

/* the settings a dtmv background worker runs with, whatever the database's */
extern void worker_session_settings(void);
extern PGDLLEXPORT void dtmv_worker_main(Datum main_arg);

#endif							/* DTMV_WORKER_H */

/*
 * sync_queue.h
 *		The priority sync queue (REQ-DT-07, REQ-DT-08): request, claim,
 *		completion and recovery of dead runs, in C.
 */
#ifndef DTMV_SYNC_QUEUE_H
#define DTMV_SYNC_QUEUE_H

#include "postgres.h"

/* defines dtmv.max_sync_lease */
extern void SyncQueueInit(void);

/* requeue the runs whose gateway died or whose lease expired; how many */
extern int	sync_recover_dead(void);

/* queue a sync for each twin whose period elapsed (at most max if has_max); how many */
extern int	sync_queue_due(int32 max, bool has_max);

#endif							/* DTMV_SYNC_QUEUE_H */

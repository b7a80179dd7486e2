/*
 * sync_queue.h
 *		The priority sync queue (REQ-DT-07, REQ-DT-08): request, claim,
 *		completion and recovery of dead runs, in C.
 */
#ifndef DTMV_SYNC_QUEUE_H
#define DTMV_SYNC_QUEUE_H

extern void SyncQueueInit(void);

#endif							/* DTMV_SYNC_QUEUE_H */

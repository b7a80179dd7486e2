/*
 * sync_lock.h
 *		Advisory locks of the sync queue, in a lock-tag space of our own
 *		(REQ-DT-07, REQ-DT-08).
 */
#ifndef DTMV_SYNC_LOCK_H
#define DTMV_SYNC_LOCK_H

#include "datatype/timestamp.h"

#include "twin_id.h"

/*
 * locktag_field4 values.  SQL's pg_advisory_* functions use 1 (bigint key)
 * and 2 (two int keys), so no call of theirs with a key can take or
 * release ours; pg_advisory_unlock_all() and DISCARD ALL, though, drop
 * every session advisory lock, ours included (docs/sync.md).
 */
#define DTMV_LOCKSPACE_TWIN 0x4454	/* per-twin decisions: transaction locks */
#define DTMV_LOCKSPACE_RUN	0x4455	/* running sync requests: session locks */
#define DTMV_LOCKSPACE_EVENT_ORDER 0x4456	/* the event orderer (event_order.c):
											 * one per database */

extern void SyncLockInit(void);

/* twin locks: transaction-level; wait for one, or take it only if free */
extern void sync_lock_twin(const TwinId *twin);
extern bool sync_try_lock_twin(const TwinId *twin);
extern int	sync_lock_end_overdue(int timeout_ms);
/*
 * run locks: session-level, one per run (a request and when its run
 * started), released on abort of the (sub)transaction that took them
 */
extern bool sync_run_lock(int64 request, TimestampTz started);
extern bool sync_run_unlock(int64 request);
extern void sync_run_unlock_at_commit(int64 request);

/* whether a run (a request and when its run started) is still running */
typedef bool (*SyncRunCurrent) (int64 request, TimestampTz started);
extern void sync_run_locks_forget_stale(SyncRunCurrent current);
extern bool sync_run_lock_mine(int64 request, TimestampTz started);
extern bool sync_run_lock_held(int64 request, TimestampTz started);
/* true at most once per every_ms milliseconds in this backend */
extern bool sync_sweep_due(int every_ms);

#endif							/* DTMV_SYNC_LOCK_H */

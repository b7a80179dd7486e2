/*
 * sync_lock.h
 *		Advisory locks of the sync queue, in a lock-tag space of our own
 *		(REQ-DT-07, REQ-DT-08).
 */
#ifndef DTMV_SYNC_LOCK_H
#define DTMV_SYNC_LOCK_H

/*
 * locktag_field4 values.  SQL's pg_advisory_* functions use 1 (bigint key)
 * and 2 (two int keys), so no call of theirs can take or release ours.
 */
#define DTMV_LOCKSPACE_TWIN 0x4454	/* per-twin decisions: transaction locks */
#define DTMV_LOCKSPACE_RUN	0x4455	/* running sync requests: session locks */

extern void SyncLockInit(void);

/* is the run lock of a request held, by this backend or another? */
extern bool sync_run_lock_held(int64 request);

#endif							/* DTMV_SYNC_LOCK_H */

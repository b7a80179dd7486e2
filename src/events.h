/*
 * events.h
 *		Event ids that catch-up can trust (REQ-DT-06, REQ-MV-03/04).
 */
#ifndef DTMV_EVENTS_H
#define DTMV_EVENTS_H

#include "postgres.h"

/*
 * An event id is the inserting transaction's 64-bit xid shifted left by
 * EVENT_ID_XID_SHIFT, plus the event's number within that transaction.
 */
#define EVENT_ID_XID_SHIFT 20
#define EVENT_ID_MAX_PER_XACT ((1 << EVENT_ID_XID_SHIFT) - 1)

/*
 * Append an event (for the readers of twin, or for the addressee only) in
 * this transaction and see that its listeners are woken; returns its id.
 */
extern int64 event_append(Datum twin, bool twin_isnull, Datum addressee, bool addressee_isnull,
						  const char *kind, Datum payload, bool payload_isnull);

#endif							/* DTMV_EVENTS_H */

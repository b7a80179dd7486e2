/*
 * events.h
 *		Appending events to the log (REQ-DT-06, REQ-MV-03/04).
 */
#ifndef DTMV_EVENTS_H
#define DTMV_EVENTS_H

#include "postgres.h"

/*
 * Append an event (for the readers of twin, or for the addressee only) in
 * this transaction and see that its listeners are woken; returns its entry
 * number (its place in the delivery order is given after commit).
 */
extern int64 event_append(Datum twin, bool twin_isnull, Datum addressee, bool addressee_isnull,
						  const char *kind, Datum payload, bool payload_isnull);

/*
 * Merge a patch (a JSON object) into a twin's reported state, or replace it;
 * reported_at becomes now.  Call with the twin's lock held; false if the
 * twin does not exist.  Every writer of reported state goes through here.
 */
extern bool twin_state_store_reported(Datum twin, Datum patch, bool patch_isnull, bool replace);

#endif							/* DTMV_EVENTS_H */

/*
 * notifier.h
 *		Coalesced wake-ups for event listeners (REQ-DT-06, scenario 7.2.1).
 */
#ifndef DTMV_NOTIFIER_H
#define DTMV_NOTIFIER_H

extern void NotifierInit(void);
extern void NotifierAttach(void);

/* is the worker sending this database's wake-ups? */
extern bool NotifierActive(void);

/* wake the worker when this transaction commits */
extern void NotifierWakeAtCommit(void);

#endif							/* DTMV_NOTIFIER_H */

/*
 * notifier.h
 *		Coalesced wake-ups for event listeners (REQ-DT-06, scenario 7.2.1).
 */
#ifndef DTMV_NOTIFIER_H
#define DTMV_NOTIFIER_H

extern void NotifierInit(void);
extern void NotifierAttach(void);

#endif							/* DTMV_NOTIFIER_H */

/*
 * federation_events.h
 *		The event relay: remote twins' events pulled into this system's log
 *		(docs/federation.md, "Events across systems").
 */
#ifndef DTMV_FEDERATION_EVENTS_H
#define DTMV_FEDERATION_EVENTS_H

#include "postgres.h"
#include "fmgr.h"

extern void FederationEventsInit(void);
extern PGDLLEXPORT void dtmv_relay_main(Datum main_arg);

#endif							/* DTMV_FEDERATION_EVENTS_H */

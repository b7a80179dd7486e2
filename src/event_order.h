/*
 * event_order.h
 *		The delivery order of events, given after commit (event_order.c).
 */
#ifndef DTMV_EVENT_ORDER_H
#define DTMV_EVENT_ORDER_H

#include "postgres.h"

#include "fmgr.h"

/* how many events one orderer's transaction moves at most */
#define EVENT_ORDER_BATCH 10000

/*
 * Order at most max committed events of the inbox in this (READ COMMITTED)
 * transaction, NOTIFYing their channels if wake (*woken: how many).
 * Returns how many were ordered, or -1 if another transaction is ordering
 * and wait is false (with wait, lock_timeout bounds the wait).
 */
extern int	event_order_batch(int max, bool wait, bool wake, int *woken);

/* main of the short-lived orderer that a reader starts (no preloading) */
extern PGDLLEXPORT void dtmv_event_order_main(Datum main_arg);

#endif							/* DTMV_EVENT_ORDER_H */

/*
 * events.c
 *		Event ids ordered by inserting transaction (REQ-DT-06, REQ-MV-03/04).
 *
 * A client catches up with "every event after the last id I saw".  With ids
 * from a sequence that is unsafe: a transaction can take id 10, another take
 * id 11 and commit first, and a client that reads 11 and moves its cursor
 * past 10 never sees 10.  So an event's id is built from its transaction's
 * 64-bit xid (xid8) and a counter within the transaction, and
 * dtmv.events_since delivers only events whose transaction is older than
 * the oldest transaction still running (the snapshot's xmin): every such
 * transaction has ended, so no event with a smaller id can appear later.
 * See docs/events.md.
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "events.h"

static FullTransactionId event_last_xid = {0};
static int64 event_last_n = 0;

/* the id of the next event of this transaction (assigns an xid if none) */
PG_FUNCTION_INFO_V1(dtmv_next_event_id);
Datum
dtmv_next_event_id(PG_FUNCTION_ARGS)
{
	FullTransactionId xid = GetTopFullTransactionId();
	uint64		xid64 = U64FromFullTransactionId(xid);

	if (FullTransactionIdEquals(xid, event_last_xid))
	{
		if (++event_last_n > EVENT_ID_MAX_PER_XACT)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many dtmv events in one transaction"),
					 errdetail("A transaction may append at most %d events.",
							   EVENT_ID_MAX_PER_XACT + 1)));
	}
	else
	{
		event_last_xid = xid;
		event_last_n = 0;
	}
	if (xid64 >= (UINT64CONST(1) << (63 - EVENT_ID_XID_SHIFT)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("transaction id %llu is too large for a dtmv event id",
						(unsigned long long) xid64)));
	PG_RETURN_INT64((int64) ((xid64 << EVENT_ID_XID_SHIFT) | (uint64) event_last_n));
}

/*
 * The smallest event id that a transaction still running (or one not yet
 * started) could give an event: events below it are final.
 */
PG_FUNCTION_INFO_V1(dtmv_event_id_horizon);
Datum
dtmv_event_id_horizon(PG_FUNCTION_ARGS)
{
	uint64		xmin = PG_GETARG_INT64(0);

	PG_RETURN_INT64((int64) (xmin << EVENT_ID_XID_SHIFT));
}

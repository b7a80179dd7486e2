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
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "actor.h"
#include "events.h"
#include "notifier.h"
#include "table_write.h"
#include "twin_id.h"
#include "wake_channels.h"

static FullTransactionId event_last_xid = {0};
static int64 event_last_n = 0;

/* the id of the next event of this transaction (assigns an xid if none) */
static int64
event_next_id(void)
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
	return (int64) ((xid64 << EVENT_ID_XID_SHIFT) | (uint64) event_last_n);
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

/*
 * Without the worker, NOTIFY each channel that should hear the event
 * (wake_channels.c: the one definition of who hears what), with the event
 * id as payload.  Sent at commit, as NOTIFY is.
 */
static void
event_notify(Datum twin, bool twin_isnull, Datum addressee, bool addressee_isnull, int64 id)
{
	int			n;
	WakeChannel *channels = wake_channels_of_event(twin, twin_isnull, addressee, addressee_isnull, id, &n);

	(void) wake_notify(channels, n);
}

/*
 * Append an event to the log and see that its listeners are woken: the one
 * writer of dtmv.events.  An event is for the readers of its twin, or for
 * one subject (the addressee) only; payload NULL stands for {}.  With the
 * worker running (dtmv preloaded) the wake-up is its job, sent coalesced
 * after commit; otherwise NOTIFY here.
 */
int64
event_append(Datum twin, bool twin_isnull, Datum addressee, bool addressee_isnull,
			 const char *kind, Datum payload, bool payload_isnull)
{
	TableWrite	tw;
	Datum	   *values;
	bool	   *nulls;
	int			natts;
	int64		id;

	table_write_open(&tw, "events");
	id = event_next_id();			/* after the read-only check: it assigns an xid */
	natts = RelationGetDescr(tw.rel)->natts;
	values = palloc0(natts * sizeof(Datum));
	nulls = palloc(natts * sizeof(bool));
	memset(nulls, true, natts * sizeof(bool));
#define EVENT_SET(column, value, isnull) \
	do { \
		AttrNumber	attno = table_write_attnum(&tw, column); \
		values[attno - 1] = (value); \
		nulls[attno - 1] = (isnull); \
	} while (0)
	EVENT_SET("event_id", Int64GetDatum(id), false);
	EVENT_SET("twin", twin, twin_isnull);
	EVENT_SET("subject_id", addressee, addressee_isnull);
	EVENT_SET("kind", CStringGetTextDatum(kind), false);
	EVENT_SET("payload", payload_isnull ? DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")) : payload, false);
	EVENT_SET("created_at", TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false);
#undef EVENT_SET
	table_write_insert(&tw, values, nulls);
	table_write_close(&tw);

	if (NotifierActive())
		NotifierWakeAtCommit();
	else
		event_notify(twin, twin_isnull, addressee, addressee_isnull, id);
	return id;
}

/* dtmv._append_event(twin, addressee, kind, payload): the new event's id */
PG_FUNCTION_INFO_V1(dtmv_append_event);
Datum
dtmv_append_event(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an event kind is required")));
	PG_RETURN_INT64(event_append(PG_GETARG_DATUM(0), PG_ARGISNULL(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1),
								 text_to_cstring(PG_GETARG_TEXT_PP(2)),
								 PG_GETARG_DATUM(3), PG_ARGISNULL(3)));
}

/* the new version of a twin_states row: the report merged into the reported state */
static void
event_merge_reported(TableWrite *tw, Datum *values, bool *nulls, void *arg)
{
	AttrNumber	reported = table_write_attnum(tw, "reported");
	AttrNumber	reported_at = table_write_attnum(tw, "reported_at");

	/* NOT NULL: a NULL would make the constraint check fail, as in SQL */
	if (!nulls[reported - 1])
		values[reported - 1] = DirectFunctionCall2(jsonb_concat, values[reported - 1], *(Datum *) arg);
	values[reported_at - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	nulls[reported_at - 1] = false;
}

/*
 * dtmv.report(twin, kind, payload): the physical object reports (gateways
 * only); the payload (a JSON object, NULL for {}) is merged into the twin's
 * reported state and logged as an event in the same transaction; returns the
 * event id.  In C: it is the hottest write path of the events.
 */
PG_FUNCTION_INFO_V1(dtmv_report);
Datum
dtmv_report(PG_FUNCTION_ARGS)
{
	Datum		payload;
	TableWrite	tw;

	actor_require_role(GATEWAY_ROLE, "report events");
	payload = PG_ARGISNULL(2) ? DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")) : PG_GETARG_DATUM(2);
	if (!JB_ROOT_IS_OBJECT(DatumGetJsonbP(payload)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an event payload is a JSON object, not %s",
						TextDatumGetCString(DirectFunctionCall1(jsonb_typeof, payload)))));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a twin is required")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an event kind is required")));

	table_write_open(&tw, "twin_states");
	if (!table_write_update_row(&tw, "twin_states_pkey", PG_GETARG_DATUM(0), event_merge_reported, &payload))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("twin %s does not exist", twin_id_to_cstring(PG_GETARG_TWINID_P(0)))));
	table_write_close(&tw);

	PG_RETURN_INT64(event_append(PG_GETARG_DATUM(0), false, (Datum) 0, true,
								 text_to_cstring(PG_GETARG_TEXT_PP(1)), payload, false));
}

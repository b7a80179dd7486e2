/*
 * events.c
 *		Appending events to the log (REQ-DT-06, REQ-MV-03/04), and the
 *		report of a physical object.
 *
 * A writer appends its event to dtmv.event_inbox, in the transaction of
 * the state change it records, with an entry number from a sequence.  That
 * number says nothing of the delivery order: a transaction can take entry
 * 10, another take 11 and commit first.  The place in the order (the id a
 * client continues from) is given after commit, by the orderer
 * (event_order.c).  See docs/events.md.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/sequence.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "actor.h"
#include "agents.h"
#include "events.h"
#include "notifier.h"
#include "sync_lock.h"
#include "table_write.h"
#include "twin_id.h"
#include "wake_channels.h"

/* the next entry number (dtmv.event_entries) */
static int64
event_next_entry(void)
{
	return nextval_internal(catalog_sequence_relid(CATALOG_EVENT_ENTRIES), false);
}

/*
 * Without the worker, NOTIFY each channel that should hear the event
 * (wake_channels.c: the one definition of who hears what), with an empty
 * payload: the event's place in the order is not known before it commits.
 * Sent at commit, as NOTIFY is; identical ones of a transaction merge.
 */
static void
event_notify(Datum twin, bool twin_isnull, Datum addressee, bool addressee_isnull)
{
	int			n;
	WakeChannel *channels = wake_channels_of_event(twin, twin_isnull, addressee, addressee_isnull, 0, &n);

	(void) wake_notify(channels, n, false);
}

/*
 * Append an event to the inbox and see that its listeners are woken: the
 * one writer of the log.  An event is for the readers of its twin, or for
 * one subject (the addressee) only; payload NULL stands for {}.  Returns
 * its entry number.  With the worker running (dtmv preloaded) the wake-up
 * is its job, sent coalesced once it has ordered the event; otherwise
 * NOTIFY here.
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

	identifier_require(kind, "kind of event");

	/*
	 * A direct insert (table_write.c): every event goes through here, many
	 * thousand a second.  It gives up what an INSERT statement has beyond
	 * one row's insert: rules, statement and BEFORE row triggers (refused),
	 * column defaults (every column is set here), privilege and RLS checks
	 * (callers check the caller's right), the executor hooks.
	 */
	table_write_open(&tw, CATALOG_EVENT_INBOX);
	id = event_next_entry();		/* after the read-only check */
	natts = RelationGetDescr(tw.rel)->natts;
	values = palloc0(natts * sizeof(Datum));
	nulls = palloc(natts * sizeof(bool));
	memset(nulls, true, natts * sizeof(bool));
#define EVENT_SET(column, value, isnull) \
	do { \
		values[Anum_event_inbox_##column - 1] = (value); \
		nulls[Anum_event_inbox_##column - 1] = (isnull); \
	} while (0)
	EVENT_SET(entry_id, Int64GetDatum(id), false);
	EVENT_SET(twin, twin, twin_isnull);
	EVENT_SET(subject_id, addressee, addressee_isnull);
	EVENT_SET(kind, CStringGetTextDatum(kind), false);
	EVENT_SET(payload, payload_isnull ? DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")) : payload, false);
	EVENT_SET(created_at, TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()), false);
#undef EVENT_SET
	table_write_insert(&tw, values, nulls);
	table_write_close(&tw);

	if (NotifierActive())
		NotifierWakeAtCommit();
	else
		event_notify(twin, twin_isnull, addressee, addressee_isnull);
	return id;
}

/* dtmv._append_event(twin, addressee, kind, payload): the new event's entry number */
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

/* a change of a twin's reported state: a patch merged into it, or replacing it */
typedef struct ReportedChange
{
	Datum		patch;
	bool		has_patch;
	bool		replace;
} ReportedChange;

/* the new version of a twin_states row: the patch applied, reported_at now */
static void
twin_state_modify(TableWrite *tw, Datum *values, bool *nulls, void *arg)
{
	ReportedChange *change = arg;
	AttrNumber	reported = Anum_twin_states_reported;
	AttrNumber	reported_at = Anum_twin_states_reported_at;

	if (change->has_patch && change->replace)
	{
		values[reported - 1] = change->patch;
		nulls[reported - 1] = false;
	}
	/* NOT NULL: a NULL would make the constraint check fail, as in SQL */
	else if (change->has_patch && !nulls[reported - 1])
		values[reported - 1] = DirectFunctionCall2(jsonb_concat, values[reported - 1], change->patch);
	values[reported_at - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	nulls[reported_at - 1] = false;
}

/*
 * The one writer of a twin's reported state (dtmv.report, complete_sync,
 * ack_command): the patch, a JSON object, is merged into it (its keys
 * replace the same keys, the others stay) unless replace is asked for;
 * reported_at becomes now either way, also for no patch.  Call with the
 * twin's lock held.  False if the twin has no state row (no such twin).
 */
bool
twin_state_store_reported(Datum twin, Datum patch, bool patch_isnull, bool replace)
{
	ReportedChange change = {patch, !patch_isnull, replace};
	TableWrite	tw;
	bool		found;

	/* merged or replaced, a twin's reported state stays a JSON object */
	if (!patch_isnull && !JB_ROOT_IS_OBJECT(DatumGetJsonbP(patch)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a reported state is a JSON object, not %s",
						TextDatumGetCString(DirectFunctionCall1(jsonb_typeof, patch)))));

	/*
	 * A direct write (table_write.c): a report is the hottest write of the
	 * events.  It gives up what an UPDATE statement has beyond one row's
	 * update: rules, statement triggers, BEFORE row triggers (refused),
	 * privilege and RLS checks (callers check the caller's right), and the
	 * executor hooks (pg_stat_statements sees the calling statement).
	 */
	table_write_open(&tw, CATALOG_TWIN_STATES);
	found = table_write_update_row(&tw, CATALOG_TWIN_STATES_PKEY, twin, twin_state_modify, &change);
	table_write_close(&tw);
	return found;
}

/*
 * dtmv._store_reported(twin, patch, replace): the same for the SQL functions
 * that change a twin's reported state (ack_command); takes the twin's lock.
 */
PG_FUNCTION_INFO_V1(dtmv_store_reported);
Datum
dtmv_store_reported(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a twin is required")));
	sync_lock_twin(PG_GETARG_TWINID_P(0));
	PG_RETURN_BOOL(twin_state_store_reported(PG_GETARG_DATUM(0), PG_GETARG_DATUM(1), PG_ARGISNULL(1),
											 !PG_ARGISNULL(2) && PG_GETARG_BOOL(2)));
}

/*
 * dtmv.report(twin, kind, payload): the physical object reports (gateways
 * only); the payload (a JSON object, NULL for {}) is merged into the twin's
 * reported state and logged as an event in the same transaction; returns the
 * event's entry number.  The twin's lock comes first, as in every writer of
 * a twin's rows (sync_lock.c), so that a report and a sync decision in one
 * transaction cannot deadlock with a completion on the same twin.  In C: it
 * is the hottest write path of the events.
 */
PG_FUNCTION_INFO_V1(dtmv_report);
Datum
dtmv_report(PG_FUNCTION_ARGS)
{
	Datum		payload;

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

	/* only the gateway that serves the twin: checked before its lock, and again under it */
	agents_require_serves(PG_GETARG_TWINID_P(0), "report events");
	sync_lock_twin(PG_GETARG_TWINID_P(0));
	agents_require_serves_now(PG_GETARG_TWINID_P(0), "report events");
	if (!twin_state_store_reported(PG_GETARG_DATUM(0), payload, false, false))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("twin %s does not exist", twin_id_to_cstring(PG_GETARG_TWINID_P(0)))));

	PG_RETURN_INT64(event_append(PG_GETARG_DATUM(0), false, (Datum) 0, true,
								 text_to_cstring(PG_GETARG_TEXT_PP(1)), payload, false));
}

/*
 * spatial.c
 *		Location updates (scenario 7.3.2, REQ-MV-04): dtmv.sync_location.
 *
 * The rest of the spatial concern (sites and their frames, place, localize,
 * services, captures and the map) is SQL over PostGIS, in
 * sql/install/replay/90_spatial.sql; see docs/spatial.md.  This file holds
 * the one spatial call on a hot path.  A moving robot reports its position
 * many times a second, so the move is C from end to end: the position
 * checked and its grid square computed (geometry.c); the caller's control
 * right checked, the twin's lock taken and the right checked again
 * (rights.c, sync_lock.c; a gateway needs the role only); the row of
 * twin_positions rewritten (table_write.c: a HOT update while the twin
 * stays in its grid square, since no indexed column changes); and the
 * location event appended (events.c), with no SQL statement in between.
 * No header file: only its SQL function calls it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "actor.h"
#include "agents.h"
#include "events.h"
#include "geometry.h"
#include "rights.h"
#include "sync_lock.h"
#include "table_write.h"
#include "twin_id.h"

static void
spatial_push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &v);
}

static void
spatial_push_number(JsonbParseState **state, JsonbIteratorToken token, Datum numeric)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(numeric);
	pushJsonbValue(state, token, &v);
}

/*
 * {"space": ..., "position": [x, y, z]}: what a location event says (built
 * as jsonb_build_object would, without printing and parsing text)
 */
static Datum
spatial_location_payload(int64 space, const double xyz[3])
{
	JsonbParseState *state = NULL;
	JsonbValue *result;
	int			i;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	spatial_push_key(&state, "space");
	spatial_push_number(&state, WJB_VALUE, DirectFunctionCall1(int8_numeric, Int64GetDatum(space)));
	spatial_push_key(&state, "position");
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < 3; i++)
		/* through text, as to_jsonb(float8): the shortest exact form, all digits */
		spatial_push_number(&state, WJB_ELEM,
							DirectFunctionCall3(numeric_in, CStringGetDatum(float8out_internal(xyz[i])),
												ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(result));
}

typedef struct SpatialMove
{
	Datum		pos;
	double		xyz[3];
	int64		space;			/* out: the space the twin is in */
} SpatialMove;

/* the new version of a twin_positions row: position, grid square, time */
static void
spatial_move(TableWrite *tw, Datum *values, bool *nulls, void *arg)
{
	SpatialMove *move = arg;

	move->space = DatumGetInt64(values[Anum_twin_positions_space - 1]);
	values[Anum_twin_positions_position - 1] = move->pos;
	values[Anum_twin_positions_cell - 1] = geometry_cell(move->xyz[0], move->xyz[1]);
	values[Anum_twin_positions_moved_at - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
}

/*
 * dtmv.sync_location(twin, pos): a twin moved; store its new local PointZ
 * and log a location event; returns the event's entry number.  A gateway moves any twin
 * it serves; anyone else needs control on the twin.  A move within the same
 * grid square changes no indexed value: a HOT update.
 */
PG_FUNCTION_INFO_V1(dtmv_sync_location);
Datum
dtmv_sync_location(PG_FUNCTION_ARGS)
{
	TwinId	   *twin;
	SpatialMove move;
	TableWrite	tw;

	geometry_require_point3d(PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1),
							 "position", move.xyz);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a twin is required")));
	twin = PG_GETARG_TWINID_P(0);
	move.pos = PointerGetDatum(PG_DETOAST_DATUM(PG_GETARG_DATUM(1)));
	if (!actor_outer_has_role(GATEWAY_ROLE) || !agents_serves(twin))
	{
		/*
		 * Anyone but the gateway that serves the twin needs control on it.
		 * The twin's lock before its rows (sync_lock.c): the right checked
		 * before (no lock on a twin the caller may not move) and again once
		 * it is held (a revoke that committed meanwhile counts).
		 */
		rights_require(twin, DTMV_RIGHT_CONTROL_MASK);
		sync_lock_twin(twin);
		/* what committed while it waited: a newer snapshot (READ COMMITTED) */
		PushActiveSnapshot(IsolationUsesXactSnapshot() ? GetActiveSnapshot() : GetTransactionSnapshot());
		rights_require(twin, DTMV_RIGHT_CONTROL_MASK);
		PopActiveSnapshot();
	}
	else
	{
		/* the gateway that serves the twin: again once its lock is held */
		sync_lock_twin(twin);
		agents_require_serves_now(twin, "sync the location");
	}
	/*
	 * A direct write (table_write.c): the write a moving robot makes many
	 * times a second.  It gives up what an UPDATE has beyond one row's
	 * update: rules, statement and BEFORE row triggers, privilege and RLS
	 * checks (the right was checked above), the executor hooks.
	 */
	table_write_open(&tw, CATALOG_TWIN_POSITIONS);
	if (!table_write_update_row(&tw, CATALOG_TWIN_POSITIONS_PKEY, TwinIdPGetDatum(twin), spatial_move, &move))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("twin %s has not been placed in a space", twin_id_to_cstring(twin)),
				 errhint("Place it first with dtmv.place().")));
	table_write_close(&tw);

	PG_RETURN_INT64(event_append(TwinIdPGetDatum(twin), false, (Datum) 0, true, "location",
								 spatial_location_payload(move.space, move.xyz), false));
}

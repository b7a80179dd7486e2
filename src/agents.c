/*
 * agents.c
 *		Gateways and delegations (docs/rights.md, "Trust model").
 *
 * A gateway is a login mapped to a subject that dtmv.register_gateway()
 * made a gateway.  It serves a twin when the twin's device is bound through
 * it and the binding is confirmed (dtmv.twin_states.gateway and
 * binding_confirmed_at): only then may it report for the twin, take its
 * commands and syncs, and complete them.  Who the gateway is comes from the
 * login alone: a gateway acting for a user (dtmv.act_as) is still the same
 * gateway, and a service that is not a gateway serves nothing.  A superuser
 * serves every twin, as it could do anything anyway.
 *
 * A delegation (dtmv.delegations) lets a service act for a user, with at
 * most the rights it names; actor.c asks for it when dtmv.act_as() is
 * called.
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "catalog.h"
#include "agents.h"
#include "table_read.h"

int64
agents_login_subject(void)
{
	Datum		d;

	if (table_read_first_value(CATALOG_SUBJECTS_LOGIN_KEY, ObjectIdGetDatum(GetOuterUserId()),
							   Anum_subjects_subject_id, &d))
		return DatumGetInt64(d);
	return -1;
}

/*
 * Are gateways and delegations in force here?  Not in a schema still at
 * release 0.1, which had neither (its tables come with the update): there
 * any gateway serves every twin and acts for anyone, as in 0.1.
 */
bool
agents_schema_scoped(void)
{
	return catalog_table_present(CATALOG_GATEWAYS);
}

int64
agents_gateway_self(void)
{
	int64		me = agents_login_subject();
	Datum		d;

	if (me < 0 || !table_read_first_value(CATALOG_GATEWAYS_PKEY, Int64GetDatum(me),
										  Anum_gateways_subject_id, &d))
		return -1;
	return me;
}

bool
agents_serves(const TwinId *twin)
{
	int64		self;
	int64		gateway;

	if (superuser_arg(GetOuterUserId()))
		return true;
	if (!agents_schema_scoped())
		return true;			/* a schema still at 0.1: any gateway, as then */
	/* who the caller is first: no twin is read for a caller that is no gateway */
	self = agents_gateway_self();
	return self >= 0 && agents_serving_gateway(twin, &gateway) && gateway == self;
}

bool
agents_serving_gateway(const TwinId *twin, int64 *gateway)
{
	TableRead	tr;
	bool		serving = false;

	table_read_begin(&tr, CATALOG_TWIN_STATES_PKEY, NULL);
	if (catalog_table_has(tr.rel, Anum_twin_states_binding_confirmed_at))
	{
		table_read_key(&tr, 1, BTEqualStrategyNumber, TwinIdPGetDatum(twin));
		if (table_read_next(&tr))
		{
			bool		gateway_null;
			bool		unconfirmed;
			Datum		d = table_read_value(&tr, Anum_twin_states_gateway, &gateway_null);

			(void) table_read_value(&tr, Anum_twin_states_binding_confirmed_at, &unconfirmed);
			serving = !gateway_null && !unconfirmed;
			*gateway = serving ? DatumGetInt64(d) : 0;
		}
	}
	table_read_end(&tr);
	return serving;
}

void
agents_require_serves(const TwinId *twin, const char *what)
{
	if (!agents_serves(twin))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s for twin %s", what, twin_id_to_cstring(twin)),
				 errdetail("A gateway speaks only for the twins whose devices are bound through it, once the binding is confirmed."),
				 errhint("The twin's administrator binds the device with dtmv.bind_device(); the gateway confirms it with dtmv.confirm_binding().")));
}

/*
 * The same, on what has committed by now: for the check made again once
 * the twin's lock is held, whatever the caller's snapshot (one taken
 * before the wait, or a REPEATABLE READ transaction's), so that a binding
 * withdrawn meanwhile counts (a gateway keeping a transaction open does not
 * outlive its revocation).
 */
void
agents_require_serves_now(const TwinId *twin, const char *what)
{
	PushActiveSnapshot(GetLatestSnapshot());
	agents_require_serves(twin, what);
	PopActiveSnapshot();
}

bool
agents_delegated_rights(int64 subject, int64 service, int *rights)
{
	TableRead	tr;
	bool		found = false;

	table_read_begin(&tr, CATALOG_DELEGATIONS_PKEY, NULL);
	table_read_key(&tr, 1, BTEqualStrategyNumber, Int64GetDatum(subject));
	table_read_key(&tr, 2, BTEqualStrategyNumber, Int64GetDatum(service));
	if (table_read_next(&tr))
	{
		bool		isnull;

		*rights = DatumGetInt32(table_read_value(&tr, Anum_delegations_rights, &isnull));
		found = true;
	}
	table_read_end(&tr);
	return found;
}

/* the subject mapped to the login, whatever dtmv.act_as() set; NULL if none */
PG_FUNCTION_INFO_V1(dtmv_login_subject);
Datum
dtmv_login_subject(PG_FUNCTION_ARGS)
{
	int64		me = agents_login_subject();

	if (me < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(me);
}

/* does the calling gateway serve the twin? */
PG_FUNCTION_INFO_V1(dtmv_serves);
Datum
dtmv_serves(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(agents_serves(PG_GETARG_TWINID_P(0)));
}

/* 42501 unless the calling gateway serves the twin, on what has committed by now */
PG_FUNCTION_INFO_V1(dtmv_require_serves);
Datum
dtmv_require_serves(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a twin is required")));
	agents_require_serves_now(PG_GETARG_TWINID_P(0),
							  PG_ARGISNULL(1) ? "do this" : text_to_cstring(PG_GETARG_TEXT_PP(1)));
	PG_RETURN_VOID();
}

/*
 * actor.c
 *		Who is acting (REQ-DT-05).
 *
 * By default a statement acts as the subject mapped to the role in effect
 * outside any function (GetOuterUserId(), which SECURITY DEFINER functions
 * do not change).  A role with the privileges of dtmv_gateway may act for
 * another subject until the transaction ends.  That choice lives only in
 * this backend's memory: there is no GUC a client could set, and the
 * setter checks the caller's role itself, so granting EXECUTE on it by
 * mistake would still not let anyone impersonate.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "actor.h"

static bool acting_set = false;
static int64 acting_subject = 0;

static void
actor_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			acting_set = false;
			acting_subject = 0;
			break;
		default:
			break;
	}
}

void
ActorInit(void)
{
	RegisterXactCallback(actor_xact_callback, NULL);
}

/* does the outer role (the caller of any SECURITY DEFINER function) have the privileges of a role? */
bool
actor_outer_has_role(const char *rolename)
{
	Oid			roleid = get_role_oid(rolename, true);

	return OidIsValid(roleid) && has_privs_of_role(GetOuterUserId(), roleid);
}

/* 42501 unless the outer role has the privileges of the named role */
void
actor_require_role(const char *rolename, const char *what)
{
	if (!actor_outer_has_role(rolename))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s", what),
				 errdetail("Role %s does not have the privileges of %s.",
						   quote_identifier(GetUserNameFromId(GetOuterUserId(), false)),
						   rolename)));
}

/* the argument, or a stand-in when NULL: a gate must never be skipped */
static char *
actor_what(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? "do this" : text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* the role gates: dtmv._require_role(role, what) and its two common cases */
PG_FUNCTION_INFO_V1(dtmv_require_role);
Datum
dtmv_require_role(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("role must not be null")));
	actor_require_role(text_to_cstring(PG_GETARG_TEXT_PP(0)), actor_what(fcinfo, 1));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(dtmv_require_gateway);
Datum
dtmv_require_gateway(PG_FUNCTION_ARGS)
{
	actor_require_role(GATEWAY_ROLE, actor_what(fcinfo, 0));
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(dtmv_require_admin_role);
Datum
dtmv_require_admin_role(PG_FUNCTION_ARGS)
{
	actor_require_role("dtmv_admin", actor_what(fcinfo, 0));
	PG_RETURN_VOID();
}

/* act as the given subject until the end of the transaction (dtmv_gateway only) */
PG_FUNCTION_INFO_V1(dtmv_set_acting_subject);
Datum
dtmv_set_acting_subject(PG_FUNCTION_ARGS)
{
	int64		subject = PG_GETARG_INT64(0);

	if (!actor_outer_has_role(GATEWAY_ROLE))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to act as another subject"),
				 errdetail("Only roles with the privileges of %s may call dtmv.act_as().",
						   GATEWAY_ROLE)));
	if (!IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("dtmv.act_as() outside a transaction block has no effect beyond this statement")));
	acting_subject = subject;
	acting_set = true;
	PG_RETURN_VOID();
}

bool
ActorActingSubject(int64 *subject)
{
	if (acting_set)
		*subject = acting_subject;
	return acting_set;
}

/* the subject set by dtmv.act_as() in this transaction, or NULL */
PG_FUNCTION_INFO_V1(dtmv_acting_subject);
Datum
dtmv_acting_subject(PG_FUNCTION_ARGS)
{
	if (!acting_set)
		PG_RETURN_NULL();
	PG_RETURN_INT64(acting_subject);
}

/* the role in effect outside any SECURITY DEFINER function */
PG_FUNCTION_INFO_V1(dtmv_outer_role);
Datum
dtmv_outer_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

/* does the outer role have the privileges of the named role? */
PG_FUNCTION_INFO_V1(dtmv_outer_has_role);
Datum
dtmv_outer_has_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(actor_outer_has_role(text_to_cstring(PG_GETARG_TEXT_PP(0))));
}

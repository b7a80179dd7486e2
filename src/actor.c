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

#define GATEWAY_ROLE "dtmv_gateway"

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
static bool
actor_outer_has_role(const char *rolename)
{
	Oid			roleid = get_role_oid(rolename, true);

	return OidIsValid(roleid) && has_privs_of_role(GetOuterUserId(), roleid);
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

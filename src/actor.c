/*
 * actor.c
 *		Who is acting (REQ-DT-05).
 *
 * By default a statement acts as the subject mapped to the role in effect
 * outside any function (GetOuterUserId(), which SECURITY DEFINER functions
 * do not change).  A service (a role with the privileges of dtmv_gateway,
 * mapped to a subject) may act for a user who delegated to it
 * (dtmv.delegate), until the transaction ends, with at most the rights the
 * delegation names: every rights check intersects the user's rights with
 * them (rights.c).  That choice lives only in this backend's memory: there
 * is no GUC a client could set, and the setter checks the caller's role
 * and the delegation itself, so granting EXECUTE on it by mistake would
 * still not let anyone impersonate.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "actor.h"
#include "agents.h"
#include "rights.h"

static bool acting_set = false;
static int64 acting_subject = 0;
static int	acting_rights = DTMV_RIGHTS_ALL_MASK;	/* what the delegation allows */

/*
 * What each act_as() in a subtransaction replaced, so that rolling back to
 * a savepoint before it also undoes it, as it would undo a SET LOCAL.
 * Allocated in TopTransactionContext; forgotten when the transaction ends.
 */
typedef struct ActingUndo
{
	SubTransactionId subid;		/* the subtransaction that called act_as() */
	bool		prev_set;
	int64		prev_subject;
	int			prev_rights;
	struct ActingUndo *next;	/* an older one */
} ActingUndo;

static ActingUndo *acting_undo = NULL;

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
			acting_rights = DTMV_RIGHTS_ALL_MASK;
			acting_undo = NULL;
			break;
		default:
			break;
	}
}

static void
actor_subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	ActingUndo *u;

	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			/* undo, newest first, what this subtransaction set */
			while (acting_undo != NULL && acting_undo->subid == mySubid)
			{
				acting_set = acting_undo->prev_set;
				acting_subject = acting_undo->prev_subject;
				acting_rights = acting_undo->prev_rights;
				acting_undo = acting_undo->next;
			}
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			/* what it set now belongs to its parent, which may still roll back */
			for (u = acting_undo; u != NULL && u->subid == mySubid; u = u->next)
				u->subid = parentSubid;
			break;
		default:
			break;
	}
}

void
ActorInit(void)
{
	RegisterXactCallback(actor_xact_callback, NULL);
	RegisterSubXactCallback(actor_subxact_callback, NULL);
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

/*
 * Act as the given subject until the end of the transaction: a service
 * (dtmv_gateway) for a user who delegated to it, with the rights delegated;
 * a superuser for anyone.  The same 42501 whether the subject does not
 * exist or did not delegate: a service learns no names this way.
 */
PG_FUNCTION_INFO_V1(dtmv_set_acting_subject);
Datum
dtmv_set_acting_subject(PG_FUNCTION_ARGS)
{
	int64		subject = PG_ARGISNULL(0) ? -1 : PG_GETARG_INT64(0);
	int			rights = DTMV_RIGHTS_ALL_MASK;

	if (!actor_outer_has_role(GATEWAY_ROLE))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to act as another subject"),
				 errdetail("Only roles with the privileges of %s may call dtmv.act_as().",
						   GATEWAY_ROLE)));
	if (!superuser_arg(GetOuterUserId()) && agents_schema_scoped())
	{
		int64		service = agents_login_subject();

		if (subject < 0 || service < 0 || !agents_delegated_rights(subject, service, &rights))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to act as this subject"),
					 errdetail("A service acts only for a user who delegated to it."),
					 errhint("The user calls dtmv.delegate() naming the service's subject.")));
	}
	else if (subject < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a subject is required")));
	if (!IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("dtmv.act_as() outside a transaction block has no effect beyond this statement")));
	if (GetCurrentTransactionNestLevel() > 1)
	{
		ActingUndo *u = MemoryContextAlloc(TopTransactionContext, sizeof(ActingUndo));

		u->subid = GetCurrentSubTransactionId();
		u->prev_set = acting_set;
		u->prev_subject = acting_subject;
		u->prev_rights = acting_rights;
		u->next = acting_undo;
		acting_undo = u;
	}
	acting_subject = subject;
	acting_rights = rights;
	acting_set = true;
	PG_RETURN_VOID();
}

/* the rights the acting service may use: all unless acting for a user */
int
ActorActingRights(void)
{
	return acting_set ? acting_rights : DTMV_RIGHTS_ALL_MASK;
}

bool
ActorActingSubject(int64 *subject)
{
	if (acting_set)
		*subject = acting_subject;
	return acting_set;
}

/*
 * the rights the acting subject may use here: all, or, for a service acting
 * for a user, those she delegated to it (what a link to another system may
 * pass on for her, federation)
 */
PG_FUNCTION_INFO_V1(dtmv_acting_rights);
Datum
dtmv_acting_rights(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ActorActingRights());
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

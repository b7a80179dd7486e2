/*
 * federation.c
 *		Settings of the links to other systems (docs/federation.md,
 *		REQ-SI-01, REQ-SI-02b).
 *
 * The links themselves are SQL (sql/install/replay/66_federation.sql): each
 * is a dblink connection opened by name through the postgres_fdw foreign
 * server that dtmv_admin registered with the system.  Here are the
 * bound on how long a remote call may run (the SQL gives each new link it as
 * its statement_timeout at the other side, and waits for the answer at most
 * a second longer), the bound on the size of its answer, and the wait for an
 * answer (dtmv._link_wait).
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"

#include "federation.h"

/*
 * The wait for an answer: naps of FED_NAP_US for the first FED_SHORT_US (a
 * loopback or LAN answer), then doubling up to FED_NAP_MAX_US.
 */
#define FED_NAP_US		50
#define FED_SHORT_US	2000
#define FED_NAP_MAX_US	10000

PG_FUNCTION_INFO_V1(dtmv_link_wait);
PG_FUNCTION_INFO_V1(dtmv_link_ahead);
PG_FUNCTION_INFO_V1(dtmv_link_sending_ahead);
PG_FUNCTION_INFO_V1(dtmv_link_sent);
PG_FUNCTION_INFO_V1(dtmv_link_take);
PG_FUNCTION_INFO_V1(dtmv_link_abandon);

/*
 * Calls sent ahead (dtmv.search_all_twins asks every system at once): while
 * fed_sending_ahead, dtmv._remote sends its call on the link and records it
 * here (link, query string, deadline) instead of waiting; called again with
 * the same call, it reads that answer.  Both live until the transaction
 * ends, in TopTransactionContext.
 */
typedef struct FedAhead
{
	char	   *conn;
	char	   *query;
	TimestampTz deadline;
} FedAhead;

static bool fed_sending_ahead = false;
static List *fed_ahead = NIL;

static void
fed_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		fed_sending_ahead = false;
		fed_ahead = NIL;		/* its memory goes with the transaction's */
	}
}

static int	remote_timeout_ms = 5000;
static int	remote_max_bytes = 8 * 1024 * 1024;

void
FederationInit(void)
{
	DefineCustomIntVariable("dtmv.remote_timeout",
							"Longest time a call on another system may run there.",
							"Each new link to another system sets it as its statement_timeout at the other side.",
							&remote_timeout_ms, 5000, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("dtmv.remote_max_bytes",
							"Largest answer a call on another system may give.",
							"A larger answer is refused (54000) once it arrived.",
							&remote_max_bytes, 8 * 1024 * 1024, 1024, INT_MAX,
							PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	RegisterXactCallback(fed_xact_callback, NULL);
}

/*
 * dtmv._link_wait(conn text, dbl text, deadline timestamptz) RETURNS boolean:
 * wait until the next result on a dblink connection is there (true) or the
 * deadline passed (false), without blocking in dblink, whose own waits (in
 * libpq) see no cancel.  dblink_is_busy (of dblink's schema dbl, quoted) is
 * polled with naps of 50 us for the first 2 ms, then of 100 us doubling up to
 * 10 ms: pg_usleep's select() ends at any signal, so a cancel or a
 * statement_timeout here ends the wait at once (CHECK_FOR_INTERRUPTS), and a
 * nap leaves the CPU to the other side's backend (on loopback, the same
 * cores) where a spin would take it.  The naps are shorter than
 * pg_sleep's (whole milliseconds): a loopback call takes a few hundred
 * microseconds.
 */
Datum
dtmv_link_wait(PG_FUNCTION_ARGS)
{
	text	   *conn = PG_GETARG_TEXT_PP(0);
	char	   *dbl = text_to_cstring(PG_GETARG_TEXT_PP(1));
	TimestampTz deadline = PG_GETARG_TIMESTAMPTZ(2);
	Oid			argtypes[1] = {TEXTOID};
	List	   *names;
	Oid			is_busy;
	AclResult	acl;
	TimestampTz start = GetCurrentTimestamp();
	long		nap = FED_NAP_US;

	names = lappend(stringToQualifiedNameList(dbl), makeString(pstrdup("dblink_is_busy")));
	is_busy = LookupFuncName(names, 1, argtypes, false);
	acl = pg_proc_aclcheck(is_busy, GetUserId(), ACL_EXECUTE);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_FUNCTION, NameListToString(names));

	for (;;)
	{
		TimestampTz now;

		if (DatumGetInt32(OidFunctionCall1(is_busy, PointerGetDatum(conn))) == 0)
			PG_RETURN_BOOL(true);
		now = GetCurrentTimestamp();
		if (now >= deadline)
			PG_RETURN_BOOL(false);
		if (now - start > FED_SHORT_US)
			nap = Min(Max(nap * 2, 2 * FED_NAP_US), FED_NAP_MAX_US);
		pg_usleep(Min(nap, deadline - now));
		CHECK_FOR_INTERRUPTS();
	}
}

/* dtmv._link_ahead(on boolean) RETURNS boolean: calls are sent ahead (or not) */
Datum
dtmv_link_ahead(PG_FUNCTION_ARGS)
{
	bool		was = fed_sending_ahead;

	fed_sending_ahead = PG_GETARG_BOOL(0);
	PG_RETURN_BOOL(was);
}

/* dtmv._link_sending_ahead() RETURNS boolean */
Datum
dtmv_link_sending_ahead(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(fed_sending_ahead);
}

/* dtmv._link_sent(conn text, query text, deadline timestamptz): a call was sent ahead */
Datum
dtmv_link_sent(PG_FUNCTION_ARGS)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
	FedAhead   *a = palloc(sizeof(FedAhead));

	a->conn = text_to_cstring(PG_GETARG_TEXT_PP(0));
	a->query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	a->deadline = PG_GETARG_TIMESTAMPTZ(2);
	fed_ahead = lappend(fed_ahead, a);
	MemoryContextSwitchTo(old);
	PG_RETURN_VOID();
}

/*
 * dtmv._link_take(conn text, query text) RETURNS timestamptz: the deadline of
 * that call if it was sent ahead on that link and not read yet (now it is
 * taken), else NULL.
 */
Datum
dtmv_link_take(PG_FUNCTION_ARGS)
{
	char	   *conn = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ListCell   *lc;

	foreach(lc, fed_ahead)
	{
		FedAhead   *a = lfirst(lc);

		if (strcmp(a->conn, conn) == 0 && strcmp(a->query, query) == 0)
		{
			TimestampTz deadline = a->deadline;

			fed_ahead = foreach_delete_current(fed_ahead, lc);
			PG_RETURN_TIMESTAMPTZ(deadline);
		}
	}
	PG_RETURN_NULL();
}

/*
 * dtmv._link_abandon() RETURNS text[]: the links whose calls sent ahead were
 * not read (to be closed: their answers would come before the next call's),
 * forgotten now; sending ahead ends.
 */
Datum
dtmv_link_abandon(PG_FUNCTION_ARGS)
{
	ArrayBuildState *astate = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	ListCell   *lc;

	foreach(lc, fed_ahead)
	{
		FedAhead   *a = lfirst(lc);

		astate = accumArrayResult(astate, CStringGetTextDatum(a->conn), false, TEXTOID, CurrentMemoryContext);
	}
	fed_ahead = NIL;
	fed_sending_ahead = false;
	PG_RETURN_DATUM(makeArrayResult(astate, CurrentMemoryContext));
}

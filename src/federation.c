/*
 * federation.c
 *		Settings of the links to other systems (docs/federation.md,
 *		REQ-SI-01, REQ-SI-02b).
 *
 * The links themselves are SQL (sql/install/replay/62_federation.sql): each
 * is a dblink connection opened by name through the postgres_fdw foreign
 * server that dtmv_admin registered with the system.  Here is only the bound
 * on how long a remote call may run, which the SQL gives each new link as
 * its statement_timeout at the other side.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "federation.h"

static int	remote_timeout_ms = 5000;

void
FederationInit(void)
{
	DefineCustomIntVariable("dtmv.remote_timeout",
							"Longest time a call on another system may run there.",
							"Each new link to another system sets it as its statement_timeout at the other side.",
							&remote_timeout_ms, 5000, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
}

/*
 * federation.c
 *		Settings of the links to other systems (docs/federation.md,
 *		REQ-SI-01, REQ-SI-02b).
 *
 * The links themselves are SQL (sql/install/replay/66_federation.sql): each
 * is a dblink connection opened by name through the postgres_fdw foreign
 * server that dtmv_admin registered with the system.  Here are only the
 * bound on how long a remote call may run (the SQL gives each new link it as
 * its statement_timeout at the other side, and waits for the answer at most
 * a second longer) and on the size of its answer.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "federation.h"

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
}

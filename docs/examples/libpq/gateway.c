/*
 * A dtmv gateway for some devices, in C with libpq (docs/applications.md).
 *
 * It confirms that its devices are here, carries out their twins' commands
 * and runs their twins' syncs with the state each device reports, and no
 * other twin's; it reconnects after a lost connection:
 *
 *   cc -o gateway gateway.c -I$(pg_config --includedir) -lpq
 *   PGUSER=home_gw ./gateway [--pooler] SERIAL...
 *
 * The connection comes from the PG* environment variables, as the gateway's
 * login (a role in dtmv_gateway, registered by dtmv_admin).  --pooler: behind
 * PgBouncer in transaction mode (runs live by their lease, no LISTEN).  The
 * devices are pretend ones (pretend_door.h): put your device's protocol there.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pretend_door.h" /* the devices: put your device's protocol there */

#define DEVICE_TIMEOUT 60 /* seconds a device may take to answer */
/* seconds between looks for syncs (commands wake us; sync requests do not) */
#define POLL 1

static volatile sig_atomic_t stopping = 0;
static Door doors[16]; /* our devices */
static int ndoors;
static char bindings[4096] = "{"; /* our devices' serials, as a text[] */
static char lease[32];            /* claim_sync's lease, renewed every third */
static char state[6];             /* the SQLSTATE of the last statement that failed */
static char why[512];             /* and its message */

static void stop(int sig) {
	stopping = 1;
}

/* run a statement: its rows, or NULL with state and why set (state "" if the connection was lost) */
static PGresult *run(PGconn *conn, const char *sql, int nparams, const char *const *params) {
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	snprintf(state, sizeof(state), "%s", code != NULL && PQstatus(conn) == CONNECTION_OK ? code : "");
	snprintf(why, sizeof(why), "%s: %s", state, msg ? msg : PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

/* run a statement whose rows we do not need; 1 if it succeeded */
static int run_ok(PGconn *conn, const char *sql, int nparams, const char *const *params) {
	PGresult *res = run(conn, sql, nparams, params);

	PQclear(res);
	return res != NULL;
}

/* carry out the commands of our devices' twins, each acknowledged once */
static void commands(PGconn *conn) {
	const char *take[1] = {bindings};
	PGresult *res = run(conn,
	                    "SELECT command_id, action, physical_binding "
	                    "FROM dtmv.next_commands(10, '1 minute', $1)",
	                    1, take);

	for (int i = 0; res != NULL && i < PQntuples(res); i++) {
		const char *id = PQgetvalue(res, i, 0), *action = PQgetvalue(res, i, 1),
		           *serial = PQgetvalue(res, i, 2);
		char result[256];
		int d, ok;

		for (d = 0; strcmp(doors[d].serial, serial) != 0; d++)
			; /* one of ours: we named them */
		ok = door_act(&doors[d], id, action, result, sizeof(result));
		if (run_ok(conn, "SELECT dtmv.ack_command($1, $2, $3)", 3,
		           (const char *[]){id, ok ? "t" : "f", result}))
			printf("command %s %s on %s: %s %s\n", id, action, serial, ok ? "done" : "failed", result);
		else /* 55000: acknowledged already; 55P03: another session
		      * holds it, it comes again; 42501: the twin is no
		      * longer ours */
			printf("command %s: not acknowledged (%s)\n", id, why);
	}
	PQclear(res);
}

/* run the syncs of our devices' twins with what each device reports */
static void syncs(PGconn *conn, int pooler, int lease_s) {
	const char *claim[3] = {lease, pooler ? "f" : "t", bindings};
	PGresult *res;

	while (!stopping &&
	       (res = run(conn,
	                  "SELECT c.request_id, c.twin, b.physical_binding "
	                  "FROM dtmv.claim_sync($1, $2, $3) c "
	                  "LEFT JOIN dtmv.served_twins() b ON b.twin = c.twin",
	                  3, claim)) != NULL &&
	       PQntuples(res) == 1) {
		const char *request = PQgetvalue(res, 0, 0), *serial = PQgetvalue(res, 0, 2);
		double started = now();
		char reported[256];
		int d, answered = 0, ok = 1;

		for (d = 0; strcmp(doors[d].serial, serial) != 0; d++)
			;
		printf("sync %s of twin %s (%s): asking the device\n", request, PQgetvalue(res, 0, 1), serial);
		while (ok && !(answered = door_read(&doors[d], started, lease_s / 3.0, reported, sizeof(reported))) &&
		       now() < started + DEVICE_TIMEOUT)
			if ((ok = run_ok(conn, "SELECT dtmv.renew_sync($1, $2)", 2, (const char *[]){request, lease})))
				printf("sync %s: the device is still working; lease renewed\n", request);
		if (ok)
			ok = run_ok(conn, "SELECT dtmv.complete_sync($1, $2, $3)", 3,
			            (const char *[]){request, answered ? "t" : "f", answered ? reported : NULL});
		if (ok)
			printf("sync %s: %s\n", request, answered ? reported : "failed: the device did not answer");
		else /* 55000: the run was lost (its lease ended);
		      * 42501: the twin is no longer ours */
			printf("sync %s lost: %s\n", request, why);
		PQclear(res);
	}
	PQclear(res);
}

int main(int argc, char **argv) {
	int pooler = 0, lease_s = getenv("GATEWAY_LEASE") ? atoi(getenv("GATEWAY_LEASE")) : 30;

	snprintf(lease, sizeof(lease), "%d seconds", lease_s);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--pooler") == 0)
			pooler = 1;
		else if (ndoors < 16 && strlen(argv[i]) < 64 && strpbrk(argv[i], "\"\\{},") == NULL) {
			doors[ndoors++] = (Door){.serial = argv[i], .door = "closed"};
			snprintf(bindings + strlen(bindings), 70, "%s\"%s\"", ndoors > 1 ? "," : "", argv[i]);
		}
	strcat(bindings, "}");
	if (ndoors == 0)
		return fprintf(stderr, "usage: %s [--pooler] SERIAL...  (at most 16)\n", argv[0]), 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, stop);
	signal(SIGINT, stop);
	while (!stopping) {
		PGconn *conn = PQconnectdb("");

		/* our devices are here: confirm their bindings pending through this gateway */
		for (int i = 0; i < ndoors && PQstatus(conn) == CONNECTION_OK; i++) {
			PGresult *res =
			    run(conn, "SELECT dtmv.confirm_binding($1)", 1, (const char *[]){doors[i].serial});

			if (res != NULL || strcmp(state, "42704") == 0)
				printf("device %s is here: %s%s\n", doors[i].serial,
				       res ? "confirmed, twin " : "no binding pending",
				       res ? PQgetvalue(res, 0, 0) : " (confirmed before, or not bound yet)");
			PQclear(res);
		}
		/* a new command wakes us (on a session of our own) */
		if (PQstatus(conn) == CONNECTION_OK && (pooler || run_ok(conn, "SELECT dtmv.listen()", 0, NULL)))
			printf("gateway ready%s\n", pooler ? " (pooler mode)" : "");
		while (PQstatus(conn) == CONNECTION_OK && !stopping) {
			fd_set fds;
			struct timeval tv = {POLL, 0};
			PGnotify *note;

			commands(conn);
			syncs(conn, pooler, lease_s);
			FD_ZERO(&fds);
			FD_SET(PQsocket(conn), &fds);
			select(pooler ? 0 : PQsocket(conn) + 1, pooler ? NULL : &fds, NULL, NULL, &tv);
			PQconsumeInput(conn); /* the wake-ups: we only needed to be woken */
			while ((note = PQnotifies(conn)) != NULL)
				PQfreemem(note);
		}
		if (!stopping)
			printf("connection lost: %s", PQerrorMessage(conn));
		PQfinish(conn);
		if (!stopping)
			sleep(1);
	}
	return 0;
}

/*
 * A dtmv client's catch-up loop, in C with libpq (docs/applications.md).
 *
 * It prints every event on the twins its user may read, each once and in
 * order, and keeps the id of the last one it handled in a file, so that it
 * goes on where it stopped after a lost connection or a restart:
 *
 *   cc -o catchup catchup.c -I$(pg_config --includedir) -lpq
 *   PGHOST=db.example PGUSER=alice PGDATABASE=dtmv ./catchup last_event_id
 *
 * The connection comes from the PG* environment variables, as the user
 * herself. Stop it with SIGTERM or Ctrl-C.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <libpq-fe.h>

#define BATCH 100 /* events per call of events_since */
/* seconds: look now and then even without a wake-up (a wake-up is a hint) */
#define POLL 5

static volatile sig_atomic_t stopping = 0;
static const char *path; /* where the last id handled is kept */
static char last_id[32]; /* "" the first time */

static void stop(int sig) {
	stopping = 1;
}

static void load(void) {
	FILE *f = fopen(path, "r");

	last_id[0] = '\0';
	if (f != NULL && fgets(last_id, sizeof(last_id), f) != NULL)
		last_id[strcspn(last_id, "\n")] = '\0';
	if (f != NULL)
		fclose(f);
}

/* keep id on disk: written beside the old one, then renamed over it */
static void save(const char *id) {
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%s\n", id) < 0 || fflush(f) != 0 || fsync(fileno(f)) != 0 ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		perror(path);
		exit(1);
	}
	snprintf(last_id, sizeof(last_id), "%s", id);
}

/*
 * Run a statement: its rows, or NULL with the SQLSTATE in state ("" if the
 * connection was lost).
 */
static PGresult *run(PGconn *conn, const char *sql, int nparams, const char *const *params, char state[6]) {
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	snprintf(state, 6, "%s", code != NULL && PQstatus(conn) == CONNECTION_OK ? code : "");
	if (state[0] != '\0' && strcmp(state, "TW002") != 0)
		fprintf(stderr, "%s: %s", state, PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

/* start from the twins' state: the first time, and after events were pruned */
static int resync(PGconn *conn, char state[6]) {
	/* the horizon first: a change made while we read the state comes again as an event */
	PGresult *horizon = run(conn, "SELECT dtmv.event_horizon()", 0, NULL, state);
	PGresult *res;

	if (horizon == NULL)
		return 0;
	res = run(conn, "SELECT twin, reported FROM dtmv.twin_states ORDER BY twin", 0, NULL, state);
	if (res != NULL) {
		for (int i = 0; i < PQntuples(res); i++)
			printf("state %s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		fflush(stdout);
		save(PQgetvalue(horizon, 0, 0));
		PQclear(res);
	}
	PQclear(horizon);
	return res != NULL;
}

/* handle every event after last_id; 0 on failure (state says why) */
static int catch_up(PGconn *conn, char state[6]) {
	for (;;) {
		char max[16];
		const char *params[2] = {last_id, max};
		PGresult *res;
		int n;

		snprintf(max, sizeof(max), "%d", BATCH);
		res = run(conn, "SELECT event_id, twin, kind, payload FROM dtmv.events_since($1, $2)", 2, params,
		          state);

		if (res == NULL)
			return 0;
		n = PQntuples(res);
		for (int i = 0; i < n; i++) {
			/* what the application does with an event: here, print it */
			printf("event %s %s %s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 2), PQgetvalue(res, i, 1),
			       PQgetvalue(res, i, 3));
			fflush(stdout);
			save(PQgetvalue(res, i, 0));
		}
		PQclear(res);
		if (n < BATCH)
			return 1;
	}
}

/* wait for a wake-up, or POLL seconds; 0 if the connection was lost */
static int wait_for_wakeup(PGconn *conn) {
	PGnotify *note;
	int woken = 0;
	fd_set fds;
	struct timeval tv = {POLL, 0};

	/* a wake-up that came in while we read: no wait */
	while ((note = PQnotifies(conn)) != NULL) {
		woken = 1;
		PQfreemem(note);
	}
	if (woken)
		return 1;
	FD_ZERO(&fds);
	FD_SET(PQsocket(conn), &fds);
	if (select(PQsocket(conn) + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
		return 0;
	if (!PQconsumeInput(conn))
		return 0;
	while ((note = PQnotifies(conn)) != NULL)
		PQfreemem(note);
	return PQstatus(conn) == CONNECTION_OK;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE  (where the id of the last event handled is kept)\n", argv[0]);
		return 2;
	}
	path = argv[1];
	signal(SIGTERM, stop);
	signal(SIGINT, stop);
	while (!stopping) {
		PGconn *conn = PQconnectdb("");
		PGresult *res;
		char state[6] = "";
		int ok;

		/* on every connection: channel names are private and may change */
		res = PQstatus(conn) == CONNECTION_OK ? run(conn, "SELECT dtmv.listen()", 0, NULL, state) : NULL;
		if (res != NULL) {
			printf("listening on %d channel(s)\n", PQntuples(res));
			PQclear(res);
			load(); /* where the last connection left off */
		}
		ok = res != NULL && (last_id[0] != '\0' || resync(conn, state));
		while (ok && !stopping) {
			if (catch_up(conn, state))
				ok = wait_for_wakeup(conn);
			else if (strcmp(state, "TW002") == 0) {
				printf("resync: events after %s were pruned (TW002)\n", last_id);
				ok = resync(conn, state);
			} else
				ok = 0;
		}
		if (!stopping && state[0] != '\0' && PQstatus(conn) == CONNECTION_OK)
			return 1; /* a statement failed (said on stderr): not a lost connection */
		if (!stopping)
			printf("connection lost: %s", PQerrorMessage(conn));
		fflush(stdout);
		PQfinish(conn);
		if (!stopping)
			sleep(1);
	}
	return 0;
}

/*
 * dtmv_home.c
 *		dtmv-home: a stand-in for the physical side of a home, and a small
 *		metaverse client, both speaking to dtmv over libpq (scenario 7.2.1).
 *
 *	 dtmv-home gateway [--device SERIAL]... [--driver PROGRAM] [--pooler]
 *			[--lease S] [--device-timeout S] [--seconds N] [--acks N]
 *		The gateway of the devices connected to it (--device: their serial
 *		numbers): confirms their bindings pending through it, carries out
 *		the commands and runs the syncs of their twins, no other, asking
 *		each device through its driver (--driver) and answering with what
 *		the device said (home_gateway.c, device_driver.c).  --pooler: behind
 *		a transaction pooler (PgBouncer in transaction mode).  Survives a
 *		server restart: it reconnects and takes up the commands it missed
 *		(next_commands also returns commands delivered but never
 *		acknowledged).  Runs until stopped (SIGTERM, SIGINT), or after N
 *		seconds or N acknowledged commands.
 *	 dtmv-home ring SERIAL [CAMERA]
 *		The doorbell of the door bound to SERIAL rings: reports a
 *		"doorbell" event with a reference to the camera's snapshot.
 *	 dtmv-home watch KIND [--seconds N] [--since ID]
 *		A metaverse client: listens on its channels, catches up with
 *		events_since after every wake-up, prints each event, and exits 0 as
 *		soon as an event of KIND arrives (1 on timeout).
 *	 dtmv-home listen [--seconds N]
 *		An idle listener, for benchmarks: listens on its channels and only
 *		drains notifications; prints how many it got.
 *	 dtmv-home latency TWIN WRITER_ROLE READER_ROLE [--count N] [--bare] [--gap MS]
 *		For benchmarks: N times, WRITER_ROLE reports an event on TWIN (or,
 *		with --bare, sends a plain pg_notify) and the time from the writer's
 *		commit to READER_ROLE's client having the event (woken, then caught
 *		up with events_since) is taken; prints p50 and p99 in microseconds.
 *		With --gap, it waits MS milliseconds before each event (an idle
 *		server: no event just before); without, each follows the last.
 *
 * The connection comes from the usual PG* environment variables; the role
 * (a dtmv_gateway role for gateway and ring, a user's for watch) from
 * PGUSER or PGOPTIONS="-c role=...".
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "dtmv_home.h"

volatile sig_atomic_t stop_requested = 0;
static bool log_wakeups = false;	/* watch: say which channel woke us */

static void
on_signal(int sig)
{
	stop_requested = 1;
}

void
say(const char *fmt,...)
{
	va_list		ap;
	time_t		now = time(NULL);
	char		stamp[32];

	strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime(&now));
	printf("[dtmv-home %s] ", stamp);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

PGconn *
connect_until(time_t deadline, bool set_path)
{
	for (;;)
	{
		PGconn	   *conn = PQconnectdb("");

		if (PQstatus(conn) == CONNECTION_OK)
		{
			if (set_path)
				PQclear(PQexec(conn, "SET search_path = pg_catalog, public, dtmv"));
			return conn;
		}
		say("cannot connect yet: %s", PQerrorMessage(conn));
		PQfinish(conn);
		if (stop_requested || time(NULL) >= deadline)
			return NULL;
		sleep(1);
	}
}

/* run a query with parameters; NULL (and a message) on failure */
static PGresult *
query(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		say("query failed: %s", PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

bool
listen_all(PGconn *conn)
{
	PGresult   *res = query(conn, "SELECT dtmv.listen()", 0, NULL);
	int			i;

	if (res == NULL)
		return false;
	for (i = 0; i < PQntuples(res); i++)
		say("listening on %s", PQgetvalue(res, i, 0));
	PQclear(res);
	return true;
}

bool
wait_for_wakeup(PGconn *conn)
{
	int			sock = PQsocket(conn);
	fd_set		fds;
	struct timeval tv = {1, 0};
	PGnotify   *n;

	if (sock < 0)
		return false;
	FD_ZERO(&fds);
	FD_SET(sock, &fds);
	if (select(sock + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
		return false;
	if (!PQconsumeInput(conn))
		return false;
	while ((n = PQnotifies(conn)) != NULL)
	{
		if (log_wakeups)
			say("woken on channel %s (event %s)", n->relname, n->extra);
		PQfreemem(n);
	}
	return PQstatus(conn) == CONNECTION_OK;
}

static int
run_ring(const char *serial, const char *camera)
{
	PGconn	   *conn = connect_until(time(NULL) + 10, true);
	const char *params[2] = {serial, camera};
	PGresult   *res;

	if (conn == NULL)
		return 1;
	res = query(conn, "SELECT dtmv.report(dtmv.twin_by_binding($1), 'doorbell', "
				"jsonb_build_object('doorbell', 'ringing', 'camera', $2::text))", 2, params);
	if (res == NULL)
	{
		PQfinish(conn);
		return 1;
	}
	say("doorbell of %s rang; camera snapshot %s; event %s", serial, camera, PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return 0;
}

static int
run_watch(const char *kind, int seconds, const char *since)
{
	time_t		deadline = time(NULL) + seconds;
	char		cursor[32] = "";
	int			found = 0;

	if (since)
		snprintf(cursor, sizeof(cursor), "%s", since);
	while (!found && !stop_requested && time(NULL) < deadline)
	{
		PGconn	   *conn = connect_until(deadline, true);

		if (conn == NULL)
			break;
		if (cursor[0] == '\0')
		{
			PGresult   *res = query(conn, "SELECT dtmv.event_horizon()", 0, NULL);

			if (res == NULL)
			{
				PQfinish(conn);
				continue;
			}
			snprintf(cursor, sizeof(cursor), "%s", PQgetvalue(res, 0, 0));
			PQclear(res);
		}
		if (listen_all(conn))
		{
			say("watching for a \"%s\" event after %s", kind, cursor);
			while (!found && !stop_requested && time(NULL) < deadline)
			{
				const char *params[1] = {cursor};
				PGresult   *res = query(conn, "SELECT id, kind, twin, payload FROM dtmv.events_since($1::bigint)",
										1, params);
				int			i;

				if (res == NULL)
					break;
				for (i = 0; i < PQntuples(res); i++)
				{
					say("event %s %s on twin %s: %s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
						PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
					snprintf(cursor, sizeof(cursor), "%s", PQgetvalue(res, i, 0));
					if (strcmp(PQgetvalue(res, i, 1), kind) == 0)
						found = 1;
				}
				PQclear(res);
				if (!found && !wait_for_wakeup(conn))
					break;
			}
		}
		PQfinish(conn);
	}
	if (!found)
		say("no \"%s\" event within %d s", kind, seconds);
	return found ? 0 : 1;
}

static int
run_listen(int seconds)
{
	time_t		deadline = time(NULL) + seconds;
	PGconn	   *conn = connect_until(deadline, true);
	long		got = 0;

	if (conn == NULL || !listen_all(conn))
		return 1;
	log_wakeups = false;
	while (!stop_requested && time(NULL) < deadline)
	{
		int			sock = PQsocket(conn);
		fd_set		fds;
		struct timeval tv = {1, 0};
		PGnotify   *n;

		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		if (select(sock + 1, &fds, NULL, NULL, &tv) < 0 && errno != EINTR)
			break;
		if (!PQconsumeInput(conn))
			break;
		while ((n = PQnotifies(conn)) != NULL)
		{
			got++;
			PQfreemem(n);
		}
	}
	printf("%ld\n", got);
	PQfinish(conn);
	return 0;
}

static PGconn *
connect_as(const char *role)
{
	char		conninfo[256];
	PGconn	   *conn;
	PGresult   *res;

	snprintf(conninfo, sizeof(conninfo), "options='-c role=%s'", role);
	conn = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		say("cannot connect as %s: %s", role, PQerrorMessage(conn));
		exit(1);
	}
	res = PQexec(conn, "SET search_path = pg_catalog, public, dtmv");
	PQclear(res);
	return conn;
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
compare_doubles(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return (x > y) - (x < y);
}

/* wait for one notification on conn, up to 5 s; false on timeout or failure */
static bool
await_notification(PGconn *conn)
{
	double		give_up = now_us() + 5e6;

	for (;;)
	{
		PGnotify   *n;
		int			sock = PQsocket(conn);
		fd_set		fds;
		struct timeval tv = {0, 100000};

		if (!PQconsumeInput(conn))
			return false;
		if ((n = PQnotifies(conn)) != NULL)
		{
			PQfreemem(n);
			return true;
		}
		if (now_us() > give_up)
			return false;
		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		(void) select(sock + 1, &fds, NULL, NULL, &tv);
	}
}

static int
run_latency(const char *twin, const char *writer_role, const char *reader_role, int count, bool bare,
			int gap_ms)
{
	PGconn	   *writer = connect_as(writer_role);
	PGconn	   *reader = connect_as(reader_role);
	double	   *lat = calloc(count, sizeof(double));
	char		cursor[32];
	PGresult   *res;
	int			i,
				done = 0;

	res = query(reader, bare ? "LISTEN dtmv_bench_bare" : "SELECT dtmv.listen()", 0, NULL);
	PQclear(res);
	res = query(reader, "SELECT dtmv.event_horizon()", 0, NULL);
	snprintf(cursor, sizeof(cursor), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	for (i = 0; i < count; i++)
	{
		const char *params[1] = {twin};
		double		t0;
		bool		have = false;
		PGnotify   *n;

		if (gap_ms > 0)
			usleep((useconds_t) gap_ms * 1000);
		/* drop wake-ups left from earlier rounds */
		PQconsumeInput(reader);
		while ((n = PQnotifies(reader)) != NULL)
			PQfreemem(n);
		res = query(writer, bare ? "SELECT pg_notify('dtmv_bench_bare', 'x')"
					: "SELECT dtmv.report($1::dtmv.twin_id, 'tick', '{}')", bare ? 0 : 1, params);
		if (res == NULL)
			return 1;
		PQclear(res);
		t0 = now_us();			/* the writer's commit has returned */
		while (!have)
		{
			if (!await_notification(reader))
				break;
			if (bare)
				have = true;
			else
			{
				const char *p[1] = {cursor};

				res = query(reader, "SELECT id FROM dtmv.events_since($1::bigint)", 1, p);
				if (res == NULL)
					return 1;
				if (PQntuples(res) > 0)
				{
					snprintf(cursor, sizeof(cursor), "%s", PQgetvalue(res, PQntuples(res) - 1, 0));
					have = true;
				}
				PQclear(res);
			}
		}
		if (have)
			lat[done++] = now_us() - t0;
	}
	qsort(lat, done, sizeof(double), compare_doubles);
	if (done == 0)
	{
		printf("no event arrived\n");
		return 1;
	}
	printf("%d %.0f %.0f\n", done, lat[done / 2], lat[(int) (done * 0.99) < done ? (int) (done * 0.99) : done - 1]);
	PQfinish(writer);
	PQfinish(reader);
	free(lat);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: dtmv-home gateway [--device SERIAL]... [--driver PROGRAM] [--pooler]\n"
			"                         [--lease S] [--device-timeout S] [--seconds N] [--acks N]\n"
			"       dtmv-home ring SERIAL [CAMERA]\n"
			"       dtmv-home watch KIND [--seconds N] [--since ID]\n"
			"       dtmv-home listen [--seconds N]\n"
			"       dtmv-home latency TWIN WRITER_ROLE READER_ROLE [--count N] [--bare] [--gap MS]\n");
	exit(2);
}

/* a positive number of an option, or usage */
static int
positive(const char *s)
{
	char	   *end;
	long		v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0 || v > 86400 * 365)
		usage();
	return (int) v;
}

int
main(int argc, char **argv)
{
	GatewayOptions gw = {calloc(argc, sizeof(char *)), 0, NULL, false, 30, 60, 60, 0};
	const char *since = NULL;
	int			count = 200;
	bool		bare = false;
	bool		seconds_given = false;
	int			gap_ms = 0;
	int			i;
	int			npositional;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	/* ring SERIAL [CAMERA], watch KIND, latency TWIN WRITER READER */
	npositional = strcmp(argv[1], "ring") == 0 ? 2 : strcmp(argv[1], "watch") == 0 ? 1 :
		strcmp(argv[1], "latency") == 0 ? 3 : 0;
	for (i = 2; i < argc; i++)
	{
		if (i < 2 + npositional && argv[i][0] != '-')
			continue;
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
		{
			gw.seconds = positive(argv[++i]);
			seconds_given = true;
		}
		else if (strcmp(argv[i], "--acks") == 0 && i + 1 < argc)
			gw.max_acks = atoi(argv[++i]);
		else if (strcmp(argv[i], "--since") == 0 && i + 1 < argc)
			since = argv[++i];
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atoi(argv[++i]);
		else if (strcmp(argv[i], "--bare") == 0)
			bare = true;
		else if (strcmp(argv[i], "--gap") == 0 && i + 1 < argc)
			gap_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
			gw.devices[gw.ndevices++] = argv[++i];
		else if (strcmp(argv[i], "--driver") == 0 && i + 1 < argc)
			gw.driver = argv[++i];
		else if (strcmp(argv[i], "--pooler") == 0)
			gw.pooler = true;
		else if (strcmp(argv[i], "--lease") == 0 && i + 1 < argc)
			gw.lease = positive(argv[++i]);
		else if (strcmp(argv[i], "--device-timeout") == 0 && i + 1 < argc)
			gw.device_timeout = positive(argv[++i]);
		else
		{
			fprintf(stderr, "dtmv-home: unknown argument %s\n", argv[i]);
			usage();
		}
	}
	if (strcmp(argv[1], "gateway") == 0)
	{
		/* a gateway runs until it is stopped, unless told otherwise */
		if (!seconds_given)
			gw.seconds = 0;
		return run_gateway(&gw);
	}
	if (strcmp(argv[1], "ring") == 0 && argc >= 3)
		return run_ring(argv[2], argc >= 4 ? argv[3] : "camera/snapshot.jpg");
	if (strcmp(argv[1], "watch") == 0 && argc >= 3)
	{
		log_wakeups = true;
		return run_watch(argv[2], gw.seconds, since);
	}
	if (strcmp(argv[1], "listen") == 0)
		return run_listen(gw.seconds);
	if (strcmp(argv[1], "latency") == 0 && argc >= 5)
		return run_latency(argv[2], argv[3], argv[4], count > 0 ? count : 1, bare, gap_ms);
	usage();
	return 2;
}

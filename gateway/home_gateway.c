/*
 * home_gateway.c
 *		dtmv-home gateway: the process that speaks for the devices connected
 *		to a home's gateway (docs/sync.md, "The gateway program").
 *
 * It serves the devices it is configured with (--device), no other: it
 * confirms their bindings pending through its gateway, and claims the syncs
 * and takes the commands of their twins alone (claim_sync and next_commands
 * with the list of its devices), so a twin bound through the same gateway
 * login to a device that is not here is left to the process that has it.
 * It asks the device driver (--driver, device_driver.c) for each answer:
 * a sync completes with the state the device reports, or fails with the
 * reason the device gave; a command is acknowledged with the device's
 * result, or failed with its reason.  Nothing is made up.  Each failure is
 * one line of the log.
 *
 * Each sync is claimed with a lease (--lease) that it renews while the
 * device works (renew_sync), so a slow device keeps its run and a crashed
 * gateway's run is requeued once the lease passes.  With --pooler (behind
 * PgBouncer in transaction mode, where consecutive statements may run in
 * different server sessions) it claims with session_lock => false, keeps
 * no session state (no SET, no LISTEN) and polls every second; otherwise
 * it claims with a session lock (a crash is noticed at once) and is woken
 * by its gateway channel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "dtmv_home.h"

typedef struct Gateway
{
	const GatewayOptions *opt;
	PGconn	   *conn;
	bool		lost;			/* the connection broke */
	bool		by_device;		/* the schema takes work by device (dtmv 0.2) */
	char		bindings[8192]; /* the devices, as a text[] literal */
	char		lease[32];		/* the lease, as an interval */
	char		redeliver[32];	/* when a command taken is handed out again */
} Gateway;

/* buf on one line: line ends made spaces, trailing spaces dropped */
static char *
one_line(char *buf)
{
	char	   *nl;
	size_t		n;

	while ((nl = strpbrk(buf, "\r\n")) != NULL)
		*nl = ' ';
	for (n = strlen(buf); n > 0 && buf[n - 1] == ' '; n--)
		buf[n - 1] = '\0';
	return buf;
}

/* one line: SQLSTATE, message and detail of a failed statement */
static void
error_line(PGconn *conn, PGresult *res, char *buf, size_t len)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (msg == NULL)
		snprintf(buf, len, "%s", PQerrorMessage(conn));
	else
		snprintf(buf, len, "%s: %s%s%s%s", state ? state : "?", msg, detail ? " (" : "", detail ? detail : "",
				 detail ? ")" : "");
	one_line(buf);
}

/*
 * Run a statement; true with its result in *res (for the caller to clear),
 * or false with why in err, and its SQLSTATE in state (if given).
 */
static bool
gw_exec(Gateway *gw, const char *sql, int nparams, const char *const *params, PGresult **res, char *err,
		size_t errlen, char *state)
{
	PGresult   *r = PQexecParams(gw->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (state != NULL)
		state[0] = '\0';
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
	{
		if (res != NULL)
			*res = r;
		else
			PQclear(r);
		return true;
	}
	error_line(gw->conn, r, err, errlen);
	if (state != NULL && PQresultErrorField(r, PG_DIAG_SQLSTATE) != NULL)
		snprintf(state, 6, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE));
	PQclear(r);
	if (PQstatus(gw->conn) != CONNECTION_OK)
		gw->lost = true;
	if (res != NULL)
		*res = NULL;
	return false;
}

/* the devices as a text[] literal: {"A","B"} */
static void
bindings_literal(const GatewayOptions *opt, char *buf, size_t len)
{
	size_t		n = 0;
	int			i;

	buf[n++] = '{';
	for (i = 0; i < opt->ndevices; i++)
	{
		const char *c;

		if (i > 0 && n < len)
			buf[n++] = ',';
		if (n < len)
			buf[n++] = '"';
		for (c = opt->devices[i]; *c && n + 2 < len; c++)
		{
			if (*c == '"' || *c == '\\')
				buf[n++] = '\\';
			buf[n++] = *c;
		}
		if (n < len)
			buf[n++] = '"';
	}
	if (n + 1 >= len)
	{
		fprintf(stderr, "too many devices\n");
		exit(2);
	}
	buf[n++] = '}';
	buf[n] = '\0';
}

/* an answer for the log: at most 200 characters, on one line */
static const char *
shorten(const char *s, char *buf, size_t len)
{
	snprintf(buf, len < 200 ? len : 200, "%s", s);
	return one_line(buf);
}

/* is this serial one of the devices here? */
static bool
configured(const GatewayOptions *opt, const char *serial)
{
	int			i;

	for (i = 0; i < opt->ndevices; i++)
		if (strcmp(opt->devices[i], serial) == 0)
			return true;
	return false;
}

/*
 * The devices connected here: confirm the bindings pending through this
 * gateway (dtmv.confirm_binding).  None pending is normal (confirmed
 * before, or not bound yet).  Then say which twins this process serves, and
 * which twins the gateway serves through devices that are not here (left
 * to the process that has them).  False if the connection broke.
 */
static bool
confirm_devices(Gateway *gw)
{
	const GatewayOptions *opt = gw->opt;
	PGresult   *res;
	char		err[1024];
	char		state[6];
	int			i;

	if (!gw_exec(gw, "SELECT pg_catalog.to_regprocedure('dtmv.claim_sync(interval, boolean, text[])') IS NOT NULL",
				 0, NULL, &res, err, sizeof(err), NULL))
	{
		say("looking at the database's dtmv failed: %s", err);
		return false;
	}
	gw->by_device = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!gw->by_device)
	{
		say("this database's dtmv is older than 0.2: it has no device bindings to confirm and no claims by "
			"device; this gateway carries out the commands of its devices and claims no sync "
			"(ALTER EXTENSION dtmv UPDATE)");
		return true;
	}

	for (i = 0; i < opt->ndevices; i++)
	{
		const char *params[1] = {opt->devices[i]};

		if (gw_exec(gw, "SELECT dtmv.confirm_binding($1)", 1, params, &res, err, sizeof(err), state))
		{
			say("device %s is here: its binding to twin %s is confirmed", opt->devices[i], PQgetvalue(res, 0, 0));
			PQclear(res);
		}
		else if (strcmp(state, "42704") == 0)
			say("device %s: no binding pending here (confirmed before, or not bound yet)", opt->devices[i]);
		else
			say("device %s: confirming its binding failed: %s", opt->devices[i], err);
		if (gw->lost)
			return false;
	}
	if (!gw_exec(gw, "SELECT twin, physical_binding FROM dtmv.served_twins() WHERE confirmed_at IS NOT NULL",
				 0, NULL, &res, err, sizeof(err), NULL))
	{
		say("listing the twins this gateway serves failed: %s", err);
		return !gw->lost;
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		if (configured(opt, PQgetvalue(res, i, 1)))
			say("serving twin %s (device %s)", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
		else
			say("twin %s is bound through this gateway to device %s, which is not configured here (--device): left alone",
				PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
	}
	PQclear(res);
	return true;
}

/* the driver's argument list: PROGRAM op SERIAL [ACTION ARGS] */
static bool
ask_device(Gateway *gw, const DeviceCall *call, const char *op, const char *serial, const char *action,
		   const char *args, char **answer, char *reason, size_t reasonlen)
{
	char	   *argv[6] = {(char *) gw->opt->driver, (char *) op, (char *) serial, (char *) action, (char *) args, NULL};

	if (gw->opt->driver == NULL)
	{
		*answer = NULL;
		snprintf(reason, reasonlen, "no device driver (--driver): the gateway cannot reach device %s", serial);
		return false;
	}
	return device_call(call, argv, answer, reason, reasonlen);
}

/*
 * Take the next piece of work, a statement that hands out at most one row
 * (what: for the log line if it fails): 1 with the row's first ncols
 * columns in cols, whole, pointing into *row (the caller PQclears it once
 * the work is done), 0 if there is none, -1 if the connection broke.
 */
static int
take_next(Gateway *gw, const char *what, const char *sql, int nparams, const char *const *params,
		  PGresult **row, const char **cols, int ncols)
{
	PGresult   *res;
	char		err[1024];
	int			i;

	*row = NULL;
	if (!gw_exec(gw, sql, nparams, params, &res, err, sizeof(err), NULL))
	{
		say("%s failed: %s", what, err);
		return gw->lost ? -1 : 0;
	}
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		return 0;
	}
	for (i = 0; i < ncols; i++)
		cols[i] = PQgetvalue(res, 0, i);
	*row = res;
	return 1;
}

/*
 * Finish a piece of work (work: how the log names it) with what its device
 * said: done_sql ($1 the id, $2 the answer) if the device answered and the
 * server takes the answer (a JSON object for a sync's state); otherwise
 * fail_sql ($1 the id, $2 why).  One line of the log either way.  1, or -1
 * if the connection broke.
 */
static int
answer_work(Gateway *gw, const char *work, const char *id, bool answered, char *answer, char *reason,
			size_t reasonlen, const char *done_sql, const char *fail_sql)
{
	char		err[1024];
	char		state[6];
	char		shown[200];

	if (answered)
	{
		const char *done[2] = {id, answer};

		if (gw_exec(gw, done_sql, 2, done, NULL, err, sizeof(err), state))
		{
			say("%s done: %s", work, shorten(answer, shown, sizeof(shown)));
			free(answer);
			return 1;
		}
		if (strncmp(state, "22", 2) != 0)
		{
			say("%s: the device answered, but recording its answer failed: %s", work, err);
			free(answer);
			return gw->lost ? -1 : 1;
		}
		/* not JSON (22P02), or not an object for a sync's state (22023) */
		snprintf(reason, reasonlen, "the device's answer is not a JSON object the server takes (%s): %s", err,
				 shorten(answer, shown, sizeof(shown)));
	}
	free(answer);
	{
		const char *fail[2] = {id, reason};

		if (gw_exec(gw, fail_sql, 2, fail, NULL, err, sizeof(err), NULL))
			say("%s failed: %s", work, reason);
		else
			say("%s failed: %s; recording the failure failed too: %s", work, reason, err);
	}
	return gw->lost ? -1 : 1;
}

/*
 * Carry out the next command for a device here, and acknowledge it with
 * the device's result, or fail it with the device's reason.  1 if there
 * was one, 0 if none, -1 if the connection broke.
 */
static int
do_command(Gateway *gw)
{
	const char *params[2] = {gw->redeliver, gw->bindings};
	const char *cmd[5];			/* id, action, args, device, requester */
	PGresult   *row;
	char		work[1024];
	char		reason[1024];
	char	   *answer = NULL;
	DeviceCall	call = {gw->opt->device_timeout, gw->opt->device_timeout, NULL, NULL};
	bool		ok;
	int			n;

	n = take_next(gw, "taking the next command",
				  gw->by_device ?
				  "SELECT command_id, action, args::text, physical_binding, coalesce(requested_by, '?') "
				  "FROM dtmv.next_commands(1, $1::interval, $2::text[])" :
				  "SELECT command_id, action, args::text, coalesce(physical_binding, ''), coalesce(requested_by, '?') "
				  "FROM dtmv.next_commands(1, $1::interval)", gw->by_device ? 2 : 1, params, &row, cmd, 5);
	if (n <= 0)
		return n;
	snprintf(work, sizeof(work), "command %s from %s: %s on device %s", cmd[0], cmd[4], cmd[1], cmd[3]);
	if (!configured(gw->opt, cmd[3]))
	{
		/*
		 * Before 0.2 any gateway gets every command: one for a device of
		 * another gateway is left alone, unanswered, to be handed out again
		 * (redeliver_after) until the gateway that has the device takes it.
		 */
		say("%s: left alone, the device is not connected to this gateway", work);
		PQclear(row);
		return 0;
	}
	ok = ask_device(gw, &call, "act", cmd[3], cmd[1], cmd[2], &answer, reason, sizeof(reason));
	n = answer_work(gw, work, cmd[0], ok, answer, reason, sizeof(reason),
					"SELECT dtmv.ack_command($1::bigint, true, $2::jsonb)",
					"SELECT dtmv.ack_command($1::bigint, false, pg_catalog.jsonb_build_object('error', $2::text))");
	PQclear(row);
	return n;
}

/* a sync that runs: what its keep-alive renews */
typedef struct SyncRun
{
	Gateway    *gw;
	const char *id;
	const char *work;			/* how the log names it */
	bool		lost;			/* renewing its lease failed: the run is not ours */
} SyncRun;

/* while the device works, the run's lease is renewed; false once the run is gone */
static bool
renew_lease(void *arg, char *reason, size_t reasonlen)
{
	SyncRun    *run = arg;
	const char *params[2] = {run->id, run->gw->lease};
	PGresult   *res;
	char		err[1024];

	if (!gw_exec(run->gw, "SELECT pg_catalog.to_char(dtmv.renew_sync($1::bigint, $2::interval), 'HH24:MI:SS')", 2,
				 params, &res, err, sizeof(err), NULL))
	{
		snprintf(reason, reasonlen, "renewing its lease failed: %s", err);
		run->lost = true;
		return false;
	}
	say("%s: the device is still working; lease renewed until %s", run->work, PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;
}

/*
 * Claim the next sync of a twin whose device is here, read the device, and
 * complete the sync with the state it reports, or fail it with the
 * device's reason.  1 if there was one, 0 if none, -1 if the connection
 * broke.
 */
static int
do_sync(Gateway *gw)
{
	const char *params[3] = {gw->lease, gw->opt->pooler ? "false" : "true", gw->bindings};
	const char *sync[3] = {NULL, NULL, NULL};	/* id, twin, device */
	PGresult   *row;
	char		work[1024];
	char		reason[1024];
	char	   *answer = NULL;
	SyncRun		run = {gw, sync[0], work, false};
	DeviceCall	call = {gw->opt->device_timeout, gw->opt->lease / 3 > 0 ? gw->opt->lease / 3 : 1, renew_lease, &run};
	bool		ok;
	int			n;

	if (!gw->by_device)
		return 0;				/* before 0.2: no claim takes only this gateway's devices */
	/* the device of the twin: served_twins, which this claim does not change */
	n = take_next(gw, "claiming the next sync",
				  "SELECT c.request_id, c.twin, "
				  "(SELECT b.physical_binding FROM dtmv.served_twins() b WHERE b.twin OPERATOR(dtmv.=) c.twin) "
				  "FROM dtmv.claim_sync($1::interval, $2::boolean, $3::text[]) c", 3, params, &row, sync, 3);
	if (n <= 0)
		return n;
	run.id = sync[0];
	snprintf(work, sizeof(work), "sync %s of twin %s (device %s)", sync[0], sync[1], sync[2]);
	ok = ask_device(gw, &call, "read", sync[2], NULL, NULL, &answer, reason, sizeof(reason));
	if (run.lost)
	{
		/* the run is not ours any more: nothing to complete */
		say("%s lost its run: %s", work, reason);
		free(answer);
		PQclear(row);
		return gw->lost ? -1 : 1;
	}
	/* on failure, the reason stays in the log (complete_sync takes none) */
	n = answer_work(gw, work, sync[0], ok, answer, reason, sizeof(reason),
					"SELECT dtmv.complete_sync($1::bigint, true, $2::jsonb)",
					"SELECT dtmv.complete_sync($1::bigint, false) WHERE $2::text IS NOT NULL");
	PQclear(row);
	return n;
}

/* behind a pooler: no wake-ups, a look every second */
static void
pause_a_second(void)
{
	struct timeval tv = {1, 0};

	(void) select(0, NULL, NULL, NULL, &tv);
}

/* a superuser serves every twin: it would claim other gateways' devices */
static bool
refuse_superuser(Gateway *gw)
{
	PGresult   *res;
	char		err[1024];
	bool		super;

	if (!gw_exec(gw, "SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user", 0, NULL,
				 &res, err, sizeof(err), NULL))
	{
		say("checking the gateway's role failed: %s", err);
		return true;
	}
	super = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (super)
		say("refusing to run as a superuser, which serves every twin: run the gateway as its own login in dtmv_gateway");
	return super;
}

int
run_gateway(const GatewayOptions *opt)
{
	/* no --seconds: until stopped (a deadline ten years on) */
	time_t		deadline = time(NULL) + (opt->seconds > 0 ? opt->seconds : 10 * 365 * 86400);
	int			acks = 0;
	Gateway		gw;

	memset(&gw, 0, sizeof(gw));
	gw.opt = opt;
	bindings_literal(opt, gw.bindings, sizeof(gw.bindings));
	snprintf(gw.lease, sizeof(gw.lease), "%d seconds", opt->lease);
	/* a command taken is handed out again only once its device had time to answer */
	snprintf(gw.redeliver, sizeof(gw.redeliver), "%d seconds", opt->device_timeout + 30);
	if (opt->ndevices == 0)
		say("no --device given: this gateway serves no twin");
	if (opt->driver == NULL)
		say("no --driver given: the devices cannot be reached, their syncs and commands fail");

	while (!stop_requested && time(NULL) < deadline && (opt->max_acks <= 0 || acks < opt->max_acks))
	{
		char		why[1024];
		char		shown[200];

		gw.conn = connect_until(deadline, !opt->pooler);
		gw.lost = false;
		if (gw.conn == NULL)
			break;
		say("gateway connected%s", opt->pooler ? " (pooler mode: leases only, no session state, a look every second)" : "");
		if (refuse_superuser(&gw))
		{
			PQfinish(gw.conn);
			return 1;
		}
		if (confirm_devices(&gw) && (opt->pooler || listen_all(gw.conn)))
		{
			/* catch up first, then on every wake-up (or each second) */
			while (!gw.lost && !stop_requested && time(NULL) < deadline &&
				   (opt->max_acks <= 0 || acks < opt->max_acks))
			{
				int			n;

				while ((n = do_command(&gw)) > 0 && !stop_requested)
					acks++;
				if (n < 0 || (opt->max_acks > 0 && acks >= opt->max_acks))
					break;
				while ((n = do_sync(&gw)) > 0 && !stop_requested)
					;
				if (n < 0)
					break;
				if (opt->pooler)
					pause_a_second();
				else if (!wait_for_wakeup(gw.conn))
					gw.lost = true;
			}
		}
		if (gw.lost || PQstatus(gw.conn) != CONNECTION_OK)
		{
			snprintf(why, sizeof(why), "%s", PQerrorMessage(gw.conn));
			say("connection lost (%s); reconnecting", shorten(why, shown, sizeof(shown)));
		}
		PQfinish(gw.conn);
		gw.conn = NULL;
		if (!stop_requested && time(NULL) < deadline && (opt->max_acks <= 0 || acks < opt->max_acks))
			pause_a_second();	/* then connect again */
	}
	say("gateway stops after %d acknowledged command(s)", acks);
	return (opt->max_acks > 0 && acks < opt->max_acks) ? 1 : 0;
}

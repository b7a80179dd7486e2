/*
 * statement_rate: how many times a second CLIENTS sessions run one SQL
 * statement, counting the statements that fail as well as those that
 * succeed.  pgbench (PostgreSQL 15) stops a client at its first error, so
 * it cannot time a path whose answer is an error, such as a refused sync
 * request; this driver times that path and its baseline the same way.
 *
 *   statement_rate CLIENTS SECONDS MAX_N 'SQL with one %d'
 *
 * Each client is a process with its own connection (libpq's environment:
 * PGDATABASE, PGOPTIONS, ...).  It sends the statement over and over with
 * %d replaced by a random number in 1..MAX_N, as pgbench's simple protocol
 * does, from the moment every client is connected until SECONDS later.
 * Prints one line: statements per second, how many succeeded, how many
 * failed, and the SQLSTATE of the failures (several: "mixed").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <libpq-fe.h>

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct ClientResult
{
	long		succeeded;
	long		failed;
	char		sqlstate[8];
} ClientResult;

/* one client: connect, say so, wait for the start, run until the deadline */
static void
run_client(int client, double seconds, int max_n, const char *sql, int ready_fd, int go_fd, int result_fd)
{
	PGconn	   *conn = PQconnectdb("");
	ClientResult result = {0, 0, ""};
	char		query[4096];
	char		byte = 'r';
	double		deadline;

	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "client %d: %s", client, PQerrorMessage(conn));
		exit(1);
	}
	srandom((unsigned) (getpid() ^ (client * 7919)));
	if (write(ready_fd, &byte, 1) != 1 || read(go_fd, &byte, 1) != 0)
		exit(1);				/* the start is the go pipe closing */
	deadline = now_seconds() + seconds;
	while (now_seconds() < deadline)
	{
		PGresult   *res;

		snprintf(query, sizeof(query), sql, (int) (random() % max_n) + 1);
		res = PQexec(conn, query);
		switch (PQresultStatus(res))
		{
			case PGRES_TUPLES_OK:
			case PGRES_COMMAND_OK:
				result.succeeded++;
				break;
			case PGRES_FATAL_ERROR:
				{
					const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

					result.failed++;
					if (state == NULL)
						state = "?????";
					if (result.sqlstate[0] == '\0')
						snprintf(result.sqlstate, sizeof(result.sqlstate), "%s", state);
					else if (strcmp(result.sqlstate, state) != 0)
						snprintf(result.sqlstate, sizeof(result.sqlstate), "mixed");
					break;
				}
			default:
				fprintf(stderr, "client %d: %s", client, PQerrorMessage(conn));
				exit(1);
		}
		PQclear(res);
	}
	PQfinish(conn);
	if (write(result_fd, &result, sizeof(result)) != sizeof(result))
		exit(1);
	exit(0);
}

int
main(int argc, char **argv)
{
	int			clients;
	double		seconds;
	int			max_n;
	int			ready[2], go[2], results[2];
	int			i;
	int			failures = 0;
	char		byte;
	ClientResult total = {0, 0, ""};

	if (argc != 5 || (clients = atoi(argv[1])) < 1 || (seconds = atof(argv[2])) <= 0 ||
		(max_n = atoi(argv[3])) < 1)
	{
		fprintf(stderr, "usage: %s CLIENTS SECONDS MAX_N 'SQL with one %%d'\n", argv[0]);
		return 2;
	}
	if (pipe(ready) != 0 || pipe(go) != 0 || pipe(results) != 0)
	{
		perror("pipe");
		return 1;
	}
	for (i = 0; i < clients; i++)
	{
		pid_t		pid = fork();

		if (pid < 0)
		{
			perror("fork");
			return 1;
		}
		if (pid == 0)
		{
			close(go[1]);
			run_client(i, seconds, max_n, argv[4], ready[1], go[0], results[1]);
		}
	}
	close(go[0]);
	close(ready[1]);
	close(results[1]);
	for (i = 0; i < clients; i++)
		if (read(ready[0], &byte, 1) != 1)
		{
			fprintf(stderr, "a client did not connect\n");
			failures++;
			break;
		}
	close(go[1]);				/* start */
	for (i = 0; i < clients && !failures; i++)
	{
		ClientResult r;

		if (read(results[0], &r, sizeof(r)) != sizeof(r))
		{
			failures++;
			break;
		}
		total.succeeded += r.succeeded;
		total.failed += r.failed;
		if (r.sqlstate[0] != '\0')
		{
			if (total.sqlstate[0] == '\0')
				memcpy(total.sqlstate, r.sqlstate, sizeof(total.sqlstate));
			else if (strcmp(total.sqlstate, r.sqlstate) != 0)
				snprintf(total.sqlstate, sizeof(total.sqlstate), "mixed");
		}
	}
	while (wait(&i) > 0)
		if (!WIFEXITED(i) || WEXITSTATUS(i) != 0)
			failures++;
	if (failures)
		return 1;
	printf("%.0f %ld %ld %s\n", (total.succeeded + total.failed) / seconds, total.succeeded, total.failed,
		   total.sqlstate[0] ? total.sqlstate : "-");
	return 0;
}

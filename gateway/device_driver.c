/*
 * device_driver.c
 *		How dtmv-home's gateway speaks to a device: it runs the device
 *		driver (--driver PROGRAM), one call per question, and takes what the
 *		driver prints as the device's answer.
 *
 *	 PROGRAM read SERIAL			the device's state, as a JSON object
 *	 PROGRAM act SERIAL ACTION ARGS	carry ACTION out (ARGS: the command's
 *									arguments, a JSON object); the result, a
 *									JSON object
 *
 * Exit status 0: the answer is on standard output.  Any other: the device
 * could not be reached or refused; the last line the driver wrote on
 * standard error says why.  A driver that does not answer within the
 * device timeout is killed (its whole process group).  While it works, the
 * caller's keep-alive runs every so often (the gateway renews its sync's
 * lease there); if it says the work is no longer wanted, the driver is
 * killed too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dtmv_home.h"

/* at most this much of a driver's output is kept */
#define DRIVER_OUTPUT_MAX (1024 * 1024)

typedef struct Buffer
{
	char	   *data;
	size_t		len;
	size_t		cap;
	int			fd;				/* -1 once at its end */
} Buffer;

/* read what is there; false at the end (or on an error) */
static bool
buffer_read(Buffer *b)
{
	char		chunk[4096];
	ssize_t		n = read(b->fd, chunk, sizeof(chunk));

	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	if (b->len + n + 1 > b->cap && b->len < DRIVER_OUTPUT_MAX)
	{
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (b->data == NULL)
		{
			fprintf(stderr, "out of memory\n");
			exit(1);
		}
	}
	if (b->len + n + 1 <= b->cap)
	{
		memcpy(b->data + b->len, chunk, n);
		b->len += n;
		b->data[b->len] = '\0';
	}
	return true;
}

/* the last non-empty line of s, without its end, into out */
static void
last_line(const char *s, char *out, size_t outlen)
{
	const char *end = s + strlen(s);
	const char *start;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	snprintf(out, outlen, "%.*s", (int) (end - start), start);
}

static double
seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
driver_kill(pid_t pid)
{
	int			status;

	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

bool
device_call(const DeviceCall *call, char *const argv[], char **answer, char *reason, size_t reasonlen)
{
	int			out[2];
	int			err[2];
	pid_t		pid;
	Buffer		bufs[2] = {{NULL, 0, 0, -1}, {NULL, 0, 0, -1}};
	double		started = seconds_now();
	double		next_keep_alive = started + call->keep_alive_every;
	int			status = 0;
	bool		exited = false;
	bool		ok = false;

	*answer = NULL;
	reason[0] = '\0';
	if (pipe(out) < 0 || pipe(err) < 0)
	{
		snprintf(reason, reasonlen, "cannot run the device driver: %s", strerror(errno));
		return false;
	}
	pid = fork();
	if (pid < 0)
	{
		snprintf(reason, reasonlen, "cannot run the device driver: %s", strerror(errno));
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		return false;
	}
	if (pid == 0)
	{
		/* its own process group: a timeout kills whatever it started too */
		setpgid(0, 0);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		/* the gateway's database password is not the device's business */
		unsetenv("PGPASSWORD");
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	bufs[0].fd = out[0];
	bufs[1].fd = err[0];

	/*
	 * Until the driver has exited and what it wrote is read: the deadline,
	 * a stop and the keep-alive hold all along, also once the driver has
	 * closed its output (it may still hang), and a child it left behind
	 * holding the pipes open delays nothing.
	 */
	for (;;)
	{
		fd_set		fds;
		struct timeval tv = {0, 200000};
		int			maxfd = -1;
		int			i;
		int			ready;
		double		now = seconds_now();

		if (!exited)
		{
			pid_t		r = waitpid(pid, &status, WNOHANG);

			if (r == pid)
				exited = true;
			else if (r < 0 && errno != EINTR)
			{
				snprintf(reason, reasonlen, "waiting for the device driver failed: %s", strerror(errno));
				goto killed;
			}
		}
		if (!exited && now - started >= call->timeout)
		{
			snprintf(reason, reasonlen, "no answer from the device within %d s", call->timeout);
			goto killed;
		}
		if (!exited && stop_requested)
		{
			snprintf(reason, reasonlen, "the gateway was stopped while the device worked");
			goto killed;
		}
		if (!exited && call->keep_alive != NULL && now >= next_keep_alive)
		{
			if (!call->keep_alive(call->arg, reason, reasonlen))
				goto killed;
			next_keep_alive = now + call->keep_alive_every;
		}
		FD_ZERO(&fds);
		for (i = 0; i < 2; i++)
			if (bufs[i].fd >= 0)
			{
				FD_SET(bufs[i].fd, &fds);
				if (bufs[i].fd > maxfd)
					maxfd = bufs[i].fd;
			}
		if (exited)
		{
			/* what is left to read is there now: no waiting for more */
			tv.tv_usec = 0;
			if (maxfd < 0)
				break;
		}
		ready = select(maxfd + 1, maxfd >= 0 ? &fds : NULL, NULL, NULL, &tv);
		if (ready < 0)
		{
			if (errno == EINTR)
				continue;
			snprintf(reason, reasonlen, "waiting for the device driver failed: %s", strerror(errno));
			goto killed;
		}
		if (exited && ready == 0)
			break;
		for (i = 0; i < 2; i++)
			if (bufs[i].fd >= 0 && FD_ISSET(bufs[i].fd, &fds) && !buffer_read(&bufs[i]))
			{
				close(bufs[i].fd);
				bufs[i].fd = -1;
			}
	}
	/* anything the driver left running in its process group goes with it */
	kill(-pid, SIGKILL);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
	{
		ok = true;
		*answer = bufs[0].data != NULL ? bufs[0].data : strdup("");
		bufs[0].data = NULL;
	}
	else
	{
		char		why[256] = "";

		if (bufs[1].data != NULL)
			last_line(bufs[1].data, why, sizeof(why));
		if (WIFEXITED(status))
			snprintf(reason, reasonlen, "the device driver exited with status %d%s%s", WEXITSTATUS(status),
					 why[0] ? ": " : "", why);
		else
			snprintf(reason, reasonlen, "the device driver was killed by signal %d%s%s", WTERMSIG(status),
					 why[0] ? ": " : "", why);
	}
	goto done;

killed:
	driver_kill(pid);
done:
	if (bufs[0].fd >= 0)
		close(bufs[0].fd);
	if (bufs[1].fd >= 0)
		close(bufs[1].fd);
	free(bufs[0].data);
	free(bufs[1].data);
	return ok;
}

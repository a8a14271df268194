/* The supervised `dmacoh run` (docs/supervise.md): the machine and the checker are built, then
 * the process forks.  The child loads the driver and runs the workload; its checker streams
 * every change to its findings down a pipe (src/check/stream.c).  The parent keeps its own copy
 * of the findings, watches the host-time watchdog and its own signals, and writes the report
 * and the summary whatever became of the child: a clean end, a crash, a driver's exit(), the
 * watchdog, SIGKILL, or SIGTERM/SIGINT/SIGHUP to the parent.
 *
 * Not done: a child that blocks the watchdog signal or corrupts the pipe's descriptor is
 * killed after a grace period with an X02 that has no source line; the simulated-time
 * watchdog lives in the run itself, not here. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervise.h"

#define GRACE_S 10      /* after the watchdog signal, before SIGKILL */
#define BEAT_SLACK 0.25 /* s: more than the child's heartbeat interval (crash.c) */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

struct stats_rec {
	struct dc_run_stats rs;
	uint64_t sim_ns;
	uint8_t ran;
	char first_kind[16];
	char what[1100];
	struct dc_dbg_stats dbg;
};

/* The child's end of the run: crash, bug check, exit(), watchdog (crash.c calls this). */
static void child_stop(void *opaque)
{
	struct dc_run_ctx *x = opaque;
	dc_run_close_trace(x);
	_exit(1);
}

static _Noreturn void child(struct dc_run_ctx *x, int fd, const sigset_t *old, pid_t parent)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, old, NULL);
	/* A supervisor that dies (SIGKILL) takes the run with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1); /* it died before the request: no one would be told */
	struct dc_check *chk = x->t.chk;
	dc_check_stream_to(chk, fd);
	dc_check_set_stop(child_stop, x);
	dc_check_install_watchdog(chk, x->timeout);
	int rc = dc_run_body(x);
	if (rc) {
		dc_check_stream_write(chk, DC_REC_ERR, x->err, strlen(x->err));
		_exit(2);
	}
	static struct stats_rec s;
	s.rs = x->rs;
	s.sim_ns = x->sim_ns;
	s.ran = x->ran;
	memcpy(s.first_kind, x->first_kind, sizeof(s.first_kind));
	memcpy(s.what, x->what, sizeof(s.what));
	s.dbg = x->dbg;
	dc_check_stream_write(chk, DC_REC_STATS, &s, sizeof(s));
	_exit(0);
}

struct parent {
	struct dc_run_ctx *x;
	struct dc_check *chk;
	char *buf;
	size_t n, cap;
	bool stats, bad, log_dirty;
	char err[1024];
	struct timespec log_at;
	struct timespec beat; /* the driver's last return to the kernel (heartbeat) */
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void write_log(struct parent *p)
{
	if (p->x->co.log_path[0])
		dc_run_write_log(p->chk, &p->x->co);
	p->log_dirty = false;
	clock_gettime(CLOCK_MONOTONIC, &p->log_at);
}

static void record(struct parent *p, uint32_t type, const char *data, uint32_t len)
{
	struct dc_run_ctx *x = p->x;
	if (type == DC_STREAM_BEAT) {
		clock_gettime(CLOCK_MONOTONIC, &p->beat);
		return;
	}
	size_t before = dc_check_count(p->chk);
	int e = dc_check_stream_apply(p->chk, type, data, len);
	if (e == DC_OK) {
		/* A new finding is on disk at once; counts at most a few times a second. */
		if (dc_check_count(p->chk) != before)
			write_log(p);
		else
			p->log_dirty = true;
		return;
	}
	if (e != DC_ERR_NOTFOUND) {
		p->bad = true;
		return;
	}
	if (type == DC_REC_INFO && len == 128) {
		memcpy(x->name, data, 64);
		memcpy(x->device, data + 64, 64);
		x->name[63] = x->device[63] = 0;
	} else if (type == DC_REC_STATS && len == sizeof(struct stats_rec)) {
		struct stats_rec s;
		memcpy(&s, data, sizeof(s));
		x->rs = s.rs;
		x->rs.first_kind = NULL;
		x->sim_ns = s.sim_ns;
		x->ran = s.ran;
		memcpy(x->first_kind, s.first_kind, sizeof(x->first_kind));
		x->first_kind[sizeof(x->first_kind) - 1] = 0;
		memcpy(x->what, s.what, sizeof(x->what));
		x->what[sizeof(x->what) - 1] = 0;
		x->dbg = s.dbg;
		p->stats = true;
	} else if (type == DC_REC_IRP && len == sizeof(struct dc_run_irp)) {
		/* A failed or hung IRP, as the child saw it: kept even if the child dies later. */
		struct dc_run_irp ri;
		memcpy(&ri, data, sizeof(ri));
		ri.kind[sizeof(ri.kind) - 1] = 0;
		ri.note.status_name[sizeof(ri.note.status_name) - 1] = 0;
		if (ri.note.n_lines > DC_NOTE_LINES)
			ri.note.n_lines = 0;
		for (unsigned k = 0; k < ri.note.n_lines; k++)
			ri.note.line[k][DC_NOTE_LINE - 1] = 0;
		dc_run_keep_irp(x, &ri);
	} else if (type == DC_REC_ERR) {
		size_t k = len < sizeof(p->err) - 1 ? len : sizeof(p->err) - 1;
		memcpy(p->err, data, k);
		p->err[k] = 0;
	}
}

/* Takes every whole record out of the buffer. */
static void drain(struct parent *p)
{
	size_t at = 0;
	while (p->n - at >= sizeof(struct dc_stream_hdr)) {
		struct dc_stream_hdr h;
		memcpy(&h, p->buf + at, sizeof(h));
		if (p->n - at - sizeof(h) < h.len)
			break;
		record(p, h.type, p->buf + at + sizeof(h), h.len);
		at += sizeof(h) + h.len;
	}
	memmove(p->buf, p->buf + at, p->n - at);
	p->n -= at;
}

static int read_some(struct parent *p, int fd)
{
	if (p->cap - p->n < 65536) {
		size_t cap = p->cap ? p->cap * 2 : 1u << 17;
		char *b = realloc(p->buf, cap);
		if (!b)
			return -1;
		p->buf = b;
		p->cap = cap;
	}
	ssize_t k = read(fd, p->buf + p->n, p->cap - p->n);
	if (k < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (k == 0)
		return 0;
	p->n += (size_t)k;
	drain(p);
	return 1;
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	case SIGHUP:
		return "SIGHUP";
	case SIGKILL:
		return "SIGKILL";
	case SIGSEGV:
		return "SIGSEGV";
	case SIGABRT:
		return "SIGABRT";
	default:
		return "a signal";
	}
}

/* Why the child ended without its summary. */
static void explain(struct parent *p, int status, int parent_sig, bool watchdog_killed)
{
	struct dc_run_ctx *x = p->x;
	size_t n = dc_check_count(p->chk);
	const struct dc_finding *last = n ? dc_check_finding(p->chk, n - 1) : NULL;
	bool final = last && (last->rule == DC_RULE_X01 || last->rule == DC_RULE_X02 ||
	                      last->rule == DC_RULE_X03);
	if (parent_sig)
		snprintf(x->what, sizeof(x->what),
		         "interrupted by %s (the report holds the findings "
		         "made until then)",
		         signame(parent_sig));
	else if (watchdog_killed)
		snprintf(x->what, sizeof(x->what),
		         "the host watchdog (%u s) found the driver still running; it did not stop "
		         "in %d s and was killed",
		         x->timeout, GRACE_S);
	else if (final)
		snprintf(x->what, sizeof(x->what), "%s %s", dc_rule_info(last->rule)->id,
		         dc_rule_info(last->rule)->name);
	else if (WIFSIGNALED(status))
		snprintf(x->what, sizeof(x->what), "the run process was killed by %s (signal %d)",
		         signame(WTERMSIG(status)), WTERMSIG(status));
	else if (WIFEXITED(status) && !*x->what)
		snprintf(x->what, sizeof(x->what), "the run process ended with status %d",
		         WEXITSTATUS(status));
}

int dc_run_supervised(struct dc_run_ctx *x)
{
	struct dc_check *chk = x->t.chk;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		fprintf(stderr, "dmacoh run: cannot create a pipe: %s\n", strerror(errno));
		return 2;
	}
	sigset_t block, old;
	struct sigaction old_sa[3];
	static const int caught[3] = {SIGTERM, SIGINT, SIGHUP};
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(caught[i], &sa, &old_sa[i]);
	signal(SIGPIPE, SIG_IGN);
	fflush(NULL);
	pid_t parent_pid = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		for (int i = 0; i < 3; i++)
			sigaction(caught[i], &old_sa[i], NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		fprintf(stderr, "dmacoh run: cannot fork: %s\n", strerror(e));
		return 2;
	}
	if (pid == 0) {
		close(fds[0]);
		child(x, fds[1], &old, parent_pid);
	}
	close(fds[1]);
	struct parent p = {.x = x, .chk = chk};
	clock_gettime(CLOCK_MONOTONIC, &p.log_at);
	/* The host watchdog measures from the driver's last return to the kernel (the child's
	 * heartbeat, sent at most every 100 ms: BEAT_SLACK covers returns it did not send), so
	 * X02 "ran for N s without returning" is true however long a correct run takes. */
	clock_gettime(CLOCK_MONOTONIC, &p.beat);
	int parent_sig = 0;
	bool watchdog_sent = false, watchdog_killed = false;
	struct timespec wd_at = {0, 0};
	for (;;) {
		double wait = 0.25;
		if (x->timeout && !watchdog_sent)
			wait = (double)x->timeout + BEAT_SLACK - since(&p.beat);
		else if (watchdog_sent && !watchdog_killed)
			wait = GRACE_S - since(&wd_at);
		if (wait > 0.25 && p.log_dirty)
			wait = 0.25;
		if (wait > 3600)
			wait = 3600;
		if (wait < 0)
			wait = 0;
		struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
		struct pollfd pf = {fds[0], POLLIN, 0};
		int r = ppoll(&pf, 1, &ts, &old);
		if (got_signal && !parent_sig) {
			/* Stop the run now; what it streamed before is kept. */
			parent_sig = got_signal;
			kill(pid, SIGKILL);
		}
		if (r > 0) {
			int k = read_some(&p, fds[0]);
			if (k <= 0)
				break;
		}
		if (p.log_dirty && since(&p.log_at) >= 0.25)
			write_log(&p);
		if (x->timeout && !watchdog_sent &&
		    since(&p.beat) >= (double)x->timeout + BEAT_SLACK) {
			kill(pid, SIGUSR2);
			watchdog_sent = true;
			clock_gettime(CLOCK_MONOTONIC, &wd_at);
		} else if (watchdog_sent && !watchdog_killed && since(&wd_at) >= GRACE_S) {
			kill(pid, SIGKILL);
			watchdog_killed = true;
		}
	}
	close(fds[0]);
	/* The stream ended, but a driver that closed or dup2'd over its descriptors may still
	 * run: the same watchdog (from the last heartbeat) and grace period, then SIGKILL. */
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (got_signal && !parent_sig) {
			parent_sig = got_signal;
			kill(pid, SIGKILL);
		}
		if (x->timeout && !watchdog_sent &&
		    since(&p.beat) >= (double)x->timeout + BEAT_SLACK) {
			kill(pid, SIGUSR2);
			watchdog_sent = true;
			clock_gettime(CLOCK_MONOTONIC, &wd_at);
		} else if (watchdog_sent && !watchdog_killed && since(&wd_at) >= GRACE_S) {
			kill(pid, SIGKILL);
			watchdog_killed = true;
		}
		struct timespec ts = {0, 50000000};
		nanosleep(&ts, NULL);
	}
	size_t nf = dc_check_count(chk);
	const struct dc_finding *lastf = nf ? dc_check_finding(chk, nf - 1) : NULL;
	if (watchdog_killed)
		dc_check_add_result(chk, DC_RULE_X02, NULL, false, 0,
		                    "the driver ran past the host watchdog and did not stop");
	else if (watchdog_sent && !p.stats && !parent_sig && (!lastf || lastf->rule != DC_RULE_X02))
		/* The child's own X02 never arrived (its stream was closed under it). */
		dc_check_add_result(chk, DC_RULE_X02, NULL, false, 0,
		                    "the driver ran past the host watchdog without returning; its "
		                    "findings stream was closed");
	if (*p.err && !dc_check_count(chk)) {
		fprintf(stderr, "dmacoh run: %s\n", p.err);
		free(p.buf);
		dc_tool_session_close(&x->t);
		return 2;
	}
	if (!p.stats) {
		x->ran = false;
		explain(&p, status, parent_sig, watchdog_killed);
		/* The child's own error stays in the summary's "run stopped:" line. */
		if (*p.err && !parent_sig && !watchdog_killed)
			snprintf(x->what, sizeof(x->what), "%s", p.err);
		if (x->trace_path)
			dc_trace_repair(x->trace_path);
	}
	if (p.bad)
		fprintf(stderr, "dmacoh run: the run's findings stream was damaged; the report "
		                "holds what could be read\n");
	int rc = dc_run_finish(x, chk);
	/* The child's input error (exit 2) stays an input error once its findings are out. */
	if (*p.err && !parent_sig && !watchdog_killed && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 2) {
		fprintf(stderr, "dmacoh run: %s\n", p.err);
		rc = 2;
	}
	free(p.buf);
	dc_tool_session_close(&x->t);
	if (parent_sig && !rc)
		rc = 128 + parent_sig;
	return rc;
}

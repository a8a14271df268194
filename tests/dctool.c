/* See dctool.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dctool.h"

const char *dct_tool(void)
{
	static char path[4096];
	const char *bin = getenv("DMACOH_BIN");
	if (bin)
		return bin;
	if (path[0])
		return path;
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return NULL;
	path[n] = 0;
	char *slash = strrchr(path, '/');
	if (!slash || (size_t)(slash - path) + sizeof("/../dmacoh") > sizeof(path)) {
		path[0] = 0;
		return NULL;
	}
	strcpy(slash, "/../dmacoh");
	if (access(path, X_OK) != 0) {
		path[0] = 0;
		return NULL;
	}
	return path;
}

static size_t slurp(int fd, char *buf, size_t len)
{
	size_t n = 0;
	lseek(fd, 0, SEEK_SET);
	while (n + 1 < len) {
		ssize_t k = read(fd, buf + n, len - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	buf[n] = 0;
	close(fd);
	return n;
}

static int temp_fd(void)
{
	char path[] = "/tmp/dmacoh-cli-XXXXXX";
	int fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

bool dct_run_tool(struct dct_run *r, const char *const *args)
{
	const char *bin = dct_tool();
	if (!bin)
		return false;
	char *argv[32];
	size_t n = 0;
	argv[n++] = (char *)bin;
	for (size_t i = 0; args[i] && n < sizeof(argv) / sizeof(argv[0]) - 1; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	int out = temp_fd(), err = temp_fd();
	if (out < 0 || err < 0) {
		if (out >= 0)
			close(out);
		if (err >= 0)
			close(err);
		return false;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		execv(bin, argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return false;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->out_len = slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	return true;
}

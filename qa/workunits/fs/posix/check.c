/*
 * fs-posix's runner and the helpers every case uses.
 *
 *   fs-posix [--list] [--timeout SECONDS] DIR [CASE...]
 *
 * Makes DIR/posix.XXXXXX (mode 0755, so the unprivileged user can reach it),
 * runs every case (or the named ones) in a forked child inside its own
 * subdirectory, prints one line a case -- "ok NAME", "FAIL NAME: why",
 * "skip NAME: why" -- then "N passed, N failed, N skipped", removes what it
 * made and exits 1 if any case failed.
 *
 * Invariant: the failure message lives in a shared anonymous mapping, so a
 * case's grandchildren (as_user) write it where the runner reads it.
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MESSAGE_MAX 1024

static char *message;              /* shared with every child */
static char case_path[4096 + 512]; /* the running case's directory */
static int subsecond = -1;         /* -1: not probed yet */

static const struct posix_case *const tables[] = {
    errors_cases, perms_cases, links_cases, rename_cases, times_cases,
    nodes_cases,  data_cases,  xattr_cases, scale_cases,  NULL,
};

int check_fail(int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(message, MESSAGE_MAX, "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(message + n, MESSAGE_MAX - n, fmt, ap);
	va_end(ap);
	return CASE_FAIL;
}

int check_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, MESSAGE_MAX, fmt, ap);
	va_end(ap);
	return CASE_SKIP;
}

const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "an unknown errno";
}

bool check_is_root(void)
{
	return geteuid() == 0;
}

const char *case_dir(void)
{
	return case_path;
}

int as_user(uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return check_fail(__LINE__, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (geteuid() != uid) {
			if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
				check_fail(__LINE__, "cannot become %u:%u: %s", (unsigned)uid,
				           (unsigned)gid, strerror(errno));
				_exit(CASE_FAIL);
			}
		}
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) < 0)
		return check_fail(__LINE__, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		return check_fail(__LINE__, "the child as %u died of signal %d", (unsigned)uid,
		                  WTERMSIG(status));
	return WEXITSTATUS(status);
}

int as_nobody(int (*fn)(void *), void *arg)
{
	if (!check_is_root())
		return as_user(geteuid(), getegid(), fn, arg);
	return as_user(NOBODY_UID, NOBODY_GID, fn, arg);
}

/* Whether files here get sub-second timestamps (probed on two new files). */
static bool has_subsecond(void)
{
	struct stat st;

	if (subsecond >= 0)
		return subsecond;
	subsecond = 0;
	for (int i = 0; i < 2 && !subsecond; i++) {
		int fd = open(".subsecond-probe", O_CREAT | O_WRONLY | O_TRUNC, 0600);

		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_mtim.tv_nsec != 0)
			subsecond = 1;
		if (fd >= 0)
			close(fd);
		unlink(".subsecond-probe");
		struct timespec pause = {0, 3000000};
		nanosleep(&pause, NULL);
	}
	return subsecond;
}

void tick(void)
{
	struct timespec pause = {0, 20000000};

	if (!has_subsecond())
		pause = (struct timespec){1, 100000000};
	nanosleep(&pause, NULL);
}

int pattern_fill(unsigned char *buf, size_t len, off_t offset, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		unsigned long long x = (unsigned long long)(offset + (off_t)i) * 2654435761u + seed;

		buf[i] = (unsigned char)(x ^ (x >> 13) ^ (x >> 29));
	}
	return 0;
}

int file_put(const char *path, const char *content)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	size_t len = strlen(content);

	if (fd < 0)
		return -1;
	if (write(fd, content, len) != (ssize_t)len) {
		int saved = errno;

		close(fd);
		errno = saved ? saved : EIO;
		return -1;
	}
	return close(fd);
}

ssize_t file_get(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

int shell(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	if (status == -1 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Removes the tree under DIRFD/NAME, making directories searchable first. */
static void remove_tree_at(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		fchmodat(dirfd, name, 0700, 0);
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;

		if (d) {
			while ((e = readdir(d)) != NULL) {
				if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
					remove_tree_at(fd, e->d_name);
			}
			closedir(d);
		} else if (fd >= 0) {
			close(fd);
		}
		unlinkat(dirfd, name, AT_REMOVEDIR);
	} else {
		unlinkat(dirfd, name, 0);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: fs-posix [--list] [--timeout SECONDS] DIR [CASE...]\n");
	exit(2);
}

static bool wanted(const char *name, char **names, int count)
{
	if (count == 0)
		return true;
	for (int i = 0; i < count; i++) {
		if (strcmp(names[i], name) == 0)
			return true;
	}
	return false;
}

/* Runs one case in a child inside BASE/NAME; prints its line; returns CASE_*. */
static int run_case(const char *base, const struct posix_case *c, unsigned timeout)
{
	int status, result;
	pid_t pid;

	snprintf(case_path, sizeof(case_path), "%s/%s", base, c->name);
	message[0] = '\0';
	if ((c->flags & NEEDS_ROOT) && !check_is_root()) {
		printf("skip %s: needs root\n", c->name);
		return CASE_SKIP;
	}
	if (mkdir(case_path, 0755) < 0) {
		printf("FAIL %s: mkdir %s: %s\n", c->name, case_path, errno_name(errno));
		return CASE_FAIL;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (chdir(case_path) < 0)
			_exit(check_fail(__LINE__, "chdir %s: %s", case_path, strerror(errno)));
		umask(022);
		alarm(timeout);
		_exit(c->run());
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		result = check_fail(__LINE__, "fork/wait: %s", strerror(errno));
	} else if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM)
			snprintf(message, MESSAGE_MAX, "no result after %u s (hung?)", timeout);
		else if (!message[0])
			snprintf(message, MESSAGE_MAX, "died of signal %d", WTERMSIG(status));
		result = CASE_FAIL;
	} else {
		result = WEXITSTATUS(status);
	}
	if (result == CASE_OK)
		printf("ok %s\n", c->name);
	else if (result == CASE_SKIP)
		printf("skip %s: %s\n", c->name, message);
	else
		printf("FAIL %s: %s\n", c->name, message[0] ? message : "(no message)");
	fflush(stdout);
	remove_tree_at(AT_FDCWD, case_path);
	return result == CASE_OK || result == CASE_SKIP ? result : CASE_FAIL;
}

int main(int argc, char **argv)
{
	unsigned timeout = 900, passed = 0, failed = 0, skipped = 0;
	const char *dir = NULL;
	char base[4096];
	int i = 1;

	message =
	    mmap(NULL, MESSAGE_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (message == MAP_FAILED)
		return 2;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--list") == 0) {
			for (int t = 0; tables[t]; t++)
				for (const struct posix_case *c = tables[t]; c->name; c++)
					printf("%s\n", c->name);
			return 0;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	dir = argv[i++];
	snprintf(base, sizeof(base), "%s/posix.XXXXXX", dir);
	if (!mkdtemp(base)) {
		fprintf(stderr, "fs-posix: cannot make a directory in %s: %s\n", dir,
		        strerror(errno));
		return 2;
	}
	chmod(base, 0755);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# fs-posix in %s as uid %u\n", base, (unsigned)geteuid());
	for (int t = 0; tables[t]; t++) {
		for (const struct posix_case *c = tables[t]; c->name; c++) {
			if (!wanted(c->name, argv + i, argc - i))
				continue;
			int r = run_case(base, c, timeout);

			if (r == CASE_OK)
				passed++;
			else if (r == CASE_SKIP)
				skipped++;
			else
				failed++;
		}
	}
	remove_tree_at(AT_FDCWD, base);
	printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	if (passed + failed + skipped == 0) {
		fprintf(stderr, "fs-posix: no case matched\n");
		return 2;
	}
	return failed ? 1 : 0;
}

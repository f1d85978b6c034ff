/*
 * Timestamps as POSIX says: every change of a directory's entries advances
 * its mtime and ctime; writes and size changes advance a file's mtime and
 * ctime; metadata changes advance ctime and leave mtime; utimensat sets,
 * omits (UTIME_OMIT) and takes the time now (UTIME_NOW). tick() waits long
 * enough for the file system's timestamp granularity.
 */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

enum op {
	OP_CREATE,
	OP_MKDIR,
	OP_MKFIFO,
	OP_SYMLINK,
	OP_LINK,
	OP_UNLINK,
	OP_RMDIR,
	OP_RENAME,
	OP_RENAME_OUT,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "create", "mkdir", "mkfifo", "symlink", "link", "unlink", "rmdir", "rename", "rename out",
};

static int op_run(enum op op)
{
	switch (op) {
	case OP_CREATE:
		return file_put("p/created", "x");
	case OP_MKDIR:
		return mkdir("p/newdir", 0755);
	case OP_MKFIFO:
		return mkfifo("p/fifo", 0644);
	case OP_SYMLINK:
		return symlink("target", "p/symlink");
	case OP_LINK:
		return link("outside", "p/hardlink");
	case OP_UNLINK:
		return unlink("p/created");
	case OP_RMDIR:
		return rmdir("p/newdir");
	case OP_RENAME:
		return rename("p/fifo", "p/fifo2");
	case OP_RENAME_OUT:
		return rename("p/fifo2", "q/fifo");
	default:
		return -1;
	}
}

static int entry_changes_update_the_parents_mtime_and_ctime(void)
{
	struct stat before, after;

	OK(mkdir("p", 0755));
	OK(mkdir("q", 0755));
	OK(file_put("outside", "x"));
	for (int op = 0; op < OP_COUNT; op++) {
		OK(stat("p", &before));
		tick();
		if (op_run(op) < 0)
			return check_fail(__LINE__, "%s: expected success, got %s", op_names[op],
			                  errno_name(errno));
		OK(stat("p", &after));
		CHECK(after.st_mtim.tv_sec > before.st_mtim.tv_sec ||
		          after.st_mtim.tv_nsec > before.st_mtim.tv_nsec,
		      "%s: expected the parent's mtime to advance, it stayed %lld.%09ld",
		      op_names[op], (long long)after.st_mtim.tv_sec, after.st_mtim.tv_nsec);
		CHECK(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
		          after.st_ctim.tv_nsec > before.st_ctim.tv_nsec,
		      "%s: expected the parent's ctime to advance, it stayed %lld.%09ld",
		      op_names[op], (long long)after.st_ctim.tv_sec, after.st_ctim.tv_nsec);
	}
	OK(stat("q", &after));
	LATER(after.st_mtim, before.st_mtim);
	return CASE_OK;
}

static int writes_and_size_changes_update_mtime_and_ctime(void)
{
	struct stat before, after;
	int fd;

	OK(fd = open("file", O_CREAT | O_RDWR, 0644));
	OK(fstat(fd, &before));
	tick();
	EQ(write(fd, "hello", 5), 5);
	OK(fstat(fd, &after));
	LATER(after.st_mtim, before.st_mtim);
	LATER(after.st_ctim, before.st_ctim);
	before = after;
	tick();
	OK(ftruncate(fd, 2));
	OK(fstat(fd, &after));
	LATER(after.st_mtim, before.st_mtim);
	LATER(after.st_ctim, before.st_ctim);
	close(fd);
	before = after;
	tick();
	OK(truncate("file", 100));
	OK(stat("file", &after));
	LATER(after.st_mtim, before.st_mtim);
	before = after;
	tick();
	OK(fd = open("file", O_WRONLY | O_TRUNC));
	close(fd);
	OK(stat("file", &after));
	LATER(after.st_mtim, before.st_mtim);
	LATER(after.st_ctim, before.st_ctim);
	/* A read changes neither. */
	before = after;
	tick();
	char buf[8];
	OK(fd = open("file", O_RDONLY));
	OK(read(fd, buf, sizeof(buf)));
	close(fd);
	OK(stat("file", &after));
	SAME_TIME(after.st_mtim, before.st_mtim);
	SAME_TIME(after.st_ctim, before.st_ctim);
	return CASE_OK;
}

static int metadata_changes_update_ctime_but_not_mtime(void)
{
	static const char *const what[] = {"chmod",  "chown",    "link", "unlink of a second name",
	                                   "rename", "setxattr", NULL};
	struct stat before, after;

	OK(file_put("file", "x"));
	for (int i = 0; what[i]; i++) {
		OK(stat("file", &before));
		tick();
		int r;
		switch (i) {
		case 0:
			r = chmod("file", 0600);
			break;
		case 1:
			r = chown("file", geteuid(), getegid());
			break;
		case 2:
			r = link("file", "second");
			break;
		case 3:
			r = unlink("second");
			break;
		case 4:
			r = rename("file", "file2") == 0 ? rename("file2", "file") : -1;
			break;
		default:
			r = setxattr("file", "user.t", "v", 1, 0);
			break;
		}
		if (r < 0)
			return check_fail(__LINE__, "%s: expected success, got %s", what[i],
			                  errno_name(errno));
		OK(stat("file", &after));
		CHECK(after.st_ctim.tv_sec > before.st_ctim.tv_sec ||
		          after.st_ctim.tv_nsec > before.st_ctim.tv_nsec,
		      "%s: expected ctime to advance, it stayed %lld.%09ld", what[i],
		      (long long)after.st_ctim.tv_sec, after.st_ctim.tv_nsec);
		CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
		          after.st_mtim.tv_nsec == before.st_mtim.tv_nsec,
		      "%s: expected mtime unchanged, it moved to %lld.%09ld", what[i],
		      (long long)after.st_mtim.tv_sec, after.st_mtim.tv_nsec);
	}
	return CASE_OK;
}

static int utimensat_sets_omits_and_takes_now(void)
{
	struct timespec set[2] = {{1000000000, 0}, {1100000000, 0}};
	struct timespec omit_m[2] = {{1200000000, 0}, {0, UTIME_OMIT}};
	struct timespec now_m[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	struct timespec omit_both[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	struct stat st, before;
	struct timespec t0;
	int fd;

	OK(file_put("file", "x"));
	OK(utimensat(AT_FDCWD, "file", set, 0));
	OK(stat("file", &st));
	EQ(st.st_atim.tv_sec, 1000000000);
	EQ(st.st_mtim.tv_sec, 1100000000);
	OK(utimensat(AT_FDCWD, "file", omit_m, 0));
	OK(stat("file", &st));
	EQ(st.st_atim.tv_sec, 1200000000);
	EQ(st.st_mtim.tv_sec, 1100000000);
	before = st;
	tick();
	clock_gettime(CLOCK_REALTIME, &t0);
	OK(fd = open("file", O_RDONLY));
	OK(futimens(fd, now_m));
	close(fd);
	OK(stat("file", &st));
	EQ(st.st_atim.tv_sec, 1200000000);
	CHECK(st.st_mtim.tv_sec >= t0.tv_sec - 1 && st.st_mtim.tv_sec <= t0.tv_sec + 5,
	      "UTIME_NOW: expected mtime near %lld, got %lld", (long long)t0.tv_sec,
	      (long long)st.st_mtim.tv_sec);
	LATER(st.st_ctim, before.st_ctim);
	before = st;
	tick();
	OK(utimensat(AT_FDCWD, "file", omit_both, 0));
	OK(stat("file", &st));
	SAME_TIME(st.st_mtim, before.st_mtim);
	SAME_TIME(st.st_atim, before.st_atim);
	/* On a symlink itself. */
	OK(symlink("file", "link"));
	OK(utimensat(AT_FDCWD, "link", set, AT_SYMLINK_NOFOLLOW));
	OK(lstat("link", &st));
	EQ(st.st_mtim.tv_sec, 1100000000);
	OK(stat("file", &st));
	CHECK(st.st_mtim.tv_sec != 1100000000, "utimensat(AT_SYMLINK_NOFOLLOW) changed the target");
	return CASE_OK;
}

const struct posix_case times_cases[] = {
    {"entry_changes_update_the_parents_mtime_and_ctime",
     entry_changes_update_the_parents_mtime_and_ctime, 0},
    {"writes_and_size_changes_update_mtime_and_ctime",
     writes_and_size_changes_update_mtime_and_ctime, 0},
    {"metadata_changes_update_ctime_but_not_mtime", metadata_changes_update_ctime_but_not_mtime, 0},
    {"utimensat_sets_omits_and_takes_now", utimensat_sets_omits_and_takes_now, 0},
    {NULL, NULL, 0},
};

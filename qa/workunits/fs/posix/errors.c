/*
 * The errors POSIX (and Linux, where POSIX leaves a choice) names for each
 * operation: ENOENT EEXIST ENOTEMPTY ENOTDIR EISDIR ENAMETOOLONG ELOOP EINVAL
 * EXDEV EPERM. EACCES is in perms.c, where an unprivileged user meets it.
 */
#include "check.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int missing_names_give_enoent(void)
{
	struct stat st;
	char buf[16];

	ERR(open("none", O_RDONLY), ENOENT);
	ERR(stat("none", &st), ENOENT);
	ERR(lstat("none", &st), ENOENT);
	ERR(unlink("none"), ENOENT);
	ERR(rmdir("none"), ENOENT);
	ERR(rename("none", "other"), ENOENT);
	ERR(link("none", "other"), ENOENT);
	ERR(chmod("none", 0644), ENOENT);
	ERR(chown("none", 0, 0), ENOENT);
	ERR(truncate("none", 0), ENOENT);
	ERR(readlink("none", buf, sizeof(buf)), ENOENT);
	ERR(open("nodir/file", O_CREAT | O_WRONLY, 0644), ENOENT);
	ERR(mkdir("nodir/sub", 0755), ENOENT);
	ERR(symlink("target", "nodir/link"), ENOENT);
	ERR(mknod("nodir/fifo", S_IFIFO | 0644, 0), ENOENT);
	ERR(getxattr("none", "user.x", buf, sizeof(buf)), ENOENT);
	OK(symlink("none", "dangling"));
	ERR(stat("dangling", &st), ENOENT);
	ERR(open("dangling", O_RDONLY), ENOENT);
	return CASE_OK;
}

static int existing_names_give_eexist(void)
{
	OK(mkdir("dir", 0755));
	OK(file_put("file", "x"));
	ERR(mkdir("dir", 0755), EEXIST);
	ERR(mkdir("file", 0755), EEXIST);
	ERR(open("file", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	ERR(open("dir", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	ERR(link("file", "dir"), EEXIST);
	ERR(link("file", "file"), EEXIST);
	ERR(symlink("x", "file"), EEXIST);
	ERR(symlink("x", "dir"), EEXIST);
	ERR(mknod("file", S_IFIFO | 0644, 0), EEXIST);
	ERR(mkfifo("dir", 0644), EEXIST);
	OK(symlink("none", "dangling"));
	/* O_CREAT|O_EXCL does not follow a symlink, even a dangling one. */
	ERR(open("dangling", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	return CASE_OK;
}

static int rmdir_of_nonempty_directory_gives_enotempty(void)
{
	OK(mkdir("full", 0755));
	OK(file_put("full/file", "x"));
	OK(mkdir("empty", 0755));
	OK(mkdir("full2", 0755));
	OK(mkdir("full2/sub", 0755));
	ERR(rmdir("full"), ENOTEMPTY);
	ERR(rmdir("full2"), ENOTEMPTY);
	ERR(rename("empty", "full"), ENOTEMPTY);
	OK(unlink("full/file"));
	OK(rmdir("full"));
	return CASE_OK;
}

static int file_used_as_directory_gives_enotdir(void)
{
	struct stat st;

	OK(file_put("file", "x"));
	OK(mkdir("dir", 0755));
	ERR(stat("file/x", &st), ENOTDIR);
	ERR(open("file/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
	ERR(mkdir("file/x", 0755), ENOTDIR);
	ERR(rmdir("file"), ENOTDIR);
	ERR(open("file", O_RDONLY | O_DIRECTORY), ENOTDIR);
	ERR(rename("dir", "file"), ENOTDIR);
	ERR(rename("file/x", "y"), ENOTDIR);
	ERR(symlink("t", "file/link"), ENOTDIR);
	ERR(unlink("file/"), ENOTDIR);
	return CASE_OK;
}

static int directory_used_as_file_gives_eisdir(void)
{
	char buf[8];
	int fd;

	OK(mkdir("dir", 0755));
	OK(file_put("file", "x"));
	ERR(open("dir", O_WRONLY), EISDIR);
	ERR(open("dir", O_RDWR), EISDIR);
	ERR(open("dir", O_WRONLY | O_TRUNC), EISDIR);
	ERR(open("dir", O_CREAT | O_WRONLY, 0644), EISDIR);
	ERR(rename("file", "dir"), EISDIR);
	ERR(unlink("dir"), EISDIR);
	ERR(truncate("dir", 0), EISDIR);
	OK(fd = open("dir", O_RDONLY));
	ERR(read(fd, buf, sizeof(buf)), EISDIR);
	close(fd);
	return CASE_OK;
}

/* NAME_MAX: 255 bytes work for every operation, 256 fail with ENAMETOOLONG. */
static int names_of_255_bytes_work_256_give_enametoolong(void)
{
	char ok[260], ok2[260], bad[260];
	struct stat st;

	memset(ok, 'a', 255);
	ok[255] = '\0';
	memset(ok2, 'b', 255);
	ok2[255] = '\0';
	memset(bad, 'c', 256);
	bad[256] = '\0';
	OK(file_put(ok, "255"));
	OK(stat(ok, &st));
	EQ(st.st_size, 3);
	OK(rename(ok, ok2));
	OK(link(ok2, ok));
	OK(unlink(ok2));
	OK(symlink(ok, ok2));
	OK(unlink(ok2));
	OK(mkdir(ok2, 0755));
	OK(rmdir(ok2));
	OK(mkfifo(ok2, 0644));
	OK(unlink(ok2));

	ERR(open(bad, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	ERR(stat(bad, &st), ENAMETOOLONG);
	ERR(mkdir(bad, 0755), ENAMETOOLONG);
	ERR(rename(ok, bad), ENAMETOOLONG);
	ERR(link(ok, bad), ENAMETOOLONG);
	ERR(symlink(ok, bad), ENAMETOOLONG);
	ERR(mknod(bad, S_IFIFO | 0644, 0), ENAMETOOLONG);
	ERR(unlink(bad), ENAMETOOLONG);
	OK(stat(ok, &st));
	return CASE_OK;
}

static int path_longer_than_path_max_gives_enametoolong(void)
{
	char *path = malloc(PATH_MAX + 16);
	struct stat st;
	int r;

	if (!path)
		return check_fail(__LINE__, "out of memory");
	/* "d/d/d/..." of PATH_MAX + 2 bytes: too long before any lookup. */
	for (int i = 0; i < PATH_MAX + 2; i += 2)
		memcpy(path + i, "d/", 2);
	path[PATH_MAX + 2] = '\0';
	errno = 0;
	r = stat(path, &st);
	free(path);
	CHECK(r == -1 && errno == ENAMETOOLONG,
	      "stat of a %d-byte path: expected ENAMETOOLONG, got %s", PATH_MAX + 2,
	      r == 0 ? "success" : errno_name(errno));
	return CASE_OK;
}

static int symlink_loops_give_eloop(void)
{
	char from[32], to[32];
	struct stat st;

	OK(symlink("b", "a"));
	OK(symlink("a", "b"));
	ERR(open("a", O_RDONLY), ELOOP);
	ERR(stat("a", &st), ELOOP);
	ERR(open("a/x", O_CREAT | O_WRONLY, 0644), ELOOP);
	/* Linux follows at most 40 links in a path: a chain of 41 is a loop. */
	OK(file_put("end", "x"));
	OK(symlink("end", "l0"));
	for (int i = 1; i <= 41; i++) {
		snprintf(from, sizeof(from), "l%d", i - 1);
		snprintf(to, sizeof(to), "l%d", i);
		OK(symlink(from, to));
	}
	OK(stat("l39", &st));
	ERR(stat("l41", &st), ELOOP);
	/* O_NOFOLLOW on a symlink. */
	ERR(open("l0", O_RDONLY | O_NOFOLLOW), ELOOP);
	return CASE_OK;
}

static int invalid_requests_give_einval(void)
{
	char buf[8];

	OK(mkdir("dir", 0755));
	OK(mkdir("dir/sub", 0755));
	OK(file_put("file", "x"));
	ERR(rename("dir", "dir/sub/inside"), EINVAL);
	ERR(rename("dir", "dir/inside"), EINVAL);
	ERR(rmdir("dir/sub/."), EINVAL);
	ERR(readlink("file", buf, sizeof(buf)), EINVAL);
	ERR(renameat2(AT_FDCWD, "file", AT_FDCWD, "dir", RENAME_NOREPLACE | RENAME_EXCHANGE),
	    EINVAL);
	ERR(truncate("file", -1), EINVAL);
	return CASE_OK;
}

/* Another file system this user may write to, or NULL. */
static const char *other_file_system(dev_t here)
{
	static const char *const candidates[] = {"/dev/shm", "/run", "/tmp", "/var/tmp", NULL};
	struct stat st;

	for (int i = 0; candidates[i]; i++) {
		if (stat(candidates[i], &st) == 0 && st.st_dev != here &&
		    access(candidates[i], W_OK) == 0)
			return candidates[i];
	}
	return NULL;
}

static int link_and_rename_across_file_systems_give_exdev(void)
{
	char other[4096];
	struct stat st;
	const char *fs;

	OK(file_put("file", "x"));
	OK(stat(".", &st));
	fs = other_file_system(st.st_dev);
	if (!fs)
		return check_skip("no other writable file system to link to");
	snprintf(other, sizeof(other), "%s/fs-posix-exdev-%d", fs, (int)getpid());
	ERR(link("file", other), EXDEV);
	ERR(rename("file", other), EXDEV);
	OK(stat("file", &st));
	return CASE_OK;
}

static int hard_link_to_directory_gives_eperm(void)
{
	OK(mkdir("dir", 0755));
	ERR(link("dir", "dirlink"), EPERM);
	return CASE_OK;
}

const struct posix_case errors_cases[] = {
    {"missing_names_give_enoent", missing_names_give_enoent, 0},
    {"existing_names_give_eexist", existing_names_give_eexist, 0},
    {"rmdir_of_nonempty_directory_gives_enotempty", rmdir_of_nonempty_directory_gives_enotempty, 0},
    {"file_used_as_directory_gives_enotdir", file_used_as_directory_gives_enotdir, 0},
    {"directory_used_as_file_gives_eisdir", directory_used_as_file_gives_eisdir, 0},
    {"names_of_255_bytes_work_256_give_enametoolong", names_of_255_bytes_work_256_give_enametoolong,
     0},
    {"path_longer_than_path_max_gives_enametoolong", path_longer_than_path_max_gives_enametoolong,
     0},
    {"symlink_loops_give_eloop", symlink_loops_give_eloop, 0},
    {"invalid_requests_give_einval", invalid_requests_give_einval, 0},
    {"link_and_rename_across_file_systems_give_exdev",
     link_and_rename_across_file_systems_give_exdev, 0},
    {"hard_link_to_directory_gives_eperm", hard_link_to_directory_gives_eperm, 0},
    {NULL, NULL, 0},
};

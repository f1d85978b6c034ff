/*
 * Permission checks as an unprivileged user (nobody:nogroup, in a forked
 * child that dropped root): owner/group/other classes, directory write and
 * search permission, EPERM for changing what one does not own, sticky
 * directories, setuid/setgid cleared on write and chown, setgid directories.
 * Root sets the scene (files owned by root or by nobody) before the child acts.
 */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static int mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static int classes_as_nobody(void *arg)
{
	(void)arg;
	/* Owner class: the owner's bits decide, even when others may. */
	OK(file_put("mine", "x"));
	OK(chmod("mine", 0077));
	ERR(open("mine", O_RDONLY), EACCES);
	ERR(open("mine", O_WRONLY), EACCES);
	OK(chmod("mine", 0400));
	int fd;
	OK(fd = open("mine", O_RDONLY));
	close(fd);
	ERR(open("mine", O_WRONLY), EACCES);
	OK(chmod("mine", 0200));
	OK(fd = open("mine", O_WRONLY));
	close(fd);
	ERR(open("mine", O_RDONLY), EACCES);
	/* Group class: nogroup's bits decide, though "other" may read. */
	ERR(open("group0604", O_RDONLY), EACCES);
	OK(fd = open("group0640", O_RDONLY));
	close(fd);
	ERR(open("group0640", O_WRONLY), EACCES);
	/* Other class. */
	OK(fd = open("other0604", O_RDONLY));
	close(fd);
	ERR(open("other0604", O_WRONLY), EACCES);
	ERR(open("other0600", O_RDONLY), EACCES);
	ERR(truncate("other0604", 0), EACCES);
	ERR(access("other0604", X_OK), EACCES);
	ERR(open("other0604", O_RDONLY | O_TRUNC), EACCES);
	return CASE_OK;
}

static int owner_group_and_other_bits_decide_access(void)
{
	OK(chmod(".", 0777));
	OK(file_put("group0604", "x"));
	OK(chown("group0604", 0, NOBODY_GID));
	OK(chmod("group0604", 0604));
	OK(file_put("group0640", "x"));
	OK(chown("group0640", 0, NOBODY_GID));
	OK(chmod("group0640", 0640));
	OK(file_put("other0604", "x"));
	OK(chmod("other0604", 0604));
	OK(file_put("other0600", "x"));
	OK(chmod("other0600", 0600));
	SUB(as_nobody(classes_as_nobody, NULL));
	/* Root is not bound by the bits. */
	int fd;
	OK(fd = open("other0600", O_RDWR));
	close(fd);
	return CASE_OK;
}

static int unwritable_dir_as_nobody(void *arg)
{
	(void)arg;
	ERR(open("ro/new", O_CREAT | O_WRONLY, 0644), EACCES);
	ERR(mkdir("ro/newdir", 0755), EACCES);
	ERR(unlink("ro/file"), EACCES);
	ERR(rmdir("ro/sub"), EACCES);
	ERR(rename("ro/file", "moved"), EACCES);
	ERR(rename("mine", "ro/mine"), EACCES);
	ERR(link("mine", "ro/link"), EACCES);
	ERR(symlink("mine", "ro/symlink"), EACCES);
	ERR(mkfifo("ro/fifo", 0644), EACCES);
	return CASE_OK;
}

static int nobody_makes_mine(void *arg)
{
	(void)arg;
	OK(file_put("mine", "x"));
	return CASE_OK;
}

static int directory_without_write_permission_refuses_changes(void)
{
	struct stat st;

	OK(chmod(".", 0777));
	OK(mkdir("ro", 0755));
	OK(mkdir("ro/sub", 0755));
	OK(file_put("ro/file", "x"));
	SUB(as_nobody(nobody_makes_mine, NULL));
	SUB(as_nobody(unwritable_dir_as_nobody, NULL));
	OK(stat("ro/file", &st));
	OK(stat("ro/sub", &st));
	return CASE_OK;
}

static int unsearchable_dir_as_nobody(void *arg)
{
	struct stat st;
	int fd;

	(void)arg;
	ERR(stat("noexec/file", &st), EACCES);
	ERR(open("noexec/file", O_RDONLY), EACCES);
	ERR(chdir("noexec"), EACCES);
	OK(fd = open("noexec", O_RDONLY | O_DIRECTORY)); /* r: may list */
	close(fd);
	ERR(open("noread", O_RDONLY | O_DIRECTORY), EACCES);
	OK(stat("noread/file", &st)); /* x: may pass */
	return CASE_OK;
}

static int directory_without_search_permission_refuses_lookups(void)
{
	OK(mkdir("noexec", 0755));
	OK(file_put("noexec/file", "x"));
	OK(chmod("noexec", 0776));
	OK(mkdir("noread", 0755));
	OK(file_put("noread/file", "x"));
	OK(chmod("noread", 0773));
	SUB(as_nobody(unsearchable_dir_as_nobody, NULL));
	return CASE_OK;
}

static int foreign_changes_as_nobody(void *arg)
{
	struct timespec when[2] = {{1000000000, 0}, {1000000000, 0}};
	struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};

	(void)arg;
	ERR(chmod("root0666", 0777), EPERM);
	ERR(chown("root0666", NOBODY_UID, NOBODY_GID), EPERM);
	ERR(utimensat(AT_FDCWD, "root0666", when, 0), EPERM);
	OK(utimensat(AT_FDCWD, "root0666", now, 0)); /* may write: may touch */
	ERR(utimensat(AT_FDCWD, "root0644", now, 0), EACCES);
	ERR(chown("mine", 0, -1), EPERM);
	ERR(chown("mine", -1, 0), EPERM); /* not a member of group root */
	OK(chown("mine", -1, NOBODY_GID));
	OK(chmod("mine", 0600));
	OK(utimensat(AT_FDCWD, "mine", when, 0));
	return CASE_OK;
}

static int nonowner_cannot_chmod_chown_or_set_times(void)
{
	OK(chmod(".", 0777));
	OK(file_put("root0666", "x"));
	OK(chmod("root0666", 0666));
	OK(file_put("root0644", "x"));
	SUB(as_nobody(nobody_makes_mine, NULL));
	SUB(as_nobody(foreign_changes_as_nobody, NULL));
	EQ_MODE(mode_of("root0666"), 0666);
	return CASE_OK;
}

static int sticky_as_nobody(void *arg)
{
	(void)arg;
	ERR(unlink("sticky/rootfile"), EPERM);
	ERR(rename("sticky/rootfile", "sticky/moved"), EPERM);
	ERR(rmdir("sticky/rootdir"), EPERM);
	OK(file_put("sticky/mine", "x"));
	ERR(rename("sticky/mine", "sticky/rootfile"), EPERM); /* replacing it is removing it */
	OK(file_put("sticky/rootfile", "written"));           /* 0666: writable all the same */
	OK(rename("sticky/mine", "sticky/mine2"));
	OK(unlink("sticky/mine2"));
	OK(unlink("open/rootfile"));      /* without the sticky bit, anyone may */
	OK(unlink("ownsticky/rootfile")); /* the directory's owner may */
	return CASE_OK;
}

static int sticky_directory_protects_other_users_entries(void)
{
	OK(mkdir("sticky", 0755));
	OK(chmod("sticky", 01777));
	OK(file_put("sticky/rootfile", "x"));
	OK(chmod("sticky/rootfile", 0666));
	OK(mkdir("sticky/rootdir", 0777));
	OK(chmod("sticky/rootdir", 0777));
	OK(mkdir("open", 0777));
	OK(chmod("open", 0777));
	OK(file_put("open/rootfile", "x"));
	OK(mkdir("ownsticky", 0755));
	OK(chown("ownsticky", NOBODY_UID, NOBODY_GID));
	OK(chmod("ownsticky", 01777));
	OK(file_put("ownsticky/rootfile", "x"));
	EQ_MODE(mode_of("sticky"), 01777);
	SUB(as_nobody(sticky_as_nobody, NULL));
	char buf[16];
	OK(file_get("sticky/rootfile", buf, sizeof(buf)));
	CHECK(strcmp(buf, "written") == 0, "sticky/rootfile: expected \"written\", got \"%s\"",
	      buf);
	return CASE_OK;
}

static int write_as_nobody(void *arg)
{
	int fd;

	(void)arg;
	OK(fd = open("root06777", O_WRONLY));
	EQ(write(fd, "y", 1), 1);
	close(fd);
	OK(file_put("mine", "x"));
	OK(chmod("mine", 04755));
	EQ_MODE(mode_of("mine"), 04755);
	OK(fd = open("mine", O_WRONLY));
	EQ(pwrite(fd, "y", 1, 0), 1);
	close(fd);
	EQ_MODE(mode_of("mine"), 0755);
	OK(chmod("mine", 06775));
	OK(truncate("mine", 0));
	EQ_MODE(mode_of("mine") & 06000, 0);
	return CASE_OK;
}

static int write_by_nonroot_clears_setuid_and_setgid(void)
{
	OK(chmod(".", 0777));
	OK(file_put("root06777", "x"));
	OK(chmod("root06777", 06777));
	EQ_MODE(mode_of("root06777"), 06777);
	SUB(as_nobody(write_as_nobody, NULL));
	EQ_MODE(mode_of("root06777"), 0777);
	return CASE_OK;
}

static int chown_as_nobody(void *arg)
{
	(void)arg;
	OK(file_put("mine", "x"));
	OK(chmod("mine", 04755));
	OK(chown("mine", -1, NOBODY_GID));
	EQ_MODE(mode_of("mine"), 0755);
	return CASE_OK;
}

static int chown_clears_setuid_and_setgid(void)
{
	OK(chmod(".", 0777));
	OK(file_put("file", "x"));
	OK(chmod("file", 06755));
	OK(chown("file", NOBODY_UID, NOBODY_GID));
	EQ_MODE(mode_of("file"), 0755);
	/* A directory keeps its setgid bit through chown. */
	OK(mkdir("dir", 0755));
	OK(chmod("dir", 02755));
	OK(chown("dir", NOBODY_UID, NOBODY_GID));
	EQ_MODE(mode_of("dir"), 02755);
	SUB(as_nobody(chown_as_nobody, NULL));
	return CASE_OK;
}

static int setgid_dir_as_nobody(void *arg)
{
	struct stat st;

	(void)arg;
	OK(file_put("sgid/nobodys", "x"));
	OK(stat("sgid/nobodys", &st));
	EQ(st.st_uid, NOBODY_UID);
	EQ(st.st_gid, NOBODY_GID);
	return CASE_OK;
}

static int setgid_directory_passes_its_group_on(void)
{
	struct stat st;

	OK(mkdir("sgid", 0755));
	OK(chown("sgid", 0, NOBODY_GID));
	OK(chmod("sgid", 02777));
	OK(file_put("sgid/file", "x"));
	OK(stat("sgid/file", &st));
	EQ(st.st_gid, NOBODY_GID);
	OK(mkdir("sgid/sub", 0755));
	OK(stat("sgid/sub", &st));
	EQ(st.st_gid, NOBODY_GID);
	CHECK(st.st_mode & S_ISGID, "sgid/sub: expected the setgid bit inherited, got mode 0%o",
	      (unsigned)(st.st_mode & 07777));
	OK(mkdir("plain", 0755));
	OK(file_put("plain/file", "x"));
	OK(stat("plain/file", &st));
	EQ(st.st_gid, getegid());
	SUB(as_user(NOBODY_UID, 0, setgid_dir_as_nobody, NULL));
	return CASE_OK;
}

static int foreign_group_as_nobody(void *arg)
{
	(void)arg;
	OK(chmod("mine", 02755));
	EQ_MODE(mode_of("mine"), 0755);
	OK(chmod("mine", 04755));
	EQ_MODE(mode_of("mine"), 04755);
	return CASE_OK;
}

static int nonroot_chmod_drops_setgid_of_a_foreign_group(void)
{
	OK(file_put("mine", "x"));
	OK(chown("mine", NOBODY_UID, 0));
	SUB(as_nobody(foreign_group_as_nobody, NULL));
	return CASE_OK;
}

static int ids_as_nobody(void *arg)
{
	struct stat st;

	(void)arg;
	umask(027);
	OK(file_put("f", "x"));
	OK(stat("f", &st));
	EQ(st.st_uid, geteuid());
	EQ(st.st_gid, getegid());
	EQ_MODE(st.st_mode & 07777, 0640);
	OK(mkdir("d", 0777));
	OK(stat("d", &st));
	EQ_MODE(st.st_mode & 07777, 0750);
	int fd;
	OK(fd = open("ro", O_CREAT | O_EXCL | O_RDWR, 0444)); /* O_CREAT grants the open */
	EQ(write(fd, "x", 1), 1);
	close(fd);
	ERR(open("ro", O_WRONLY), EACCES);
	return CASE_OK;
}

static int new_files_get_the_creators_ids_and_umask(void)
{
	OK(chmod(".", 0777));
	SUB(as_nobody(ids_as_nobody, NULL));
	return CASE_OK;
}

static int mknod_as_nobody(void *arg)
{
	(void)arg;
	ERR(mknod("chr", S_IFCHR | 0644, makedev(1, 3)), EPERM);
	ERR(mknod("blk", S_IFBLK | 0644, makedev(7, 0)), EPERM);
	return CASE_OK;
}

static int nonroot_mknod_of_devices_gives_eperm(void)
{
	if (check_is_root())
		OK(chmod(".", 0777));
	SUB(as_nobody(mknod_as_nobody, NULL));
	return CASE_OK;
}

const struct posix_case perms_cases[] = {
    {"owner_group_and_other_bits_decide_access", owner_group_and_other_bits_decide_access,
     NEEDS_ROOT},
    {"directory_without_write_permission_refuses_changes",
     directory_without_write_permission_refuses_changes, NEEDS_ROOT},
    {"directory_without_search_permission_refuses_lookups",
     directory_without_search_permission_refuses_lookups, NEEDS_ROOT},
    {"nonowner_cannot_chmod_chown_or_set_times", nonowner_cannot_chmod_chown_or_set_times,
     NEEDS_ROOT},
    {"sticky_directory_protects_other_users_entries", sticky_directory_protects_other_users_entries,
     NEEDS_ROOT},
    {"write_by_nonroot_clears_setuid_and_setgid", write_by_nonroot_clears_setuid_and_setgid,
     NEEDS_ROOT},
    {"chown_clears_setuid_and_setgid", chown_clears_setuid_and_setgid, NEEDS_ROOT},
    {"setgid_directory_passes_its_group_on", setgid_directory_passes_its_group_on, NEEDS_ROOT},
    {"nonroot_chmod_drops_setgid_of_a_foreign_group", nonroot_chmod_drops_setgid_of_a_foreign_group,
     NEEDS_ROOT},
    {"new_files_get_the_creators_ids_and_umask", new_files_get_the_creators_ids_and_umask, 0},
    {"nonroot_mknod_of_devices_gives_eperm", nonroot_mknod_of_devices_gives_eperm, 0},
    {NULL, NULL, 0},
};

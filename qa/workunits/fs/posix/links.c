/*
 * Hard links, link counts (a directory has 2 + its subdirectories), files
 * that stay readable and writable after their last name is gone, and
 * symbolic links with targets up to 4095 bytes.
 */
#include "check.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static nlink_t links_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_nlink : (nlink_t)-1;
}

static int hard_links_share_one_inode_and_count(void)
{
	struct stat a, b;
	char buf[32];

	OK(file_put("a", "first"));
	OK(mkdir("dir", 0755));
	OK(link("a", "b"));
	OK(link("a", "dir/c"));
	OK(stat("a", &a));
	OK(stat("dir/c", &b));
	EQ(a.st_ino, b.st_ino);
	EQ(a.st_nlink, 3);
	OK(file_put("b", "second")); /* O_TRUNC write through another name */
	OK(file_get("dir/c", buf, sizeof(buf)));
	CHECK(strcmp(buf, "second") == 0, "dir/c: expected \"second\", got \"%s\"", buf);
	OK(chmod("b", 0600));
	OK(stat("a", &a));
	EQ_MODE(a.st_mode & 07777, 0600);
	OK(unlink("a"));
	EQ(links_of("b"), 2);
	OK(rename("dir/c", "d"));
	EQ(links_of("d"), 2);
	OK(unlink("b"));
	EQ(links_of("d"), 1);
	OK(file_get("d", buf, sizeof(buf)));
	CHECK(strcmp(buf, "second") == 0, "d: expected \"second\", got \"%s\"", buf);
	/* rename of a name onto another name of the same inode does nothing */
	OK(link("d", "e"));
	OK(rename("d", "e"));
	EQ(links_of("d"), 2);
	EQ(links_of("e"), 2);
	return CASE_OK;
}

static int directory_link_count_is_two_plus_subdirectories(void)
{
	OK(mkdir("d", 0755));
	EQ(links_of("d"), 2);
	OK(mkdir("d/a", 0755));
	OK(mkdir("d/b", 0755));
	OK(file_put("d/file", "x"));
	OK(mkfifo("d/fifo", 0644));
	EQ(links_of("d"), 4);
	EQ(links_of("d/a"), 2);
	OK(rmdir("d/a"));
	EQ(links_of("d"), 3);
	OK(mkdir("e", 0755));
	OK(rename("d/b", "e/b"));
	EQ(links_of("d"), 2);
	EQ(links_of("e"), 3);
	OK(rename("e/b", "e/c"));
	EQ(links_of("e"), 3);
	OK(mkdir("d/x", 0755));
	OK(rename("e/c", "d/x")); /* replaces an empty directory */
	EQ(links_of("d"), 3);
	EQ(links_of("e"), 2);
	return CASE_OK;
}

static int unlinked_open_file_stays_readable_and_writable(void)
{
	struct stat st;
	char buf[64];
	int fd, fd2;

	OK(fd = open("file", O_CREAT | O_RDWR, 0644));
	EQ(write(fd, "before ", 7), 7);
	OK(fd2 = open("file", O_RDONLY));
	OK(unlink("file"));
	ERR(stat("file", &st), ENOENT);
	EQ(write(fd, "after", 5), 5);
	OK(fstat(fd, &st));
	EQ(st.st_nlink, 0);
	EQ(st.st_size, 12);
	memset(buf, 0, sizeof(buf));
	EQ(pread(fd2, buf, sizeof(buf), 0), 12);
	CHECK(memcmp(buf, "before after", 12) == 0, "expected \"before after\", got \"%s\"", buf);
	OK(ftruncate(fd, 6));
	EQ(pread(fd, buf, sizeof(buf), 0), 6);
	OK(fsync(fd));
	close(fd);
	EQ(pread(fd2, buf, sizeof(buf), 0), 6);
	close(fd2);
	/* A name created afterwards is a new file. */
	OK(file_put("file", "new"));
	OK(stat("file", &st));
	EQ(st.st_size, 3);
	return CASE_OK;
}

static int symlink_targets_up_to_4095_bytes_read_back(void)
{
	char target[PATH_MAX + 8], back[PATH_MAX + 8];
	struct stat st;
	ssize_t n;

	for (int i = 0; i < 4095; i++)
		target[i] = (i % 64 == 63) ? '/' : (char)('a' + i % 26);
	target[4095] = '\0';
	OK(symlink(target, "long"));
	OK(lstat("long", &st));
	CHECK(S_ISLNK(st.st_mode), "long: expected a symlink, got mode 0%o", st.st_mode);
	EQ(st.st_size, 4095);
	OK(n = readlink("long", back, sizeof(back)));
	EQ(n, 4095);
	CHECK(memcmp(back, target, 4095) == 0, "readlink of 4095 bytes: bytes differ");
	memset(target, 'x', PATH_MAX);
	target[PATH_MAX] = '\0';
	ERR(symlink(target, "toolong"), ENAMETOOLONG);
	/* A short one, followed by open and stat; lstat describes the link itself. */
	OK(file_put("file", "content"));
	OK(symlink("file", "short"));
	OK(file_get("short", back, sizeof(back)));
	CHECK(strcmp(back, "content") == 0, "short: expected \"content\", got \"%s\"", back);
	OK(n = readlink("short", back, sizeof(back)));
	EQ(n, 4);
	OK(lstat("short", &st));
	EQ(st.st_size, 4);
	OK(mkdir("dir", 0755));
	OK(symlink("../file", "dir/up"));
	OK(file_get("dir/up", back, sizeof(back)));
	CHECK(strcmp(back, "content") == 0, "dir/up: expected \"content\", got \"%s\"", back);
	/* A hard link to a symlink is a second name for the link itself. */
	OK(linkat(AT_FDCWD, "short", AT_FDCWD, "short2", 0));
	OK(lstat("short2", &st));
	CHECK(S_ISLNK(st.st_mode), "short2: expected a symlink, got mode 0%o", st.st_mode);
	EQ(st.st_nlink, 2);
	return CASE_OK;
}

const struct posix_case links_cases[] = {
    {"hard_links_share_one_inode_and_count", hard_links_share_one_inode_and_count, 0},
    {"directory_link_count_is_two_plus_subdirectories",
     directory_link_count_is_two_plus_subdirectories, 0},
    {"unlinked_open_file_stays_readable_and_writable",
     unlinked_open_file_stays_readable_and_writable, 0},
    {"symlink_targets_up_to_4095_bytes_read_back", symlink_targets_up_to_4095_bytes_read_back, 0},
    {NULL, NULL, 0},
};

/*
 * rename(2) and renameat2(2): replacement keeps the moved inode, the flags
 * RENAME_NOREPLACE and RENAME_EXCHANGE, whole non-empty directories moved
 * with their tree (and ".." following), and an open replaced file.
 */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int content_is(const char *path, const char *want)
{
	char buf[256];

	OK(file_get(path, buf, sizeof(buf)));
	CHECK(strcmp(buf, want) == 0, "%s: expected \"%s\", got \"%s\"", path, want, buf);
	return CASE_OK;
}

static int rename_replaces_a_file_and_keeps_the_moved_inode(void)
{
	struct stat before, after;

	OK(file_put("src", "new"));
	OK(file_put("dst", "old"));
	OK(stat("src", &before));
	OK(rename("src", "dst"));
	ERR(stat("src", &after), ENOENT);
	OK(stat("dst", &after));
	EQ(after.st_ino, before.st_ino);
	SUB(content_is("dst", "new"));
	OK(mkdir("dir", 0755));
	OK(rename("dst", "dir/moved"));
	SUB(content_is("dir/moved", "new"));
	return CASE_OK;
}

static int rename_noreplace_refuses_an_existing_target(void)
{
	OK(file_put("a", "A"));
	OK(file_put("b", "B"));
	OK(mkdir("d", 0755));
	ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);
	ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "d", RENAME_NOREPLACE), EEXIST);
	SUB(content_is("a", "A"));
	SUB(content_is("b", "B"));
	OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
	SUB(content_is("c", "A"));
	ERR(access("a", F_OK), ENOENT);
	return CASE_OK;
}

static int rename_exchange_swaps_two_entries(void)
{
	struct stat a, b, st;

	OK(file_put("a", "A"));
	OK(file_put("b", "B"));
	OK(stat("a", &a));
	OK(stat("b", &b));
	OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE));
	SUB(content_is("a", "B"));
	SUB(content_is("b", "A"));
	OK(stat("a", &st));
	EQ(st.st_ino, b.st_ino);
	/* A file and a directory in two parents: link counts follow the directory. */
	OK(mkdir("p1", 0755));
	OK(mkdir("p2", 0755));
	OK(mkdir("p1/dir", 0755));
	OK(file_put("p1/dir/inside", "I"));
	OK(file_put("p2/file", "F"));
	OK(renameat2(AT_FDCWD, "p1/dir", AT_FDCWD, "p2/file", RENAME_EXCHANGE));
	SUB(content_is("p2/file/inside", "I"));
	SUB(content_is("p1/dir", "F"));
	OK(stat("p1", &st));
	EQ(st.st_nlink, 2);
	OK(stat("p2", &st));
	EQ(st.st_nlink, 3);
	struct stat dotdot, p2;
	OK(stat("p2/file/..", &dotdot));
	OK(stat("p2", &p2));
	EQ(dotdot.st_ino, p2.st_ino);
	ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "missing", RENAME_EXCHANGE), ENOENT);
	SUB(content_is("a", "B"));
	return CASE_OK;
}

/* A tree DEPTH levels below ROOT: 4 files and 5 subdirectories a level. */
static int tree_make(const char *root, int depth)
{
	char path[512];

	OK(mkdir(root, 0755));
	for (int f = 0; f < 4; f++) {
		CHECK(snprintf(path, sizeof(path), "%s/file%d", root, f) < (int)sizeof(path),
		      "path too long");
		OK(file_put(path, path + strlen(root)));
	}
	if (depth == 0)
		return CASE_OK;
	for (int d = 0; d < 5; d++) {
		CHECK(snprintf(path, sizeof(path), "%s/dir%d", root, d) < (int)sizeof(path),
		      "path too long");
		SUB(tree_make(path, depth - 1));
	}
	return CASE_OK;
}

static int tree_check(const char *root, int depth)
{
	char path[512];
	struct stat st;

	OK(stat(root, &st));
	EQ(st.st_nlink, depth ? 2 + 5 : 2);
	for (int f = 0; f < 4; f++) {
		CHECK(snprintf(path, sizeof(path), "%s/file%d", root, f) < (int)sizeof(path),
		      "path too long");
		SUB(content_is(path, path + strlen(root)));
	}
	for (int d = 0; depth && d < 5; d++) {
		CHECK(snprintf(path, sizeof(path), "%s/dir%d", root, d) < (int)sizeof(path),
		      "path too long");
		SUB(tree_check(path, depth - 1));
	}
	return CASE_OK;
}

static int rename_moves_a_nonempty_directory_with_its_tree(void)
{
	struct stat before, after, dotdot, parent;

	SUB(tree_make("tree", 2));
	OK(mkdir("elsewhere", 0755));
	OK(mkdir("elsewhere/deeper", 0755));
	OK(stat("tree", &before));
	OK(rename("tree", "elsewhere/deeper/moved"));
	ERR(stat("tree", &after), ENOENT);
	OK(stat("elsewhere/deeper/moved", &after));
	EQ(after.st_ino, before.st_ino);
	SUB(tree_check("elsewhere/deeper/moved", 2));
	OK(stat("elsewhere/deeper/moved/..", &dotdot));
	OK(stat("elsewhere/deeper", &parent));
	EQ(dotdot.st_ino, parent.st_ino);
	EQ(parent.st_nlink, 3);
	/* Back to the top, replacing an empty directory there. */
	OK(mkdir("empty", 0755));
	OK(rename("elsewhere/deeper/moved", "empty"));
	SUB(tree_check("empty", 2));
	OK(stat("elsewhere/deeper", &parent));
	EQ(parent.st_nlink, 2);
	return CASE_OK;
}

static int rename_over_an_open_file_keeps_it_readable(void)
{
	char buf[16] = {0};
	int fd;

	OK(file_put("old", "old content"));
	OK(file_put("new", "new content"));
	OK(fd = open("old", O_RDONLY));
	OK(rename("new", "old"));
	EQ(pread(fd, buf, sizeof(buf) - 1, 0), 11);
	CHECK(strcmp(buf, "old content") == 0,
	      "open replaced file: expected \"old content\", got \"%s\"", buf);
	close(fd);
	SUB(content_is("old", "new content"));
	return CASE_OK;
}

const struct posix_case rename_cases[] = {
    {"rename_replaces_a_file_and_keeps_the_moved_inode",
     rename_replaces_a_file_and_keeps_the_moved_inode, 0},
    {"rename_noreplace_refuses_an_existing_target", rename_noreplace_refuses_an_existing_target, 0},
    {"rename_exchange_swaps_two_entries", rename_exchange_swaps_two_entries, 0},
    {"rename_moves_a_nonempty_directory_with_its_tree",
     rename_moves_a_nonempty_directory_with_its_tree, 0},
    {"rename_over_an_open_file_keeps_it_readable", rename_over_an_open_file_keeps_it_readable, 0},
    {NULL, NULL, 0},
};

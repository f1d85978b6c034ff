/*
 * Size of the namespace: SCFS_POSIX_FILES (default 10,000) files in one
 * directory, each listed exactly once, looked up and removed; a tree
 * SCFS_POSIX_DEPTH (default 500) directories deep, walked by full path,
 * renamed at its top and removed from the bottom up; readdir's entries and
 * types; statfs's sizes and name limit.
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static long env_count(const char *name, long fallback)
{
	const char *v = getenv(name);

	return v && atol(v) > 0 ? atol(v) : fallback;
}

static int ten_thousand_files_in_one_directory(void)
{
	const long count = env_count("SCFS_POSIX_FILES", 10000);
	unsigned char *seen = calloc((size_t)count, 1);
	char name[64], buf[64];
	struct dirent *e;
	struct stat st;
	long listed = 0;
	DIR *d;

	CHECK(seen, "out of memory");
	OK(mkdir("many", 0755));
	for (long i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "many/file-%06ld-with-a-longer-name", i);
		int fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			return check_fail(__LINE__, "create %s: %s", name, errno_name(errno));
		int len = snprintf(buf, sizeof(buf), "%ld", i);
		if (write(fd, buf, (size_t)len) != len || close(fd) < 0)
			return check_fail(__LINE__, "write %s: %s", name, errno_name(errno));
	}
	d = opendir("many");
	CHECK(d, "opendir many: %s", errno_name(errno));
	while ((e = readdir(d)) != NULL) {
		long i;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (sscanf(e->d_name, "file-%ld-", &i) != 1 || i < 0 || i >= count) {
			closedir(d);
			return check_fail(__LINE__, "readdir: an entry nobody made: %s", e->d_name);
		}
		if (seen[i]++) {
			closedir(d);
			return check_fail(__LINE__, "readdir: %s listed twice", e->d_name);
		}
		listed++;
	}
	closedir(d);
	EQ(listed, count);
	for (long i = 0; i < count; i += count / 97 + 1) {
		snprintf(name, sizeof(name), "many/file-%06ld-with-a-longer-name", i);
		OK(file_get(name, buf, sizeof(buf)));
		CHECK(atol(buf) == i, "%s: expected %ld, got \"%s\"", name, i, buf);
	}
	OK(stat("many", &st));
	EQ(st.st_nlink, 2);
	for (long i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "many/file-%06ld-with-a-longer-name", i);
		if (unlink(name) < 0)
			return check_fail(__LINE__, "unlink %s: %s", name, errno_name(errno));
	}
	OK(rmdir("many"));
	free(seen);
	return CASE_OK;
}

static int deep_tree_is_walked_renamed_and_removed(void)
{
	const long depth = env_count("SCFS_POSIX_DEPTH", 500);
	size_t cap = (size_t)depth * 3 + 64;
	char *path = malloc(cap);
	struct stat st;
	char buf[16];
	int fd = AT_FDCWD;

	CHECK(path, "out of memory");
	/* Made one level at a time relative to the level above. */
	OK(mkdir("top", 0755));
	OK(fd = open("top", O_RDONLY | O_DIRECTORY));
	for (long i = 0; i < depth; i++) {
		int next;
		OK(mkdirat(fd, "dd", 0755));
		OK(next = openat(fd, "dd", O_RDONLY | O_DIRECTORY));
		close(fd);
		fd = next;
	}
	int f;
	OK(f = openat(fd, "bottom", O_CREAT | O_WRONLY, 0644));
	EQ(write(f, "deep", 4), 4);
	close(f);
	close(fd);
	/* By full path from the case directory. */
	strcpy(path, "top");
	for (long i = 0; i < depth; i++)
		strcat(path, "/dd");
	strcat(path, "/bottom");
	OK(file_get(path, buf, sizeof(buf)));
	CHECK(strcmp(buf, "deep") == 0, "the bottom file: expected \"deep\", got \"%s\"", buf);
	OK(rename("top", "moved"));
	strcpy(path, "moved");
	for (long i = 0; i < depth; i++)
		strcat(path, "/dd");
	strcat(path, "/bottom");
	OK(stat(path, &st));
	EQ(st.st_size, 4);
	OK(unlink(path));
	for (long i = depth; i >= 0; i--) {
		*strrchr(path, '/') = '\0';
		if (rmdir(path) < 0)
			return check_fail(__LINE__, "rmdir at level %ld: %s", i, errno_name(errno));
	}
	ERR(stat("moved", &st), ENOENT);
	free(path);
	return CASE_OK;
}

static int readdir_lists_each_entry_once_with_its_type(void)
{
	static const struct {
		const char *name;
		unsigned char type;
	} want[] = {{"file", DT_REG},  {"dir", DT_DIR}, {"link", DT_LNK},
	            {"fifo", DT_FIFO}, {".", DT_DIR},   {"..", DT_DIR}};
	int seen[6] = {0};
	struct dirent *e;
	DIR *d;

	OK(mkdir("d", 0755));
	OK(file_put("d/file", "x"));
	OK(mkdir("d/dir", 0755));
	OK(symlink("file", "d/link"));
	OK(mkfifo("d/fifo", 0644));
	d = opendir("d");
	CHECK(d, "opendir d: %s", errno_name(errno));
	while ((e = readdir(d)) != NULL) {
		unsigned i = 0;

		while (i < 6 && strcmp(want[i].name, e->d_name) != 0)
			i++;
		if (i == 6 || seen[i]++ || (e->d_type != DT_UNKNOWN && e->d_type != want[i].type)) {
			closedir(d);
			return check_fail(__LINE__,
			                  "readdir: unexpected, repeated or mistyped %s (type %u)",
			                  e->d_name, e->d_type);
		}
	}
	closedir(d);
	for (unsigned i = 0; i < 6; i++)
		CHECK(seen[i] == 1, "readdir: %s missing", want[i].name);
	return CASE_OK;
}

static int statfs_reports_consistent_sizes(void)
{
	struct statvfs sv;

	OK(statvfs(".", &sv));
	CHECK(sv.f_bsize > 0 && sv.f_frsize > 0, "statvfs: block size 0");
	CHECK(sv.f_blocks >= sv.f_bfree && sv.f_bfree >= sv.f_bavail,
	      "statvfs: expected blocks >= free >= available, got %llu, %llu, %llu",
	      (unsigned long long)sv.f_blocks, (unsigned long long)sv.f_bfree,
	      (unsigned long long)sv.f_bavail);
	CHECK(sv.f_blocks > 0, "statvfs: a file system of 0 blocks");
	EQ(sv.f_namemax, 255);
	return CASE_OK;
}

const struct posix_case scale_cases[] = {
    {"ten_thousand_files_in_one_directory", ten_thousand_files_in_one_directory, 0},
    {"deep_tree_is_walked_renamed_and_removed", deep_tree_is_walked_renamed_and_removed, 0},
    {"readdir_lists_each_entry_once_with_its_type", readdir_lists_each_entry_once_with_its_type, 0},
    {"statfs_reports_consistent_sizes", statfs_reports_consistent_sizes, 0},
    {NULL, NULL, 0},
};

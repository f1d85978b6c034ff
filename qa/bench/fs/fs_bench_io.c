/*
 * fs_bench_io: one timed workload of fs-bench on any mounted directory.
 * Prints one line "seconds S bytes B count N"; fs-bench turns it into rates.
 *
 *   fs_bench_io seqwrite FILE MIB     write MIB MiB in 1 MiB blocks, to close
 *   fs_bench_io seqread FILE          read the whole file in 1 MiB blocks
 *   fs_bench_io poke FILE             open, change 1 byte in the middle, close
 *   fs_bench_io create DIR N BYTES    create+write+close N files of BYTES
 *   fs_bench_io stat DIR N            stat each of them
 *   fs_bench_io read DIR N            open+read+close each of them
 *   fs_bench_io unlink DIR N          unlink each of them
 *   fs_bench_io mkdir DIR N           mkdir N directories d000000...
 *   fs_bench_io rename DIR N          rename each f000000... to g000000...
 *   fs_bench_io rmdir DIR N           rmdir each d000000...
 *
 * Data is a pattern that differs per block (no file system dedups or
 * compresses it away); reads check the files' sizes, not their bytes.
 * Timings are wall clock (CLOCK_MONOTONIC); nothing here asserts one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (1u << 20)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what, const char *path)
{
	fprintf(stderr, "fs_bench_io: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void fill(unsigned char *buf, size_t len, unsigned long long block)
{
	unsigned long long x = block * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

static void report(double seconds, unsigned long long bytes, unsigned long count)
{
	printf("seconds %.6f bytes %llu count %lu\n", seconds, bytes, count);
}

static void name_of(char *buf, size_t len, const char *dir, unsigned long i)
{
	snprintf(buf, len, "%s/f%06lu", dir, i);
}

static int seqwrite(const char *path, unsigned long mib)
{
	unsigned char *buf = malloc(BLOCK);
	double t0 = now();
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);

	if (!buf || fd < 0)
		die("open", path);
	for (unsigned long i = 0; i < mib; i++) {
		fill(buf, BLOCK, i);
		if (write(fd, buf, BLOCK) != (ssize_t)BLOCK)
			die("write", path);
	}
	if (close(fd) < 0)
		die("close", path);
	report(now() - t0, (unsigned long long)mib * BLOCK, 1);
	free(buf);
	return 0;
}

static int seqread(const char *path)
{
	unsigned char *buf = malloc(BLOCK);
	unsigned long long total = 0;
	double t0 = now();
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (!buf || fd < 0)
		die("open", path);
	while ((n = read(fd, buf, BLOCK)) > 0)
		total += (unsigned long long)n;
	if (n < 0)
		die("read", path);
	close(fd);
	report(now() - t0, total, 1);
	free(buf);
	return 0;
}

static int poke(const char *path)
{
	struct stat st;
	double t0 = now();
	int fd = open(path, O_WRONLY);

	if (fd < 0 || fstat(fd, &st) < 0)
		die("open", path);
	if (pwrite(fd, "!", 1, st.st_size / 2) != 1)
		die("pwrite", path);
	if (close(fd) < 0)
		die("close", path);
	report(now() - t0, 1, 1);
	return 0;
}

static int files(const char *op, const char *dir, unsigned long count, size_t bytes)
{
	unsigned char *buf = calloc(1, bytes ? bytes : 1);
	char path[4096];
	struct stat st;
	double t0 = now();

	if (!buf)
		die("calloc", dir);
	for (unsigned long i = 0; i < count; i++) {
		name_of(path, sizeof(path), dir, i);
		if (strcmp(op, "create") == 0) {
			fill(buf, bytes, i);
			int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
			if (fd < 0 || write(fd, buf, bytes) != (ssize_t)bytes || close(fd) < 0)
				die("create", path);
		} else if (strcmp(op, "stat") == 0) {
			if (stat(path, &st) < 0)
				die("stat", path);
		} else if (strcmp(op, "read") == 0) {
			unsigned char small[65536];
			int fd = open(path, O_RDONLY);
			if (fd < 0 || read(fd, small, sizeof(small)) < 0 || close(fd) < 0)
				die("read", path);
		} else if (strcmp(op, "mkdir") == 0 || strcmp(op, "rmdir") == 0) {
			snprintf(path, sizeof(path), "%s/d%06lu", dir, i);
			if ((op[0] == 'm' ? mkdir(path, 0755) : rmdir(path)) < 0)
				die(op, path);
		} else if (strcmp(op, "rename") == 0) {
			char to[4096];

			snprintf(to, sizeof(to), "%s/g%06lu", dir, i);
			if (rename(path, to) < 0)
				die("rename", path);
		} else if (unlink(path) < 0) {
			die("unlink", path);
		}
	}
	report(now() - t0, (unsigned long long)count * bytes, count);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";

	if (strcmp(op, "seqwrite") == 0 && argc == 4)
		return seqwrite(argv[2], strtoul(argv[3], NULL, 10));
	if (strcmp(op, "seqread") == 0 && argc == 3)
		return seqread(argv[2]);
	if (strcmp(op, "poke") == 0 && argc == 3)
		return poke(argv[2]);
	if (strcmp(op, "create") == 0 && argc == 5)
		return files(op, argv[2], strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10));
	if ((strcmp(op, "stat") == 0 || strcmp(op, "read") == 0 || strcmp(op, "unlink") == 0 ||
	     strcmp(op, "mkdir") == 0 || strcmp(op, "rename") == 0 || strcmp(op, "rmdir") == 0) &&
	    argc == 4)
		return files(op, argv[2], strtoul(argv[3], NULL, 10), 0);
	fprintf(stderr, "usage: fs_bench_io seqwrite FILE MIB | seqread FILE | poke FILE |\n"
	                "       create DIR N BYTES | stat|read|unlink|mkdir|rename|rmdir DIR N\n");
	return 2;
}

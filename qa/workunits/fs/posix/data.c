/*
 * File contents: O_EXCL, O_TRUNC and O_APPEND; holes and truncation read as
 * zeros (also across rados-scfs's 4 MiB chunk boundaries); fallocate mode 0;
 * a writable shared mmap; fsync of files and directories; copy_file_range;
 * a sparse 1 TiB file; and a large file (SCFS_POSIX_LARGE_MB, default 1024,
 * more than the mount's cache) written, read back cold and changed by 1 byte.
 * Contents follow pattern_fill(), a function of the offset, so a block read
 * from the wrong place is caught.
 */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define CHUNK (4 * MIB)

static int open_flags_excl_trunc_and_append_behave(void)
{
	char buf[64] = {0};
	struct stat st;
	int fd;

	OK(fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	EQ(write(fd, "0123456789", 10), 10);
	close(fd);
	ERR(open("f", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
	OK(fd = open("f", O_CREAT | O_WRONLY, 0600)); /* exists: mode ignored, not truncated */
	close(fd);
	OK(stat("f", &st));
	EQ(st.st_size, 10);
	EQ_MODE(st.st_mode & 07777, 0644);
	OK(fd = open("f", O_WRONLY | O_APPEND));
	OK(lseek(fd, 0, SEEK_SET));
	EQ(write(fd, "ab", 2), 2);
	EQ(pwrite(fd, "cd", 2, 0), 2); /* Linux: pwrite with O_APPEND appends too */
	close(fd);
	OK(file_get("f", buf, sizeof(buf)));
	CHECK(strcmp(buf, "0123456789abcd") == 0,
	      "after O_APPEND: expected \"0123456789abcd\", got \"%s\"", buf);
	OK(fd = open("f", O_RDWR | O_TRUNC));
	OK(fstat(fd, &st));
	EQ(st.st_size, 0);
	EQ(read(fd, buf, sizeof(buf)), 0);
	close(fd);
	OK(fd = open("f", O_RDONLY | O_TRUNC)); /* unspecified by POSIX; Linux truncates */
	close(fd);
	return CASE_OK;
}

static int all_zero(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i])
			return 0;
	return 1;
}

static int holes_and_truncation_read_as_zeros(void)
{
	unsigned char buf[64];
	struct stat st;
	int fd;

	OK(fd = open("f", O_CREAT | O_RDWR, 0644));
	/* 6 bytes across the first chunk boundary, 3 bytes far beyond it. */
	EQ(pwrite(fd, "ABCDEF", 6, CHUNK - 3), 6);
	EQ(pwrite(fd, "xyz", 3, 3 * CHUNK + 5), 3);
	OK(fstat(fd, &st));
	EQ(st.st_size, 3 * CHUNK + 8);
	EQ(pread(fd, buf, 6, CHUNK - 3), 6);
	CHECK(memcmp(buf, "ABCDEF", 6) == 0, "across the chunk boundary: bytes differ");
	EQ(pread(fd, buf, sizeof(buf), 2 * CHUNK), (ssize_t)sizeof(buf));
	CHECK(all_zero(buf, sizeof(buf)), "a hole: expected zeros");
	EQ(pread(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	CHECK(all_zero(buf, sizeof(buf)), "the start before the first write: expected zeros");
	/* Shrink into the middle of the first write, grow again: the cut part is zeros. */
	OK(ftruncate(fd, CHUNK));
	OK(ftruncate(fd, 2 * CHUNK));
	EQ(pread(fd, buf, 6, CHUNK - 3), 6);
	CHECK(memcmp(buf, "ABC\0\0\0", 6) == 0,
	      "after shrink and grow: expected \"ABC\" and zeros");
	EQ(pread(fd, buf, 8, 2 * CHUNK), 0); /* EOF */
	close(fd);
	/* Persisted the same way once closed. */
	OK(fd = open("f", O_RDONLY));
	OK(fstat(fd, &st));
	EQ(st.st_size, 2 * CHUNK);
	EQ(pread(fd, buf, 6, CHUNK - 3), 6);
	CHECK(memcmp(buf, "ABC\0\0\0", 6) == 0, "reopened: expected \"ABC\" and zeros");
	close(fd);
	return CASE_OK;
}

static int fallocate_mode_0_extends_with_zeros_and_keeps_data(void)
{
	unsigned char buf[4096];
	struct stat st;
	int fd;

	OK(fd = open("f", O_CREAT | O_RDWR, 0644));
	EQ(write(fd, "keep", 4), 4);
	OK(fallocate(fd, 0, 0, 2 * MIB));
	OK(fstat(fd, &st));
	EQ(st.st_size, 2 * MIB);
	EQ(pread(fd, buf, 4, 0), 4);
	CHECK(memcmp(buf, "keep", 4) == 0, "fallocate overwrote existing data");
	EQ(pread(fd, buf, sizeof(buf), MIB), (ssize_t)sizeof(buf));
	CHECK(all_zero(buf, sizeof(buf)), "fallocated range: expected zeros");
	OK(fallocate(fd, 0, 100, 10)); /* inside: size unchanged */
	OK(fstat(fd, &st));
	EQ(st.st_size, 2 * MIB);
	ERR(fallocate(fd, 0, 0, 0), EINVAL);
	close(fd);
	return CASE_OK;
}

static int shared_writable_mmap_reaches_the_file(void)
{
	const size_t len = 3 * 4096 + 100;
	unsigned char *map, *want, *got;
	int fd;

	want = malloc(len);
	got = malloc(len);
	CHECK(want && got, "out of memory");
	pattern_fill(want, len, 0, 7);
	OK(fd = open("f", O_CREAT | O_RDWR, 0644));
	OK(ftruncate(fd, (off_t)len));
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED, "mmap MAP_SHARED PROT_WRITE: expected success, got %s",
	      errno_name(errno));
	memcpy(map, want, len);
	OK(msync(map, len, MS_SYNC));
	/* read(2) sees the mapped writes. */
	EQ(pread(fd, got, len, 0), (ssize_t)len);
	CHECK(memcmp(got, want, len) == 0, "pread after msync: bytes differ");
	/* And the mapping sees a write(2). */
	EQ(pwrite(fd, "W", 1, 4096), 1);
	CHECK(map[4096] == 'W', "the mapping: expected 'W' written by pwrite, got 0x%02x",
	      map[4096]);
	want[4096] = 'W';
	munmap(map, len);
	close(fd);
	OK(fd = open("f", O_RDONLY));
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	EQ(pread(fd, got, len, 0), (ssize_t)len);
	close(fd);
	CHECK(memcmp(got, want, len) == 0, "reopened after munmap: bytes differ");
	/* A mapping without msync, released by munmap and close, persists too. */
	OK(fd = open("g", O_CREAT | O_RDWR, 0644));
	OK(ftruncate(fd, 4096));
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map != MAP_FAILED, "second mmap failed: %s", errno_name(errno));
	memcpy(map, "unsynced", 8);
	munmap(map, 4096);
	close(fd);
	char buf[16];
	OK(file_get("g", buf, sizeof(buf)));
	CHECK(memcmp(buf, "unsynced", 8) == 0, "g: expected \"unsynced\"");
	free(want);
	free(got);
	return CASE_OK;
}

static int fsync_of_files_and_directories_succeeds(void)
{
	int fd, dfd;

	OK(fd = open("f", O_CREAT | O_RDWR, 0644));
	EQ(write(fd, "x", 1), 1);
	OK(fsync(fd));
	OK(fdatasync(fd));
	close(fd);
	OK(dfd = open(".", O_RDONLY | O_DIRECTORY));
	OK(fsync(dfd));
	close(dfd);
	return CASE_OK;
}

static int copy_file_range_copies_bytes(void)
{
	unsigned char want[10000], got[10000];
	int in, out;

	pattern_fill(want, sizeof(want), 0, 3);
	OK(in = open("in", O_CREAT | O_RDWR, 0644));
	EQ(write(in, want, sizeof(want)), (ssize_t)sizeof(want));
	OK(out = open("out", O_CREAT | O_RDWR, 0644));
	loff_t off_in = 100, off_out = 0;
	size_t left = sizeof(want) - 100;
	while (left) {
		ssize_t n = copy_file_range(in, &off_in, out, &off_out, left, 0);

		OK(n);
		CHECK(n > 0, "copy_file_range returned 0 with %zu bytes left", left);
		left -= (size_t)n;
	}
	EQ(pread(out, got, sizeof(got), 0), (ssize_t)sizeof(want) - 100);
	CHECK(memcmp(got, want + 100, sizeof(want) - 100) == 0, "copied bytes differ");
	close(in);
	close(out);
	return CASE_OK;
}

static int sparse_file_of_1_tib_costs_nothing(void)
{
	const off_t tib = 1LL << 40;
	unsigned char buf[4096];
	struct stat st;
	int fd;

	OK(fd = open("sparse", O_CREAT | O_RDWR, 0644));
	OK(ftruncate(fd, tib));
	EQ(pwrite(fd, "middle", 6, tib / 2), 6);
	EQ(pwrite(fd, "end", 3, tib - 3), 3);
	OK(fsync(fd));
	close(fd);
	OK(fd = open("sparse", O_RDONLY));
	OK(fstat(fd, &st));
	EQ(st.st_size, tib);
	CHECK((long long)st.st_blocks * 512 < 64LL * MIB,
	      "a 1 TiB file with 9 bytes: expected under 64 MiB allocated, got %lld bytes",
	      (long long)st.st_blocks * 512);
	EQ(pread(fd, buf, 6, tib / 2), 6);
	CHECK(memcmp(buf, "middle", 6) == 0, "the byte at 512 GiB differ");
	EQ(pread(fd, buf, 3, tib - 3), 3);
	CHECK(memcmp(buf, "end", 3) == 0, "the last 3 bytes differ");
	EQ(pread(fd, buf, sizeof(buf), tib / 4), (ssize_t)sizeof(buf));
	CHECK(all_zero(buf, sizeof(buf)), "a hole at 256 GiB: expected zeros");
	EQ(pread(fd, buf, sizeof(buf), tib), 0);
	close(fd);
	return CASE_OK;
}

static int large_file_beyond_the_cache_reads_back(void)
{
	const char *env = getenv("SCFS_POSIX_LARGE_MB");
	const off_t size = (off_t)(env ? atoll(env) : 1024) * MIB;
	unsigned char *want = malloc(MIB), *got = malloc(MIB);
	int fd;

	CHECK(want && got, "out of memory");
	OK(fd = open("large", O_CREAT | O_WRONLY | O_TRUNC, 0644));
	for (off_t off = 0; off < size; off += MIB) {
		pattern_fill(want, MIB, off, 11);
		if (write(fd, want, MIB) != MIB)
			return check_fail(__LINE__, "write at %lld: %s", (long long)off,
			                  errno_name(errno));
	}
	OK(close(fd));
	/* One byte in the middle, through another open. */
	OK(fd = open("large", O_WRONLY));
	EQ(pwrite(fd, "!", 1, size / 2 + 12345), 1);
	OK(close(fd));
	/* Read back cold: drop the kernel's cached pages of the file first. */
	OK(fd = open("large", O_RDONLY));
	OK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	struct stat st;
	OK(fstat(fd, &st));
	EQ(st.st_size, size);
	for (off_t off = 0; off < size; off += MIB) {
		pattern_fill(want, MIB, off, 11);
		if (off <= size / 2 + 12345 && size / 2 + 12345 < off + MIB)
			want[size / 2 + 12345 - off] = '!';
		ssize_t n = read(fd, got, MIB);
		if (n != MIB)
			return check_fail(__LINE__, "read at %lld: expected %d bytes, got %zd (%s)",
			                  (long long)off, MIB, n,
			                  n < 0 ? errno_name(errno) : "short");
		if (memcmp(got, want, MIB) != 0) {
			size_t i = 0;

			while (got[i] == want[i])
				i++;
			return check_fail(__LINE__, "byte %lld: expected 0x%02x, got 0x%02x",
			                  (long long)(off + (off_t)i), want[i], got[i]);
		}
	}
	EQ(read(fd, got, 1), 0);
	close(fd);
	OK(unlink("large"));
	free(want);
	free(got);
	return CASE_OK;
}

const struct posix_case data_cases[] = {
    {"open_flags_excl_trunc_and_append_behave", open_flags_excl_trunc_and_append_behave, 0},
    {"holes_and_truncation_read_as_zeros", holes_and_truncation_read_as_zeros, 0},
    {"fallocate_mode_0_extends_with_zeros_and_keeps_data",
     fallocate_mode_0_extends_with_zeros_and_keeps_data, 0},
    {"shared_writable_mmap_reaches_the_file", shared_writable_mmap_reaches_the_file, 0},
    {"fsync_of_files_and_directories_succeeds", fsync_of_files_and_directories_succeeds, 0},
    {"copy_file_range_copies_bytes", copy_file_range_copies_bytes, 0},
    {"sparse_file_of_1_tib_costs_nothing", sparse_file_of_1_tib_costs_nothing, 0},
    {"large_file_beyond_the_cache_reads_back", large_file_beyond_the_cache_reads_back, 0},
    {NULL, NULL, 0},
};

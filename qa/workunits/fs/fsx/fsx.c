/*
 * fs-fsx: random reads, writes, truncations, fallocates and mmap reads and
 * writes on one file, each checked against an in-memory model of what the
 * file must hold, in the spirit of the classic fsx (written anew here).
 *
 *   fs-fsx [--seed N] [--ops N] [--max-size BYTES] [--max-op BYTES]
 *          [--no-mmap] [--phases N] [--remount CMD] FILE
 *
 * The ops are split into phases; between two phases (and after the last) the
 * file is closed, CMD is run with sh -c (e.g. an unmount and mount again:
 * the file must survive it as the model says), the file is reopened and
 * compared whole. A quarter of the offsets fall near a 4 MiB boundary, where
 * rados-scfs's chunks meet. The same seed gives the same ops. On a mismatch it
 * prints the op, the first differing byte, the last ops and the seed to repeat
 * it, and exits 1.
 *
 * Invariant: MODEL[0..SIZE) is exactly what FILE must contain; bytes of the
 * model beyond SIZE are always zero (so extension by truncate is a size change).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BOUNDARY (4u << 20)
#define HISTORY 32

enum op_kind {
	OP_READ,
	OP_WRITE,
	OP_TRUNCATE,
	OP_MAPREAD,
	OP_MAPWRITE,
	OP_FALLOCATE,
	OP_REOPEN,
	OP_FSYNC,
	OP_KINDS
};

static const char *const op_names[OP_KINDS] = {"read",     "write",     "truncate", "mapread",
                                               "mapwrite", "fallocate", "reopen",   "fsync"};

struct fsx {
	const char *path;
	const char *remount;
	uint64_t rng;
	uint64_t seed;
	unsigned long ops, phases;
	size_t max_size, max_op, size;
	bool mmap_ok;
	int fd;
	unsigned char *model, *scratch;
	long page;
	unsigned long done;
	unsigned long count[OP_KINDS];
	struct {
		unsigned long n;
		enum op_kind kind;
		size_t off, len, size_after;
	} history[HISTORY];
};

static uint64_t rng_next(struct fsx *f)
{
	uint64_t x = f->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->rng = x;
	return x * 2685821657736338717ull;
}

static size_t rng_below(struct fsx *f, size_t bound)
{
	return bound ? (size_t)(rng_next(f) % bound) : 0;
}

static void history_add(struct fsx *f, enum op_kind kind, size_t off, size_t len)
{
	unsigned slot = (unsigned)(f->done % HISTORY);

	f->history[slot].n = f->done;
	f->history[slot].kind = kind;
	f->history[slot].off = off;
	f->history[slot].len = len;
	f->history[slot].size_after = f->size;
}

static void history_print(const struct fsx *f)
{
	fprintf(stderr, "last ops (number kind offset length size-after):\n");
	for (unsigned long i = f->done >= HISTORY ? f->done - HISTORY + 1 : 0; i <= f->done; i++) {
		unsigned slot = (unsigned)(i % HISTORY);

		if (f->history[slot].n != i)
			continue;
		fprintf(stderr, "  %lu %s 0x%zx 0x%zx 0x%zx\n", i, op_names[f->history[slot].kind],
		        f->history[slot].off, f->history[slot].len, f->history[slot].size_after);
	}
}

static void __attribute__((noreturn)) fail(struct fsx *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct fsx *f, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fs-fsx: FAIL at op %lu: ", f->done);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	history_print(f);
	fprintf(stderr,
	        "repeat with: fs-fsx --seed %" PRIu64
	        " --ops %lu --phases %lu --max-size %zu --max-op %zu%s FILE\n",
	        f->seed, f->ops, f->phases, f->max_size, f->max_op, f->mmap_ok ? "" : " --no-mmap");
	exit(1);
}

/* GOT (LEN bytes at OFF) must equal the model; names the first byte that differs. */
static void compare(struct fsx *f, const char *what, const unsigned char *got, size_t off,
                    size_t len)
{
	if (memcmp(got, f->model + off, len) == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		if (got[i] != f->model[off + i])
			fail(f, "%s at 0x%zx len 0x%zx: byte 0x%zx expected 0x%02x, got 0x%02x",
			     what, off, len, off + i, f->model[off + i], got[i]);
	}
}

static void file_open(struct fsx *f, int extra)
{
	f->fd = open(f->path, O_RDWR | extra, 0644);
	if (f->fd < 0)
		fail(f, "open %s: %s", f->path, strerror(errno));
}

/* The file's size and every byte must match the model. */
static void check_whole(struct fsx *f, const char *when)
{
	struct stat st;
	size_t off = 0;

	if (fstat(f->fd, &st) < 0)
		fail(f, "fstat: %s", strerror(errno));
	if ((size_t)st.st_size != f->size)
		fail(f, "%s: size expected 0x%zx, got 0x%llx", when, f->size,
		     (unsigned long long)st.st_size);
	while (off < f->size) {
		size_t len = f->size - off < f->max_op ? f->size - off : f->max_op;
		ssize_t n = pread(f->fd, f->scratch, len, (off_t)off);

		if (n != (ssize_t)len)
			fail(f, "%s: pread at 0x%zx: %s", when, off,
			     n < 0 ? strerror(errno) : "short");
		compare(f, when, f->scratch, off, len);
		off += len;
	}
}

/* An offset and length for an op; a quarter of them straddle a 4 MiB boundary. */
static void pick_range(struct fsx *f, size_t limit, size_t *off, size_t *len)
{
	*len = 1 + rng_below(f, f->max_op);
	if (limit >= BOUNDARY && rng_below(f, 4) == 0) {
		size_t b = BOUNDARY * (1 + rng_below(f, limit / BOUNDARY));

		*off = b > *len ? b - rng_below(f, *len) : 0;
	} else {
		*off = rng_below(f, limit);
	}
	if (*off >= limit)
		*off = limit ? limit - 1 : 0;
	if (*off + *len > limit)
		*len = limit - *off;
}

static void op_read(struct fsx *f)
{
	size_t off, len;

	if (f->size == 0)
		return;
	pick_range(f, f->size, &off, &len);
	history_add(f, OP_READ, off, len);
	ssize_t n = pread(f->fd, f->scratch, len, (off_t)off);
	if (n != (ssize_t)len)
		fail(f, "read at 0x%zx len 0x%zx: %s", off, len, n < 0 ? strerror(errno) : "short");
	compare(f, "read", f->scratch, off, len);
}

static void op_write(struct fsx *f)
{
	size_t off, len;

	pick_range(f, f->max_size, &off, &len);
	if (len == 0)
		return;
	for (size_t i = 0; i < len; i++)
		f->scratch[i] = (unsigned char)rng_next(f);
	ssize_t n = pwrite(f->fd, f->scratch, len, (off_t)off);
	if (n != (ssize_t)len)
		fail(f, "write at 0x%zx len 0x%zx: %s", off, len,
		     n < 0 ? strerror(errno) : "short");
	memcpy(f->model + off, f->scratch, len);
	if (off + len > f->size)
		f->size = off + len;
	history_add(f, OP_WRITE, off, len);
}

static void model_resize(struct fsx *f, size_t size)
{
	if (size < f->size)
		memset(f->model + size, 0, f->size - size);
	f->size = size;
}

static void op_truncate(struct fsx *f)
{
	size_t size = rng_below(f, f->max_size + 1);

	if (ftruncate(f->fd, (off_t)size) < 0)
		fail(f, "truncate to 0x%zx: %s", size, strerror(errno));
	model_resize(f, size);
	history_add(f, OP_TRUNCATE, 0, size);
}

static void op_fallocate(struct fsx *f)
{
	size_t off, len;

	pick_range(f, f->max_size, &off, &len);
	if (len == 0)
		return;
	if (fallocate(f->fd, 0, (off_t)off, (off_t)len) < 0)
		fail(f, "fallocate at 0x%zx len 0x%zx: %s", off, len, strerror(errno));
	if (off + len > f->size)
		f->size = off + len; /* the model beyond size is zeros already */
	history_add(f, OP_FALLOCATE, off, len);
}

static void op_mapread(struct fsx *f)
{
	size_t off, len, start;

	if (f->size == 0)
		return;
	pick_range(f, f->size, &off, &len);
	start = off - off % (size_t)f->page;
	unsigned char *map =
	    mmap(NULL, len + off - start, PROT_READ, MAP_SHARED, f->fd, (off_t)start);
	if (map == MAP_FAILED)
		fail(f, "mmap read at 0x%zx len 0x%zx: %s", off, len, strerror(errno));
	history_add(f, OP_MAPREAD, off, len);
	compare(f, "mapread", map + (off - start), off, len);
	munmap(map, len + off - start);
}

static void op_mapwrite(struct fsx *f)
{
	size_t off, len, start;

	pick_range(f, f->max_size, &off, &len);
	if (len == 0)
		return;
	if (off + len > f->size) {
		/* A mapping cannot grow a file: extend it first. */
		if (ftruncate(f->fd, (off_t)(off + len)) < 0)
			fail(f, "truncate before mapwrite to 0x%zx: %s", off + len,
			     strerror(errno));
		f->size = off + len;
	}
	start = off - off % (size_t)f->page;
	unsigned char *map =
	    mmap(NULL, len + off - start, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, (off_t)start);
	if (map == MAP_FAILED)
		fail(f, "mmap write at 0x%zx len 0x%zx: %s", off, len, strerror(errno));
	for (size_t i = 0; i < len; i++)
		f->model[off + i] = (unsigned char)rng_next(f);
	memcpy(map + (off - start), f->model + off, len);
	if (msync(map, len + off - start, MS_SYNC) < 0)
		fail(f, "msync at 0x%zx: %s", off, strerror(errno));
	munmap(map, len + off - start);
	history_add(f, OP_MAPWRITE, off, len);
}

static void op_reopen(struct fsx *f)
{
	if (close(f->fd) < 0)
		fail(f, "close: %s", strerror(errno));
	file_open(f, 0);
	history_add(f, OP_REOPEN, 0, 0);
}

static void op_fsync(struct fsx *f)
{
	if (fsync(f->fd) < 0)
		fail(f, "fsync: %s", strerror(errno));
	history_add(f, OP_FSYNC, 0, 0);
}

static void one_op(struct fsx *f)
{
	unsigned r = (unsigned)rng_below(f, 100);
	enum op_kind kind;

	/* Weights: read 25, write 30, truncate 8, mapread 10, mapwrite 12,
	 * fallocate 5, reopen 7, fsync 3. */
	if (r < 25)
		kind = OP_READ;
	else if (r < 55)
		kind = OP_WRITE;
	else if (r < 63)
		kind = OP_TRUNCATE;
	else if (r < 73)
		kind = OP_MAPREAD;
	else if (r < 85)
		kind = OP_MAPWRITE;
	else if (r < 90)
		kind = OP_FALLOCATE;
	else if (r < 97)
		kind = OP_REOPEN;
	else
		kind = OP_FSYNC;
	if (!f->mmap_ok && (kind == OP_MAPREAD || kind == OP_MAPWRITE))
		kind = kind == OP_MAPREAD ? OP_READ : OP_WRITE;
	f->count[kind]++;
	switch (kind) {
	case OP_READ:
		op_read(f);
		break;
	case OP_WRITE:
		op_write(f);
		break;
	case OP_TRUNCATE:
		op_truncate(f);
		break;
	case OP_MAPREAD:
		op_mapread(f);
		break;
	case OP_MAPWRITE:
		op_mapwrite(f);
		break;
	case OP_FALLOCATE:
		op_fallocate(f);
		break;
	case OP_REOPEN:
		op_reopen(f);
		break;
	default:
		op_fsync(f);
		break;
	}
}

static void remount(struct fsx *f, unsigned long phase)
{
	int status;

	if (close(f->fd) < 0)
		fail(f, "close before remount: %s", strerror(errno));
	if (f->remount) {
		status = system(f->remount);
		if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail(f, "the remount command failed (status %d): %s", status, f->remount);
	}
	file_open(f, 0);
	char when[64];
	snprintf(when, sizeof(when), "whole file after phase %lu%s", phase,
	         f->remount ? " and remount" : "");
	check_whole(f, when);
}

static void usage(void)
{
	fprintf(stderr, "usage: fs-fsx [--seed N] [--ops N] [--max-size BYTES] [--max-op BYTES]\n"
	                "              [--no-mmap] [--phases N] [--remount CMD] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct fsx f = {.seed = 1,
	                .ops = 10000,
	                .phases = 1,
	                .max_size = 9u << 20,
	                .max_op = 256u << 10,
	                .mmap_ok = true};
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--no-mmap") == 0) {
			f.mmap_ok = false;
			continue;
		}
		if (!v)
			usage();
		if (strcmp(a, "--seed") == 0)
			f.seed = strtoull(v, NULL, 0);
		else if (strcmp(a, "--ops") == 0)
			f.ops = strtoul(v, NULL, 0);
		else if (strcmp(a, "--max-size") == 0)
			f.max_size = strtoul(v, NULL, 0);
		else if (strcmp(a, "--max-op") == 0)
			f.max_op = strtoul(v, NULL, 0);
		else if (strcmp(a, "--phases") == 0)
			f.phases = strtoul(v, NULL, 0);
		else if (strcmp(a, "--remount") == 0)
			f.remount = v;
		else
			usage();
		i++;
	}
	if (i + 1 != argc || f.max_size == 0 || f.max_op == 0 || f.phases == 0)
		usage();
	f.path = argv[i];
	f.rng = f.seed * 0x9E3779B97F4A7C15ull + 1;
	f.page = sysconf(_SC_PAGESIZE);
	f.model = calloc(1, f.max_size + f.max_op);
	f.scratch = malloc(f.max_op);
	if (!f.model || !f.scratch) {
		fprintf(stderr, "fs-fsx: out of memory for a %zu-byte model\n", f.max_size);
		return 2;
	}
	file_open(&f, O_CREAT | O_TRUNC);
	printf("fs-fsx: %s seed %" PRIu64 ", %lu ops in %lu phase%s, max size %zu, max op %zu%s\n",
	       f.path, f.seed, f.ops, f.phases, f.phases == 1 ? "" : "s", f.max_size, f.max_op,
	       f.mmap_ok ? "" : ", no mmap");
	for (unsigned long phase = 1; phase <= f.phases; phase++) {
		unsigned long end = f.ops * phase / f.phases;

		for (; f.done < end; f.done++)
			one_op(&f);
		remount(&f, phase);
		printf("fs-fsx: phase %lu: %lu ops, file of %zu bytes matches the model\n", phase,
		       f.done, f.size);
	}
	close(f.fd);
	printf("fs-fsx: ok:");
	for (int k = 0; k < OP_KINDS; k++)
		printf(" %s %lu", op_names[k], f.count[k]);
	printf("\n");
	unlink(f.path);
	free(f.model);
	free(f.scratch);
	return 0;
}

/*
 * fs_raw_bench: fs-bench's raw librados baseline. It writes to the same n
 * clusters the bytes a DepSky-CA file system stores per cluster (SHARE of the
 * file's bytes, 1/(f+1) by default: each cluster holds one of n fragments of
 * which f+1 rebuild the data), with nothing of the file system in between:
 *
 *   big write   MIB MiB of "file", as 4 MiB objects, SHARE of each to every
 *               cluster at once, 8 objects in flight per cluster
 *   big read    the same objects from f+1 clusters
 *   create      FILES objects of FILE_BYTES * SHARE to every cluster, one
 *               file after the other (as a file system closes one file at a time)
 *   stat        rados_stat of each on n-f clusters
 *   read        each from f+1 clusters
 *   unlink      rados_remove of each on every cluster
 *
 * One line a phase: "raw PHASE seconds S bytes B count N" (B: file bytes).
 * Objects live in the RADOS namespace "fs-bench-raw" and are removed at the end.
 *
 *   fs_raw_bench --dir DIR --clusters A,B,C,D [--pool scfs] [--faults F]
 *                [--mib 1024] [--files 10000] [--file-bytes 4096] [--share X]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rados/librados.h>

#include "common/cluster.h"

#define MAX_CLUSTERS 8
#define OBJECT (4u << 20)
#define IN_FLIGHT 8

struct raw {
	int n, f;
	rados_t rados[MAX_CLUSTERS];
	rados_ioctx_t io[MAX_CLUSTERS];
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(const char *phase, double seconds, unsigned long long bytes, unsigned long n)
{
	printf("raw %s seconds %.6f bytes %llu count %lu\n", phase, seconds, bytes, n);
	fflush(stdout);
}

static int wait_all(rados_completion_t *c, int count)
{
	int r = 0;

	for (int i = 0; i < count; i++) {
		rados_aio_wait_for_complete(c[i]);
		int v = rados_aio_get_return_value(c[i]);
		if (v < 0 && r == 0)
			r = v;
		rados_aio_release(c[i]);
	}
	return r;
}

/*
 * Big objects: write (READERS == 0) to all clusters, or read from READERS.
 * A sliding window: each cluster keeps IN_FLIGHT objects in flight, and a new
 * one goes out as soon as that cluster's oldest is done.
 */
static int big(struct raw *raw, unsigned long objects, size_t per_object, int readers, char *buf)
{
	rados_completion_t c[MAX_CLUSTERS][IN_FLIGHT] = {{0}};
	int targets = readers ? readers : raw->n, r = 0;
	char oid[64];

	for (unsigned long o = 0; o < objects; o++) {
		unsigned slot = (unsigned)(o % IN_FLIGHT);

		snprintf(oid, sizeof(oid), "big.%lu", o);
		for (int i = 0; i < targets; i++) {
			if (c[i][slot]) {
				int v = wait_all(&c[i][slot], 1);
				if (v < 0 && r == 0)
					r = v;
			}
			rados_aio_create_completion2(NULL, NULL, &c[i][slot]);
			if (readers)
				rados_aio_read(raw->io[i], oid, c[i][slot],
				               buf + (size_t)(i * IN_FLIGHT + slot) * per_object,
				               per_object, 0);
			else
				rados_aio_write_full(raw->io[i], oid, c[i][slot], buf, per_object);
		}
	}
	for (int i = 0; i < targets; i++) {
		for (unsigned slot = 0; slot < IN_FLIGHT; slot++) {
			if (!c[i][slot])
				continue;
			int v = wait_all(&c[i][slot], 1);
			if (v < 0 && r == 0)
				r = v;
		}
	}
	return r;
}

/* One small object on COUNT clusters: 'w'rite, 's'tat, 'r'ead or 'd'elete. */
static int small(struct raw *raw, char op, const char *oid, char *buf, size_t len, int count)
{
	rados_completion_t c[MAX_CLUSTERS];
	uint64_t size;
	time_t mtime;

	for (int i = 0; i < count; i++) {
		rados_aio_create_completion2(NULL, NULL, &c[i]);
		if (op == 'w')
			rados_aio_write_full(raw->io[i], oid, c[i], buf, len);
		else if (op == 's')
			rados_aio_stat(raw->io[i], oid, c[i], &size, &mtime);
		else if (op == 'r')
			rados_aio_read(raw->io[i], oid, c[i], buf + (size_t)i * len, len, 0);
		else
			rados_aio_remove(raw->io[i], oid, c[i]);
	}
	return wait_all(c, count);
}

static int connect_all(struct raw *raw, const char *dir, char *clusters, const char *pool)
{
	char *save = NULL;

	for (char *name = strtok_r(clusters, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct sc_cluster_opts o = {.cluster = name, .conf_dir = dir};
		struct sc_err err;

		if (raw->n == MAX_CLUSTERS) {
			fprintf(stderr, "fs_raw_bench: at most %d clusters\n", MAX_CLUSTERS);
			return -E2BIG;
		}
		int r = sc_cluster_connect(&o, &raw->rados[raw->n], &err);
		if (r < 0) {
			fprintf(stderr, "fs_raw_bench: %s\n", err.msg);
			return r;
		}
		r = rados_ioctx_create(raw->rados[raw->n], pool, &raw->io[raw->n]);
		if (r < 0) {
			fprintf(stderr, "fs_raw_bench: cluster %s: pool %s: %s\n", name, pool,
			        strerror(-r));
			rados_shutdown(raw->rados[raw->n]);
			return r;
		}
		rados_ioctx_set_namespace(raw->io[raw->n], "fs-bench-raw");
		raw->n++;
	}
	return raw->n ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *pool = "scfs";
	char *clusters = NULL;
	unsigned long mib = 1024, files = 10000, file_bytes = 4096;
	double share = 0;
	struct raw raw = {.f = -1};
	int r = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--dir") == 0)
			dir = v;
		else if (strcmp(a, "--clusters") == 0)
			clusters = strdup(v);
		else if (strcmp(a, "--pool") == 0)
			pool = v;
		else if (strcmp(a, "--faults") == 0)
			raw.f = atoi(v);
		else if (strcmp(a, "--mib") == 0)
			mib = strtoul(v, NULL, 10);
		else if (strcmp(a, "--files") == 0)
			files = strtoul(v, NULL, 10);
		else if (strcmp(a, "--file-bytes") == 0)
			file_bytes = strtoul(v, NULL, 10);
		else if (strcmp(a, "--share") == 0)
			share = atof(v);
		else
			goto usage;
	}
	if (!dir || !clusters)
		goto usage;
	if (connect_all(&raw, dir, clusters, pool) < 0)
		return 1;
	if (raw.f < 0)
		raw.f = (raw.n - 1) / 3;
	if (share <= 0)
		share = 1.0 / (raw.f + 1);
	int k = raw.f + 1;
	size_t per_object = (size_t)(OBJECT * share);
	unsigned long objects = (mib * (1u << 20) + OBJECT - 1) / OBJECT;
	size_t small_len = (size_t)((double)file_bytes * share);
	char *buf = calloc((size_t)MAX_CLUSTERS * IN_FLIGHT,
	                   per_object > small_len ? per_object : small_len);
	char oid[64];
	double t0;

	if (!buf)
		goto out;
	for (size_t i = 0; i < per_object; i++)
		buf[i] = (char)(i * 131 + 7);
	/* Warm up: every cluster's OSD session is open before anything is timed. */
	if ((r = small(&raw, 'w', "warmup", buf, small_len, raw.n)) < 0 ||
	    (r = small(&raw, 'd', "warmup", buf, small_len, raw.n)) < 0)
		goto fail;
	printf("raw: %d clusters, f=%d: %zu of every 4 MiB and %zu of every %lu-byte file per "
	       "cluster\n",
	       raw.n, raw.f, per_object, small_len, file_bytes);

	if (mib) {
		t0 = now();
		if ((r = big(&raw, objects, per_object, 0, buf)) < 0)
			goto fail;
		report("seqwrite", now() - t0, (unsigned long long)mib << 20, 1);
		t0 = now();
		if ((r = big(&raw, objects, per_object, k, buf)) < 0)
			goto fail;
		report("seqread", now() - t0, (unsigned long long)mib << 20, 1);
	}

	static const struct {
		const char *name;
		char op;
		int who; /* 0: all n, 1: n-f, 2: f+1 */
	} phases[] = {{"create", 'w', 0}, {"stat", 's', 1}, {"read", 'r', 2}, {"unlink", 'd', 0}};
	for (unsigned p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
		int count = phases[p].who == 0 ? raw.n : phases[p].who == 1 ? raw.n - raw.f : k;

		t0 = now();
		for (unsigned long i = 0; i < files; i++) {
			snprintf(oid, sizeof(oid), "small.%lu", i);
			if ((r = small(&raw, phases[p].op, oid, buf, small_len, count)) < 0)
				goto fail;
		}
		report(phases[p].name, now() - t0, (unsigned long long)files * file_bytes, files);
	}
	r = 0;
	goto out;
fail:
	fprintf(stderr, "fs_raw_bench: %s\n", strerror(-r));
	r = 1;
out:
	for (unsigned long o = 0; o < objects; o++) {
		snprintf(oid, sizeof(oid), "big.%lu", o);
		for (int i = 0; i < raw.n; i++)
			rados_remove(raw.io[i], oid);
	}
	for (int i = 0; i < raw.n; i++) {
		rados_ioctx_destroy(raw.io[i]);
		rados_shutdown(raw.rados[i]);
	}
	free(buf);
	free(clusters);
	return r;
usage:
	fprintf(stderr, "usage: fs_raw_bench --dir DIR --clusters A,B,C,D [--pool P] [--faults F]\n"
	                "       [--mib 1024] [--files 10000] [--file-bytes 4096] [--share X]\n");
	free(clusters);
	return 2;
}

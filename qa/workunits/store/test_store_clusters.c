/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The store against four real micro Ceph clusters (n=4, f=1), for both
 * protocols: round trips, one cluster down, two clusters down (the failed
 * write stays invisible), a frozen cluster, garbage fragments and records
 * (named as bad data), no plaintext anywhere in CA, one share alone useless,
 * storage overhead, deletion, the cluster probe. The clusters start once for
 * the whole group and are stopped by the group teardown (and by testbed's
 * exit handlers).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <rados/librados.h>

#include "codec.h"
#include "common/cluster.h"
#include "common/crypto.h"
#include "common/util.h"
#include "record.h"
#include "common/shamir.h"
#include "store.h"
#include "store_internal.h"
#include "testbed.h"

#define N 4
#define F 1
#define POOL "scfs"
#define CHUNK (1u << 20)
#define OP_TIMEOUT 5.0
#define MARKER "SAFECLOUD-PLAINTEXT-MARKER-7f3a"

struct suite {
	struct testbed tb;
	bool started;
	uint8_t priv[32], pub[32];
	struct store *store[3]; /* indexed by protocol: [1] A, [2] CA */
	rados_t admin[N];       /* the tests' own view of each cluster */
	rados_ioctx_t io[3][N]; /* per protocol namespace */
	bool killed[N], frozen[N];
	unsigned seq;
};

static struct suite *S;
/* The report of the tests' last store call (each call fills its own). */
static struct store_report REP;

static void report_if_failed(struct store *st, int r, const char *what);

static const char *ns_of(int protocol)
{
	return protocol == STORE_PROTOCOL_A ? "fs-a" : "fs-ca";
}

static int open_store_limit(struct suite *s, int protocol, size_t max_unit, struct store **out);

static int open_store(struct suite *s, int protocol, struct store **out)
{
	return open_store_limit(s, protocol, 4 * CHUNK, out);
}

static int open_store_limit(struct suite *s, int protocol, size_t max_unit, struct store **out)
{
	struct store_cluster_spec specs[N];
	struct store_opts opts = {0};
	struct sc_err err = {{0}};
	int r;

	for (int i = 0; i < N; i++) {
		specs[i] = (struct store_cluster_spec){.cluster = s->tb.names[i],
		                                       .pool = POOL,
		                                       .rados_ns = ns_of(protocol),
		                                       .conf_dir = s->tb.dir};
	}
	opts.n = N;
	opts.f = F;
	opts.protocol = (enum store_protocol)protocol;
	opts.writer_key = s->priv;
	opts.max_unit_size = max_unit;
	opts.op_timeout = OP_TIMEOUT;
	opts.connect_timeout = 10;
	opts.store_id = ns_of(protocol);
	opts.store_id_len = strlen(ns_of(protocol));
	r = store_open(&opts, specs, out, &err);
	if (r < 0)
		fprintf(stderr, "store_open: %s: %s\n", strerror(-r), err.msg);
	return r;
}

static int group_setup(void **state)
{
	static const char *const pools[] = {POOL, NULL};
	struct suite *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	S = s;
	*state = s;
	if (testbed_start(&s->tb, "dc", N, pools) < 0)
		return -1;
	s->started = true;
	sc_ed25519_keygen(s->priv, s->pub);
	for (int i = 0; i < N; i++) {
		struct sc_cluster_opts o = {
		    .cluster = s->tb.names[i], .conf_dir = s->tb.dir, .op_timeout = 30};
		struct sc_err err;
		if (sc_cluster_connect(&o, &s->admin[i], &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return -1;
		}
		for (int p = 1; p <= 2; p++) {
			if (rados_ioctx_create(s->admin[i], POOL, &s->io[p][i]) < 0)
				return -1;
			rados_ioctx_set_namespace(s->io[p][i], ns_of(p));
		}
	}
	if (open_store(s, STORE_PROTOCOL_A, &s->store[1]) < 0 ||
	    open_store(s, STORE_PROTOCOL_CA, &s->store[2]) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	struct suite *s = *state;

	if (!s)
		return 0;
	for (int p = 1; p <= 2; p++)
		store_close(s->store[p]);
	for (int i = 0; i < N; i++) {
		for (int p = 1; p <= 2; p++)
			if (s->io[p][i])
				rados_ioctx_destroy(s->io[p][i]);
		if (s->admin[i])
			rados_shutdown(s->admin[i]);
	}
	if (s->started)
		testbed_stop(&s->tb);
	free(s);
	return 0;
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void unit_name(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "t%u.%s", S->seq++, what);
}

static void write_read_check(struct store *st, const char *name, size_t len, unsigned seed)
{
	uint8_t *data = malloc(len + 1);
	void *out = NULL;
	size_t out_len = 0;
	struct store_unit_ref ref, got;
	int r;

	assert_non_null(data);
	fill(data, len, seed);
	r = store_unit_write(st, name, data, len, &ref, &REP);
	report_if_failed(st, r, "write");
	assert_int_equal(r, 0);
	r = store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, &got, &REP);
	report_if_failed(st, r, "read latest");
	assert_int_equal(r, 0);
	assert_int_equal(out_len, len);
	if (len)
		assert_memory_equal(out, data, len);
	assert_int_equal(got.version, ref.version);
	assert_memory_equal(got.digest, ref.digest, 32);
	store_buffer_free(out, out_len);
	/* The anchor path: exactly the named version. */
	r = store_unit_read_ref(st, name, &ref, 0, &out, &out_len, &REP);
	report_if_failed(st, r, "read ref");
	assert_int_equal(r, 0);
	assert_int_equal(out_len, len);
	if (len)
		assert_memory_equal(out, data, len);
	store_buffer_free(out, out_len);
	free(data);
}

static void round_trips(int protocol)
{
	static const size_t sizes[] = {0, 1, 4095, 4096, CHUNK - 1, CHUNK, CHUNK + 1};
	struct store *st = S->store[protocol];
	char name[64];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unit_name(name, sizeof(name), "size");
		write_read_check(st, name, sizes[i], (unsigned)i);
	}
	for (unsigned i = 0; i < 6; i++) {
		uint32_t len;
		sc_random_bytes(&len, sizeof(len));
		len %= 2 * CHUNK;
		unit_name(name, sizeof(name), "random");
		write_read_check(st, name, len, 100 + i);
	}
}

static void test_round_trips_all_sizes_a(void **state)
{
	(void)state;
	round_trips(STORE_PROTOCOL_A);
}

static void test_round_trips_all_sizes_ca(void **state)
{
	(void)state;
	round_trips(STORE_PROTOCOL_CA);
}

static void versions_and_delete(int protocol)
{
	struct store *st = S->store[protocol];
	struct store_unit_ref r1, r2, r3;
	struct store_version_info *v;
	size_t count;
	char name[64], oid[300];
	void *out;
	size_t out_len;
	uint64_t size;
	time_t mtime;

	unit_name(name, sizeof(name), "versions");
	assert_int_equal(store_unit_write(st, name, "one", 3, &r1, &REP), 0);
	assert_int_equal(store_unit_write(st, name, "two!", 4, &r2, &REP), 0);
	assert_true(r2.version > r1.version);
	assert_int_equal(store_unit_write_version(st, name, r2.version + 10, "ten", 3, &r3, &REP),
	                 0);
	assert_int_equal(
	    store_unit_write_version(st, name, r2.version + 10, "again", 5, NULL, &REP), -EEXIST);
	assert_int_equal(store_unit_versions(st, name, &v, &count, &REP), 0);
	assert_int_equal(count, 3);
	assert_int_equal(v[0].version, r1.version);
	assert_int_equal(v[2].version, r3.version);
	for (size_t i = 0; i < count; i++) {
		assert_true(v[i].committed);
		assert_int_equal(v[i].clusters, N);
	}
	free(v);
	/* An older version by number. */
	assert_int_equal(store_unit_read(st, name, r1.version, 0, &out, &out_len, NULL, &REP), 0);
	assert_int_equal(out_len, 3);
	assert_memory_equal(out, "one", 3);
	store_buffer_free(out, out_len);
	/* Delete removes the version on every cluster. */
	assert_int_equal(store_unit_delete(st, name, r1.version, &REP), 0);
	assert_int_equal(store_unit_read(st, name, r1.version, 0, &out, &out_len, NULL, &REP),
	                 -ENOENT);
	assert_int_equal(store_flush(st, 30), 0);
	store_record_object_name(name, r1.version, oid, sizeof(oid));
	for (int i = 0; i < N; i++)
		assert_int_equal(rados_stat(S->io[protocol][i], oid, &size, &mtime), -ENOENT);
	assert_int_equal(store_unit_versions(st, name, &v, &count, &REP), 0);
	assert_int_equal(count, 2);
	assert_int_equal(v[0].version, r2.version);
	free(v);
	assert_int_equal(
	    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP), 0);
	assert_memory_equal(out, "ten", 3);
	store_buffer_free(out, out_len);
	assert_int_equal(store_unit_read(st, "t.never.written", STORE_VERSION_LATEST, 0, &out,
	                                 &out_len, NULL, &REP),
	                 -ENOENT);
}

static void test_versions_list_and_delete_a(void **state)
{
	(void)state;
	versions_and_delete(STORE_PROTOCOL_A);
}

static void test_versions_list_and_delete_ca(void **state)
{
	(void)state;
	versions_and_delete(STORE_PROTOCOL_CA);
}

/* Waits until cluster I answers the tests' own client and both stores again. */
static void wait_cluster_back(int i)
{
	uint64_t size;
	time_t mtime;

	for (int p = 1; p <= 2; p++)
		rados_stat(S->io[p][i], "scfs.probe", &size, &mtime);
	for (int p = 1; p <= 2; p++) {
		double until = sc_now_monotonic() + 60;
		struct store_report rep;
		do {
			struct store_version_info *v = NULL;
			size_t count;
			store_unit_versions(S->store[p], "probe", &v, &count, &REP);
			free(v);
			rep = REP;
		} while ((rep.failed_clusters & (1u << i)) && sc_now_monotonic() < until);
	}
}

static void report_if_failed(struct store *st, int r, const char *what)
{
	struct store_report rep;

	if (r == 0)
		return;
	rep = REP;
	fprintf(stderr, "%s: %s: %s\n", what, strerror(-r), rep.msg);
}

static void cluster_kill(int i)
{
	assert_int_equal(testbed_kill(&S->tb, i), 0);
	S->killed[i] = true;
}

static void cluster_revive(int i)
{
	assert_int_equal(testbed_revive(&S->tb, i), 0);
	S->killed[i] = false;
	wait_cluster_back(i);
}

static void cluster_freeze(int i)
{
	assert_int_equal(testbed_freeze(&S->tb, i), 0);
	S->frozen[i] = true;
}

static void cluster_thaw(int i)
{
	assert_int_equal(testbed_thaw(&S->tb, i), 0);
	S->frozen[i] = false;
	wait_cluster_back(i);
}

/* Per-test teardown of the outage tests: whatever failed, every cluster is back. */
static int clusters_restore(void **state)
{
	(void)state;
	for (int i = 0; i < N; i++) {
		if (S->frozen[i] && testbed_thaw(&S->tb, i) == 0)
			S->frozen[i] = false;
		if (S->killed[i] && testbed_revive(&S->tb, i) == 0)
			S->killed[i] = false;
	}
	for (int i = 0; i < N; i++)
		wait_cluster_back(i);
	return 0;
}

static void test_one_cluster_down_writes_and_reads_succeed(void **state)
{
	char name[2][64];
	int down = 2;

	(void)state;
	unit_name(name[0], sizeof(name[0]), "onedown");
	unit_name(name[1], sizeof(name[1]), "onedown");
	cluster_kill(down);
	for (int p = 1; p <= 2; p++) {
		write_read_check(S->store[p], name[p - 1], 300000, 7);
		write_read_check(S->store[p], name[p - 1], 5, 8);
	}
	/* Once its operations outlive the deadline, the store calls it down. */
	for (int p = 1; p <= 2; p++) {
		struct store_cluster_state cs;
		double until = sc_now_monotonic() + OP_TIMEOUT + 3;
		do {
			assert_int_equal(store_cluster_state(S->store[p], (unsigned)down, &cs), 0);
			if (cs.condition == STORE_CLUSTER_DOWN)
				break;
			usleep(200000);
		} while (sc_now_monotonic() < until);
		assert_int_equal(cs.condition, STORE_CLUSTER_DOWN);
		assert_non_null(strstr(cs.reason, "no answer"));
		assert_int_equal(store_cluster_state(S->store[p], (unsigned)(down + 1) % N, &cs),
		                 0);
		assert_int_not_equal(cs.condition, STORE_CLUSTER_DOWN);
	}
	/* A probe hears three answers within its own short timeout and names the fourth. */
	{
		struct store_report rep;
		double t0 = sc_now_monotonic();
		assert_int_equal(store_cluster_probe(S->store[1], 2, &REP), N - 1);
		assert_true(sc_now_monotonic() - t0 < 2 + 1);
		rep = REP;
		assert_int_equal(rep.failed_clusters, 1u << down);
		assert_non_null(strstr(rep.msg, S->tb.names[down]));
	}
	cluster_revive(down);
}

static void test_frozen_cluster_does_not_hold_operations(void **state)
{
	char name[64];
	double t0;

	(void)state;
	cluster_freeze(0);
	for (int p = 1; p <= 2; p++) {
		unit_name(name, sizeof(name), "frozen");
		t0 = sc_now_monotonic();
		write_read_check(S->store[p], name, 70000, 9);
		/* write (3 phases) + 2 reads (2 phases + 1), each bounded by its deadline */
		assert_true(sc_now_monotonic() - t0 < 5 * OP_TIMEOUT);
	}
	cluster_thaw(0);
}

static void two_down(int protocol)
{
	struct store *st = S->store[protocol];
	struct store_unit_ref good, ref;
	struct store_report rep;
	char name[64];
	uint8_t data[20000], failed[20000];
	void *out;
	size_t out_len;
	double t0;
	int r;

	unit_name(name, sizeof(name), "twodown");
	fill(data, sizeof(data), 11);
	fill(failed, sizeof(failed), 12);
	r = store_unit_write(st, name, data, sizeof(data), &good, &REP);
	report_if_failed(st, r, "write");
	assert_int_equal(r, 0);
	assert_int_equal(store_flush(st, 30), 0);
	cluster_kill(1);
	cluster_kill(3);

	/* The file system names its versions: the fragments reach two clusters only. */
	t0 = sc_now_monotonic();
	r = store_unit_write_version(st, name, good.version + 1, failed, sizeof(failed), &ref,
	                             &REP);
	assert_true(sc_now_monotonic() - t0 < OP_TIMEOUT + 2);
	assert_true(r == -ETIMEDOUT || r == -EIO);
	rep = REP;
	assert_int_equal(rep.result, r);
	assert_true(rep.maybe_written); /* two clusters did store it */
	assert_int_equal(rep.failed_clusters, (1u << 1) | (1u << 3));
	assert_non_null(strstr(rep.msg, S->tb.names[1]));
	assert_non_null(strstr(rep.msg, S->tb.names[3]));
	assert_non_null(strstr(rep.msg, "fewer than 3 of 4"));

	/* A write that picks its own version fails as clearly, within its deadline. */
	t0 = sc_now_monotonic();
	r = store_unit_write(st, name, failed, sizeof(failed), NULL, &REP);
	assert_true(sc_now_monotonic() - t0 < OP_TIMEOUT + 2);
	assert_true(r == -ETIMEDOUT || r == -EIO);

	cluster_revive(1);
	cluster_revive(3);
	assert_int_equal(store_flush(st, 60), 0);

	/* The last complete version, nothing of the failed one. */
	r = store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, &ref, &REP);
	report_if_failed(st, r, "read latest");
	assert_int_equal(r, 0);
	assert_int_equal(ref.version, good.version);
	assert_int_equal(out_len, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	store_buffer_free(out, out_len);
	assert_int_equal(store_unit_read(st, name, good.version + 1, 0, &out, &out_len, NULL, &REP),
	                 -ENOENT);
	/* And the next write goes past the failed version's leftovers. */
	assert_int_equal(store_unit_write(st, name, "after", 5, &ref, &REP), 0);
	assert_true(ref.version > good.version + 1);
	assert_int_equal(
	    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP), 0);
	assert_int_equal(out_len, 5);
	store_buffer_free(out, out_len);
}

static void test_two_clusters_down_write_fails_and_stays_invisible_a(void **state)
{
	(void)state;
	two_down(STORE_PROTOCOL_A);
}

static void test_two_clusters_down_write_fails_and_stays_invisible_ca(void **state)
{
	(void)state;
	two_down(STORE_PROTOCOL_CA);
}

/* Overwrites cluster I's object OID (data or record) with garbage through the rados tool. */
static void put_garbage(int protocol, int i, const char *oid, bool record)
{
	char path[300];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "%s/garbage.bin", S->tb.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int j = 0; j < 3000; j++)
		fputc((j * 37) & 0xff, f);
	fclose(f);
	if (record)
		r = testbed_run(&S->tb, i, "rados -p %s -N %s setxattr %s %s 'garbage record' ",
		                POOL, ns_of(protocol), oid, "scfs.rec");
	else
		r = testbed_run(&S->tb, i, "rados -p %s -N %s put %s %s", POOL, ns_of(protocol),
		                oid, path);
	assert_int_equal(r, 0);
}

static void bad_data(int protocol, bool record)
{
	struct store *st = S->store[protocol];
	uint8_t data[100000];

	fill(data, sizeof(data), 21);
	for (int bad = 0; bad < N; bad++) {
		struct store_unit_ref ref;
		struct store_report rep;
		struct store_cluster_state cs;
		char name[64], oid[300];
		void *out;
		size_t out_len;

		unit_name(name, sizeof(name), record ? "badrec" : "badfrag");
		assert_int_equal(store_unit_write(st, name, data, sizeof(data), &ref, &REP), 0);
		assert_int_equal(store_flush(st, 30), 0);
		store_record_object_name(name, ref.version, oid, sizeof(oid));
		put_garbage(protocol, bad, oid, record);

		/* The normal read: right bytes; if it met the bad copy, it names it. */
		assert_int_equal(
		    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP),
		    0);
		assert_int_equal(out_len, sizeof(data));
		assert_memory_equal(out, data, sizeof(data));
		store_buffer_free(out, out_len);
		rep = REP;
		assert_int_equal(rep.bad_clusters & ~(1u << bad), 0);

		/* Checking every copy (fsck) always names exactly the bad cluster. */
		assert_int_equal(store_unit_read_ref(st, name, &ref, STORE_READ_VERIFY_ALL, &out,
		                                     &out_len, &REP),
		                 0);
		assert_int_equal(out_len, sizeof(data));
		assert_memory_equal(out, data, sizeof(data));
		store_buffer_free(out, out_len);
		rep = REP;
		assert_int_equal(rep.bad_clusters, 1u << bad);
		assert_non_null(strstr(rep.msg, S->tb.names[bad]));
		assert_int_equal(store_cluster_state(st, (unsigned)bad, &cs), 0);
		assert_int_equal(cs.condition, STORE_CLUSTER_BAD_DATA);
		assert_true(cs.bad_data > 0);
	}
}

static void test_garbage_fragment_is_named_and_skipped_a(void **state)
{
	(void)state;
	bad_data(STORE_PROTOCOL_A, false);
}

static void test_garbage_fragment_is_named_and_skipped_ca(void **state)
{
	(void)state;
	bad_data(STORE_PROTOCOL_CA, false);
}

static void test_garbage_record_is_named_and_skipped_a(void **state)
{
	(void)state;
	bad_data(STORE_PROTOCOL_A, true);
}

static void test_garbage_record_is_named_and_skipped_ca(void **state)
{
	(void)state;
	bad_data(STORE_PROTOCOL_CA, true);
}

/*
 * Fragments are read in pieces (read.c): a fragment changed inside a later
 * piece, or grown past its end, must be caught like one changed at the
 * start. Cluster BAD's fragment of a 4 MiB unit gets 4 bytes overwritten
 * five eighths in (the third of four pieces); of a 3 MiB unit, 100 bytes
 * appended (the last piece, empty in a good fragment, now is not).
 */
static void bad_later_piece(int protocol, int bad, bool grow)
{
	struct store *st = S->store[protocol];
	size_t len = grow ? 3 * CHUNK : 4 * CHUNK;
	uint8_t *data = malloc(len), junk[100], saved[4];
	struct store_cluster_state cs;
	size_t frag_len = protocol == STORE_PROTOCOL_A ? len : len / (F + 1);
	struct store_unit_ref ref;
	struct store_report rep;
	char name[64], oid[300];
	void *out;
	size_t out_len;

	assert_non_null(data);
	fill(data, len, 31 + (unsigned)bad);
	memset(junk, 0x5a, sizeof(junk));
	unit_name(name, sizeof(name), grow ? "grown" : "midbad");
	assert_int_equal(store_unit_write(st, name, data, len, &ref, &REP), 0);
	assert_int_equal(store_flush(st, 30), 0);
	store_record_object_name(name, ref.version, oid, sizeof(oid));
	assert_int_equal(rados_read(S->io[protocol][bad], oid, (char *)saved, 4, frag_len / 8 * 5),
	                 4);
	if (grow)
		assert_int_equal(
		    rados_append(S->io[protocol][bad], oid, (const char *)junk, sizeof(junk)), 0);
	else
		assert_int_equal(
		    rados_write(S->io[protocol][bad], oid, (const char *)junk, 4, frag_len / 8 * 5),
		    0);

	assert_int_equal(
	    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP), 0);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, data, len);
	store_buffer_free(out, out_len);
	rep = REP;
	assert_int_equal(rep.bad_clusters & ~(1u << bad), 0);

	assert_int_equal(
	    store_unit_read_ref(st, name, &ref, STORE_READ_VERIFY_ALL, &out, &out_len, &REP), 0);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, data, len);
	store_buffer_free(out, out_len);
	rep = REP;
	assert_int_equal(rep.bad_clusters, 1u << bad);
	assert_non_null(strstr(rep.msg, S->tb.names[bad]));
	assert_int_equal(store_cluster_state(st, (unsigned)bad, &cs), 0);
	assert_int_equal(cs.condition, STORE_CLUSTER_BAD_DATA);

	/* Put the fragment right: the next full check finds it good, the cluster up again. */
	if (grow)
		assert_int_equal(rados_trunc(S->io[protocol][bad], oid, frag_len), 0);
	else
		assert_int_equal(rados_write(S->io[protocol][bad], oid, (const char *)saved, 4,
		                             frag_len / 8 * 5),
		                 0);
	assert_int_equal(
	    store_unit_read_ref(st, name, &ref, STORE_READ_VERIFY_ALL, &out, &out_len, &REP), 0);
	assert_memory_equal(out, data, len);
	store_buffer_free(out, out_len);
	rep = REP;
	assert_int_equal(rep.bad_clusters, 0);
	assert_int_equal(store_cluster_state(st, (unsigned)bad, &cs), 0);
	assert_int_not_equal(cs.condition, STORE_CLUSTER_BAD_DATA);
	free(data);
}

static void test_fragment_bad_in_a_later_piece_is_named_a(void **state)
{
	(void)state;
	bad_later_piece(STORE_PROTOCOL_A, 0, false);
	bad_later_piece(STORE_PROTOCOL_A, 2, true);
}

static void test_fragment_bad_in_a_later_piece_is_named_ca(void **state)
{
	(void)state;
	bad_later_piece(STORE_PROTOCOL_CA, 1, false);
	bad_later_piece(STORE_PROTOCOL_CA, 3, true);
}

/* Does any object of cluster I (data, xattrs, omap) in PROTOCOL's namespace hold NEEDLE? */
static bool cluster_contains(int protocol, int i, const void *needle, size_t needle_len,
                             unsigned *objects)
{
	rados_ioctx_t io = S->io[protocol][i];
	rados_list_ctx_t list;
	const char *oid;
	bool found = false;
	size_t cap = 8u << 20;
	char *buf = malloc(cap);

	assert_non_null(buf);
	assert_int_equal(rados_nobjects_list_open(io, &list), 0);
	while (!found && rados_nobjects_list_next(list, &oid, NULL, NULL) == 0) {
		rados_xattrs_iter_t xi;
		rados_omap_iter_t oi;
		rados_read_op_t op;
		const char *xn, *xv;
		char *k, *v;
		size_t xl, kl, vl;
		int r, prval;
		unsigned char more;

		(*objects)++;
		r = rados_read(io, oid, buf, cap, 0);
		assert_true(r >= 0);
		if (memmem(buf, (size_t)r, needle, needle_len))
			found = true;
		if (rados_getxattrs(io, oid, &xi) == 0) {
			while (rados_getxattrs_next(xi, &xn, &xv, &xl) == 0 && xn)
				if (memmem(xv, xl, needle, needle_len))
					found = true;
			rados_getxattrs_end(xi);
		}
		op = rados_create_read_op();
		rados_read_op_omap_get_vals2(op, "", "", 100000, &oi, &more, &prval);
		if (rados_read_op_operate(op, io, oid, 0) == 0) {
			while (rados_omap_get_next2(oi, &k, &v, &kl, &vl) == 0 && k)
				if (memmem(v, vl, needle, needle_len))
					found = true;
			rados_omap_get_end(oi);
		}
		rados_release_read_op(op);
	}
	rados_nobjects_list_close(list);
	free(buf);
	return found;
}

static void test_ca_no_cluster_holds_the_plaintext(void **state)
{
	uint8_t *data = malloc(CHUNK);
	char name[64];
	unsigned objects;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < CHUNK; i += sizeof(MARKER) - 1)
		memcpy(data + i, MARKER,
		       CHUNK - i < sizeof(MARKER) - 1 ? CHUNK - i : sizeof(MARKER) - 1);
	for (int p = 1; p <= 2; p++) {
		unit_name(name, sizeof(name), "marker");
		assert_int_equal(store_unit_write(S->store[p], name, data, CHUNK, NULL, &REP), 0);
		assert_int_equal(store_flush(S->store[p], 30), 0);
	}
	for (int i = 0; i < N; i++) {
		objects = 0;
		assert_false(
		    cluster_contains(STORE_PROTOCOL_CA, i, MARKER, sizeof(MARKER) - 1, &objects));
		assert_true(objects > 0);
		/* The same search finds the marker in protocol A's copies: it does look. */
		objects = 0;
		assert_true(
		    cluster_contains(STORE_PROTOCOL_A, i, MARKER, sizeof(MARKER) - 1, &objects));
	}
	free(data);
}

/* Cluster I's record and fragment of NAME vVERSION, read with the tests' own client. */
static void fetch(int i, const char *name, uint64_t version, uint8_t *rec, size_t *rec_len,
                  uint8_t *frag, size_t frag_cap, size_t *frag_len)
{
	char oid[300];
	int r;

	store_record_object_name(name, version, oid, sizeof(oid));
	r = rados_getxattr(S->io[STORE_PROTOCOL_CA][i], oid, "scfs.rec", (char *)rec,
	                   RECORD_MAX_LEN);
	assert_true(r > 0);
	*rec_len = (size_t)r;
	r = rados_read(S->io[STORE_PROTOCOL_CA][i], oid, (char *)frag, frag_cap, 0);
	assert_true(r >= 0);
	*frag_len = (size_t)r;
}

static void test_ca_one_share_alone_does_not_rebuild_the_key(void **state)
{
	struct store_unit_ref ref;
	uint8_t data[50000], rec0[RECORD_MAX_LEN], rec1[RECORD_MAX_LEN];
	uint8_t *frags = malloc(2 * sizeof(data)), *plain = malloc(sizeof(data));
	uint8_t key[32], shares[64], aad[22 + 64];
	size_t aad_len;
	size_t rec_len[2], frag_len[2];
	unsigned idx[2] = {0, 1};
	struct record r0, r1;
	char name[64];

	(void)state;
	assert_non_null(frags);
	assert_non_null(plain);
	fill(data, sizeof(data), 33);
	unit_name(name, sizeof(name), "share");
	assert_int_equal(
	    store_unit_write(S->store[STORE_PROTOCOL_CA], name, data, sizeof(data), &ref, &REP), 0);
	assert_int_equal(store_flush(S->store[STORE_PROTOCOL_CA], 30), 0);
	/* Clusters 0 and 1 hold the two systematic fragments: the whole ciphertext. */
	fetch(0, name, ref.version, rec0, &rec_len[0], frags, sizeof(data), &frag_len[0]);
	fetch(1, name, ref.version, rec1, &rec_len[1], frags + frag_len[0], sizeof(data),
	      &frag_len[1]);
	assert_int_equal(store_record_parse(rec0, rec_len[0], &r0), 0);
	assert_int_equal(store_record_parse(rec1, rec_len[1], &r1), 0);
	memcpy(aad, "scfs.du2", 8);
	sc_put_be64(aad + 8, ref.version);
	aad[16] = 5;
	memcpy(aad + 17, "fs-ca", 5);
	memcpy(aad + 22, name, strlen(name));
	aad_len = 22 + strlen(name);

	/* Cluster 0 alone: all the ciphertext, its share, and nothing more. */
	assert_int_equal(sc_shamir_combine(idx, r0.share, 1, key), 0);
	assert_int_equal(
	    sc_aes256gcm_open(key, r0.c.iv, aad, aad_len, frags, sizeof(data), r0.c.tag, plain),
	    -EBADMSG);
	assert_memory_not_equal(plain, data, 64);
	/* Two shares do rebuild it: the check above is not vacuous. */
	memcpy(shares, r0.share, 32);
	memcpy(shares + 32, r1.share, 32);
	assert_int_equal(sc_shamir_combine(idx, shares, 2, key), 0);
	assert_int_equal(
	    sc_aes256gcm_open(key, r0.c.iv, aad, aad_len, frags, sizeof(data), r0.c.tag, plain), 0);
	assert_memory_equal(plain, data, sizeof(data));
	sc_wipe(key, sizeof(key));
	free(frags);
	free(plain);
}

static void storage_overhead(int protocol, double expect)
{
	struct store *st = S->store[protocol];
	size_t written = 0;
	uint64_t stored = 0;
	char name[16][64];
	unsigned count = 8;

	for (unsigned u = 0; u < count; u++) {
		size_t len = CHUNK - u * 1001;
		uint8_t *data = malloc(len);
		struct store_unit_ref ref;
		assert_non_null(data);
		fill(data, len, 40 + u);
		unit_name(name[u], sizeof(name[u]), "overhead");
		assert_int_equal(store_unit_write(st, name[u], data, len, &ref, &REP), 0);
		written += len;
		free(data);
	}
	assert_int_equal(store_flush(st, 30), 0);
	for (unsigned u = 0; u < count; u++) {
		struct store_version_info *v;
		size_t n;
		char oid[300];
		assert_int_equal(store_unit_versions(st, name[u], &v, &n, &REP), 0);
		assert_int_equal(n, 1);
		store_record_object_name(name[u], v[0].version, oid, sizeof(oid));
		free(v);
		for (int i = 0; i < N; i++) {
			uint64_t size;
			time_t mtime;
			char rec[RECORD_MAX_LEN];
			int r =
			    rados_getxattr(S->io[protocol][i], oid, "scfs.rec", rec, sizeof(rec));
			assert_int_equal(rados_stat(S->io[protocol][i], oid, &size, &mtime), 0);
			assert_true(r > 0);
			stored += size + (uint64_t)r; /* fragment and its record */
		}
	}
	double ratio = (double)stored / (double)written;
	printf("protocol %s: %zu bytes written, %llu stored, %.4f per byte\n",
	       store_protocol_name((enum store_protocol)protocol), written,
	       (unsigned long long)stored, ratio);
	assert_true(ratio >= expect);
	assert_true(ratio <= expect * 1.01);
}

static void test_bytes_stored_per_byte_written_a(void **state)
{
	(void)state;
	storage_overhead(STORE_PROTOCOL_A, 4.0);
}

static void test_bytes_stored_per_byte_written_ca(void **state)
{
	(void)state;
	storage_overhead(STORE_PROTOCOL_CA, 2.0);
}

static void test_probe_measures_every_cluster_before_any_operation(void **state)
{
	struct store *st;
	struct store_cluster_state cs;
	struct store_report rep;

	(void)state;
	assert_int_equal(open_store(S, STORE_PROTOCOL_CA, &st), 0);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(store_cluster_state(st, i, &cs), 0);
		assert_int_equal(cs.ops_ok, 0);
	}
	assert_int_equal(store_cluster_probe(st, 5, &REP), N);
	rep = REP;
	assert_int_equal(rep.result, N);
	assert_int_equal(rep.failed_clusters, 0);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(store_cluster_state(st, i, &cs), 0);
		assert_int_equal(cs.condition, STORE_CLUSTER_UP);
		assert_true(cs.ops_ok >= 1);
		assert_true(cs.latency_ms > 0 && cs.latency_ms < 5000);
	}
	assert_int_equal(store_cluster_probe(st, -1, &REP), -EINVAL);
	store_close(st);
}

static void test_open_rejects_n_below_3f_plus_1(void **state)
{
	struct store_cluster_spec specs[N];
	struct store_opts opts = {0};
	struct store *st = NULL;

	(void)state;
	for (int i = 0; i < N; i++)
		specs[i] = (struct store_cluster_spec){
		    .cluster = S->tb.names[i], .pool = POOL, .conf_dir = S->tb.dir};
	opts.n = N;
	opts.f = 2;
	opts.protocol = STORE_PROTOCOL_CA;
	opts.writer_key = S->priv;
	assert_int_equal(store_open(&opts, specs, &st, NULL), -EINVAL);
	assert_null(st);
	opts.crash_only = true; /* n >= 2f+1 is not met either with n=4, f=2 */
	assert_int_equal(store_open(&opts, specs, &st, NULL), -EINVAL);
}

/* How many omap keys of NAME's index on cluster I name VERSION (pending or commit). */
static int index_keys_for(int protocol, int i, const char *name, uint64_t version)
{
	char oid[300], key_p[19], key_v[19], *k, *v;
	rados_omap_iter_t it;
	rados_read_op_t op;
	unsigned char more;
	size_t kl, vl;
	int prval, count = 0;

	store_record_index_name(name, oid, sizeof(oid));
	store_record_index_key(RECORD_KEY_PENDING, version, key_p);
	store_record_index_key(RECORD_KEY_COMMIT, version, key_v);
	op = rados_create_read_op();
	rados_read_op_omap_get_vals2(op, "", "", 100000, &it, &more, &prval);
	if (rados_read_op_operate(op, S->io[protocol][i], oid, 0) == 0) {
		while (rados_omap_get_next2(it, &k, &v, &kl, &vl) == 0 && k)
			if (kl == 18 && (!memcmp(k, key_p, 18) || !memcmp(k, key_v, 18)))
				count++;
		rados_omap_get_end(it);
	}
	rados_release_read_op(op);
	return count;
}

static void anchored(int protocol)
{
	struct store *st = S->store[protocol];
	struct store_unit_ref r1, ra, got;
	struct store_version_info *v;
	uint8_t data[70000];
	size_t count, out_len;
	char name[64];
	void *out;

	unit_name(name, sizeof(name), "anchored");
	fill(data, sizeof(data), 51);
	assert_int_equal(store_unit_write(st, name, "first", 5, &r1, &REP), 0);
	assert_int_equal(
	    store_unit_write_anchored(st, name, r1.version + 4, data, sizeof(data), &ra, &REP), 0);
	assert_int_equal(REP.result, 0);
	assert_int_equal(ra.version, r1.version + 4);
	assert_int_equal(ra.data_len, sizeof(data));
	/* The ref finds it. */
	assert_int_equal(store_unit_read_ref(st, name, &ra, 0, &out, &out_len, &REP), 0);
	assert_int_equal(out_len, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	store_buffer_free(out, out_len);
	/* No commit, no index entry anywhere: latest and the listing know only v1. */
	assert_int_equal(
	    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, &got, &REP), 0);
	assert_int_equal(got.version, r1.version);
	assert_int_equal(got.data_len, 5);
	assert_memory_equal(out, "first", 5);
	store_buffer_free(out, out_len);
	assert_int_equal(store_unit_versions(st, name, &v, &count, &REP), 0);
	assert_int_equal(count, 1);
	assert_int_equal(v[0].version, r1.version);
	free(v);
	assert_int_equal(store_flush(st, 30), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(index_keys_for(protocol, i, name, ra.version), 0);
	/* The same version again is another unit there: -EEXIST, and nothing changed. */
	assert_int_equal(store_unit_write_anchored(st, name, ra.version, "other", 5, NULL, &REP),
	                 -EEXIST);
	assert_int_equal(store_unit_read_ref(st, name, &ra, 0, &out, &out_len, &REP), 0);
	assert_memory_equal(out, data, sizeof(data));
	store_buffer_free(out, out_len);
}

static void test_anchored_write_is_found_by_ref_only_a(void **state)
{
	(void)state;
	anchored(STORE_PROTOCOL_A);
}

static void test_anchored_write_is_found_by_ref_only_ca(void **state)
{
	(void)state;
	anchored(STORE_PROTOCOL_CA);
}

/* ---- check and repair ------------------------------------------------ */

/* The object version of OID on cluster I (what any write would change). */
static uint64_t object_version(int protocol, int i, const char *oid)
{
	char b;

	assert_true(rados_read(S->io[protocol][i], oid, &b, 1, 0) >= 0);
	return rados_get_last_version(S->io[protocol][i]);
}

/* Cluster I's record of OID, parsed into *REC (its bytes in BUF). */
static void raw_record(int protocol, int i, const char *oid, uint8_t *buf, size_t len,
                       struct record *rec)
{
	int r = rados_getxattr(S->io[protocol][i], oid, "scfs.rec", (char *)buf, len);

	assert_true(r > 0);
	assert_int_equal(store_record_parse(buf, (size_t)r, rec), 0);
}

static void check_states(struct store *st, const char *name, const struct store_unit_ref *ref,
                         unsigned flags, const enum store_copy_state want[N])
{
	struct store_unit_health h;

	assert_int_equal(store_unit_check(st, name, ref, flags, &h, &REP), 0);
	for (int i = 0; i < N; i++) {
		if (h.state[i] != want[i])
			fprintf(stderr, "cluster %d: state %d, want %d (%s)\n", i, h.state[i],
			        want[i], h.reason[i]);
		assert_int_equal(h.state[i], want[i]);
	}
}

/*
 * A version written on all four; then cluster 3 loses its fragment object
 * and cluster 1's fragment is overwritten with other bytes of the same
 * length. check names 3 missing, and 1 wrong only when it reads the data;
 * repair rewrites exactly 1 and 3 (0 and 2 keep their object versions),
 * after which every copy checks out, the unit reads back, and (CA) the
 * rebuilt shares of 1 and 3 give the unit key that 0 and 2 give. Another
 * writer's store may read but not repair it (-EPERM); with fewer than k
 * good copies left repair is -EIO.
 */
static void check_and_repair(int protocol)
{
	static const enum store_copy_state all_good[N] = {0, 0, 0, 0};
	struct store *st = S->store[protocol];
	struct store_unit_health found;
	struct store_unit_ref ref;
	uint8_t data[300000], junk[300000];
	uint64_t before[N], after[N];
	uint32_t repaired = 0;
	char name[64], oid[300];
	void *out;
	size_t out_len;
	int size;

	fill(data, sizeof(data), 77);
	unit_name(name, sizeof(name), "repair");
	assert_int_equal(store_unit_write_anchored(st, name, 5, data, sizeof(data), &ref, &REP), 0);
	assert_int_equal(store_flush(st, 30), 0);
	store_record_object_name(name, ref.version, oid, sizeof(oid));
	check_states(st, name, &ref, STORE_CHECK_DATA, all_good);

	assert_int_equal(rados_remove(S->io[protocol][3], oid), 0);
	size = protocol == STORE_PROTOCOL_A ? (int)sizeof(data) : (int)(sizeof(data) + 1) / 2;
	fill(junk, sizeof(junk), 78);
	assert_int_equal(
	    rados_write_full(S->io[protocol][1], oid, (const char *)junk, (size_t)size), 0);
	{
		const enum store_copy_state lengths[N] = {STORE_COPY_GOOD, STORE_COPY_GOOD,
		                                          STORE_COPY_GOOD, STORE_COPY_MISSING};
		const enum store_copy_state digests[N] = {STORE_COPY_GOOD, STORE_COPY_WRONG,
		                                          STORE_COPY_GOOD, STORE_COPY_MISSING};
		check_states(st, name, &ref, 0, lengths);
		check_states(st, name, &ref, STORE_CHECK_DATA, digests);
		assert_int_equal(REP.bad_clusters, 1u << 1);
		assert_int_equal(REP.failed_clusters, 1u << 3);
		assert_non_null(strstr(REP.msg, S->tb.names[1]));
	}
	before[0] = object_version(protocol, 0, oid);
	before[2] = object_version(protocol, 2, oid);
	assert_int_equal(store_unit_repair(st, name, &ref, 0, &found, &repaired, &REP), 0);
	assert_int_equal(repaired, (1u << 1) | (1u << 3));
	assert_int_equal(found.state[1], STORE_COPY_WRONG);
	assert_int_equal(found.state[3], STORE_COPY_MISSING);
	after[0] = object_version(protocol, 0, oid);
	after[2] = object_version(protocol, 2, oid);
	assert_true(before[0] == after[0] && before[2] == after[2]);
	check_states(st, name, &ref, STORE_CHECK_DATA, all_good);
	assert_int_equal(
	    store_unit_read_ref(st, name, &ref, STORE_READ_VERIFY_ALL, &out, &out_len, &REP), 0);
	assert_int_equal(out_len, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	store_buffer_free(out, out_len);
	if (protocol == STORE_PROTOCOL_CA) {
		uint8_t buf[N][RECORD_MAX_LEN], good[64], rebuilt[64], k1[32], k2[32];
		struct record rec[N];
		unsigned gi[2] = {0, 2}, ri[2] = {1, 3};
		for (int i = 0; i < N; i++) {
			raw_record(protocol, i, oid, buf[i], sizeof(buf[i]), &rec[i]);
			assert_int_equal(rec[i].index, i);
		}
		memcpy(good, rec[0].share, 32);
		memcpy(good + 32, rec[2].share, 32);
		memcpy(rebuilt, rec[1].share, 32);
		memcpy(rebuilt + 32, rec[3].share, 32);
		assert_int_equal(sc_shamir_combine(gi, good, 2, k1), 0);
		assert_int_equal(sc_shamir_combine(ri, rebuilt, 2, k2), 0);
		assert_memory_equal(k1, k2, 32);
	}

	/* Another writer, trusting ours, reads it but cannot re-seal our records. */
	{
		struct store_cluster_spec specs[N];
		struct store_opts opts = {0};
		struct store *other = NULL;
		uint8_t priv2[32], pub2[32];
		const uint8_t(*trusted)[32] = (const uint8_t(*)[32])S->pub;
		sc_ed25519_keygen(priv2, pub2);
		for (int i = 0; i < N; i++)
			specs[i] = (struct store_cluster_spec){.cluster = S->tb.names[i],
			                                       .pool = POOL,
			                                       .rados_ns = ns_of(protocol),
			                                       .conf_dir = S->tb.dir};
		opts.n = N;
		opts.f = F;
		opts.protocol = (enum store_protocol)protocol;
		opts.writer_key = priv2;
		opts.trusted_keys = trusted;
		opts.trusted_count = 1;
		opts.op_timeout = OP_TIMEOUT;
		opts.connect_timeout = 10;
		opts.max_unit_size = 4 * CHUNK;
		opts.store_id = ns_of(protocol);
		opts.store_id_len = strlen(ns_of(protocol));
		assert_int_equal(store_open(&opts, specs, &other, NULL), 0);
		assert_int_equal(rados_remove(S->io[protocol][2], oid), 0);
		assert_int_equal(store_unit_repair(other, name, &ref, 0, NULL, &repaired, &REP),
		                 -EPERM);
		assert_int_equal(repaired, 0);
		assert_int_equal(rados_stat(S->io[protocol][2], oid, NULL, NULL), -ENOENT);
		store_close(other);
		sc_wipe(priv2, sizeof(priv2));
	}
	/* Only cluster 2 in the mask: cluster 2 alone is rewritten. */
	assert_int_equal(store_unit_repair(st, name, &ref, 1u << 2, NULL, &repaired, &REP), 0);
	assert_int_equal(repaired, 1u << 2);
	check_states(st, name, &ref, STORE_CHECK_DATA, all_good);

	/* Fewer than k (A: 1) good copies: nothing to rebuild from. */
	for (int i = 0; i < (protocol == STORE_PROTOCOL_A ? N : N - 1); i++)
		assert_int_equal(rados_remove(S->io[protocol][i], oid), 0);
	assert_int_equal(store_unit_repair(st, name, &ref, 0, NULL, &repaired, &REP), -EIO);
	assert_int_equal(repaired, 0);
}

static void test_check_names_and_repair_rewrites_only_missing_and_wrong_copies_a(void **state)
{
	(void)state;
	check_and_repair(STORE_PROTOCOL_A);
}

static void test_check_names_and_repair_rewrites_only_missing_and_wrong_copies_ca(void **state)
{
	(void)state;
	check_and_repair(STORE_PROTOCOL_CA);
}

/* A deleted version read by its ref: n-f clusters say it is gone, nobody lied. */
static void test_read_ref_of_deleted_version_is_enoent(void **state)
{
	(void)state;
	for (int p = 1; p <= 2; p++) {
		struct store *st = S->store[p];
		struct store_unit_ref ref;
		char name[64];
		void *out;
		size_t out_len;

		unit_name(name, sizeof(name), "gone");
		assert_int_equal(store_unit_write(st, name, "bytes", 5, &ref, &REP), 0);
		assert_int_equal(store_unit_delete(st, name, ref.version, &REP), 0);
		assert_int_equal(store_unit_read_ref(st, name, &ref, 0, &out, &out_len, &REP),
		                 -ENOENT);
		assert_int_equal(REP.result, -ENOENT);
		assert_int_equal(REP.bad_clusters, 0);
		assert_null(out);
	}
}

/*
 * A reader opened with a smaller max_unit_size than the writer's reads the
 * unit by its committed length, and blames no cluster.
 */
static void test_reader_with_smaller_limit_reads_and_blames_nobody(void **state)
{
	(void)state;
	for (int p = 1; p <= 2; p++) {
		struct store *small;
		struct store_unit_ref ref;
		uint8_t *data = malloc(CHUNK);
		char name[64];
		void *out;
		size_t out_len;

		assert_non_null(data);
		fill(data, CHUNK, 61);
		unit_name(name, sizeof(name), "limit");
		assert_int_equal(store_unit_write(S->store[p], name, data, CHUNK, &ref, &REP), 0);
		assert_int_equal(open_store_limit(S, p, 64 << 10, &small), 0);
		assert_int_equal(store_unit_read_ref(small, name, &ref, STORE_READ_VERIFY_ALL, &out,
		                                     &out_len, &REP),
		                 0);
		assert_int_equal(REP.bad_clusters, 0);
		assert_int_equal(out_len, CHUNK);
		assert_memory_equal(out, data, CHUNK);
		store_buffer_free(out, out_len);
		assert_int_equal(store_unit_read(small, name, STORE_VERSION_LATEST, 0, &out,
		                                 &out_len, NULL, &REP),
		                 0);
		assert_int_equal(REP.bad_clusters, 0);
		assert_memory_equal(out, data, CHUNK);
		store_buffer_free(out, out_len);
		store_close(small);
		free(data);
	}
}

/* Two threads on one store: each call's report tells its own outcome. */
struct report_thread {
	struct store *st;
	const char *name;
	int expect, mismatches;
};

static void *report_worker(void *arg)
{
	struct report_thread *t = arg;

	for (int j = 0; j < 40; j++) {
		struct store_report rep;
		void *out;
		size_t out_len;
		int r = store_unit_read(t->st, t->name, STORE_VERSION_LATEST, 0, &out, &out_len,
		                        NULL, &rep);
		if (r == 0)
			store_buffer_free(out, out_len);
		if (r != t->expect || rep.result != r ||
		    (r == -ENOENT) != (strstr(rep.msg, "no committed version") != NULL))
			t->mismatches++;
	}
	return NULL;
}

static void test_reports_are_per_call_across_threads(void **state)
{
	struct report_thread t[2] = {
	    {.st = S->store[STORE_PROTOCOL_CA], .expect = 0},
	    {.st = S->store[STORE_PROTOCOL_CA], .name = "t.never.written.2", .expect = -ENOENT},
	};
	pthread_t th[2];
	char name[64];

	(void)state;
	unit_name(name, sizeof(name), "reports");
	t[0].name = name;
	assert_int_equal(store_unit_write(t[0].st, name, "here", 4, NULL, &REP), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, report_worker, &t[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(t[0].mismatches, 0);
	assert_int_equal(t[1].mismatches, 0);
}

/* ---- one faulty cluster (issue 11, section 1) ------------------------ */

/* After a test that made clusters look bad: a verified read of every copy clears it. */
static void clusters_trusted_again(struct store *st)
{
	struct store_unit_ref ref;
	char name[64];
	void *out;
	size_t out_len;

	unit_name(name, sizeof(name), "clear");
	assert_int_equal(store_unit_write(st, name, "ok", 2, &ref, &REP), 0);
	assert_int_equal(store_flush(st, 30), 0);
	assert_int_equal(
	    store_unit_read_ref(st, name, &ref, STORE_READ_VERIFY_ALL, &out, &out_len, &REP), 0);
	store_buffer_free(out, out_len);
}

/* Sets omap KEY (18 bytes) of NAME's index on cluster I to VAL. */
static void index_plant(int protocol, int i, const char *name, const char *key, const void *val,
                        size_t val_len)
{
	char oid[300];
	const char *keys[1] = {key}, *vals[1] = {val};
	size_t kl[1] = {18}, vl[1] = {val_len};
	rados_write_op_t op = rados_create_write_op();

	store_record_index_name(name, oid, sizeof(oid));
	rados_write_op_omap_set2(op, keys, vals, kl, vl, 1);
	assert_int_equal(rados_write_op_operate(op, S->io[protocol][i], oid, NULL, 0), 0);
	rados_release_write_op(op);
}

/* Cluster I's commit entry of NAME vVERSION (the omap value), into VAL. */
static size_t index_commit_of(int protocol, int i, const char *name, uint64_t version, uint8_t *val,
                              size_t cap)
{
	char oid[300], key[19], *k, *v;
	const char *keys[1] = {key};
	size_t kl, vl, lens[1] = {18}, got = 0;
	rados_omap_iter_t it;
	int prval;
	rados_read_op_t op = rados_create_read_op();

	store_record_index_name(name, oid, sizeof(oid));
	store_record_index_key(RECORD_KEY_COMMIT, version, key);
	rados_read_op_omap_get_vals_by_keys2(op, keys, 1, lens, &it, &prval);
	assert_int_equal(rados_read_op_operate(op, S->io[protocol][i], oid, 0), 0);
	if (rados_omap_get_next2(it, &k, &v, &kl, &vl) == 0 && k && vl <= cap) {
		memcpy(val, v, vl);
		got = vl;
	}
	rados_omap_get_end(it);
	rados_release_read_op(op);
	return got;
}

/*
 * One cluster lists an unsigned pending key at the highest version: writes
 * that pick their version must not be driven to the reserved maximum.
 */
static void test_huge_pending_key_on_one_cluster_does_not_steer_versions(void **state)
{
	struct store *st = S->store[STORE_PROTOCOL_CA];
	struct store_unit_ref r1, r2, r3;
	char name[64], key[19];
	void *out;
	size_t out_len;

	(void)state;
	unit_name(name, sizeof(name), "steer");
	assert_int_equal(store_unit_write(st, name, "one", 3, &r1, &REP), 0);
	store_record_index_key(RECORD_KEY_PENDING, UINT64_MAX - 1, key);
	index_plant(STORE_PROTOCOL_CA, 0, name, key, "", 0);
	assert_int_equal(store_unit_write(st, name, "two", 3, &r2, &REP), 0);
	assert_int_equal(r2.version, r1.version + 1);
	assert_int_equal(store_unit_write(st, name, "three", 5, &r3, &REP), 0);
	assert_int_equal(r3.version, r2.version + 1);
	assert_int_equal(
	    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP), 0);
	assert_int_equal(out_len, 5);
	assert_memory_equal(out, "three", 5);
	store_buffer_free(out, out_len);
}

/*
 * A unit rewritten more often than one OSD listing holds (1024 omap entries
 * by default): latest is the newest version, and the version list is
 * complete, on correct clusters.
 */
static void test_index_longer_than_one_osd_listing_reads_the_newest(void **state)
{
	struct store *st = S->store[STORE_PROTOCOL_A];
	struct store_version_info *v;
	struct store_unit_ref ref;
	char name[64], data[32];
	const unsigned versions = 1100;
	size_t count, out_len;
	void *out;

	(void)state;
	unit_name(name, sizeof(name), "long");
	for (unsigned ver = 1; ver <= versions; ver++) {
		int len = snprintf(data, sizeof(data), "version %u", ver);
		int r = store_unit_write_version(st, name, ver, data, (size_t)len, NULL, &REP);
		report_if_failed(st, r, "write");
		assert_int_equal(r, 0);
	}
	assert_int_equal(
	    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, &ref, &REP), 0);
	assert_int_equal(ref.version, versions);
	assert_int_equal(out_len, strlen("version 1100"));
	assert_memory_equal(out, "version 1100", out_len);
	store_buffer_free(out, out_len);
	/* An old one by number, and the next version picked past them all. */
	assert_int_equal(store_unit_read(st, name, 3, 0, &out, &out_len, NULL, &REP), 0);
	assert_memory_equal(out, "version 3", out_len);
	store_buffer_free(out, out_len);
	assert_int_equal(store_unit_write(st, name, "next", 4, &ref, &REP), 0);
	assert_int_equal(ref.version, versions + 1);
	assert_int_equal(store_unit_versions(st, name, &v, &count, &REP), 0);
	assert_int_equal(count, versions + 1);
	assert_int_equal(v[0].version, 1);
	assert_int_equal(v[count - 1].version, versions + 1);
	free(v);
}

/*
 * One cluster's OSD returns listings of any size, and it lists 60000
 * commit entries of the trusted writer with broken signatures above the real
 * versions: reads and listings stay correct and end within their deadline,
 * and the cluster is named.
 */
static void test_huge_junk_listing_is_dropped_within_the_deadline(void **state)
{
	struct store *st = S->store[STORE_PROTOCOL_CA];
	const unsigned junk = 60000, batch = 1000;
	struct store_version_info *v;
	struct store_unit_ref r1;
	char name[64], oid[300];
	size_t count, out_len;
	void *out;
	double t0;

	(void)state;
	unit_name(name, sizeof(name), "junk");
	assert_int_equal(store_unit_write(st, name, "real", 4, &r1, &REP), 0);
	assert_int_equal(testbed_run(&S->tb, 0,
	                             "ceph config set osd "
	                             "osd_max_omap_entries_per_request 1000000"),
	                 0);
	store_record_index_name(name, oid, sizeof(oid));
	for (unsigned b = 0; b < junk / batch; b++) {
		static char keys[1000][19];
		static uint8_t vals[1000][COMMIT_MAX_LEN];
		const char *kp[1000], *vp[1000];
		size_t kl[1000], vl[1000];
		rados_write_op_t op = rados_create_write_op();
		for (unsigned j = 0; j < batch; j++) {
			uint64_t ver = 1000000 + (uint64_t)b * batch + j;
			store_record_index_key(RECORD_KEY_COMMIT, ver, keys[j]);
			assert_int_equal(
			    store_commit_encode(&(struct record_id){(const uint8_t *)"fs-ca", 5},
			                        name, ver, 4, r1.digest, S->priv, S->pub, vals[j],
			                        COMMIT_MAX_LEN, &vl[j]),
			    0);
			vals[j][vl[j] - 1] ^= 1; /* the signature no longer verifies */
			kp[j] = keys[j];
			vp[j] = (const char *)vals[j];
			kl[j] = 18;
		}
		rados_write_op_omap_set2(op, kp, vp, kl, vl, batch);
		assert_int_equal(
		    rados_write_op_operate(op, S->io[STORE_PROTOCOL_CA][0], oid, NULL, 0), 0);
		rados_release_write_op(op);
	}
	/*
	 * A reader with a one-second deadline: ending within it, with the right
	 * answer, needs the listing bounded and verified lazily (before issue
	 * 11 the store took up to 65536 entries from that cluster, verified
	 * each and merged them quadratically).
	 */
	{
		struct store_cluster_spec specs[N];
		struct store_opts opts = {.n = N,
		                          .f = F,
		                          .protocol = STORE_PROTOCOL_CA,
		                          .writer_key = S->priv,
		                          .op_timeout = 1.0,
		                          .store_id = "fs-ca",
		                          .store_id_len = 5};
		struct store *quick;
		for (int i = 0; i < N; i++)
			specs[i] = (struct store_cluster_spec){.cluster = S->tb.names[i],
			                                       .pool = POOL,
			                                       .rados_ns = "fs-ca",
			                                       .conf_dir = S->tb.dir};
		assert_int_equal(store_open(&opts, specs, &quick, NULL), 0);
		t0 = sc_now_monotonic();
		assert_int_equal(store_unit_read(quick, name, STORE_VERSION_LATEST, 0, &out,
		                                 &out_len, NULL, &REP),
		                 0);
		assert_true(sc_now_monotonic() - t0 < 1.0 + 0.5);
		assert_int_equal(out_len, 4);
		assert_memory_equal(out, "real", 4);
		store_buffer_free(out, out_len);
		assert_int_equal(REP.bad_clusters & ~1u, 0);
		t0 = sc_now_monotonic();
		assert_int_equal(store_unit_versions(quick, name, &v, &count, &REP), 0);
		assert_true(sc_now_monotonic() - t0 < 1.0 + 0.5);
		assert_int_equal(count, 1);
		assert_int_equal(v[0].version, r1.version);
		free(v);
		assert_int_equal(REP.bad_clusters, 1u);
		assert_non_null(strstr(REP.msg, S->tb.names[0]));
		store_close(quick);
	}
	assert_int_equal(testbed_run(&S->tb, 0,
	                             "ceph config rm osd "
	                             "osd_max_omap_entries_per_request"),
	                 0);
	clusters_trusted_again(st);
}

/*
 * One cluster replays the signed commit of a version that was deleted: the
 * newest commit it names cannot be read (n-f clusters say it is gone), so
 * read-latest returns the newest version that can.
 */
static void test_replayed_deleted_commit_falls_back_to_the_newest_readable(void **state)
{
	(void)state;
	for (int p = 1; p <= 2; p++) {
		struct store *st = S->store[p];
		struct store_unit_ref r1, r2, got;
		uint8_t commit[COMMIT_MAX_LEN];
		char name[64], key[19];
		size_t len, out_len;
		void *out;

		unit_name(name, sizeof(name), "replay");
		assert_int_equal(store_unit_write(st, name, "old", 3, &r1, &REP), 0);
		assert_int_equal(store_unit_write(st, name, "new!", 4, &r2, &REP), 0);
		int liar = -1;
		for (int i = 0; i < N && liar < 0; i++)
			if ((len = index_commit_of(p, i, name, r2.version, commit, sizeof(commit))))
				liar = i;
		assert_true(liar >= 0);
		assert_int_equal(store_unit_delete(st, name, r2.version, &REP), 0);
		assert_int_equal(store_flush(st, 30), 0);
		store_record_index_key(RECORD_KEY_COMMIT, r2.version, key);
		index_plant(p, liar, name, key, commit, len);
		assert_int_equal(
		    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, &got, &REP),
		    0);
		assert_int_equal(got.version, r1.version);
		assert_int_equal(out_len, 3);
		assert_memory_equal(out, "old", 3);
		store_buffer_free(out, out_len);
		assert_int_equal(REP.bad_clusters, 0);
	}
}

/*
 * A hung cluster holds librados's in-flight budget: once it is full, a
 * submission to that cluster would block the caller inside librados. The
 * store's own cap treats the saturated cluster as failed instead: every
 * write returns within its deadline. The clients here get a small budget
 * (objecter_inflight_op_bytes 4 MiB) so that a few writes fill it.
 */
static void test_hung_cluster_does_not_block_submission(void **state)
{
	struct store_cluster_spec specs[N];
	struct store_opts opts = {0};
	char dir[300];
	struct store *st;
	uint8_t *data = malloc(CHUNK);

	(void)state;
	assert_non_null(data);
	snprintf(dir, sizeof(dir), "%s/lowcap", S->tb.dir);
	mkdir(dir, 0700);
	for (int i = 0; i < N; i++) {
		char src[400], dst[400], cmd[2400];
		snprintf(src, sizeof(src), "%s/%s.conf", S->tb.dir, S->tb.names[i]);
		snprintf(dst, sizeof(dst), "%s/%s.conf", dir, S->tb.names[i]);
		snprintf(cmd, sizeof(cmd),
		         "cp %s %s && printf 'objecter_inflight_op_bytes = 4194304\\n' >> %s && "
		         "ln -sf %s/%s.client.admin.keyring %s/",
		         src, dst, dst, S->tb.dir, S->tb.names[i], dir);
		assert_int_equal(system(cmd), 0);
		specs[i] = (struct store_cluster_spec){
		    .cluster = S->tb.names[i], .pool = POOL, .rados_ns = "fs-a", .conf_dir = dir};
	}
	opts.n = N;
	opts.f = F;
	opts.protocol = STORE_PROTOCOL_A;
	opts.writer_key = S->priv;
	opts.op_timeout = OP_TIMEOUT;
	opts.store_id = "fs-a";
	opts.store_id_len = 4;
	assert_int_equal(store_open(&opts, specs, &st, NULL), 0);
	fill(data, CHUNK, 71);
	cluster_freeze(3);
	for (int w = 0; w < 8; w++) {
		char name[64];
		double t0 = sc_now_monotonic();
		int r;
		unit_name(name, sizeof(name), "hung");
		r = store_unit_write(st, name, data, CHUNK, NULL, &REP);
		report_if_failed(st, r, "write");
		assert_int_equal(r, 0);
		assert_true(sc_now_monotonic() - t0 < OP_TIMEOUT + 2);
	}
	cluster_thaw(3);
	store_close(st);
	free(data);
}

/*
 * A cluster that holds the leftover of an earlier write at the version a
 * write picks (a correct cluster: the writer's own signed record) answers
 * -EEXIST; the write moves to a fresh version instead of committing one that
 * cluster holds differently, and no cluster is blamed afterwards.
 */
static void test_collision_moves_to_a_fresh_version(void **state)
{
	struct store *st = S->store[STORE_PROTOCOL_CA];
	struct store_unit_ref r1, left, got;
	char name[64], oid[300], key[19];
	void *out;
	size_t out_len;

	(void)state;
	unit_name(name, sizeof(name), "collide");
	assert_int_equal(store_unit_write(st, name, "one", 3, &r1, &REP), 0);
	/* What a writer that reached only cluster 0 leaves: fragment, record, pending key. */
	assert_int_equal(
	    store_unit_write_anchored(st, name, r1.version + 1, "lost", 4, &left, &REP), 0);
	assert_int_equal(store_flush(st, 30), 0);
	store_record_object_name(name, left.version, oid, sizeof(oid));
	for (int i = 1; i < N; i++)
		assert_int_equal(rados_remove(S->io[STORE_PROTOCOL_CA][i], oid), 0);
	store_record_index_key(RECORD_KEY_PENDING, left.version, key);
	index_plant(STORE_PROTOCOL_CA, 0, name, key, "", 0);

	assert_int_equal(store_unit_write(st, name, "two", 3, &got, &REP), 0);
	assert_int_equal(got.version, left.version + 1);
	assert_int_equal(store_unit_read(st, name, STORE_VERSION_LATEST, STORE_READ_VERIFY_ALL,
	                                 &out, &out_len, NULL, &REP),
	                 0);
	assert_memory_equal(out, "two", 3);
	store_buffer_free(out, out_len);
	assert_int_equal(REP.bad_clusters, 0);
	/* A caller-chosen version that a cluster holds differently: -EEXIST, not committed. */
	assert_int_equal(store_unit_write_version(st, name, left.version, "mine", 4, NULL, &REP),
	                 -EEXIST);
	assert_int_equal(store_unit_read(st, name, left.version, 0, &out, &out_len, NULL, &REP),
	                 -ENOENT);
}

/*
 * A store with another identity, sharing writer key and namespace, wrote
 * unit NAME: its records and commits do not verify here.
 */
static void test_records_of_another_store_are_not_believed(void **state)
{
	struct store_cluster_spec specs[N];
	struct store_opts opts = {0};
	struct store *other;
	char name[64];
	void *out;
	size_t out_len;

	(void)state;
	for (int i = 0; i < N; i++)
		specs[i] = (struct store_cluster_spec){.cluster = S->tb.names[i],
		                                       .pool = POOL,
		                                       .rados_ns = "fs-ca",
		                                       .conf_dir = S->tb.dir};
	opts.n = N;
	opts.f = F;
	opts.protocol = STORE_PROTOCOL_CA;
	opts.writer_key = S->priv;
	opts.op_timeout = OP_TIMEOUT;
	opts.store_id = "fs-other";
	opts.store_id_len = 8;
	assert_int_equal(store_open(&opts, specs, &other, NULL), 0);
	unit_name(name, sizeof(name), "foreign");
	assert_int_equal(store_unit_write(other, name, "theirs", 6, NULL, &REP), 0);
	store_close(other);
	assert_int_equal(store_unit_read(S->store[STORE_PROTOCOL_CA], name, STORE_VERSION_LATEST, 0,
	                                 &out, &out_len, NULL, &REP),
	                 -ENOENT);
	assert_int_not_equal(REP.bad_clusters, 0);
	clusters_trusted_again(S->store[STORE_PROTOCOL_CA]);
}

/*
 * The cluster the store reads fragments from first stops answering: after
 * one read that had to ask around it, it is no longer among the clusters
 * asked first, although its earlier (index) answers were the fastest. The
 * check comes right after that read, before the store's one-second "hung"
 * rule could say the same.
 */
static void test_cluster_stalling_fragment_reads_loses_fastest_place(void **state)
{
	struct store *st = S->store[STORE_PROTOCOL_CA];
	struct store_unit_ref ref;
	unsigned order[STORE_MAX_CLUSTERS];
	uint8_t *data = malloc(CHUNK);
	char name[64];
	void *out;
	size_t out_len;
	unsigned stalled;

	(void)state;
	assert_non_null(data);
	fill(data, CHUNK, 77);
	unit_name(name, sizeof(name), "stall");
	assert_int_equal(store_unit_write(st, name, data, CHUNK, &ref, &REP), 0);
	assert_int_equal(store_flush(st, 30), 0);
	for (int j = 0; j < 3; j++) {
		assert_int_equal(store_unit_read_ref(st, name, &ref, 0, &out, &out_len, &REP), 0);
		store_buffer_free(out, out_len);
	}
	store_cluster_order(st, order);
	stalled = order[0];
	cluster_freeze((int)stalled);
	assert_int_equal(store_unit_read_ref(st, name, &ref, 0, &out, &out_len, &REP), 0);
	assert_memory_equal(out, data, CHUNK);
	store_buffer_free(out, out_len);
	/*
	 * Its fastest place is lost. (Not necessarily a place among the first
	 * k: clusters that were down in earlier tests keep the fragment-read
	 * latency of their late answers, which may be higher still.)
	 */
	store_cluster_order(st, order);
	assert_int_not_equal(order[0], stalled);
	cluster_thaw((int)stalled);
	free(data);
}

/* ---- validly signed but misplaced data (issue 11, section 3) --------- */

/* Copies cluster I's fragment object FROM (data and record) over object TO. */
static void object_copy(int protocol, int i, const char *from, const char *to)
{
	rados_ioctx_t io = S->io[protocol][i];
	char *buf = malloc(8u << 20), rec[RECORD_MAX_LEN];
	int len = rados_read(io, from, buf, 8u << 20, 0);
	int rl = rados_getxattr(io, from, "scfs.rec", rec, sizeof(rec));

	assert_true(len >= 0);
	assert_true(rl > 0);
	rados_remove(io, to);
	assert_int_equal(rados_write_full(io, to, buf, (size_t)len), 0);
	assert_int_equal(rados_setxattr(io, to, "scfs.rec", rec, (size_t)rl), 0);
	free(buf);
}

/*
 * Cluster BAD serves, for unit B, the record and fragment of unit A (same
 * version number), or of B's own other version, both validly signed by the
 * writer: the read returns B's bytes, and a full check names exactly BAD.
 */
static void misplaced_record(int protocol, int bad, bool other_version)
{
	struct store *st = S->store[protocol];
	struct store_unit_ref ra, rb, rb2;
	char a[64], b[64], from[300], to[300];
	uint8_t da[5000], db[5000];
	void *out;
	size_t out_len;

	unit_name(a, sizeof(a), "misA");
	unit_name(b, sizeof(b), "misB");
	fill(da, sizeof(da), 81);
	fill(db, sizeof(db), 82);
	assert_int_equal(store_unit_write_version(st, a, 7, da, sizeof(da), &ra, &REP), 0);
	assert_int_equal(store_unit_write_version(st, b, 6, da, sizeof(da), &rb2, &REP), 0);
	assert_int_equal(store_unit_write_version(st, b, 7, db, sizeof(db), &rb, &REP), 0);
	assert_int_equal(store_flush(st, 30), 0);
	if (other_version)
		store_record_object_name(b, 6, from, sizeof(from));
	else
		store_record_object_name(a, 7, from, sizeof(from));
	store_record_object_name(b, 7, to, sizeof(to));
	object_copy(protocol, bad, from, to);
	assert_int_equal(
	    store_unit_read_ref(st, b, &rb, STORE_READ_VERIFY_ALL, &out, &out_len, &REP), 0);
	assert_int_equal(out_len, sizeof(db));
	assert_memory_equal(out, db, sizeof(db));
	store_buffer_free(out, out_len);
	assert_int_equal(REP.bad_clusters, 1u << bad);
	assert_non_null(strstr(REP.msg, S->tb.names[bad]));
	clusters_trusted_again(st);
}

static void test_record_of_another_unit_or_version_is_named(void **state)
{
	(void)state;
	misplaced_record(STORE_PROTOCOL_A, 1, false);
	misplaced_record(STORE_PROTOCOL_CA, 2, false);
	misplaced_record(STORE_PROTOCOL_A, 3, true);
	misplaced_record(STORE_PROTOCOL_CA, 0, true);
}

/*
 * Cluster BAD lists, in unit B's index, the signed commit of unit A (put
 * under B's key at a higher version): its listing is dropped as a whole,
 * and latest is B's own newest version.
 */
static void test_commit_of_another_unit_drops_the_listing(void **state)
{
	struct store *st = S->store[STORE_PROTOCOL_CA];
	struct store_unit_ref ra, rb;
	uint8_t commit[COMMIT_MAX_LEN];
	char a[64], b[64], key[19];
	struct store_version_info *v;
	size_t len = 0, out_len, count;
	int bad = -1;
	void *out;

	(void)state;
	unit_name(a, sizeof(a), "cmA");
	unit_name(b, sizeof(b), "cmB");
	assert_int_equal(store_unit_write_version(st, a, 9, "unit a", 6, &ra, &REP), 0);
	assert_int_equal(store_unit_write_version(st, b, 3, "unit b", 6, &rb, &REP), 0);
	assert_int_equal(store_flush(st, 30), 0);
	for (int i = 0; i < N && bad < 0; i++)
		if ((len = index_commit_of(STORE_PROTOCOL_CA, i, a, 9, commit, sizeof(commit))))
			bad = i;
	assert_true(bad >= 0);
	store_record_index_key(RECORD_KEY_COMMIT, 9, key);
	index_plant(STORE_PROTOCOL_CA, bad, b, key, commit, len);
	/* A listing waits for every cluster: the liar is always among the answers. */
	assert_int_equal(store_unit_versions(st, b, &v, &count, &REP), 0);
	assert_int_equal(count, 1);
	assert_int_equal(v[0].version, 3);
	free(v);
	assert_int_equal(REP.bad_clusters, 1u << bad);
	assert_non_null(strstr(REP.msg, "dropped"));
	assert_int_equal(
	    store_unit_read(st, b, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP), 0);
	assert_memory_equal(out, "unit b", 6);
	store_buffer_free(out, out_len);
	assert_int_equal(REP.bad_clusters & ~(1u << bad), 0);
	clusters_trusted_again(st);
}

/* A listing with one malformed key is dropped whole, and named. */
static void test_malformed_index_key_drops_the_listing(void **state)
{
	struct store *st = S->store[STORE_PROTOCOL_A];
	struct store_version_info *v;
	struct store_unit_ref r1;
	char name[64];
	size_t count;

	(void)state;
	unit_name(name, sizeof(name), "badkey");
	assert_int_equal(store_unit_write(st, name, "x", 1, &r1, &REP), 0);
	index_plant(STORE_PROTOCOL_A, 2, name, "v.zzzzzzzzzzzzzzzz", "", 0);
	assert_int_equal(store_unit_versions(st, name, &v, &count, &REP), 0);
	assert_int_equal(count, 1);
	assert_int_equal(v[0].version, r1.version);
	assert_int_equal(v[0].clusters, N - 1);
	free(v);
	assert_int_equal(REP.bad_clusters, 1u << 2);
	assert_non_null(strstr(REP.msg, "malformed"));
	clusters_trusted_again(st);
}

/* Two writers race for one version: at most one wins, and latest is exactly its bytes. */
struct racer {
	struct store *st;
	const char *name;
	uint64_t version;
	uint8_t data[3000];
	int r;
	struct store_report rep;
};

static void *race_worker(void *arg)
{
	struct racer *w = arg;

	w->r = store_unit_write_version(w->st, w->name, w->version, w->data, sizeof(w->data), NULL,
	                                &w->rep);
	return NULL;
}

static void test_two_writers_racing_for_one_version(void **state)
{
	(void)state;
	for (int round = 0; round < 6; round++) {
		int p = 1 + round % 2;
		struct racer w[2] = {{.st = S->store[p], .version = 5},
		                     {.st = S->store[p], .version = 5}};
		pthread_t th[2];
		char name[64];
		void *out;
		size_t out_len;
		int wins = 0, r;

		unit_name(name, sizeof(name), "race");
		for (int i = 0; i < 2; i++) {
			w[i].name = name;
			fill(w[i].data, sizeof(w[i].data), 90 + (unsigned)i);
			assert_int_equal(pthread_create(&th[i], NULL, race_worker, &w[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		for (int i = 0; i < 2; i++) {
			assert_true(w[i].r == 0 || w[i].r == -EEXIST || w[i].r == -EIO);
			wins += w[i].r == 0;
		}
		assert_true(wins <= 1);
		r = store_unit_read(S->store[p], name, STORE_VERSION_LATEST, STORE_READ_VERIFY_ALL,
		                    &out, &out_len, NULL, &REP);
		if (wins == 1) {
			int i = w[0].r == 0 ? 0 : 1;
			assert_int_equal(r, 0);
			assert_memory_equal(out, w[i].data, sizeof(w[i].data));
			store_buffer_free(out, out_len);
			assert_int_equal(REP.bad_clusters, 0);
		} else {
			assert_int_equal(r, -ENOENT);
		}
	}
}

/*
 * A writer killed between the phases leaves fragments, records and pending
 * keys on every cluster, and no commit: readers see the version before,
 * the next write goes above it, and the leftover version cannot be reused.
 */
static void test_writer_killed_between_phases_stays_invisible(void **state)
{
	struct store *st = S->store[STORE_PROTOCOL_CA];
	struct store_unit_ref r1, dead, next;
	char name[64], key[19];
	void *out;
	size_t out_len;

	(void)state;
	unit_name(name, sizeof(name), "killed");
	assert_int_equal(store_unit_write(st, name, "before", 6, &r1, &REP), 0);
	/* Phase 1 of v+1 everywhere, with its pending keys; no phase 2. */
	assert_int_equal(
	    store_unit_write_anchored(st, name, r1.version + 1, "half", 4, &dead, &REP), 0);
	store_record_index_key(RECORD_KEY_PENDING, dead.version, key);
	for (int i = 0; i < N; i++)
		index_plant(STORE_PROTOCOL_CA, i, name, key, "", 0);
	assert_int_equal(
	    store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP), 0);
	assert_memory_equal(out, "before", 6);
	store_buffer_free(out, out_len);
	assert_int_equal(store_unit_read(st, name, dead.version, 0, &out, &out_len, NULL, &REP),
	                 -ENOENT);
	assert_int_equal(store_unit_write(st, name, "after", 5, &next, &REP), 0);
	assert_int_equal(next.version, dead.version + 1);
	assert_int_equal(store_unit_write_version(st, name, dead.version, "x", 1, NULL, &REP),
	                 -EEXIST);
}

/*
 * store_close while other threads are inside operations and a hung cluster
 * holds their late answers: every operation ends (0, or -ESHUTDOWN if it
 * began after the close), and close returns only when nothing can touch
 * the store any more (AddressSanitizer in CI checks the late completions).
 */
struct closer {
	struct store *st;
	unsigned seed;
	int r;
};

static void *close_worker(void *arg)
{
	struct closer *c = arg;
	uint8_t data[40000];
	char name[64];

	fill(data, sizeof(data), c->seed);
	snprintf(name, sizeof(name), "t.close.%u", c->seed);
	c->r = store_unit_write(c->st, name, data, sizeof(data), NULL, NULL);
	return NULL;
}

static void test_close_with_operations_in_flight_is_safe(void **state)
{
	struct closer c[4];
	pthread_t th[4];
	struct store *st;

	(void)state;
	assert_int_equal(open_store(S, STORE_PROTOCOL_CA, &st), 0);
	cluster_freeze(1);
	for (unsigned i = 0; i < 4; i++) {
		c[i] = (struct closer){.st = st, .seed = 100 + i + S->seq++ * 10};
		assert_int_equal(pthread_create(&th[i], NULL, close_worker, &c[i]), 0);
	}
	usleep(50000);
	store_close(st);
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(c[i].r == 0 || c[i].r == -ESHUTDOWN);
	}
	cluster_thaw(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_rejects_n_below_3f_plus_1),
	    cmocka_unit_test(test_probe_measures_every_cluster_before_any_operation),
	    cmocka_unit_test(test_round_trips_all_sizes_a),
	    cmocka_unit_test(test_round_trips_all_sizes_ca),
	    cmocka_unit_test(test_versions_list_and_delete_a),
	    cmocka_unit_test(test_versions_list_and_delete_ca),
	    cmocka_unit_test(test_garbage_fragment_is_named_and_skipped_a),
	    cmocka_unit_test(test_garbage_fragment_is_named_and_skipped_ca),
	    cmocka_unit_test(test_garbage_record_is_named_and_skipped_a),
	    cmocka_unit_test(test_garbage_record_is_named_and_skipped_ca),
	    cmocka_unit_test(test_fragment_bad_in_a_later_piece_is_named_a),
	    cmocka_unit_test(test_fragment_bad_in_a_later_piece_is_named_ca),
	    cmocka_unit_test(test_anchored_write_is_found_by_ref_only_a),
	    cmocka_unit_test(test_anchored_write_is_found_by_ref_only_ca),
	    cmocka_unit_test(test_read_ref_of_deleted_version_is_enoent),
	    cmocka_unit_test(test_check_names_and_repair_rewrites_only_missing_and_wrong_copies_a),
	    cmocka_unit_test(test_check_names_and_repair_rewrites_only_missing_and_wrong_copies_ca),
	    cmocka_unit_test(test_reader_with_smaller_limit_reads_and_blames_nobody),
	    cmocka_unit_test(test_reports_are_per_call_across_threads),
	    cmocka_unit_test(test_huge_pending_key_on_one_cluster_does_not_steer_versions),
	    cmocka_unit_test(test_index_longer_than_one_osd_listing_reads_the_newest),
	    cmocka_unit_test(test_huge_junk_listing_is_dropped_within_the_deadline),
	    cmocka_unit_test(test_replayed_deleted_commit_falls_back_to_the_newest_readable),
	    cmocka_unit_test(test_collision_moves_to_a_fresh_version),
	    cmocka_unit_test(test_records_of_another_store_are_not_believed),
	    cmocka_unit_test(test_record_of_another_unit_or_version_is_named),
	    cmocka_unit_test(test_commit_of_another_unit_drops_the_listing),
	    cmocka_unit_test(test_malformed_index_key_drops_the_listing),
	    cmocka_unit_test(test_two_writers_racing_for_one_version),
	    cmocka_unit_test(test_writer_killed_between_phases_stays_invisible),
	    cmocka_unit_test(test_ca_no_cluster_holds_the_plaintext),
	    cmocka_unit_test(test_ca_one_share_alone_does_not_rebuild_the_key),
	    cmocka_unit_test(test_bytes_stored_per_byte_written_a),
	    cmocka_unit_test(test_bytes_stored_per_byte_written_ca),
	    cmocka_unit_test_teardown(test_one_cluster_down_writes_and_reads_succeed,
	                              clusters_restore),
	    cmocka_unit_test_teardown(test_frozen_cluster_does_not_hold_operations,
	                              clusters_restore),
	    cmocka_unit_test_teardown(test_hung_cluster_does_not_block_submission,
	                              clusters_restore),
	    cmocka_unit_test_teardown(test_close_with_operations_in_flight_is_safe,
	                              clusters_restore),
	    cmocka_unit_test_teardown(test_cluster_stalling_fragment_reads_loses_fastest_place,
	                              clusters_restore),
	    cmocka_unit_test_teardown(test_two_clusters_down_write_fails_and_stays_invisible_a,
	                              clusters_restore),
	    cmocka_unit_test_teardown(test_two_clusters_down_write_fails_and_stays_invisible_ca,
	                              clusters_restore),
	};

	if (getenv("STORE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("STORE_TEST_FILTER"));
	return cmocka_run_group_tests_name("store-clusters", tests, group_setup, group_teardown);
}

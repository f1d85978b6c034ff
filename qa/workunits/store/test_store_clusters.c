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
#include <unistd.h>

#include <cmocka.h>
#include <rados/librados.h>

#include "codec.h"
#include "common/cluster.h"
#include "common/crypto.h"
#include "common/util.h"
#include "record.h"
#include "secret.h"
#include "store.h"
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
	struct store *store[3];   /* indexed by protocol: [1] A, [2] CA */
	rados_t admin[N];         /* the tests' own view of each cluster */
	rados_ioctx_t io[3][N];   /* per protocol namespace */
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
		specs[i] = (struct store_cluster_spec){
			.cluster = s->tb.names[i], .pool = POOL, .rados_ns = ns_of(protocol),
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
		struct sc_cluster_opts o = {.cluster = s->tb.names[i], .conf_dir = s->tb.dir,
					    .op_timeout = 30};
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
	assert_int_equal(store_unit_write_version(st, name, r2.version + 10, "ten", 3, &r3, &REP), 0);
	assert_int_equal(store_unit_write_version(st, name, r2.version + 10, "again", 5, NULL, &REP),
			 -EEXIST);
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
	assert_int_equal(store_unit_read(st, name, r1.version, 0, &out, &out_len, NULL, &REP), -ENOENT);
	assert_int_equal(store_flush(st, 30), 0);
	record_object_name(name, r1.version, oid, sizeof(oid));
	for (int i = 0; i < N; i++)
		assert_int_equal(rados_stat(S->io[protocol][i], oid, &size, &mtime), -ENOENT);
	assert_int_equal(store_unit_versions(st, name, &v, &count, &REP), 0);
	assert_int_equal(count, 2);
	assert_int_equal(v[0].version, r2.version);
	free(v);
	assert_int_equal(store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP), 0);
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
		assert_int_equal(store_cluster_state(S->store[p], (unsigned)(down + 1) % N, &cs), 0);
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
	r = store_unit_write_version(st, name, good.version + 1, failed, sizeof(failed), &ref, &REP);
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
	assert_int_equal(store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP), 0);
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
		record_object_name(name, ref.version, oid, sizeof(oid));
		put_garbage(protocol, bad, oid, record);

		/* The normal read: right bytes; if it met the bad copy, it names it. */
		assert_int_equal(store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len,
						 NULL, &REP),
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
	record_object_name(name, ref.version, oid, sizeof(oid));
	assert_int_equal(rados_read(S->io[protocol][bad], oid, (char *)saved, 4, frag_len / 8 * 5),
			 4);
	if (grow)
		assert_int_equal(rados_append(S->io[protocol][bad], oid, (const char *)junk,
					      sizeof(junk)),
				 0);
	else
		assert_int_equal(rados_write(S->io[protocol][bad], oid, (const char *)junk, 4,
					     frag_len / 8 * 5),
				 0);

	assert_int_equal(store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, NULL, &REP),
			 0);
	assert_int_equal(out_len, len);
	assert_memory_equal(out, data, len);
	store_buffer_free(out, out_len);
	rep = REP;
	assert_int_equal(rep.bad_clusters & ~(1u << bad), 0);

	assert_int_equal(store_unit_read_ref(st, name, &ref, STORE_READ_VERIFY_ALL, &out, &out_len, &REP),
			 0);
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
	assert_int_equal(store_unit_read_ref(st, name, &ref, STORE_READ_VERIFY_ALL, &out, &out_len, &REP),
			 0);
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
		memcpy(data + i, MARKER, CHUNK - i < sizeof(MARKER) - 1 ? CHUNK - i : sizeof(MARKER) - 1);
	for (int p = 1; p <= 2; p++) {
		unit_name(name, sizeof(name), "marker");
		assert_int_equal(store_unit_write(S->store[p], name, data, CHUNK, NULL, &REP), 0);
		assert_int_equal(store_flush(S->store[p], 30), 0);
	}
	for (int i = 0; i < N; i++) {
		objects = 0;
		assert_false(cluster_contains(STORE_PROTOCOL_CA, i, MARKER, sizeof(MARKER) - 1,
					      &objects));
		assert_true(objects > 0);
		/* The same search finds the marker in protocol A's copies: it does look. */
		objects = 0;
		assert_true(cluster_contains(STORE_PROTOCOL_A, i, MARKER, sizeof(MARKER) - 1,
					     &objects));
	}
	free(data);
}

/* Cluster I's record and fragment of NAME vVERSION, read with the tests' own client. */
static void fetch(int i, const char *name, uint64_t version, uint8_t *rec, size_t *rec_len,
		  uint8_t *frag, size_t frag_cap, size_t *frag_len)
{
	char oid[300];
	int r;

	record_object_name(name, version, oid, sizeof(oid));
	r = rados_getxattr(S->io[STORE_PROTOCOL_CA][i], oid, "scfs.rec",
			   (char *)rec, RECORD_MAX_LEN);
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
	assert_int_equal(store_unit_write(S->store[STORE_PROTOCOL_CA], name, data, sizeof(data),
					  &ref, &REP),
			 0);
	assert_int_equal(store_flush(S->store[STORE_PROTOCOL_CA], 30), 0);
	/* Clusters 0 and 1 hold the two systematic fragments: the whole ciphertext. */
	fetch(0, name, ref.version, rec0, &rec_len[0], frags, sizeof(data), &frag_len[0]);
	fetch(1, name, ref.version, rec1, &rec_len[1], frags + frag_len[0], sizeof(data),
	      &frag_len[1]);
	assert_int_equal(record_parse(rec0, rec_len[0], &r0), 0);
	assert_int_equal(record_parse(rec1, rec_len[1], &r1), 0);
	memcpy(aad, "scfs.du2", 8);
	sc_put_be64(aad + 8, ref.version);
	aad[16] = 5;
	memcpy(aad + 17, "fs-ca", 5);
	memcpy(aad + 22, name, strlen(name));
	aad_len = 22 + strlen(name);

	/* Cluster 0 alone: all the ciphertext, its share, and nothing more. */
	assert_int_equal(secret_combine(idx, r0.share, 1, key), 0);
	assert_int_equal(sc_aes256gcm_open(key, r0.c.iv, aad, aad_len, frags,
					   sizeof(data), r0.c.tag, plain),
			 -EBADMSG);
	assert_memory_not_equal(plain, data, 64);
	/* Two shares do rebuild it: the check above is not vacuous. */
	memcpy(shares, r0.share, 32);
	memcpy(shares + 32, r1.share, 32);
	assert_int_equal(secret_combine(idx, shares, 2, key), 0);
	assert_int_equal(sc_aes256gcm_open(key, r0.c.iv, aad, aad_len, frags,
					   sizeof(data), r0.c.tag, plain),
			 0);
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
		record_object_name(name[u], v[0].version, oid, sizeof(oid));
		free(v);
		for (int i = 0; i < N; i++) {
			uint64_t size;
			time_t mtime;
			char rec[RECORD_MAX_LEN];
			int r = rados_getxattr(S->io[protocol][i], oid, "scfs.rec",
					       rec, sizeof(rec));
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
		specs[i] = (struct store_cluster_spec){.cluster = S->tb.names[i], .pool = POOL,
						       .conf_dir = S->tb.dir};
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

	record_index_name(name, oid, sizeof(oid));
	record_index_key(RECORD_KEY_PENDING, version, key_p);
	record_index_key(RECORD_KEY_COMMIT, version, key_v);
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
	assert_int_equal(store_unit_write_anchored(st, name, r1.version + 4, data, sizeof(data),
						   &ra, &REP),
			 0);
	assert_int_equal(REP.result, 0);
	assert_int_equal(ra.version, r1.version + 4);
	assert_int_equal(ra.data_len, sizeof(data));
	/* The ref finds it. */
	assert_int_equal(store_unit_read_ref(st, name, &ra, 0, &out, &out_len, &REP), 0);
	assert_int_equal(out_len, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	store_buffer_free(out, out_len);
	/* No commit, no index entry anywhere: latest and the listing know only v1. */
	assert_int_equal(store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &out_len, &got,
					 &REP),
			 0);
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
		cmocka_unit_test(test_reader_with_smaller_limit_reads_and_blames_nobody),
		cmocka_unit_test(test_reports_are_per_call_across_threads),
		cmocka_unit_test(test_ca_no_cluster_holds_the_plaintext),
		cmocka_unit_test(test_ca_one_share_alone_does_not_rebuild_the_key),
		cmocka_unit_test(test_bytes_stored_per_byte_written_a),
		cmocka_unit_test(test_bytes_stored_per_byte_written_ca),
		cmocka_unit_test_teardown(test_one_cluster_down_writes_and_reads_succeed,
					  clusters_restore),
		cmocka_unit_test_teardown(test_frozen_cluster_does_not_hold_operations,
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

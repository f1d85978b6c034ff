/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store-bench: what the store costs, beside the bounds measured in the
 * same run (design.md, performance targets).
 *
 *   cpu:  CA encode+encrypt and decrypt+decode of 4 MiB units on one core,
 *         against the sum of their parts timed through EVP and ISA-L here:
 *         AES-256-GCM over the data + SHA-256 over all n fragments + RS.
 *         The store hashes the n fragments side by side (digest.h), faster
 *         than EVP's one stream: so the encode is also shown against the
 *         bound with that hash, and with EVP hashing against the EVP bound.
 *   io:   store writes and reads of 4 MiB units on n clusters (the file
 *         system's path: caller-chosen version, read by anchor), against
 *         raw librados writing (and reading) the same bytes per cluster to
 *         the same clusters: write_full of the fragment size to all n in
 *         parallel per unit, as the store does. Writes run twice: with one
 *         writer (one unit after the other) and with --writers threads,
 *         each writing one unit after the other (the file system uploads
 *         several chunks at once); the raw side always gets the same number
 *         of writers as the store. Reads: the units one after the other
 *         by anchor (the file system's path, one round trip) and as LATEST
 *         (index round first), against raw reads of the same bytes per
 *         cluster from k clusters in parallel, repeated for --read-seconds,
 *         with the CPU the whole machine spent on each side.
 *         decrypt+decode is timed with the reader's hashing (k fragments
 *         side by side) and with EVP's, one fragment after the other.
 *
 * Usage: store_bench --dir DIR [--clusters dc1,dc2,dc3,dc4] [--pool scfs]
 *                    [--units 24] [--writers 4] [--read-seconds 1]
 *                    [--cpu-only | --io-only]
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <isa-l/erasure_code.h>
#include <rados/librados.h>

#include "codec.h"
#include "common/cluster.h"
#include "digest.h"
#include "common/crypto.h"
#include "common/util.h"
#include "store.h"

#define UNIT (4u << 20)
#define N 4
#define F 1
#define K (F + 1)
#define DEFAULT_WRITERS 4
#define MAX_WRITERS 32

static double mbps(double bytes, double seconds)
{
	return bytes / seconds / 1e6;
}

/* Runs BODY for at least MIN_SECONDS; OUT gets bytes per second of DATA_BYTES per run. */
#define TIME_LOOP(out, min_seconds, data_bytes, body)                                              \
	do {                                                                                       \
		double t0_ = sc_now_monotonic(), t_;                                               \
		unsigned long n_ = 0;                                                              \
		do {                                                                               \
			body;                                                                      \
			n_++;                                                                      \
			t_ = sc_now_monotonic() - t0_;                                             \
		} while (t_ < (min_seconds));                                                      \
		(out) = (double)(data_bytes) * (double)n_ / t_;                                    \
	} while (0)

static void encode_loop(struct codec *codec, const uint8_t *data, const uint8_t *aad)
{
	struct codec_encoded e;

	if (store_codec_encode(codec, data, UNIT, aad, 16, &e) < 0)
		exit(1);
	store_codec_encoded_release(&e);
}

/*
 * Every part and the whole are timed alike: the same 4 MiB unit (or its
 * 2 MiB fragments), run back to back for a second or two, so that primitives
 * and codec both run on warm buffers (the codec's fragment buffer comes back
 * from malloc warm after the first round, as it does in the store).
 */
static void bench_cpu(void)
{
	uint8_t *data = malloc(UNIT), *ct = malloc(UNIT), *frags = malloc(N * (UNIT / K));
	uint8_t key[32], iv[12], tag[16], digest[32], digests[N][32], aad[24] = "scfs.du1";
	uint8_t matrix[N * K], tables[32 * K * (N - K)];
	uint8_t *dptr[K], *pptr[N - K];
	const uint8_t *fptr[N];
	struct codec *codec;
	double aes, sha, sha_n, rs, bound, bound_n, enc, enc_evp, dec, dec_evp, dec_bound,
	    dec_bound_n;
	size_t frag = UNIT / K;

	sc_random_bytes(data, UNIT);
	sc_random_bytes(frags, N * frag);
	sc_random_bytes(key, 32);
	sc_random_bytes(iv, 12);
	for (unsigned i = 0; i < K; i++)
		dptr[i] = frags + i * frag;
	for (unsigned i = 0; i < N - K; i++)
		pptr[i] = frags + (K + i) * frag;
	for (unsigned i = 0; i < N; i++)
		fptr[i] = frags + i * frag;
	gf_gen_cauchy1_matrix(matrix, N, K);
	ec_init_tables(K, N - K, matrix + K * K, tables);

	TIME_LOOP(aes, 1.0, UNIT, sc_aes256gcm_seal(key, iv, aad, 16, data, UNIT, ct, tag));
	TIME_LOOP(sha, 1.0, UNIT, sc_sha256(data, UNIT, digest));
	/* The store's way to hash the n fragments: side by side (digest.h). */
	TIME_LOOP(sha_n, 1.0, N * frag, {
		struct digest_multi dm;
		if (store_digest_multi_begin(&dm, N, false) < 0 ||
		    store_digest_multi_update(&dm, fptr, frag) < 0 ||
		    store_digest_multi_end(&dm, digests) < 0)
			exit(1);
	});
	TIME_LOOP(rs, 1.0, UNIT, ec_encode_data((int)frag, K, N - K, tables, dptr, pptr));
	/* Seconds per data byte: AES once, SHA-256 over n/k times the data, RS once. */
	bound = 1.0 / (1.0 / aes + (double)N / K / sha + 1.0 / rs);
	bound_n = 1.0 / (1.0 / aes + (double)N / K / sha_n + 1.0 / rs);
	dec_bound = 1.0 / (1.0 / aes + 1.0 / sha + 1.0 / rs);
	dec_bound_n = 1.0 / (1.0 / aes + 1.0 / sha_n + 1.0 / rs);
	if (store_codec_new(RECORD_PROTOCOL_CA, N, F, &codec) < 0) {
		fprintf(stderr, "store-bench: store_codec_new failed\n");
		exit(1);
	}
	TIME_LOOP(enc, 2.0, UNIT, encode_loop(codec, data, aad));
	store_codec_set_portable_digest(codec, true);
	TIME_LOOP(enc_evp, 2.0, UNIT, encode_loop(codec, data, aad));
	store_codec_set_portable_digest(codec, false);
	{
		/* Decode from one data and one parity fragment: RS has work to do. */
		struct codec_encoded e;
		uint8_t *have[N] = {0}, shares[2 * 32], *out;
		unsigned idx[2] = {1, 2};
		store_codec_encode(codec, data, UNIT, aad, 16, &e);
		have[1] = (uint8_t *)e.frags[1];
		have[2] = (uint8_t *)e.frags[2];
		memcpy(shares, e.shares[1], 32);
		memcpy(shares + 32, e.shares[2], 32);
		const uint8_t *hp[2] = {have[1], have[2]};
		TIME_LOOP(dec_evp, 2.0, UNIT, {
			uint8_t d[32];
			/* the k fragments hashed one after the other, as EVP does */
			sc_sha256(have[1], e.frag_len, d);
			sc_sha256(have[2], e.frag_len, d);
			if (store_codec_decode(codec, have, e.frag_len, UNIT, e.iv, e.tag, idx,
			                       shares, 2, aad, 16, &out) < 0)
				exit(1);
			free(out);
		});
		TIME_LOOP(dec, 2.0, UNIT, {
			/* the reader's way (read.c): the k fragments side by side */
			struct digest_multi dm;
			uint8_t d[2][32];
			if (store_digest_multi_begin(&dm, 2, false) < 0 ||
			    store_digest_multi_update(&dm, hp, e.frag_len) < 0 ||
			    store_digest_multi_end(&dm, d) < 0)
				exit(1);
			if (store_codec_decode(codec, have, e.frag_len, UNIT, e.iv, e.tag, idx,
			                       shares, 2, aad, 16, &out) < 0)
				exit(1);
			free(out);
		});
		store_codec_encoded_release(&e);
	}
	printf("cpu  AES-256-GCM %.0f MB/s, SHA-256 %.0f MB/s (%d streams side by side: %.0f "
	       "MB/s), RS(k=%d,m=%d) %.0f MB/s\n",
	       mbps(aes, 1), mbps(sha, 1), N, mbps(sha_n, 1), K, N - K, mbps(rs, 1));
	/* design.md's bound: EVP's SHA-256, one stream at a time. */
	printf("cpu  encode+encrypt  %.0f MB/s  bound %.0f MB/s  ratio %.2f   (bound: EVP parts)\n",
	       mbps(enc, 1), mbps(bound, 1), enc / bound);
	printf("cpu  encode+encrypt  %.0f MB/s  bound %.0f MB/s  ratio %.2f   (bound with the "
	       "side-by-side SHA-256 the store uses)\n",
	       mbps(enc, 1), mbps(bound_n, 1), enc / bound_n);
	printf("cpu  encode+encrypt  %.0f MB/s  bound %.0f MB/s  ratio %.2f   (store hashing with "
	       "EVP, one fragment at a time)\n",
	       mbps(enc_evp, 1), mbps(bound, 1), enc_evp / bound);
	printf("cpu  decrypt+decode  %.0f MB/s  bound %.0f MB/s  ratio %.2f   (bound: EVP parts)\n",
	       mbps(dec, 1), mbps(dec_bound, 1), dec / dec_bound);
	printf("cpu  decrypt+decode  %.0f MB/s  bound %.0f MB/s  ratio %.2f   (bound with the "
	       "side-by-side SHA-256 the store uses)\n",
	       mbps(dec, 1), mbps(dec_bound_n, 1), dec / dec_bound_n);
	printf("cpu  decrypt+decode  %.0f MB/s  bound %.0f MB/s  ratio %.2f   (fragments hashed "
	       "with EVP, one at a time)\n",
	       mbps(dec_evp, 1), mbps(dec_bound, 1), dec_evp / dec_bound);
	store_codec_free(codec);
	free(data);
	free(ct);
	free(frags);
}

struct raw {
	rados_t rados[N];
	rados_ioctx_t io[N];
};

static int raw_open(struct raw *raw, const char *dir, char names[N][64], const char *pool)
{
	for (int i = 0; i < N; i++) {
		struct sc_cluster_opts o = {.cluster = names[i], .conf_dir = dir};
		struct sc_err err;
		int r = sc_cluster_connect(&o, &raw->rados[i], &err);
		if (r < 0) {
			fprintf(stderr, "store-bench: %s\n", err.msg);
			return r;
		}
		r = rados_ioctx_create(raw->rados[i], pool, &raw->io[i]);
		if (r < 0)
			return r;
		rados_ioctx_set_namespace(raw->io[i], "bench-raw");
	}
	return 0;
}

/* One unit the raw way: LEN bytes to each of the N clusters in parallel, wait for all. */
static void raw_write(struct raw *raw, const char *oid, const uint8_t *buf, size_t len)
{
	rados_completion_t c[N];

	for (int i = 0; i < N; i++) {
		rados_aio_create_completion2(NULL, NULL, &c[i]);
		rados_aio_write_full(raw->io[i], oid, c[i], (const char *)buf, len);
	}
	for (int i = 0; i < N; i++) {
		rados_aio_wait_for_complete(c[i]);
		if (rados_aio_get_return_value(c[i]) < 0)
			exit(1);
		rados_aio_release(c[i]);
	}
}

/* The raw read of one unit: LEN bytes from each of COUNT clusters in parallel. */
static void raw_read(struct raw *raw, const char *oid, uint8_t *buf, size_t len, int count)
{
	rados_completion_t c[N];

	for (int i = 0; i < count; i++) {
		rados_aio_create_completion2(NULL, NULL, &c[i]);
		rados_aio_read(raw->io[i], oid, c[i], (char *)buf + i * len, len, 0);
	}
	for (int i = 0; i < count; i++) {
		rados_aio_wait_for_complete(c[i]);
		if (rados_aio_get_return_value(c[i]) < 0)
			exit(1);
		rados_aio_release(c[i]);
	}
}

/* Seconds of CPU the whole machine spent busy (all cores), from /proc/stat. */
static double machine_busy_seconds(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int got;

	if (!f)
		return 0;
	got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
	             &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (got != 8)
		return 0;
	/* user nice system idle iowait irq softirq steal: all but idle and iowait */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * One side of a write round: STORE (one store_unit_write_version per unit)
 * or raw librados (raw_write of the same bytes per cluster). Writer threads
 * take unit numbers from NEXT until LAST; both sides run the same code.
 */
struct write_round {
	struct store *st; /* NULL: the raw side */
	struct raw *raw;
	const uint8_t *data;
	size_t per_cluster;
	const char *prefix;
	struct store_unit_ref *refs;
	bool anchored;        /* store_unit_write_anchored: the file system's path */
	pthread_mutex_t lock; /* guards next and failed */
	unsigned next, last;
	bool failed;
	double busy; /* CPU seconds the machine spent in the rounds (clusters included) */
};

static void *write_round_thread(void *arg)
{
	struct write_round *wr = arg;
	char name[64];
	struct store_report rep;

	for (;;) {
		unsigned u;
		pthread_mutex_lock(&wr->lock);
		u = wr->next < wr->last && !wr->failed ? wr->next++ : wr->last;
		pthread_mutex_unlock(&wr->lock);
		if (u == wr->last)
			break;
		snprintf(name, sizeof(name), "%s.%u", wr->prefix, u);
		if (!wr->st) {
			raw_write(wr->raw, name, wr->data, wr->per_cluster);
		} else if ((wr->anchored ? store_unit_write_anchored(wr->st, name, 1, wr->data,
		                                                     UNIT, &wr->refs[u], &rep)
		                         : store_unit_write_version(wr->st, name, 1, wr->data, UNIT,
		                                                    &wr->refs[u], &rep)) < 0) {
			fprintf(stderr, "store-bench: %s\n", rep.msg);
			pthread_mutex_lock(&wr->lock);
			wr->failed = true;
			pthread_mutex_unlock(&wr->lock);
		}
	}
	return NULL;
}

/* Units FIRST..LAST-1 by WRITERS threads; returns the seconds it took. */
static double write_round_run(struct write_round *wr, unsigned first, unsigned last,
                              unsigned writers)
{
	pthread_t threads[MAX_WRITERS];
	double t = sc_now_monotonic(), busy = machine_busy_seconds();

	wr->next = first;
	wr->last = last;
	for (unsigned i = 0; i < writers; i++)
		if (pthread_create(&threads[i], NULL, write_round_thread, wr) != 0)
			exit(1);
	for (unsigned i = 0; i < writers; i++)
		pthread_join(threads[i], NULL);
	if (wr->failed)
		exit(1);
	wr->busy += machine_busy_seconds() - busy;
	return sc_now_monotonic() - t;
}

/*
 * UNITS store writes against UNITS raw writes, both with WRITERS in flight.
 * Store and raw alternate in batches of 2 * WRITERS units, so that both meet
 * the same cluster state (recovery, compaction, other load) in the run.
 */
static void write_compare(struct store *st, struct raw *raw, const uint8_t *data,
                          size_t per_cluster, int protocol, unsigned units, unsigned writers,
                          bool anchored, struct store_unit_ref *refs)
{
	char store_prefix[32], raw_prefix[32];
	struct write_round sw = {.st = st,
	                         .data = data,
	                         .per_cluster = per_cluster,
	                         .prefix = store_prefix,
	                         .refs = refs,
	                         .anchored = anchored};
	struct write_round rw = {
	    .raw = raw, .data = data, .per_cluster = per_cluster, .prefix = raw_prefix};
	unsigned batch = 2 * writers;
	double w = 0, r = 0;

	snprintf(store_prefix, sizeof(store_prefix), "bench.%s%u", anchored ? "a" : "w", writers);
	snprintf(raw_prefix, sizeof(raw_prefix), "raw.%d.w%u", protocol, writers);
	pthread_mutex_init(&sw.lock, NULL);
	pthread_mutex_init(&rw.lock, NULL);
	for (unsigned u = 0; u < units; u += batch) {
		unsigned end = u + batch < units ? u + batch : units;
		w += write_round_run(&sw, u, end, writers);
		r += write_round_run(&rw, u, end, writers);
	}
	printf("io   %-2s write %.0f MB/s  raw %.0f MB/s  ratio %.2f   (%s, %u writer%s, %u units "
	       "of 4 MiB, %zu bytes per cluster each)\n",
	       store_protocol_name((enum store_protocol)protocol), mbps((double)units * UNIT, w),
	       mbps((double)units * UNIT, r), r / w,
	       anchored ? "anchored: 1 round trip" : "committed: 2 round trips", writers,
	       writers > 1 ? "s" : "", units, per_cluster);
	/* The clusters share this machine's cores: what each side cost them all. */
	printf("io   %-2s       cores busy: store %.2f, raw %.2f; CPU ms per unit: store %.1f, "
	       "raw %.1f\n",
	       store_protocol_name((enum store_protocol)protocol), sw.busy / w, rw.busy / r,
	       sw.busy * 1e3 / units, rw.busy * 1e3 / units);
	pthread_mutex_destroy(&sw.lock);
	pthread_mutex_destroy(&rw.lock);
}

static void write_cleanup(struct store *st, struct raw *raw, int protocol, unsigned units,
                          unsigned writers, bool anchored)
{
	char name[64];

	for (unsigned u = 0; u < units; u++) {
		snprintf(name, sizeof(name), "bench.%s%u.%u", anchored ? "a" : "w", writers, u);
		store_unit_delete(st, name, 1, NULL);
		snprintf(name, sizeof(name), "raw.%d.w%u.%u", protocol, writers, u);
		for (int i = 0; i < N; i++)
			rados_remove(raw->io[i], name);
	}
}

/*
 * Store reads against raw reads of the same sizes, unit by unit, store and
 * raw alternating so that both meet the same cluster state; the units are
 * read over and over until each side ran at least SECONDS (16 units take
 * only a few tens of milliseconds: far too short to measure). Both sides
 * are warm: the raw side reads into one buffer, the store allocates its
 * answer as the file system's reads do. By anchor is the file system's
 * path (one round trip); LATEST first reads the index of n-f clusters.
 */
static void read_compare(struct store *st, struct raw *raw, int protocol, unsigned units,
                         const struct store_unit_ref *refs, uint8_t *back, size_t per_cluster,
                         int readers, double seconds)
{
	double by_ref = 0, latest = 0, rr = 0, t, b;
	double busy_ref = 0, busy_raw = 0; /* CPU seconds of the whole machine, clusters included */
	unsigned long rounds = 0;
	char name[64], oid[64];

	do {
		for (unsigned u = 0; u < units; u++) {
			struct store_unit_ref got;
			void *out;
			size_t len;
			snprintf(name, sizeof(name), "bench.w1.%u", u);
			b = machine_busy_seconds();
			t = sc_now_monotonic();
			if (store_unit_read_ref(st, name, &refs[u], 0, &out, &len, NULL) < 0 ||
			    len != UNIT)
				exit(1);
			store_buffer_free(out, len);
			by_ref += sc_now_monotonic() - t;
			busy_ref += machine_busy_seconds() - b;
			t = sc_now_monotonic();
			if (store_unit_read(st, name, STORE_VERSION_LATEST, 0, &out, &len, &got,
			                    NULL) < 0 ||
			    len != UNIT || got.version != refs[u].version)
				exit(1);
			store_buffer_free(out, len);
			latest += sc_now_monotonic() - t;
			snprintf(oid, sizeof(oid), "raw.%d.w1.%u", protocol, u);
			b = machine_busy_seconds();
			t = sc_now_monotonic();
			raw_read(raw, oid, back, per_cluster, readers);
			rr += sc_now_monotonic() - t;
			busy_raw += machine_busy_seconds() - b;
		}
		rounds++;
	} while (by_ref < seconds || rr < seconds);
	printf("io   %-2s read  %.0f MB/s  raw %.0f MB/s  ratio %.2f   (1 reader, by anchor; raw "
	       "reads %d x %zu bytes in parallel; %lu x %u units)\n",
	       store_protocol_name((enum store_protocol)protocol),
	       mbps((double)rounds * units * UNIT, by_ref), mbps((double)rounds * units * UNIT, rr),
	       rr / by_ref, readers, per_cluster, rounds, units);
	printf("io   %-2s read  %.0f MB/s  raw %.0f MB/s  ratio %.2f   (1 reader, LATEST: index "
	       "round, then the same)\n",
	       store_protocol_name((enum store_protocol)protocol),
	       mbps((double)rounds * units * UNIT, latest), mbps((double)rounds * units * UNIT, rr),
	       rr / latest);
	printf("io   %-2s       cores busy: store %.2f, raw %.2f; CPU ms per unit: store %.1f, "
	       "raw %.1f (by anchor)\n",
	       store_protocol_name((enum store_protocol)protocol), busy_ref / by_ref, busy_raw / rr,
	       busy_ref * 1e3 / ((double)rounds * units),
	       busy_raw * 1e3 / ((double)rounds * units));
}

static void bench_io(const char *dir, char names[N][64], const char *pool, unsigned units,
                     unsigned writers, double read_seconds)
{
	struct store_cluster_spec specs[N];
	struct raw raw = {0};
	uint8_t *data = malloc(UNIT), *back = malloc(2 * UNIT), priv[32], pub[32];
	struct store_unit_ref *refs = calloc(units, sizeof(*refs));
	struct sc_err err = {{0}};

	sc_random_bytes(data, UNIT);
	sc_ed25519_keygen(priv, pub);
	if (raw_open(&raw, dir, names, pool) < 0)
		exit(1);
	for (int i = 0; i < N; i++)
		specs[i] = (struct store_cluster_spec){
		    .cluster = names[i], .pool = pool, .rados_ns = "bench", .conf_dir = dir};
	for (int p = STORE_PROTOCOL_A; p <= STORE_PROTOCOL_CA; p++) {
		struct store_opts opts = {.n = N,
		                          .f = F,
		                          .protocol = (enum store_protocol)p,
		                          .writer_key = priv,
		                          .op_timeout = 30,
		                          .store_id = "bench",
		                          .store_id_len = 5};
		struct store *st;
		size_t per_cluster = p == STORE_PROTOCOL_CA ? UNIT / K : UNIT;
		int readers = p == STORE_PROTOCOL_CA ? K : 1;

		opts.max_unit_size = UNIT;
		if (store_open(&opts, specs, &st, &err) < 0) {
			fprintf(stderr, "store-bench: %s\n", err.msg);
			exit(1);
		}
		/* Warm up both paths (connections, first objects of the PGs). */
		store_unit_write_version(st, "warm", 1, data, UNIT, NULL, NULL);
		raw_write(&raw, "warm", data, per_cluster);

		/* One writer: what one file's sequential chunk uploads see. */
		write_compare(st, &raw, data, per_cluster, p, units, 1, false, refs);
		store_flush(st, 60);
		read_compare(st, &raw, p, units, refs, back, per_cluster, readers, read_seconds);
		write_cleanup(st, &raw, p, units, 1, false);
		/* The file system's own path: anchored writes, no commit round. */
		write_compare(st, &raw, data, per_cluster, p, units, 1, true, refs);
		store_flush(st, 60);
		write_cleanup(st, &raw, p, units, 1, true);
		/* Several writers: the file system uploads several chunks at once. */
		if (writers > 1) {
			write_compare(st, &raw, data, per_cluster, p, units, writers, true, refs);
			store_flush(st, 60);
			write_cleanup(st, &raw, p, units, writers, true);
		}
		store_unit_delete(st, "warm", 1, NULL);
		store_close(st);
	}
	for (int i = 0; i < N; i++) {
		rados_remove(raw.io[i], "warm");
		rados_ioctx_destroy(raw.io[i]);
		rados_shutdown(raw.rados[i]);
	}
	free(refs);
	free(data);
	free(back);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
	                                         {"clusters", required_argument, NULL, 'c'},
	                                         {"pool", required_argument, NULL, 'p'},
	                                         {"units", required_argument, NULL, 'u'},
	                                         {"writers", required_argument, NULL, 'w'},
	                                         {"read-seconds", required_argument, NULL, 'r'},
	                                         {"io-only", no_argument, NULL, 'I'},
	                                         {"cpu-only", no_argument, NULL, 'C'},
	                                         {NULL, 0, NULL, 0}};
	const char *dir = NULL, *pool = "scfs", *clusters = "dc1,dc2,dc3,dc4";
	char names[N][64];
	unsigned units = 24, writers = DEFAULT_WRITERS;
	double read_seconds = 1.0;
	int cpu_only = 0, io_only = 0, c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'c':
			clusters = optarg;
			break;
		case 'p':
			pool = optarg;
			break;
		case 'u':
			units = (unsigned)atoi(optarg);
			break;
		case 'w':
			writers = (unsigned)atoi(optarg);
			break;
		case 'r':
			read_seconds = atof(optarg);
			break;
		case 'C':
			cpu_only = 1;
			break;
		case 'I':
			io_only = 1;
			break;
		default:
			fprintf(stderr,
			        "usage: store_bench --dir DIR [--clusters a,b,c,d] [--pool P] "
			        "[--units N] [--writers N] [--read-seconds S] [--cpu-only | "
			        "--io-only]\n");
			return 2;
		}
	}
	if (!io_only)
		bench_cpu();
	if (cpu_only)
		return 0;
	if (writers < 1 || writers > MAX_WRITERS) {
		fprintf(stderr, "store-bench: --writers wants 1..%d\n", MAX_WRITERS);
		return 2;
	}
	if (!dir || units == 0) {
		fprintf(stderr,
		        "store-bench: --dir DIR (micro-ceph's) is needed for the io part\n");
		return 2;
	}
	if (sscanf(clusters, "%63[^,],%63[^,],%63[^,],%63s", names[0], names[1], names[2],
	           names[3]) != 4) {
		fprintf(stderr, "store-bench: --clusters wants four names\n");
		return 2;
	}
	bench_io(dir, names, pool, units, writers, read_seconds);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the store's pure parts: Reed-Solomon (every k-subset of
 * fragments rebuilds), Shamir (every threshold subset rebuilds, one share
 * alone does not), the record and commit parsers (short, oversized,
 * malformed, wrongly signed input is refused), the multi-stream SHA-256
 * (equal to OpenSSL's for every length and stream count) and the CA/A codec.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
/* RAND_set_rand_method, to fix OpenSSL's RNG in one test. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/rand.h>

#include "codec.h"
#include "common/crypto.h"
#include "digest.h"
#include "erasure.h"
#include "record.h"
#include "common/shamir.h"

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

/* Calls FN for every subset of K out of N (as a bit mask). */
static void for_each_subset(unsigned n, unsigned k, void (*fn)(unsigned mask, void *), void *arg)
{
	for (unsigned mask = 0; mask < (1u << n); mask++)
		if ((unsigned)__builtin_popcount(mask) == k)
			fn(mask, arg);
}

struct ec_case {
	struct erasure *ec;
	unsigned n, k;
	size_t len;
	uint8_t *frags[16];
	const uint8_t *data;
	unsigned tried;
};

static void ec_try(unsigned mask, void *arg)
{
	struct ec_case *c = arg;
	uint8_t *have[16] = {0}, *out[16];

	for (unsigned i = 0; i < c->n; i++)
		if (mask & (1u << i))
			have[i] = c->frags[i];
	for (unsigned j = 0; j < c->k; j++) {
		out[j] = malloc(c->len + 1);
		assert_non_null(out[j]);
	}
	assert_int_equal(store_erasure_decode(c->ec, have, out, c->len), 0);
	for (unsigned j = 0; j < c->k; j++) {
		assert_memory_equal(out[j], c->data + j * c->len, c->len);
		free(out[j]);
	}
	c->tried++;
}

static void erasure_case(unsigned n, unsigned k, size_t len)
{
	struct ec_case c = {.n = n, .k = k, .len = len};
	uint8_t *data = malloc(n * len + 1);

	assert_non_null(data);
	fill(data, k * len, (unsigned)len);
	assert_int_equal(store_erasure_new(n, k, &c.ec), 0);
	for (unsigned i = 0; i < n; i++)
		c.frags[i] = data + i * len;
	assert_int_equal(store_erasure_encode(c.ec, c.frags, c.frags + k, len), 0);
	c.data = data;
	for_each_subset(n, k, ec_try, &c);
	assert_true(c.tried > 0);
	/* Fewer than k fragments cannot rebuild. */
	{
		uint8_t *have[16] = {0}, *out[16] = {0};
		for (unsigned i = 0; i + 1 < k; i++)
			have[i] = c.frags[i];
		assert_int_equal(store_erasure_decode(c.ec, have, out, len), -EIO);
	}
	store_erasure_free(c.ec);
	free(data);
}

static void test_erasure_any_k_fragments_rebuild(void **state)
{
	static const size_t lens[] = {1, 15, 16, 31, 32, 64, 100, 4096, 65537};

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		erasure_case(4, 2, lens[i]);  /* n=4 f=1 */
		erasure_case(7, 3, lens[i]);  /* n=7 f=2 */
		erasure_case(10, 4, lens[i]); /* n=10 f=3 */
	}
}

static void test_erasure_rejects_bad_parameters(void **state)
{
	struct erasure *ec;

	(void)state;
	assert_int_equal(store_erasure_new(4, 0, &ec), -EINVAL);
	assert_int_equal(store_erasure_new(4, 5, &ec), -EINVAL);
	assert_int_equal(store_erasure_new(256, 2, &ec), -EINVAL);
}

struct share_case {
	unsigned n, t;
	uint8_t key[32];
	uint8_t shares[16][32];
	unsigned tried;
};

static void share_try(unsigned mask, void *arg)
{
	struct share_case *c = arg;
	unsigned idx[16], count = 0;
	uint8_t sel[16 * 32], key[32];

	for (unsigned i = 0; i < c->n; i++)
		if (mask & (1u << i)) {
			idx[count] = i;
			memcpy(sel + 32 * count++, c->shares[i], 32);
		}
	assert_int_equal(sc_shamir_combine(idx, sel, count, key), 0);
	assert_memory_equal(key, c->key, 32);
	c->tried++;
}

static void test_secret_any_threshold_shares_rebuild_key(void **state)
{
	static const unsigned cases[][2] = {{4, 2}, {7, 3}, {10, 4}, {5, 5}};

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct share_case c = {.n = cases[i][0], .t = cases[i][1]};
		assert_int_equal(sc_random_bytes(c.key, 32), 0);
		assert_int_equal(sc_shamir_split(c.key, c.n, c.t, c.shares), 0);
		for_each_subset(c.n, c.t, share_try, &c);
		assert_true(c.tried > 0);
	}
}

static void share_try_short(unsigned mask, void *arg)
{
	struct share_case *c = arg;
	unsigned idx[16], count = 0;
	uint8_t sel[16 * 32], key[32];

	for (unsigned i = 0; i < c->n; i++)
		if (mask & (1u << i)) {
			idx[count] = i;
			memcpy(sel + 32 * count++, c->shares[i], 32);
		}
	assert_int_equal(sc_shamir_combine(idx, sel, count, key), 0);
	assert_memory_not_equal(key, c->key, 32);
	c->tried++;
}

/* Any threshold-1 shares give a wrong key, whichever they are. */
static void test_secret_fewer_than_threshold_shares_do_not_rebuild_key(void **state)
{
	static const unsigned cases[][2] = {{4, 2}, {7, 3}, {10, 4}, {5, 5}};

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct share_case c = {.n = cases[i][0], .t = cases[i][1]};
		assert_int_equal(sc_random_bytes(c.key, 32), 0);
		assert_int_equal(sc_shamir_split(c.key, c.n, c.t, c.shares), 0);
		for_each_subset(c.n, c.t - 1, share_try_short, &c);
		assert_true(c.tried > 0);
	}
	/* Two shares with the same index are refused. */
	{
		uint8_t key[32], shares[4][32], two[64], out[32];
		unsigned idx[2] = {1, 1};
		assert_int_equal(sc_random_bytes(key, 32), 0);
		assert_int_equal(sc_shamir_split(key, 4, 2, shares), 0);
		memcpy(two, shares[1], 32);
		memcpy(two + 32, shares[1], 32);
		assert_int_equal(sc_shamir_combine(idx, two, 2, out), -EINVAL);
	}
}

/*
 * Repair: any threshold shares give back every other share of the same
 * split exactly (sc_shamir_share), so a rebuilt share combines like the
 * lost one; a target among the given shares is refused.
 */
static void share_try_each_other(unsigned mask, void *arg)
{
	struct share_case *c = arg;
	unsigned idx[16], count = 0;
	uint8_t sel[16 * 32], out[32];

	for (unsigned i = 0; i < c->n; i++)
		if (mask & (1u << i)) {
			idx[count] = i;
			memcpy(sel + 32 * count++, c->shares[i], 32);
		}
	for (unsigned t = 0; t < c->n; t++) {
		if (mask & (1u << t)) {
			assert_int_equal(sc_shamir_share(idx, sel, count, t, out), -EINVAL);
			continue;
		}
		assert_int_equal(sc_shamir_share(idx, sel, count, t, out), 0);
		assert_memory_equal(out, c->shares[t], 32);
		c->tried++;
	}
}

static void test_secret_threshold_shares_rebuild_every_other_share(void **state)
{
	static const unsigned cases[][2] = {{4, 2}, {7, 3}, {10, 4}, {4, 1}, {5, 5}};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct share_case c = {.n = cases[i][0], .t = cases[i][1]};
		assert_int_equal(sc_random_bytes(c.key, 32), 0);
		assert_int_equal(sc_shamir_split(c.key, c.n, c.t, c.shares), 0);
		for_each_subset(c.n, c.t, share_try_each_other, &c);
		assert_true(c.tried > 0 || c.t == c.n);
	}
}

/* An OpenSSL RNG that returns one byte value over and over. */
static unsigned char fixed_rand_byte;
static int fixed_rand_bytes(unsigned char *buf, int num)
{
	memset(buf, fixed_rand_byte, (size_t)num);
	return 1;
}
static int fixed_rand_status(void)
{
	return 1;
}

/*
 * libgfshare's random source is OpenSSL's: with OpenSSL's RNG fixed, the
 * same key splits into the same shares, and another fixed RNG gives other
 * shares; with OpenSSL's own RNG back, two splits differ. (Were libgfshare
 * still on random(), the fixed RNG would change nothing.)
 */
static void test_secret_randomness_comes_from_openssl(void **state)
{
	static RAND_METHOD fixed = {
	    .bytes = fixed_rand_bytes, .pseudorand = fixed_rand_bytes, .status = fixed_rand_status};
	uint8_t key[32], a[4][32], b[4][32], c[4][32];

	(void)state;
	memset(key, 0x5c, sizeof(key));
	assert_int_equal(RAND_set_rand_method(&fixed), 1);
	fixed_rand_byte = 0x11;
	assert_int_equal(sc_shamir_split(key, 4, 2, a), 0);
	assert_int_equal(sc_shamir_split(key, 4, 2, b), 0);
	fixed_rand_byte = 0x22;
	assert_int_equal(sc_shamir_split(key, 4, 2, c), 0);
	assert_int_equal(RAND_set_rand_method(RAND_OpenSSL()), 1);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a[0], c[0], 32);
	assert_int_equal(sc_shamir_split(key, 4, 2, a), 0);
	assert_int_equal(sc_shamir_split(key, 4, 2, b), 0);
	assert_memory_not_equal(a[0], b[0], 32);
}

/* ---- records -------------------------------------------------------- */

static const struct record_id ID = {(const uint8_t *)"fs-0001:ns-a", 12};
static const struct record_id OTHER_ID = {(const uint8_t *)"fs-0001:ns-b", 12};

struct rec_fixture {
	uint8_t priv[32], pub[32], other_priv[32], other_pub[32];
	uint8_t digests[4][32], iv[12], tag[16], share[32];
	uint8_t buf[RECORD_MAX_LEN];
	size_t len, common_len;
};

static void make_record(struct rec_fixture *fx, int protocol, uint8_t index, const uint8_t *priv)
{
	struct record_common c = {0};

	c.protocol = (uint8_t)protocol;
	c.n = 4;
	c.f = 1;
	c.version = 42;
	c.data_len = 1001;
	c.frag_len = protocol == RECORD_PROTOCOL_CA ? 501 : 1001;
	c.writer_key = fx->pub;
	c.iv = protocol == RECORD_PROTOCOL_CA ? fx->iv : NULL;
	c.tag = protocol == RECORD_PROTOCOL_CA ? fx->tag : NULL;
	c.name = "inode.0001";
	c.name_len = strlen(c.name);
	c.digests = &fx->digests[0][0];
	fx->common_len = store_record_common_len(&c);
	assert_true(fx->common_len > 0);
	assert_int_equal(store_record_common_encode(&c, fx->buf, sizeof(fx->buf)), 0);
	assert_int_equal(store_record_seal(&ID, fx->buf, sizeof(fx->buf), fx->common_len, index,
	                                   protocol == RECORD_PROTOCOL_CA ? fx->share : NULL, priv,
	                                   &fx->len),
	                 0);
}

static int rec_setup(void **state)
{
	struct rec_fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	sc_ed25519_keygen(fx->priv, fx->pub);
	sc_ed25519_keygen(fx->other_priv, fx->other_pub);
	sc_random_bytes(fx->digests, sizeof(fx->digests));
	sc_random_bytes(fx->iv, sizeof(fx->iv));
	sc_random_bytes(fx->tag, sizeof(fx->tag));
	sc_random_bytes(fx->share, sizeof(fx->share));
	*state = fx;
	return 0;
}

static int rec_teardown(void **state)
{
	free(*state);
	return 0;
}

static void test_record_round_trip(void **state)
{
	struct rec_fixture *fx = *state;
	struct record rec;

	make_record(fx, RECORD_PROTOCOL_CA, 2, fx->priv);
	assert_int_equal(store_record_parse(fx->buf, fx->len, &rec), 0);
	assert_int_equal(store_record_verify(&ID, fx->buf, &rec, fx->pub, 1), 0);
	assert_int_equal(rec.index, 2);
	assert_int_equal(rec.c.version, 42);
	assert_int_equal(rec.c.data_len, 1001);
	assert_int_equal(rec.c.frag_len, 501);
	assert_int_equal(rec.common_len, fx->common_len);
	assert_memory_equal(rec.share, fx->share, 32);
	assert_memory_equal(rec.c.digests, fx->digests, sizeof(fx->digests));
	assert_memory_equal(rec.c.iv, fx->iv, 12);
	assert_memory_equal(rec.c.name, "inode.0001", 10);

	make_record(fx, RECORD_PROTOCOL_A, 0, fx->priv);
	assert_int_equal(store_record_parse(fx->buf, fx->len, &rec), 0);
	assert_int_equal(store_record_verify(&ID, fx->buf, &rec, fx->pub, 1), 0);
	assert_null(rec.share);
}

/* A record signed for one store neither verifies nor hashes alike in another. */
static void test_record_is_bound_to_its_store_id(void **state)
{
	struct rec_fixture *fx = *state;
	struct record rec;
	uint8_t d1[32], d2[32];
	static const struct record_id empty = {(const uint8_t *)"", 0};

	make_record(fx, RECORD_PROTOCOL_CA, 1, fx->priv);
	assert_int_equal(store_record_parse(fx->buf, fx->len, &rec), 0);
	assert_int_equal(store_record_verify(&ID, fx->buf, &rec, fx->pub, 1), 0);
	assert_int_equal(store_record_verify(&OTHER_ID, fx->buf, &rec, fx->pub, 1), -EBADMSG);
	assert_int_equal(store_record_digest(&ID, fx->buf, rec.common_len, d1), 0);
	assert_int_equal(store_record_digest(&OTHER_ID, fx->buf, rec.common_len, d2), 0);
	assert_memory_not_equal(d1, d2, 32);
	assert_int_equal(store_record_digest(&empty, fx->buf, rec.common_len, d2), -EINVAL);
}

static void test_record_records_differ_only_in_index_and_share(void **state)
{
	struct rec_fixture *fx = *state;
	uint8_t first[RECORD_MAX_LEN];

	make_record(fx, RECORD_PROTOCOL_CA, 0, fx->priv);
	memcpy(first, fx->buf, fx->len);
	fx->share[0] ^= 1;
	make_record(fx, RECORD_PROTOCOL_CA, 1, fx->priv);
	assert_memory_equal(first, fx->buf, fx->common_len);
	assert_memory_not_equal(first + fx->common_len, fx->buf + fx->common_len, 2 + 32);
}

static void test_record_parse_rejects_short_and_oversized_input(void **state)
{
	struct rec_fixture *fx = *state;
	uint8_t big[RECORD_MAX_LEN + 64];
	struct record rec;

	make_record(fx, RECORD_PROTOCOL_CA, 1, fx->priv);
	for (size_t len = 0; len < fx->len; len++)
		assert_int_equal(store_record_parse(fx->buf, len, &rec), -EBADMSG);
	memcpy(big, fx->buf, fx->len);
	memset(big + fx->len, 0, sizeof(big) - fx->len);
	for (size_t len = fx->len + 1; len <= sizeof(big); len++)
		assert_int_equal(store_record_parse(big, len, &rec), -EBADMSG);
}

static void test_record_any_changed_byte_is_refused(void **state)
{
	struct rec_fixture *fx = *state;
	struct record rec;

	make_record(fx, RECORD_PROTOCOL_CA, 3, fx->priv);
	for (size_t i = 0; i < fx->len; i++) {
		for (unsigned bit = 0; bit < 8; bit += 3) {
			uint8_t copy[RECORD_MAX_LEN];
			memcpy(copy, fx->buf, fx->len);
			copy[i] ^= (uint8_t)(1u << bit);
			if (store_record_parse(copy, fx->len, &rec) == 0)
				assert_int_not_equal(
				    store_record_verify(&ID, copy, &rec, fx->pub, 1), 0);
		}
	}
}

static void test_record_wrong_signer_is_refused(void **state)
{
	struct rec_fixture *fx = *state;
	struct record rec;

	/* Signed by a key that is not trusted (its public key is in the record). */
	memcpy(fx->pub, fx->other_pub, 32);
	make_record(fx, RECORD_PROTOCOL_CA, 0, fx->other_priv);
	assert_int_equal(store_record_parse(fx->buf, fx->len, &rec), 0);
	sc_ed25519_public(fx->priv, fx->pub);
	assert_int_equal(store_record_verify(&ID, fx->buf, &rec, fx->pub, 1), -EKEYREJECTED);
	/* Claims the trusted key but was signed by another. */
	make_record(fx, RECORD_PROTOCOL_CA, 0, fx->other_priv);
	assert_int_equal(store_record_parse(fx->buf, fx->len, &rec), 0);
	assert_int_equal(store_record_verify(&ID, fx->buf, &rec, fx->pub, 1), -EBADMSG);
}

static void test_record_malformed_fields_are_refused(void **state)
{
	struct rec_fixture *fx = *state;
	struct record rec;
	uint8_t copy[RECORD_MAX_LEN];

	make_record(fx, RECORD_PROTOCOL_CA, 1, fx->priv);
	/* index >= n */
	memcpy(copy, fx->buf, fx->len);
	copy[fx->common_len] = 4;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	/* n = 0 and n above the maximum */
	memcpy(copy, fx->buf, fx->len);
	copy[7] = 0;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	copy[7] = 200;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	/* f >= n */
	memcpy(copy, fx->buf, fx->len);
	copy[8] = 4;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	/* unknown protocol, format and magic */
	memcpy(copy, fx->buf, fx->len);
	copy[6] = 3;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	memcpy(copy, fx->buf, fx->len);
	copy[5] = 1; /* format 1, from before store ids */
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	memcpy(copy, fx->buf, fx->len);
	copy[0] = 'X';
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	/* a name with a byte outside the allowed set, and a zero-length name */
	memcpy(copy, fx->buf, fx->len);
	copy[RECORD_HEADER_LEN + 2] = '/';
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	memcpy(copy, fx->buf, fx->len);
	copy[9] = 0;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	/* fragment length that does not follow from the data length */
	memcpy(copy, fx->buf, fx->len);
	copy[35] ^= 1;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	/* share length other than 32 for CA */
	memcpy(copy, fx->buf, fx->len);
	copy[fx->common_len + 1] = 31;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
	/* reserved bytes set */
	memcpy(copy, fx->buf, fx->len);
	copy[10] = 1;
	assert_int_equal(store_record_parse(copy, fx->len, &rec), -EBADMSG);
}

static void test_commit_round_trip_and_refusals(void **state)
{
	struct rec_fixture *fx = *state;
	uint8_t buf[COMMIT_MAX_LEN], copy[COMMIT_MAX_LEN + 8];
	size_t len;
	struct commit c;

	assert_int_equal(store_commit_encode(&ID, "unit.7", 9, 1001, fx->digests[0], fx->priv,
	                                     fx->pub, buf, sizeof(buf), &len),
	                 0);
	assert_int_equal(store_commit_parse(buf, len, &c), 0);
	assert_int_equal(store_commit_verify(&ID, buf, &c, fx->pub, 1), 0);
	assert_int_equal(c.version, 9);
	assert_int_equal(c.data_len, 1001);
	assert_memory_equal(c.digest, fx->digests[0], 32);
	/* The same commit read as another store's does not verify. */
	assert_int_equal(store_commit_verify(&OTHER_ID, buf, &c, fx->pub, 1), -EBADMSG);
	for (size_t l = 0; l < len; l++)
		assert_int_equal(store_commit_parse(buf, l, &c), -EBADMSG);
	memcpy(copy, buf, len);
	copy[len] = 0;
	assert_int_equal(store_commit_parse(copy, len + 1, &c), -EBADMSG);
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, buf, len);
		copy[i] ^= 0x10;
		if (store_commit_parse(copy, len, &c) == 0)
			assert_int_not_equal(store_commit_verify(&ID, copy, &c, fx->pub, 1), 0);
	}
	assert_int_equal(store_commit_verify(&ID, buf, &c, fx->other_pub, 1), -EKEYREJECTED);
}

static void test_names_and_index_keys(void **state)
{
	char oid[300], key[19], kind;
	uint64_t v;

	(void)state;
	assert_true(store_unit_name_valid("ino.00ff:3"));
	assert_false(store_unit_name_valid(""));
	assert_false(store_unit_name_valid("a/b"));
	assert_false(store_unit_name_valid("a b"));
	assert_int_equal(store_record_object_name("u", 0x1234, oid, sizeof(oid)), 0);
	assert_string_equal(oid, "scfs.du1.u.0000000000001234");
	assert_int_equal(store_record_index_name("u", oid, sizeof(oid)), 0);
	assert_string_equal(oid, "scfs.ui1.u");
	store_record_index_key(RECORD_KEY_COMMIT, 0xabcdef, key);
	assert_string_equal(key, "v.ffffffffff543210"); /* newest first */
	assert_int_equal(store_record_index_key_parse(key, 18, &kind, &v), 0);
	assert_int_equal(v, 0xabcdef);
	assert_int_equal(kind, RECORD_KEY_COMMIT);
	store_record_index_key(RECORD_KEY_PENDING, 7, key);
	assert_string_equal(key, "p.fffffffffffffff8");
	assert_int_equal(store_record_index_key_parse(key, 18, &kind, &v), 0);
	assert_int_equal(kind, RECORD_KEY_PENDING);
	assert_int_equal(store_record_index_key_parse("v.0000000000ABCDEF", 18, &kind, &v),
	                 -EBADMSG);
	assert_int_equal(store_record_index_key_parse("x.0000000000abcdef", 18, &kind, &v),
	                 -EBADMSG);
	assert_int_equal(store_record_index_key_parse(key, 17, &kind, &v), -EBADMSG);
}

/* ---- codec ---------------------------------------------------------- */

static void codec_round_trip(struct codec *codec, size_t len, bool every_subset)
{
	static const char aad[] = "scfs.du1 test";
	struct codec_encoded enc;
	uint8_t *data = malloc(len + 1), *out;

	assert_non_null(data);
	fill(data, len, (unsigned)len + 3);
	assert_int_equal(store_codec_encode(codec, data, len, aad, sizeof(aad), &enc), 0);
	assert_int_equal(enc.frag_len, (len + 1) / 2);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t d[32];
		sc_sha256(enc.frags[i], enc.frag_len, d);
		assert_memory_equal(d, enc.digests[i], 32);
	}
	for (unsigned mask = 0; mask < 16; mask++) {
		uint8_t *frags[16] = {0}, shares[2 * 32];
		unsigned idx[2], count = 0;
		if (__builtin_popcount(mask) != 2 || (!every_subset && mask != 0x3 && mask != 0xc))
			continue;
		for (unsigned i = 0; i < 4; i++)
			if (mask & (1u << i)) {
				frags[i] = (uint8_t *)enc.frags[i];
				idx[count] = i;
				memcpy(shares + 32 * count++, enc.shares[i], 32);
			}
		assert_int_equal(store_codec_decode(codec, frags, enc.frag_len, len, enc.iv,
		                                    enc.tag, idx, shares, 2, aad, sizeof(aad),
		                                    &out),
		                 0);
		assert_memory_equal(out, data, len);
		free(out);
	}
	store_codec_encoded_release(&enc);
	free(data);
}

/* Hashes COUNT streams of LEN bytes, the whole blocks first in pieces of SPLIT. */
static void digest_check(unsigned count, size_t len, size_t split, bool portable)
{
	struct digest_multi dm;
	uint8_t *bufs[5], got[5][32], want[32];
	const uint8_t *p[5];
	size_t whole = len - len % DIGEST_BLOCK, off = 0;

	for (unsigned i = 0; i < count; i++) {
		bufs[i] = malloc(len + 1);
		assert_non_null(bufs[i]);
		fill(bufs[i], len, 40 + i);
	}
	assert_int_equal(store_digest_multi_begin(&dm, count, portable), 0);
	while (off < whole) {
		size_t piece = whole - off < split ? whole - off : split;
		for (unsigned i = 0; i < count; i++)
			p[i] = bufs[i] + off;
		assert_int_equal(store_digest_multi_update(&dm, p, piece), 0);
		off += piece;
	}
	if (len > whole) {
		for (unsigned i = 0; i < count; i++)
			p[i] = bufs[i] + whole;
		assert_int_equal(store_digest_multi_update(&dm, p, len - whole), 0);
		/* Nothing may follow an unaligned update. */
		assert_int_equal(store_digest_multi_update(&dm, p, 64), -EINVAL);
	}
	assert_int_equal(store_digest_multi_end(&dm, got), 0);
	for (unsigned i = 0; i < count; i++) {
		sc_sha256(bufs[i], len, want);
		assert_memory_equal(got[i], want, 32);
		free(bufs[i]);
	}
}

static void test_digest_multi_equals_sha256_for_every_length(void **state)
{
	static const size_t lens[] = {0,   1,   55,  56,  57,  63,   64,   65,
	                              119, 120, 127, 128, 129, 1000, 4096, 262147};

	(void)state;
	if (!store_digest_multi_fast())
		print_message("no SHA-NI here: only the OpenSSL path is tested\n");
	for (unsigned count = 1; count <= 5; count++)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			digest_check(count, lens[i], 64, false);
			digest_check(count, lens[i], 4096, false);
			digest_check(count, lens[i], 4096, true);
		}
	for (size_t len = 0; len <= 200; len++)
		digest_check(2, len, 128, false);
}

/*
 * The reader's way (read.c): each stream advances on its own, in pieces of
 * PIECE bytes that arrive in a different order per stream, whole pieces of
 * whatever streams are ready go through together (pairs, odd ones alone),
 * the short last piece alone, and each stream is ended on its own; streams
 * never updated are ended empty. Every digest must be OpenSSL's.
 */
static void digest_streams_check(unsigned count, const size_t *lens, size_t piece, bool portable)
{
	struct digest_multi dm;
	uint8_t *bufs[5], got[32], want[32];
	size_t done[5] = {0};
	bool ended[5] = {false};
	unsigned round = 0;

	for (unsigned i = 0; i < count; i++) {
		bufs[i] = malloc(lens[i] + 1);
		assert_non_null(bufs[i]);
		fill(bufs[i], lens[i], 90 + i);
	}
	assert_int_equal(store_digest_multi_begin(&dm, count, portable), 0);
	for (;;) {
		unsigned streams[5], n = 0;
		const uint8_t *p[5];
		bool left = false;
		/* Stream i is "ready" in rounds where (round + i) % 3 != 0: uneven progress. */
		for (unsigned i = 0; i < count; i++) {
			if (ended[i] || lens[i] - done[i] < piece)
				continue;
			left = true;
			if ((round + i) % 3 == 0)
				continue;
			streams[n] = i;
			p[n++] = bufs[i] + done[i];
		}
		if (n)
			assert_int_equal(
			    store_digest_multi_update_streams(&dm, streams, n, p, piece), 0);
		for (unsigned j = 0; j < n; j++)
			done[streams[j]] += piece;
		round++;
		if (!left)
			break;
	}
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *p = bufs[i] + done[i];
		size_t rest = lens[i] - done[i];
		if (rest) {
			assert_int_equal(store_digest_multi_update_streams(&dm, &i, 1, &p, rest),
			                 0);
			if (rest % DIGEST_BLOCK)
				assert_int_equal(
				    store_digest_multi_update_streams(&dm, &i, 1, &p, 64), -EINVAL);
		}
		assert_int_equal(store_digest_multi_end_stream(&dm, i, got), 0);
		sc_sha256(bufs[i], lens[i], want);
		assert_memory_equal(got, want, 32);
		free(bufs[i]);
	}
	store_digest_multi_abort(&dm);
}

static void test_digest_streams_uneven_equal_sha256(void **state)
{
	static const size_t lens[][5] = {{0, 0, 0, 0, 0},
	                                 {1, 64, 65, 128, 4096},
	                                 {4096, 4096, 4096, 4096, 4096},
	                                 {8191, 8192, 8193, 0, 55},
	                                 {262144, 262147, 100000, 64, 63}};

	(void)state;
	for (unsigned count = 1; count <= 5; count++)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			digest_streams_check(count, lens[i], 64, false);
			digest_streams_check(count, lens[i], 4096, false);
			digest_streams_check(count, lens[i], 4096, true);
		}
}

/* A stream listed twice, out of range, or ended (all or one by one) is refused. */
static void test_digest_streams_refuse_misuse(void **state)
{
	struct digest_multi dm;
	uint8_t buf[128] = {0}, out[32], all[2][32];
	const uint8_t *p[2] = {buf, buf};
	unsigned bad = 2, one = 1, twice[2] = {0, 0};

	(void)state;
	for (int portable = 0; portable <= 1; portable++) {
		assert_int_equal(store_digest_multi_begin(&dm, 2, portable), 0);
		assert_int_equal(store_digest_multi_update_streams(&dm, &bad, 1, p, 64), -EINVAL);
		assert_int_equal(store_digest_multi_update_streams(&dm, twice, 2, p, 64), -EINVAL);
		assert_int_equal(store_digest_multi_end_stream(&dm, 2, out), -EINVAL);
		assert_int_equal(store_digest_multi_end_stream(&dm, 1, out), 0);
		assert_int_equal(store_digest_multi_update_streams(&dm, &one, 1, p, 64), -EINVAL);
		/* Stream 1 was taken one by one: the all-streams end refuses. */
		assert_int_equal(store_digest_multi_end(&dm, all), -EINVAL);
	}
}

static void test_codec_ca_round_trip_all_sizes(void **state)
{
	struct codec *codec;
	static const size_t big[] = {4095,     4096,           4097,           (1u << 20) - 1,
	                             1u << 20, (1u << 20) + 1, (4u << 20) - 1, 4u << 20};

	(void)state;
	assert_int_equal(store_codec_new(RECORD_PROTOCOL_CA, 4, 1, &codec), 0);
	for (size_t len = 0; len <= 300; len++)
		codec_round_trip(codec, len, len < 40);
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		codec_round_trip(codec, big[i], i < 3);
	/* The same with fragments hashed one at a time by OpenSSL. */
	store_codec_set_portable_digest(codec, true);
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		codec_round_trip(codec, big[i], false);
	store_codec_free(codec);
}

static void test_codec_ca_refuses_wrong_share_or_binding(void **state)
{
	static const char aad[] = "scfs.du1 v1", other_aad[] = "scfs.du1 v2";
	struct codec *codec;
	struct codec_encoded enc;
	uint8_t data[1000], *out = NULL, shares[64];
	uint8_t *frags[16] = {0};
	unsigned idx[2] = {0, 1};

	(void)state;
	fill(data, sizeof(data), 5);
	assert_int_equal(store_codec_new(RECORD_PROTOCOL_CA, 4, 1, &codec), 0);
	assert_int_equal(store_codec_encode(codec, data, sizeof(data), aad, sizeof(aad), &enc), 0);
	frags[0] = (uint8_t *)enc.frags[0];
	frags[1] = (uint8_t *)enc.frags[1];
	memcpy(shares, enc.shares[0], 32);
	memcpy(shares + 32, enc.shares[1], 32);
	assert_int_equal(store_codec_decode(codec, frags, enc.frag_len, sizeof(data), enc.iv,
	                                    enc.tag, idx, shares, 2, other_aad, sizeof(other_aad),
	                                    &out),
	                 -EBADMSG);
	assert_null(out);
	shares[40] ^= 1;
	assert_int_equal(store_codec_decode(codec, frags, enc.frag_len, sizeof(data), enc.iv,
	                                    enc.tag, idx, shares, 2, aad, sizeof(aad), &out),
	                 -EBADMSG);
	assert_null(out);
	/* The ciphertext fragments do not contain the plaintext. */
	assert_null(memmem(enc.buf, 4 * enc.frag_len, data, 64));
	store_codec_encoded_release(&enc);
	store_codec_free(codec);
}

/*
 * Repair: any k of a CA unit's fragments rebuild all n exactly as the
 * writer's encode made them (so their signed digests match); fewer give
 * -EIO, and protocol A has nothing to rebuild.
 */
static void test_codec_ca_rebuild_from_any_k_gives_the_writers_fragments(void **state)
{
	struct codec *codec, *a;
	struct codec_encoded enc;
	static const size_t lens[] = {0, 1, 4095, 4096, 100001, 1u << 20};
	uint8_t *data = malloc(1u << 20);

	(void)state;
	assert_non_null(data);
	fill(data, 1u << 20, 3);
	assert_int_equal(store_codec_new(RECORD_PROTOCOL_CA, 4, 1, &codec), 0);
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		assert_int_equal(store_codec_encode(codec, data, lens[l], "x", 1, &enc), 0);
		for (unsigned mask = 0; mask < 16; mask++) {
			uint8_t *have[16] = {0}, *out[16], *buf = NULL;
			unsigned count = (unsigned)__builtin_popcount(mask);
			for (unsigned i = 0; i < 4; i++)
				if (mask & (1u << i))
					have[i] = (uint8_t *)enc.frags[i];
			if (count < 2) {
				assert_int_equal(
				    store_codec_rebuild(codec, have, enc.frag_len, &buf, out),
				    -EIO);
				assert_null(buf);
				continue;
			}
			assert_int_equal(store_codec_rebuild(codec, have, enc.frag_len, &buf, out),
			                 0);
			for (unsigned i = 0; i < 4; i++) {
				uint8_t d[32];
				assert_int_equal(sc_sha256(out[i], enc.frag_len, d), 0);
				assert_memory_equal(d, enc.digests[i], 32);
			}
			free(buf);
		}
		store_codec_encoded_release(&enc);
	}
	assert_int_equal(store_codec_new(RECORD_PROTOCOL_A, 4, 1, &a), 0);
	{
		uint8_t *have[16] = {data, data, data, data}, *out[16], *buf = NULL;
		assert_int_equal(store_codec_rebuild(a, have, 10, &buf, out), -EINVAL);
	}
	store_codec_free(a);
	store_codec_free(codec);
	free(data);
}

static void test_codec_a_stores_whole_unit_hashed_once(void **state)
{
	struct codec *codec;
	struct codec_encoded enc;
	uint8_t data[5000], d[32];

	(void)state;
	fill(data, sizeof(data), 9);
	assert_int_equal(store_codec_new(RECORD_PROTOCOL_A, 4, 1, &codec), 0);
	assert_int_equal(store_codec_encode(codec, data, sizeof(data), NULL, 0, &enc), 0);
	assert_int_equal(enc.frag_len, sizeof(data));
	sc_sha256(data, sizeof(data), d);
	for (unsigned i = 0; i < 4; i++) {
		assert_ptr_equal(enc.frags[i], data);
		assert_memory_equal(enc.digests[i], d, 32);
	}
	assert_null(enc.buf);
	store_codec_encoded_release(&enc);
	store_codec_free(codec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_erasure_any_k_fragments_rebuild),
	    cmocka_unit_test(test_erasure_rejects_bad_parameters),
	    cmocka_unit_test(test_secret_any_threshold_shares_rebuild_key),
	    cmocka_unit_test(test_secret_fewer_than_threshold_shares_do_not_rebuild_key),
	    cmocka_unit_test(test_secret_randomness_comes_from_openssl),
	    cmocka_unit_test(test_secret_threshold_shares_rebuild_every_other_share),
	    cmocka_unit_test_setup_teardown(test_record_round_trip, rec_setup, rec_teardown),
	    cmocka_unit_test_setup_teardown(test_record_is_bound_to_its_store_id, rec_setup,
	                                    rec_teardown),
	    cmocka_unit_test_setup_teardown(test_record_records_differ_only_in_index_and_share,
	                                    rec_setup, rec_teardown),
	    cmocka_unit_test_setup_teardown(test_record_parse_rejects_short_and_oversized_input,
	                                    rec_setup, rec_teardown),
	    cmocka_unit_test_setup_teardown(test_record_any_changed_byte_is_refused, rec_setup,
	                                    rec_teardown),
	    cmocka_unit_test_setup_teardown(test_record_wrong_signer_is_refused, rec_setup,
	                                    rec_teardown),
	    cmocka_unit_test_setup_teardown(test_record_malformed_fields_are_refused, rec_setup,
	                                    rec_teardown),
	    cmocka_unit_test_setup_teardown(test_commit_round_trip_and_refusals, rec_setup,
	                                    rec_teardown),
	    cmocka_unit_test(test_names_and_index_keys),
	    cmocka_unit_test(test_digest_multi_equals_sha256_for_every_length),
	    cmocka_unit_test(test_digest_streams_uneven_equal_sha256),
	    cmocka_unit_test(test_digest_streams_refuse_misuse),
	    cmocka_unit_test(test_codec_ca_round_trip_all_sizes),
	    cmocka_unit_test(test_codec_ca_refuses_wrong_share_or_binding),
	    cmocka_unit_test(test_codec_ca_rebuild_from_any_k_gives_the_writers_fragments),
	    cmocka_unit_test(test_codec_a_stores_whole_unit_hashed_once),
	};

	return cmocka_run_group_tests_name("store-pure", tests, NULL, NULL);
}

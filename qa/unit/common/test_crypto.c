/*
 * Unit tests of common/crypto: every primitive against its published vectors
 * (FIPS 180-2, RFC 5869, the GCM specification's 256-bit test cases 13-16,
 * RFC 8032 section 7.1, RFC 7748 sections 5.2 and 6.1), then the failures
 * that keep the suite safe: tampered AEAD input is refused and leaves no
 * plaintext behind, forged signatures do not verify, low-order X25519 keys
 * give no shared secret.
 *
 * Vectors are hex strings copied from the documents and decoded by a helper
 * of this file (not sc_hex_decode), so a bug in util cannot hide one here.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/crypto.h"

#define MAX_VECTOR_LEN 1024

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes the vector HEX into OUT (CAP bytes); returns its length. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t len = strlen(hex);

	assert_int_equal(len % 2, 0);
	assert_true(len / 2 <= cap);
	for (size_t i = 0; i < len / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		assert_true(hi >= 0 && lo >= 0);
		out[i] = (uint8_t)((unsigned)hi << 4 | (unsigned)lo);
	}
	return len / 2;
}

/* Decodes a vector that must be exactly LEN bytes long. */
static void unhex_exact(const char *hex, uint8_t *out, size_t len)
{
	assert_int_equal(unhex(hex, out, len), len);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- SHA-256: FIPS 180-2 appendix B ---- */

static const char SHA256_ABC[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char SHA256_EMPTY[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char MSG_448_BITS[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char SHA256_448_BITS[] =
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
static const char SHA256_MILLION_A[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void assert_sha256(const void *msg, size_t len, const char *want_hex)
{
	uint8_t want[SC_SHA256_LEN], got[SC_SHA256_LEN];

	unhex_exact(want_hex, want, sizeof(want));
	assert_int_equal(sc_sha256(msg, len, got), 0);
	assert_memory_equal(got, want, sizeof(want));
}

static void test_sha256_of_abc_matches_fips180(void **state)
{
	assert_sha256("abc", 3, SHA256_ABC);
}

static void test_sha256_of_empty_string_matches_fips180(void **state)
{
	assert_sha256("", 0, SHA256_EMPTY);
}

static void test_sha256_of_448_bit_message_matches_fips180(void **state)
{
	assert_int_equal(strlen(MSG_448_BITS), 56);
	assert_sha256(MSG_448_BITS, strlen(MSG_448_BITS), SHA256_448_BITS);
}

static void test_sha256_incremental_of_million_a_matches_fips180(void **state)
{
	/* Pieces of a prime size, so they straddle the 64-byte blocks every way. */
	enum { TOTAL = 1000000, PIECE = 997 };
	static uint8_t a[PIECE];
	uint8_t want[SC_SHA256_LEN], got[SC_SHA256_LEN];
	struct sc_sha256_ctx *ctx = NULL;
	size_t done = 0;

	memset(a, 'a', sizeof(a));
	unhex_exact(SHA256_MILLION_A, want, sizeof(want));
	assert_int_equal(sc_sha256_begin(&ctx), 0);
	assert_non_null(ctx);
	while (done < TOTAL) {
		size_t n = TOTAL - done < PIECE ? TOTAL - done : PIECE;
		assert_int_equal(sc_sha256_update(ctx, a, n), 0);
		done += n;
	}
	assert_int_equal(sc_sha256_end(ctx, got), 0);
	assert_memory_equal(got, want, sizeof(want));
}

static void test_sha256_incremental_split_anywhere_matches_one_shot(void **state)
{
	uint8_t want[SC_SHA256_LEN], got[SC_SHA256_LEN];
	size_t len = strlen(MSG_448_BITS);

	unhex_exact(SHA256_448_BITS, want, sizeof(want));
	for (size_t split = 0; split <= len; split++) {
		struct sc_sha256_ctx *ctx = NULL;
		assert_int_equal(sc_sha256_begin(&ctx), 0);
		assert_int_equal(sc_sha256_update(ctx, MSG_448_BITS, split), 0);
		assert_int_equal(sc_sha256_update(ctx, MSG_448_BITS + split, len - split), 0);
		memset(got, 0, sizeof(got));
		assert_int_equal(sc_sha256_end(ctx, got), 0);
		assert_memory_equal(got, want, sizeof(want));
	}
}

static void test_sha256_context_can_be_abandoned(void **state)
{
	struct sc_sha256_ctx *ctx = NULL;

	/* Under valgrind this proves sc_sha256_free releases a half-used context. */
	assert_int_equal(sc_sha256_begin(&ctx), 0);
	assert_int_equal(sc_sha256_update(ctx, "abc", 3), 0);
	sc_sha256_free(ctx);
	sc_sha256_free(NULL);
}

/* ---- HKDF-SHA-256: RFC 5869 appendix A.1-A.3 ---- */

struct hkdf_vector {
	const char *name, *ikm, *salt, *info, *okm;
};

static const struct hkdf_vector HKDF_VECTORS[] = {
    {
        .name = "RFC 5869 A.1 (basic)",
        .ikm = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        .salt = "000102030405060708090a0b0c",
        .info = "f0f1f2f3f4f5f6f7f8f9",
        .okm = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
               "34007208d5b887185865",
    },
    {
        .name = "RFC 5869 A.2 (longer inputs and outputs)",
        .ikm = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
               "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
               "404142434445464748494a4b4c4d4e4f",
        .salt = "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
                "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
                "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
        .info = "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
                "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
                "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        .okm = "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
               "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
               "cc30c58179ec3e87c14c01d5c1f3434f1d87",
    },
    {
        .name = "RFC 5869 A.3 (zero-length salt and info)",
        .ikm = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        .salt = "",
        .info = "",
        .okm = "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
               "9d201395faa4b61a96c8",
    },
};

static void test_hkdf_sha256_matches_rfc5869_cases_1_to_3(void **state)
{
	for (size_t i = 0; i < sizeof(HKDF_VECTORS) / sizeof(HKDF_VECTORS[0]); i++) {
		const struct hkdf_vector *v = &HKDF_VECTORS[i];
		uint8_t ikm[128], salt[128], info[128], want[128], got[128];
		size_t ikm_len = unhex(v->ikm, ikm, sizeof(ikm));
		size_t salt_len = unhex(v->salt, salt, sizeof(salt));
		size_t info_len = unhex(v->info, info, sizeof(info));
		size_t okm_len = unhex(v->okm, want, sizeof(want));

		print_message("%s\n", v->name);
		memset(got, 0, sizeof(got));
		assert_int_equal(sc_hkdf_sha256(salt_len ? salt : NULL, salt_len, ikm, ikm_len,
		                                info_len ? info : NULL, info_len, got, okm_len),
		                 0);
		assert_memory_equal(got, want, okm_len);
		/* Nothing written past OUT_LEN. */
		assert_true(all_zero(got + okm_len, sizeof(got) - okm_len));
	}
}

static void test_hkdf_sha256_refuses_output_lengths_outside_rfc5869(void **state)
{
	static uint8_t out[255 * SC_SHA256_LEN + 1];
	const uint8_t ikm[22] = {0x0b};

	assert_int_equal(sc_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, out, 0), -EINVAL);
	assert_int_equal(sc_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, out, sizeof(out)),
	                 -EINVAL);
	/* The limit itself is allowed. */
	assert_int_equal(sc_hkdf_sha256(NULL, 0, ikm, sizeof(ikm), NULL, 0, out, sizeof(out) - 1),
	                 0);
}

/* ---- AES-256-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13-16 ----
 */

struct gcm_vector {
	const char *name, *key, *iv, *aad, *plain, *cipher, *tag;
};

#define GCM_KEY_15 "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define GCM_IV_15 "cafebabefacedbaddecaf888"
#define GCM_PLAIN_60                                                                               \
	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"                         \
	"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_CIPHER_60                                                                              \
	"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"                         \
	"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"

static const struct gcm_vector GCM_VECTORS[] = {
    {
        .name = "GCM test case 13 (empty plaintext, no AAD)",
        .key = "0000000000000000000000000000000000000000000000000000000000000000",
        .iv = "000000000000000000000000",
        .aad = "",
        .plain = "",
        .cipher = "",
        .tag = "530f8afbc74536b9a963b4f1c4cb738b",
    },
    {
        .name = "GCM test case 14 (one zero block, no AAD)",
        .key = "0000000000000000000000000000000000000000000000000000000000000000",
        .iv = "000000000000000000000000",
        .aad = "",
        .plain = "00000000000000000000000000000000",
        .cipher = "cea7403d4d606b6e074ec5d3baf39d18",
        .tag = "d0d1c8a799996bf0265b98b5d48ab919",
    },
    {
        .name = "GCM test case 15 (four blocks, no AAD)",
        .key = GCM_KEY_15,
        .iv = GCM_IV_15,
        .aad = "",
        .plain = GCM_PLAIN_60 "1aafd255",
        .cipher = GCM_CIPHER_60 "898015ad",
        .tag = "b094dac5d93471bdec1a502270e3cc6c",
    },
    {
        .name = "GCM test case 16 (60 bytes, 20 bytes of AAD)",
        .key = GCM_KEY_15,
        .iv = GCM_IV_15,
        .aad = "feedfacedeadbeeffeedfacedeadbeefabaddad2",
        .plain = GCM_PLAIN_60,
        .cipher = GCM_CIPHER_60,
        .tag = "76fc6ece0f4e1768cddf8853bb2d551b",
    },
};

#define GCM_COUNT (sizeof(GCM_VECTORS) / sizeof(GCM_VECTORS[0]))

struct gcm_case {
	uint8_t key[SC_AES256_KEY_LEN], iv[SC_GCM_IV_LEN], tag[SC_GCM_TAG_LEN];
	uint8_t aad[64], plain[64], cipher[64];
	size_t aad_len, len;
};

static void gcm_case_load(const struct gcm_vector *v, struct gcm_case *c)
{
	memset(c, 0, sizeof(*c));
	print_message("%s\n", v->name);
	unhex_exact(v->key, c->key, sizeof(c->key));
	unhex_exact(v->iv, c->iv, sizeof(c->iv));
	unhex_exact(v->tag, c->tag, sizeof(c->tag));
	c->aad_len = unhex(v->aad, c->aad, sizeof(c->aad));
	c->len = unhex(v->plain, c->plain, sizeof(c->plain));
	assert_int_equal(unhex(v->cipher, c->cipher, sizeof(c->cipher)), c->len);
}

static const void *gcm_aad(const struct gcm_case *c)
{
	return c->aad_len ? c->aad : NULL;
}

/* Opens C with its ciphertext, tag and AAD as given; expects -EBADMSG and a wiped OUT. */
static void assert_gcm_open_refused(const struct gcm_case *c, const uint8_t *aad,
                                    const uint8_t *cipher, const uint8_t *tag)
{
	uint8_t out[64];

	memset(out, 0x5a, sizeof(out));
	assert_int_equal(
	    sc_aes256gcm_open(c->key, c->iv, aad, c->aad_len, cipher, c->len, tag, out), -EBADMSG);
	assert_true(all_zero(out, c->len));
}

static void test_gcm_seal_matches_spec_cases_13_to_16(void **state)
{
	for (size_t i = 0; i < GCM_COUNT; i++) {
		struct gcm_case c;
		uint8_t out[64], tag[SC_GCM_TAG_LEN];

		gcm_case_load(&GCM_VECTORS[i], &c);
		memset(out, 0, sizeof(out));
		assert_int_equal(sc_aes256gcm_seal(c.key, c.iv, gcm_aad(&c), c.aad_len, c.plain,
		                                   c.len, out, tag),
		                 0);
		assert_memory_equal(out, c.cipher, c.len);
		assert_memory_equal(tag, c.tag, sizeof(tag));
		assert_true(all_zero(out + c.len, sizeof(out) - c.len));
	}
}

static void test_gcm_open_recovers_spec_plaintexts(void **state)
{
	for (size_t i = 0; i < GCM_COUNT; i++) {
		struct gcm_case c;
		uint8_t out[64];

		gcm_case_load(&GCM_VECTORS[i], &c);
		memset(out, 0xa5, sizeof(out));
		assert_int_equal(sc_aes256gcm_open(c.key, c.iv, gcm_aad(&c), c.aad_len, c.cipher,
		                                   c.len, c.tag, out),
		                 0);
		assert_memory_equal(out, c.plain, c.len);
	}
}

static void test_gcm_seal_and_open_work_in_place(void **state)
{
	struct gcm_case c;
	uint8_t buf[64], tag[SC_GCM_TAG_LEN];

	gcm_case_load(&GCM_VECTORS[3], &c);
	memcpy(buf, c.plain, c.len);
	assert_int_equal(sc_aes256gcm_seal(c.key, c.iv, c.aad, c.aad_len, buf, c.len, buf, tag), 0);
	assert_memory_equal(buf, c.cipher, c.len);
	assert_memory_equal(tag, c.tag, sizeof(tag));
	assert_int_equal(sc_aes256gcm_open(c.key, c.iv, c.aad, c.aad_len, buf, c.len, tag, buf), 0);
	assert_memory_equal(buf, c.plain, c.len);
}

static void test_gcm_open_refuses_any_flipped_ciphertext_bit(void **state)
{
	for (size_t i = 0; i < GCM_COUNT; i++) {
		struct gcm_case c;

		gcm_case_load(&GCM_VECTORS[i], &c);
		for (size_t bit = 0; bit < 8 * c.len; bit++) {
			uint8_t cipher[64];
			memcpy(cipher, c.cipher, c.len);
			cipher[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_gcm_open_refused(&c, gcm_aad(&c), cipher, c.tag);
		}
	}
}

static void test_gcm_open_refuses_any_flipped_tag_bit(void **state)
{
	for (size_t i = 0; i < GCM_COUNT; i++) {
		struct gcm_case c;

		gcm_case_load(&GCM_VECTORS[i], &c);
		for (size_t bit = 0; bit < 8 * SC_GCM_TAG_LEN; bit++) {
			uint8_t tag[SC_GCM_TAG_LEN];
			memcpy(tag, c.tag, sizeof(tag));
			tag[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_gcm_open_refused(&c, gcm_aad(&c), c.cipher, tag);
		}
	}
}

static void test_gcm_open_refuses_any_flipped_aad_byte(void **state)
{
	struct gcm_case c;
	uint8_t out[64];

	gcm_case_load(&GCM_VECTORS[3], &c);
	assert_int_equal(c.aad_len, 20);
	for (size_t i = 0; i < c.aad_len; i++) {
		uint8_t aad[64];
		memcpy(aad, c.aad, c.aad_len);
		aad[i] ^= 0x01;
		assert_gcm_open_refused(&c, aad, c.cipher, c.tag);
	}
	/* Dropping the AAD altogether is a change too. */
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(sc_aes256gcm_open(c.key, c.iv, NULL, 0, c.cipher, c.len, c.tag, out),
	                 -EBADMSG);
	assert_true(all_zero(out, c.len));
}

static void test_gcm_open_refuses_another_key_or_iv(void **state)
{
	struct gcm_case c;
	uint8_t out[64];

	gcm_case_load(&GCM_VECTORS[2], &c);
	c.key[31] ^= 0x80;
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(sc_aes256gcm_open(c.key, c.iv, NULL, 0, c.cipher, c.len, c.tag, out),
	                 -EBADMSG);
	assert_true(all_zero(out, c.len));
	c.key[31] ^= 0x80;
	c.iv[0] ^= 0x01;
	memset(out, 0x5a, sizeof(out));
	assert_int_equal(sc_aes256gcm_open(c.key, c.iv, NULL, 0, c.cipher, c.len, c.tag, out),
	                 -EBADMSG);
	assert_true(all_zero(out, c.len));
}

static void test_gcm_open_refuses_tampering_in_place_and_wipes(void **state)
{
	struct gcm_case c;
	uint8_t buf[64];

	gcm_case_load(&GCM_VECTORS[2], &c);
	memcpy(buf, c.cipher, c.len);
	buf[c.len - 1] ^= 0x01;
	assert_int_equal(sc_aes256gcm_open(c.key, c.iv, NULL, 0, buf, c.len, c.tag, buf), -EBADMSG);
	assert_true(all_zero(buf, c.len));
}

/* ---- Ed25519: RFC 8032 section 7.1 ---- */

struct ed25519_vector {
	const char *name, *secret, *public, *message, *signature;
};

static const struct ed25519_vector ED25519_VECTORS[] = {
    {
        .name = "RFC 8032 7.1 TEST 1",
        .secret = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        .public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        .message = "",
        .signature = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    },
    {
        .name = "RFC 8032 7.1 TEST 2",
        .secret = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        .public = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        .message = "72",
        .signature = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    },
    {
        .name = "RFC 8032 7.1 TEST 3",
        .secret = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        .public = "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        .message = "af82",
        .signature = "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    },
    {
        .name = "RFC 8032 7.1 TEST 1024",
        .secret = "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        .public = "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        .message = "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98"
                   "fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
                   "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
                   "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
                   "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe"
                   "ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
                   "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef"
                   "efd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
                   "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
                   "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
                   "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24"
                   "554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
                   "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc"
                   "2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
                   "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
                   "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
                   "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429e"
                   "c96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
                   "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c"
                   "42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
                   "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
                   "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
                   "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649"
                   "de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
                   "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3"
                   "2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
                   "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
                   "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
                   "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1"
                   "369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
                   "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c"
                   "0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
        .signature = "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350"
                     "aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03",
    },
};

#define ED25519_COUNT (sizeof(ED25519_VECTORS) / sizeof(ED25519_VECTORS[0]))

struct ed25519_case {
	uint8_t secret[SC_ED25519_KEY_LEN], public[SC_ED25519_KEY_LEN];
	uint8_t signature[SC_ED25519_SIG_LEN];
	uint8_t message[MAX_VECTOR_LEN + 1];
	size_t len;
};

static void ed25519_case_load(const struct ed25519_vector *v, struct ed25519_case *c)
{
	memset(c, 0, sizeof(*c));
	print_message("%s\n", v->name);
	unhex_exact(v->secret, c->secret, sizeof(c->secret));
	unhex_exact(v->public, c->public, sizeof(c->public));
	unhex_exact(v->signature, c->signature, sizeof(c->signature));
	c->len = unhex(v->message, c->message, MAX_VECTOR_LEN);
}

static void test_ed25519_public_key_from_private_matches_rfc8032(void **state)
{
	for (size_t i = 0; i < ED25519_COUNT; i++) {
		struct ed25519_case c;
		uint8_t pub[SC_ED25519_KEY_LEN];

		ed25519_case_load(&ED25519_VECTORS[i], &c);
		assert_int_equal(sc_ed25519_public(c.secret, pub), 0);
		assert_memory_equal(pub, c.public, sizeof(pub));
	}
}

static void test_ed25519_signature_matches_rfc8032(void **state)
{
	assert_int_equal(ED25519_COUNT, 4);
	assert_int_equal(strlen(ED25519_VECTORS[3].message), 2 * 1023);
	for (size_t i = 0; i < ED25519_COUNT; i++) {
		struct ed25519_case c;
		uint8_t sig[SC_ED25519_SIG_LEN];

		ed25519_case_load(&ED25519_VECTORS[i], &c);
		assert_int_equal(sc_ed25519_sign(c.secret, c.message, c.len, sig), 0);
		assert_memory_equal(sig, c.signature, sizeof(sig));
	}
}

static void test_ed25519_verify_accepts_rfc8032_signatures(void **state)
{
	for (size_t i = 0; i < ED25519_COUNT; i++) {
		struct ed25519_case c;

		ed25519_case_load(&ED25519_VECTORS[i], &c);
		assert_int_equal(sc_ed25519_verify(c.public, c.message, c.len, c.signature), 0);
	}
}

static void test_ed25519_verify_refuses_modified_message(void **state)
{
	for (size_t i = 0; i < ED25519_COUNT; i++) {
		struct ed25519_case c;

		ed25519_case_load(&ED25519_VECTORS[i], &c);
		/* One byte longer (TEST 1's message is empty, so this is its only change). */
		assert_int_equal(sc_ed25519_verify(c.public, c.message, c.len + 1, c.signature),
		                 -EBADMSG);
		for (size_t j = 0; j < c.len; j++) {
			c.message[j] ^= 0x01;
			assert_int_equal(sc_ed25519_verify(c.public, c.message, c.len, c.signature),
			                 -EBADMSG);
			c.message[j] ^= 0x01;
		}
		if (c.len > 0)
			assert_int_equal(
			    sc_ed25519_verify(c.public, c.message, c.len - 1, c.signature),
			    -EBADMSG);
	}
}

static void test_ed25519_verify_refuses_any_flipped_signature_bit(void **state)
{
	for (size_t i = 0; i < ED25519_COUNT; i++) {
		struct ed25519_case c;

		ed25519_case_load(&ED25519_VECTORS[i], &c);
		for (size_t bit = 0; bit < 8 * SC_ED25519_SIG_LEN; bit++) {
			c.signature[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(sc_ed25519_verify(c.public, c.message, c.len, c.signature),
			                 -EBADMSG);
			c.signature[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
	}
}

static void test_ed25519_verify_refuses_another_public_key(void **state)
{
	struct ed25519_case one, two;

	ed25519_case_load(&ED25519_VECTORS[0], &one);
	ed25519_case_load(&ED25519_VECTORS[1], &two);
	assert_int_equal(sc_ed25519_verify(two.public, one.message, one.len, one.signature),
	                 -EBADMSG);
	assert_int_equal(sc_ed25519_verify(one.public, two.message, two.len, two.signature),
	                 -EBADMSG);
}

static void test_ed25519_keygen_gives_working_distinct_keys(void **state)
{
	uint8_t priv1[SC_ED25519_KEY_LEN], pub1[SC_ED25519_KEY_LEN], derived[SC_ED25519_KEY_LEN];
	uint8_t priv2[SC_ED25519_KEY_LEN], pub2[SC_ED25519_KEY_LEN];
	uint8_t sig[SC_ED25519_SIG_LEN];
	static const char msg[] = "knock knock";

	assert_int_equal(sc_ed25519_keygen(priv1, pub1), 0);
	assert_int_equal(sc_ed25519_keygen(priv2, pub2), 0);
	assert_memory_not_equal(priv1, priv2, sizeof(priv1));
	assert_memory_not_equal(pub1, pub2, sizeof(pub1));
	assert_int_equal(sc_ed25519_public(priv1, derived), 0);
	assert_memory_equal(derived, pub1, sizeof(pub1));
	assert_int_equal(sc_ed25519_sign(priv1, msg, sizeof(msg), sig), 0);
	assert_int_equal(sc_ed25519_verify(pub1, msg, sizeof(msg), sig), 0);
	assert_int_equal(sc_ed25519_verify(pub2, msg, sizeof(msg), sig), -EBADMSG);
}

/* ---- X25519: RFC 7748 sections 5.2 and 6.1 ---- */

static void assert_x25519(const char *scalar_hex, const char *u_hex, const char *want_hex)
{
	uint8_t scalar[SC_X25519_KEY_LEN], u[SC_X25519_KEY_LEN], want[SC_X25519_KEY_LEN];
	uint8_t got[SC_X25519_KEY_LEN];

	unhex_exact(scalar_hex, scalar, sizeof(scalar));
	unhex_exact(u_hex, u, sizeof(u));
	unhex_exact(want_hex, want, sizeof(want));
	assert_int_equal(sc_x25519(scalar, u, got), 0);
	assert_memory_equal(got, want, sizeof(want));
}

static void test_x25519_matches_rfc7748_section_5_2_vectors(void **state)
{
	assert_x25519("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
	              "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
	              "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	/* This u has its top bit set, which X25519 must ignore. */
	assert_x25519("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
	              "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
	              "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

static void test_x25519_iterated_matches_rfc7748_after_1_and_1000_rounds(void **state)
{
	uint8_t k[SC_X25519_KEY_LEN] = {9}, u[SC_X25519_KEY_LEN] = {9};
	uint8_t after1[SC_X25519_KEY_LEN], after1000[SC_X25519_KEY_LEN];

	unhex_exact("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079", after1,
	            sizeof(after1));
	unhex_exact("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51", after1000,
	            sizeof(after1000));
	for (int round = 1; round <= 1000; round++) {
		uint8_t next[SC_X25519_KEY_LEN];
		assert_int_equal(sc_x25519(k, u, next), 0);
		memcpy(u, k, sizeof(u));
		memcpy(k, next, sizeof(k));
		if (round == 1)
			assert_memory_equal(k, after1, sizeof(k));
	}
	assert_memory_equal(k, after1000, sizeof(k));
}

static void test_x25519_diffie_hellman_matches_rfc7748_section_6_1(void **state)
{
	uint8_t alice_priv[32], alice_pub[32], bob_priv[32], bob_pub[32], want_shared[32];
	uint8_t pub[32], alice_shared[32], bob_shared[32];

	unhex_exact("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", alice_priv,
	            32);
	unhex_exact("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", alice_pub,
	            32);
	unhex_exact("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", bob_priv,
	            32);
	unhex_exact("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bob_pub,
	            32);
	unhex_exact("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want_shared,
	            32);

	assert_int_equal(sc_x25519_public(alice_priv, pub), 0);
	assert_memory_equal(pub, alice_pub, 32);
	assert_int_equal(sc_x25519_public(bob_priv, pub), 0);
	assert_memory_equal(pub, bob_pub, 32);
	assert_int_equal(sc_x25519(alice_priv, bob_pub, alice_shared), 0);
	assert_int_equal(sc_x25519(bob_priv, alice_pub, bob_shared), 0);
	assert_memory_equal(alice_shared, want_shared, 32);
	assert_memory_equal(bob_shared, want_shared, 32);
}

static void test_x25519_refuses_low_order_peer_with_all_zero_secret(void **state)
{
	/*
	 * u-coordinates of the points of order 1, 2, 4 and 8 and their
	 * non-canonical encodings (p-1, p, p+1): any clamped scalar times one of
	 * them is the all-zero secret that RFC 7748 section 6.1 says to check for.
	 */
	static const char *const low_order[] = {
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "0100000000000000000000000000000000000000000000000000000000000000",
	    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t priv[32], peer[32], shared[32];

	unhex_exact("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", priv, 32);
	for (size_t i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		print_message("peer u = %s\n", low_order[i]);
		unhex_exact(low_order[i], peer, sizeof(peer));
		assert_int_equal(sc_x25519(priv, peer, shared), -EINVAL);
	}
}

static void test_x25519_keygen_sides_agree(void **state)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], derived[32];
	uint8_t a_shared[32], b_shared[32];

	assert_int_equal(sc_x25519_keygen(a_priv, a_pub), 0);
	assert_int_equal(sc_x25519_keygen(b_priv, b_pub), 0);
	assert_memory_not_equal(a_priv, b_priv, 32);
	assert_int_equal(sc_x25519_public(a_priv, derived), 0);
	assert_memory_equal(derived, a_pub, 32);
	assert_int_equal(sc_x25519(a_priv, b_pub, a_shared), 0);
	assert_int_equal(sc_x25519(b_priv, a_pub, b_shared), 0);
	assert_memory_equal(a_shared, b_shared, 32);
	assert_false(all_zero(a_shared, 32));
}

/* ---- random bytes, constant-time compare, wipe ---- */

static void test_random_bytes_fill_distinct_buffers(void **state)
{
	uint8_t a[32] = {0}, b[32] = {0};
	static uint8_t big[1 << 16];
	size_t counts[256] = {0};

	assert_int_equal(sc_random_bytes(a, sizeof(a)), 0);
	assert_int_equal(sc_random_bytes(b, sizeof(b)), 0);
	assert_false(all_zero(a, sizeof(a)));
	assert_false(all_zero(b, sizeof(b)));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(sc_random_bytes(a, 0), 0);

	/* 64 KiB of random bytes use every byte value (failing odds about 256 * e^-256). */
	assert_int_equal(sc_random_bytes(big, sizeof(big)), 0);
	for (size_t i = 0; i < sizeof(big); i++)
		counts[big[i]]++;
	for (size_t v = 0; v < 256; v++)
		assert_true(counts[v] > 0);
}

static void test_memcmp_const_finds_a_difference_anywhere(void **state)
{
	uint8_t a[64], b[64];

	for (size_t i = 0; i < sizeof(a); i++)
		a[i] = (uint8_t)(i * 7 + 1);
	memcpy(b, a, sizeof(b));
	assert_int_equal(sc_memcmp_const(a, b, sizeof(a)), 0);
	assert_int_equal(sc_memcmp_const(a, b, 0), 0);
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		assert_int_not_equal(sc_memcmp_const(a, b, sizeof(a)), 0);
		/* Bytes past LEN do not count. */
		assert_int_equal(sc_memcmp_const(a, b, i), 0);
		b[i] ^= 0x80;
	}
}

static void test_wipe_zeroes_exactly_the_given_bytes(void **state)
{
	uint8_t secret[48];

	memset(secret, 0xa5, sizeof(secret));
	sc_wipe(secret + 8, 32);
	for (size_t i = 0; i < sizeof(secret); i++)
		assert_int_equal(secret[i], i >= 8 && i < 40 ? 0 : 0xa5);
	sc_wipe(secret, sizeof(secret));
	assert_true(all_zero(secret, sizeof(secret)));
	sc_wipe(secret, 0);
}

/* ---- threads ---- */

#define THREADS 4

/* What every thread checks; filled in before the threads start, then only read. */
struct crypto_work {
	struct gcm_case gcm;
	uint8_t sha256_abc[SC_SHA256_LEN];
};

struct crypto_worker {
	pthread_t thread;
	const struct crypto_work *work;
	bool ok;
};

/* cmocka's asserts belong to the main thread: workers check and report back. */
static void *crypto_worker_run(void *arg)
{
	struct crypto_worker *worker = arg;
	const struct gcm_case *c = &worker->work->gcm;
	uint8_t digest[SC_SHA256_LEN], buf[64], tag[SC_GCM_TAG_LEN];
	bool ok = true;

	for (int i = 0; i < 200 && ok; i++) {
		ok = sc_sha256("abc", 3, digest) == 0 &&
		     memcmp(digest, worker->work->sha256_abc, SC_SHA256_LEN) == 0;
		ok = ok && sc_aes256gcm_seal(c->key, c->iv, c->aad, c->aad_len, c->plain, c->len,
		                             buf, tag) == 0;
		ok = ok && memcmp(buf, c->cipher, c->len) == 0 &&
		     memcmp(tag, c->tag, SC_GCM_TAG_LEN) == 0;
		ok = ok && sc_aes256gcm_open(c->key, c->iv, c->aad, c->aad_len, buf, c->len, tag,
		                             buf) == 0;
		ok = ok && memcmp(buf, c->plain, c->len) == 0;
	}
	worker->ok = ok;
	return NULL;
}

/* Runs first, so the threads also race to the library's one-time setup. */
static void test_crypto_gives_right_answers_from_several_threads_at_once(void **state)
{
	struct crypto_work work;
	struct crypto_worker workers[THREADS];

	gcm_case_load(&GCM_VECTORS[3], &work.gcm);
	unhex_exact(SHA256_ABC, work.sha256_abc, sizeof(work.sha256_abc));
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct crypto_worker){.work = &work, .ok = false};
		assert_int_equal(
		    pthread_create(&workers[i].thread, NULL, crypto_worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
		assert_true(workers[i].ok);
	}
}

/* The SipHash paper's vector: key 00..0f, message 00..0e, 0xa129ca6149be45e5. */
static void test_siphash24_matches_the_papers_vector(void **state)
{
	uint8_t key[16], msg[15], out[8];
	const uint8_t want[8] = {0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1};

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	sc_siphash24(key, msg, sizeof(msg), out);
	assert_memory_equal(out, want, 8);
	/* The empty message of the reference code's table: 0x726fdb47dd0e0e31. */
	sc_siphash24(key, msg, 0, out);
	assert_memory_equal(out, ((uint8_t[8]){0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72}), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crypto_gives_right_answers_from_several_threads_at_once),
	    cmocka_unit_test(test_sha256_of_abc_matches_fips180),
	    cmocka_unit_test(test_siphash24_matches_the_papers_vector),
	    cmocka_unit_test(test_sha256_of_empty_string_matches_fips180),
	    cmocka_unit_test(test_sha256_of_448_bit_message_matches_fips180),
	    cmocka_unit_test(test_sha256_incremental_of_million_a_matches_fips180),
	    cmocka_unit_test(test_sha256_incremental_split_anywhere_matches_one_shot),
	    cmocka_unit_test(test_sha256_context_can_be_abandoned),
	    cmocka_unit_test(test_hkdf_sha256_matches_rfc5869_cases_1_to_3),
	    cmocka_unit_test(test_hkdf_sha256_refuses_output_lengths_outside_rfc5869),
	    cmocka_unit_test(test_gcm_seal_matches_spec_cases_13_to_16),
	    cmocka_unit_test(test_gcm_open_recovers_spec_plaintexts),
	    cmocka_unit_test(test_gcm_seal_and_open_work_in_place),
	    cmocka_unit_test(test_gcm_open_refuses_any_flipped_ciphertext_bit),
	    cmocka_unit_test(test_gcm_open_refuses_any_flipped_tag_bit),
	    cmocka_unit_test(test_gcm_open_refuses_any_flipped_aad_byte),
	    cmocka_unit_test(test_gcm_open_refuses_another_key_or_iv),
	    cmocka_unit_test(test_gcm_open_refuses_tampering_in_place_and_wipes),
	    cmocka_unit_test(test_ed25519_public_key_from_private_matches_rfc8032),
	    cmocka_unit_test(test_ed25519_signature_matches_rfc8032),
	    cmocka_unit_test(test_ed25519_verify_accepts_rfc8032_signatures),
	    cmocka_unit_test(test_ed25519_verify_refuses_modified_message),
	    cmocka_unit_test(test_ed25519_verify_refuses_any_flipped_signature_bit),
	    cmocka_unit_test(test_ed25519_verify_refuses_another_public_key),
	    cmocka_unit_test(test_ed25519_keygen_gives_working_distinct_keys),
	    cmocka_unit_test(test_x25519_matches_rfc7748_section_5_2_vectors),
	    cmocka_unit_test(test_x25519_iterated_matches_rfc7748_after_1_and_1000_rounds),
	    cmocka_unit_test(test_x25519_diffie_hellman_matches_rfc7748_section_6_1),
	    cmocka_unit_test(test_x25519_refuses_low_order_peer_with_all_zero_secret),
	    cmocka_unit_test(test_x25519_keygen_sides_agree),
	    cmocka_unit_test(test_random_bytes_fill_distinct_buffers),
	    cmocka_unit_test(test_memcmp_const_finds_a_difference_anywhere),
	    cmocka_unit_test(test_wipe_zeroes_exactly_the_given_bytes),
	};

	return cmocka_run_group_tests_name("common/crypto", tests, NULL, NULL);
}

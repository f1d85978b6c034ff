/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CA and A encoding (codec.h). Decryption streams through OpenSSL's EVP
 * interface fragment by fragment, so the k data fragments never have to be
 * copied into one contiguous ciphertext first.
 */
#include "codec.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/crypto.h"
#include "common/shamir.h"
#include "digest.h"
#include "erasure.h"

struct codec {
	int protocol;
	unsigned n, k;
	struct erasure *ec;
	EVP_CIPHER *gcm;
	bool portable_digest; /* hash fragments with OpenSSL only (tests, bench) */
};

int store_codec_new(int protocol, unsigned n, unsigned f, struct codec **out)
{
	struct codec *codec;
	int r;

	*out = NULL;
	if ((protocol != RECORD_PROTOCOL_A && protocol != RECORD_PROTOCOL_CA) || n < 1 ||
	    n > RECORD_MAX_N || f >= n)
		return -EINVAL;
	codec = calloc(1, sizeof(*codec));
	if (!codec)
		return -ENOMEM;
	codec->protocol = protocol;
	codec->n = n;
	codec->k = f + 1;
	if (protocol == RECORD_PROTOCOL_CA) {
		r = store_erasure_new(n, codec->k, &codec->ec);
		if (r < 0)
			goto fail;
		codec->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
		if (!codec->gcm) {
			r = -ENOSYS;
			goto fail;
		}
	}
	*out = codec;
	return 0;
fail:
	store_codec_free(codec);
	return r;
}

void store_codec_free(struct codec *codec)
{
	if (!codec)
		return;
	store_erasure_free(codec->ec);
	EVP_CIPHER_free(codec->gcm);
	free(codec);
}

void store_codec_set_portable_digest(struct codec *codec, bool portable)
{
	codec->portable_digest = portable;
}

size_t store_codec_frag_len(const struct codec *codec, size_t data_len)
{
	if (codec->protocol == RECORD_PROTOCOL_A)
		return data_len;
	return (data_len + codec->k - 1) / codec->k;
}

static int encode_a(const struct codec *codec, const void *data, size_t len,
                    struct codec_encoded *out)
{
	int r = sc_sha256(data, len, out->digests[0]);

	if (r < 0)
		return r;
	for (unsigned i = 0; i < codec->n; i++) {
		out->frags[i] = data;
		if (i > 0)
			memcpy(out->digests[i], out->digests[0], RECORD_DIGEST_LEN);
	}
	return 0;
}

/*
 * Reed-Solomon and SHA-256 in one pass of cache-sized blocks: each block of
 * the data fragments is encoded into parity and all n blocks are hashed while
 * they are still in cache, instead of three passes over n * frag_len bytes.
 * The n fragments are hashed side by side (digest.h): two SHA-NI streams at
 * once cost little more than one.
 */
#define CODEC_BLOCK (256u << 10) /* a multiple of DIGEST_BLOCK */

static int encode_and_hash(const struct codec *codec, uint8_t **data_frags, uint8_t **parity,
                           struct codec_encoded *out)
{
	struct digest_multi dm;
	const uint8_t *fp[RECORD_MAX_N];
	uint8_t *dp[RECORD_MAX_N], *pp[RECORD_MAX_N];
	unsigned n = codec->n, k = codec->k;
	size_t frag_len = out->frag_len;
	int r = store_digest_multi_begin(&dm, n, codec->portable_digest);

	for (size_t off = 0; off < frag_len && r == 0; off += CODEC_BLOCK) {
		size_t b = frag_len - off < CODEC_BLOCK ? frag_len - off : CODEC_BLOCK;
		for (unsigned j = 0; j < k; j++)
			dp[j] = data_frags[j] + off;
		for (unsigned j = 0; j < n - k; j++)
			pp[j] = parity[j] + off;
		r = store_erasure_encode(codec->ec, dp, pp, b);
		for (unsigned i = 0; i < n; i++)
			fp[i] = out->frags[i] + off;
		if (r == 0)
			r = store_digest_multi_update(&dm, fp, b);
	}
	if (r == 0)
		return store_digest_multi_end(&dm, out->digests);
	store_digest_multi_abort(&dm);
	return r;
}

int store_codec_encode(const struct codec *codec, const void *data, size_t len, const void *aad,
                       size_t aad_len, struct codec_encoded *out)
{
	uint8_t key[SC_AES256_KEY_LEN];
	uint8_t *data_frags[RECORD_MAX_N], *parity[RECORD_MAX_N];
	unsigned n = codec->n, k = codec->k;
	size_t frag_len;
	int r;

	memset(out, 0, sizeof(*out));
	out->frag_len = frag_len = store_codec_frag_len(codec, len);
	if (codec->protocol == RECORD_PROTOCOL_A)
		return encode_a(codec, data, len, out);

	/* +1 so that a 0-byte unit still gets a buffer to point at. */
	out->buf = malloc(n * frag_len + 1);
	if (!out->buf)
		return -ENOMEM;
	if ((r = sc_random_bytes(key, sizeof(key))) < 0 ||
	    (r = sc_random_bytes(out->iv, sizeof(out->iv))) < 0)
		goto fail;
	r = sc_aes256gcm_seal(key, out->iv, aad, aad_len, data, len, out->buf, out->tag);
	if (r < 0)
		goto fail;
	memset(out->buf + len, 0, k * frag_len - len);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *frag = out->buf + i * frag_len;
		out->frags[i] = frag;
		if (i < k)
			data_frags[i] = frag;
		else
			parity[i - k] = frag;
	}
	r = encode_and_hash(codec, data_frags, parity, out);
	if (r < 0)
		goto fail;
	r = sc_shamir_split(key, n, k, out->shares);
	if (r < 0)
		goto fail;
	sc_wipe(key, sizeof(key));
	return 0;
fail:
	sc_wipe(key, sizeof(key));
	store_codec_encoded_release(out);
	return r;
}

void store_codec_encoded_release(struct codec_encoded *enc)
{
	sc_wipe(enc->shares, sizeof(enc->shares));
	free(enc->buf);
	enc->buf = NULL;
}

/* Streams AES-256-GCM decryption over the k data fragments into OUT. */
static int decrypt_frags(const struct codec *codec, uint8_t *const *data_frags, size_t frag_len,
                         uint64_t data_len, const uint8_t *key, const uint8_t *iv,
                         const uint8_t *tag, const void *aad, size_t aad_len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	uint64_t left = data_len;
	uint8_t *dst = out;
	int n, r = -EIO;

	if (!ctx)
		return -ENOMEM;
	if (aad_len > INT_MAX || frag_len > INT_MAX)
		goto out;
	if (EVP_DecryptInit_ex2(ctx, codec->gcm, key, iv, NULL) != 1)
		goto out;
	if (aad_len > 0 && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	for (unsigned j = 0; j < codec->k && left > 0; j++) {
		size_t piece = left < frag_len ? (size_t)left : frag_len;
		if (EVP_DecryptUpdate(ctx, dst, &n, data_frags[j], (int)piece) != 1)
			goto out;
		dst += piece;
		left -= piece;
	}
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SC_GCM_TAG_LEN, (void *)tag) != 1)
		goto out;
	r = EVP_DecryptFinal_ex(ctx, dst, &n) == 1 ? 0 : -EBADMSG;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int store_codec_decode(const struct codec *codec, uint8_t *const *frags, size_t frag_len,
                       uint64_t data_len, const uint8_t iv[RECORD_IV_LEN],
                       const uint8_t tag[RECORD_TAG_LEN], const unsigned *share_index,
                       const uint8_t *shares, unsigned share_count, const void *aad, size_t aad_len,
                       uint8_t **out)
{
	uint8_t key[SC_AES256_KEY_LEN];
	uint8_t *data_frags[RECORD_MAX_N], *scratch = NULL, *plain = NULL;
	unsigned k = codec->k, missing = 0;
	int r;

	*out = NULL;
	if (codec->protocol != RECORD_PROTOCOL_CA || share_count < k)
		return -EINVAL;
	if (data_len > (uint64_t)k * frag_len || data_len > SIZE_MAX - 1)
		return -EINVAL;
	for (unsigned j = 0; j < k; j++)
		if (!frags[j])
			missing++;
	if (missing > 0) {
		scratch = malloc(missing * frag_len + 1);
		if (!scratch)
			return -ENOMEM;
	}
	for (unsigned j = 0, m = 0; j < k; j++)
		data_frags[j] = frags[j] ? frags[j] : scratch + (m++) * frag_len;
	r = store_erasure_decode(codec->ec, frags, data_frags, frag_len);
	if (r < 0)
		goto out;
	r = sc_shamir_combine(share_index, shares, k, key);
	if (r < 0)
		goto out;
	plain = malloc((size_t)data_len + 1);
	if (!plain) {
		r = -ENOMEM;
		goto out;
	}
	r = decrypt_frags(codec, data_frags, frag_len, data_len, key, iv, tag, aad, aad_len, plain);
	if (r < 0) {
		sc_wipe(plain, (size_t)data_len);
		free(plain);
		goto out;
	}
	*out = plain;
out:
	sc_wipe(key, sizeof(key));
	free(scratch);
	return r;
}

int store_codec_rebuild(const struct codec *codec, uint8_t *const *frags, size_t frag_len,
                        uint8_t **buf, uint8_t **out)
{
	uint8_t *all;
	unsigned n = codec->n, k = codec->k;
	int r;

	*buf = NULL;
	if (codec->protocol != RECORD_PROTOCOL_CA || frag_len >= SIZE_MAX / n)
		return -EINVAL;
	all = malloc(n * frag_len + 1);
	if (!all)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		out[i] = all + i * frag_len;
	r = store_erasure_decode(codec->ec, frags, out, frag_len);
	if (r == 0)
		r = store_erasure_encode(codec->ec, out, out + k, frag_len);
	if (r < 0) {
		free(all);
		return r;
	}
	*buf = all;
	return 0;
}

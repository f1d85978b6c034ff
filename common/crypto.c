/*
 * OpenSSL 3 behind the fixed-size interface of crypto.h. Algorithms are
 * fetched once (explicit fetches are much cheaper than the implicit ones of
 * EVP_aes_256_gcm() and friends on every call) and shared by all threads,
 * which OpenSSL allows for fetched algorithm objects.
 */
#include "common/crypto.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

static struct {
	EVP_MD *sha256;
	EVP_CIPHER *aes256gcm;
	EVP_KDF *hkdf;
	int error;
} fetched;
static pthread_once_t fetched_once = PTHREAD_ONCE_INIT;

static void crypto_fetch(void)
{
	fetched.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	fetched.aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	fetched.hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!fetched.sha256 || !fetched.aes256gcm || !fetched.hkdf)
		fetched.error = -ENOSYS;
}

static int crypto_ready(void)
{
	pthread_once(&fetched_once, crypto_fetch);
	return fetched.error;
}

int sc_random_bytes(void *buf, size_t len)
{
	/* RAND_priv_bytes takes an int; fill large buffers in pieces. */
	uint8_t *p = buf;
	while (len > 0) {
		size_t n = len > INT_MAX ? INT_MAX : len;
		if (RAND_priv_bytes(p, (int)n) != 1)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

struct sc_sha256_ctx {
	EVP_MD_CTX *md;
};

int sc_sha256_begin(struct sc_sha256_ctx **out)
{
	struct sc_sha256_ctx *ctx;
	int r = crypto_ready();

	*out = NULL;
	if (r < 0)
		return r;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->md = EVP_MD_CTX_new();
	if (!ctx->md || EVP_DigestInit_ex2(ctx->md, fetched.sha256, NULL) != 1) {
		sc_sha256_free(ctx);
		return -EIO;
	}
	*out = ctx;
	return 0;
}

int sc_sha256_update(struct sc_sha256_ctx *ctx, const void *data, size_t len)
{
	return EVP_DigestUpdate(ctx->md, data, len) == 1 ? 0 : -EIO;
}

int sc_sha256_end(struct sc_sha256_ctx *ctx, uint8_t out[SC_SHA256_LEN])
{
	int r = EVP_DigestFinal_ex(ctx->md, out, NULL) == 1 ? 0 : -EIO;
	sc_sha256_free(ctx);
	return r;
}

void sc_sha256_free(struct sc_sha256_ctx *ctx)
{
	if (!ctx)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

int sc_sha256(const void *data, size_t len, uint8_t out[SC_SHA256_LEN])
{
	int r = crypto_ready();

	if (r < 0)
		return r;
	/* EVP_Q_digest would fetch again; EVP_Digest takes the fetched one. */
	return EVP_Digest(data, len, out, NULL, fetched.sha256, NULL) == 1 ? 0 : -EIO;
}

int sc_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                   const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	EVP_KDF_CTX *kctx;
	OSSL_PARAM params[5], *p = params;
	int r = crypto_ready();

	if (r < 0)
		return r;
	if (out_len == 0 || out_len > 255 * SC_SHA256_LEN)
		return -EINVAL;
	kctx = EVP_KDF_CTX_new(fetched.hkdf);
	if (!kctx)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt_len > 0)
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	if (info_len > 0)
		*p++ =
		    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	r = EVP_KDF_derive(kctx, out, out_len, params) == 1 ? 0 : -EIO;
	EVP_KDF_CTX_free(kctx);
	return r;
}

int sc_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                   uint8_t out[SC_SHA256_LEN])
{
	unsigned int out_len = SC_SHA256_LEN;

	if (key_len > INT_MAX)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) ||
	    out_len != SC_SHA256_LEN)
		return -EIO;
	return 0;
}

/* One GCM pass; ENCRYPT 1 seals, 0 opens. Lengths above INT_MAX go in pieces. */
static int gcm_run(int encrypt, const uint8_t *key, const uint8_t *iv, const void *aad,
                   size_t aad_len, const void *in, size_t len, void *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx;
	const uint8_t *src = in;
	uint8_t *dst = out;
	int n, r = crypto_ready();

	if (r < 0)
		return r;
	if (aad_len > INT_MAX)
		return -EINVAL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	r = -EIO;
	if (EVP_CipherInit_ex2(ctx, fetched.aes256gcm, key, iv, encrypt, NULL) != 1)
		goto out;
	if (aad_len > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	while (len > 0) {
		size_t piece = len > (1u << 30) ? (1u << 30) : len;
		if (EVP_CipherUpdate(ctx, dst, &n, src, (int)piece) != 1)
			goto out;
		src += piece;
		dst += piece;
		len -= piece;
	}
	if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, SC_GCM_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, dst, &n) != 1) {
		r = encrypt ? -EIO : -EBADMSG;
		goto out;
	}
	if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, SC_GCM_TAG_LEN, tag) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

int sc_aes256gcm_seal(const uint8_t key[SC_AES256_KEY_LEN], const uint8_t iv[SC_GCM_IV_LEN],
                      const void *aad, size_t aad_len, const void *in, size_t len, void *out,
                      uint8_t tag[SC_GCM_TAG_LEN])
{
	return gcm_run(1, key, iv, aad, aad_len, in, len, out, tag);
}

int sc_aes256gcm_open(const uint8_t key[SC_AES256_KEY_LEN], const uint8_t iv[SC_GCM_IV_LEN],
                      const void *aad, size_t aad_len, const void *in, size_t len,
                      const uint8_t tag[SC_GCM_TAG_LEN], void *out)
{
	int r = gcm_run(0, key, iv, aad, aad_len, in, len, out, (uint8_t *)tag);

	/* Never hand back plaintext that failed authentication. */
	if (r < 0 && len > 0)
		sc_wipe(out, len);
	return r;
}

static EVP_PKEY *pkey_private(int type, const uint8_t *priv)
{
	return EVP_PKEY_new_raw_private_key(type, NULL, priv, 32);
}

static int pkey_public_bytes(EVP_PKEY *pkey, uint8_t pub[32])
{
	size_t len = 32;

	if (EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 || len != 32)
		return -EIO;
	return 0;
}

static int keygen(int type, uint8_t priv[32], uint8_t pub[32])
{
	int r = sc_random_bytes(priv, 32);

	if (r < 0)
		return r;
	return type == EVP_PKEY_ED25519 ? sc_ed25519_public(priv, pub)
	                                : sc_x25519_public(priv, pub);
}

static int public_from_private(int type, const uint8_t priv[32], uint8_t pub[32])
{
	EVP_PKEY *pkey = pkey_private(type, priv);
	int r;

	if (!pkey)
		return -EINVAL;
	r = pkey_public_bytes(pkey, pub);
	EVP_PKEY_free(pkey);
	return r;
}

int sc_ed25519_keygen(uint8_t priv[SC_ED25519_KEY_LEN], uint8_t pub[SC_ED25519_KEY_LEN])
{
	return keygen(EVP_PKEY_ED25519, priv, pub);
}

int sc_ed25519_public(const uint8_t priv[SC_ED25519_KEY_LEN], uint8_t pub[SC_ED25519_KEY_LEN])
{
	return public_from_private(EVP_PKEY_ED25519, priv, pub);
}

int sc_ed25519_sign(const uint8_t priv[SC_ED25519_KEY_LEN], const void *msg, size_t len,
                    uint8_t sig[SC_ED25519_SIG_LEN])
{
	EVP_PKEY *pkey = pkey_private(EVP_PKEY_ED25519, priv);
	EVP_MD_CTX *md = NULL;
	size_t sig_len = SC_ED25519_SIG_LEN;
	int r = -EIO;

	if (!pkey)
		return -EINVAL;
	md = EVP_MD_CTX_new();
	if (!md)
		goto out;
	if (EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, msg, len) != 1 || sig_len != SC_ED25519_SIG_LEN)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return r;
}

int sc_ed25519_verify(const uint8_t pub[SC_ED25519_KEY_LEN], const void *msg, size_t len,
                      const uint8_t sig[SC_ED25519_SIG_LEN])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *md = NULL;
	int r = -EBADMSG;

	if (!pkey)
		return -EBADMSG; /* not a valid point: no signature of it verifies */
	md = EVP_MD_CTX_new();
	if (!md) {
		r = -ENOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, pkey, NULL) != 1)
		goto out;
	if (EVP_DigestVerify(md, sig, SC_ED25519_SIG_LEN, msg, len) == 1)
		r = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return r;
}

int sc_x25519_keygen(uint8_t priv[SC_X25519_KEY_LEN], uint8_t pub[SC_X25519_KEY_LEN])
{
	return keygen(EVP_PKEY_X25519, priv, pub);
}

int sc_x25519_public(const uint8_t priv[SC_X25519_KEY_LEN], uint8_t pub[SC_X25519_KEY_LEN])
{
	return public_from_private(EVP_PKEY_X25519, priv, pub);
}

int sc_x25519(const uint8_t priv[SC_X25519_KEY_LEN], const uint8_t peer[SC_X25519_KEY_LEN],
              uint8_t shared[SC_X25519_KEY_LEN])
{
	EVP_PKEY *mine = pkey_private(EVP_PKEY_X25519, priv);
	EVP_PKEY *theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = SC_X25519_KEY_LEN;
	int r = -EINVAL;

	if (!mine || !theirs)
		goto out;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	if (!ctx) {
		r = -ENOMEM;
		goto out;
	}
	/* OpenSSL refuses an all-zero result (a low-order peer key) here. */
	if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, theirs, 0) != 1 ||
	    EVP_PKEY_derive(ctx, shared, &len) != 1 || len != SC_X25519_KEY_LEN) {
		sc_wipe(shared, SC_X25519_KEY_LEN);
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(theirs);
	EVP_PKEY_free(mine);
	return r;
}

void sc_wipe(void *buf, size_t len)
{
	OPENSSL_cleanse(buf, len);
}

int sc_memcmp_const(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0 ? 0 : 1;
}

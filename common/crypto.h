/*
 * The few primitives the suite needs, over OpenSSL 3, with fixed sizes and
 * -errno returns: random bytes, SHA-256, HKDF-SHA-256, AES-256-GCM, Ed25519
 * and X25519. Every function is safe to call from several threads at once.
 * Authentication failures return -EBADMSG and leave no plaintext behind.
 */
#ifndef SC_CRYPTO_H
#define SC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SC_SHA256_LEN 32
#define SC_AES256_KEY_LEN 32
#define SC_GCM_IV_LEN 12
#define SC_GCM_TAG_LEN 16
#define SC_ED25519_KEY_LEN 32 /* private seed and public key alike */
#define SC_ED25519_SIG_LEN 64
#define SC_X25519_KEY_LEN 32

/* Cryptographically strong random bytes (RAND_priv_bytes). */
int sc_random_bytes(void *buf, size_t len);

int sc_sha256(const void *data, size_t len, uint8_t out[SC_SHA256_LEN]);

/* Incremental SHA-256, for data that comes in pieces. */
struct sc_sha256_ctx;
int sc_sha256_begin(struct sc_sha256_ctx **out);
int sc_sha256_update(struct sc_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest and frees CTX. */
int sc_sha256_end(struct sc_sha256_ctx *ctx, uint8_t out[SC_SHA256_LEN]);
void sc_sha256_free(struct sc_sha256_ctx *ctx);

/* HMAC-SHA-256 (RFC 2104) of DATA under KEY. */
int sc_hmac_sha256(const uint8_t *key, size_t key_len, const void *data, size_t len,
                   uint8_t out[SC_SHA256_LEN]);

/* RFC 5869 HKDF with SHA-256. OUT_LEN at most 255 * 32. */
int sc_hkdf_sha256(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                   const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

/*
 * AES-256-GCM with a 12-byte IV and a 16-byte tag. IN and OUT may be the same
 * buffer. AAD may be NULL when AAD_LEN is 0. open returns -EBADMSG when the
 * tag does not match, and then wipes OUT.
 */
int sc_aes256gcm_seal(const uint8_t key[SC_AES256_KEY_LEN], const uint8_t iv[SC_GCM_IV_LEN],
                      const void *aad, size_t aad_len, const void *in, size_t len, void *out,
                      uint8_t tag[SC_GCM_TAG_LEN]);
int sc_aes256gcm_open(const uint8_t key[SC_AES256_KEY_LEN], const uint8_t iv[SC_GCM_IV_LEN],
                      const void *aad, size_t aad_len, const void *in, size_t len,
                      const uint8_t tag[SC_GCM_TAG_LEN], void *out);

/* Ed25519 (RFC 8032, pure). Keys are the raw 32-byte seed and public key. */
int sc_ed25519_keygen(uint8_t priv[SC_ED25519_KEY_LEN], uint8_t pub[SC_ED25519_KEY_LEN]);
int sc_ed25519_public(const uint8_t priv[SC_ED25519_KEY_LEN], uint8_t pub[SC_ED25519_KEY_LEN]);
int sc_ed25519_sign(const uint8_t priv[SC_ED25519_KEY_LEN], const void *msg, size_t len,
                    uint8_t sig[SC_ED25519_SIG_LEN]);
/* 0 when SIG is PUB's signature of MSG, -EBADMSG otherwise. */
int sc_ed25519_verify(const uint8_t pub[SC_ED25519_KEY_LEN], const void *msg, size_t len,
                      const uint8_t sig[SC_ED25519_SIG_LEN]);

/* X25519 (RFC 7748). sc_x25519 fails with -EINVAL on an all-zero shared secret. */
int sc_x25519_keygen(uint8_t priv[SC_X25519_KEY_LEN], uint8_t pub[SC_X25519_KEY_LEN]);
int sc_x25519_public(const uint8_t priv[SC_X25519_KEY_LEN], uint8_t pub[SC_X25519_KEY_LEN]);
int sc_x25519(const uint8_t priv[SC_X25519_KEY_LEN], const uint8_t peer[SC_X25519_KEY_LEN],
              uint8_t shared[SC_X25519_KEY_LEN]);

/* Wipes a secret (OPENSSL_cleanse), so the compiler cannot drop the write. */
void sc_wipe(void *buf, size_t len);
/* Compares in time independent of where the buffers differ; 0 when equal. */
int sc_memcmp_const(const void *a, const void *b, size_t len);

#endif

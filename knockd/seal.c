/*
 * The knock's cryptography (docs/knock-protocol.md, "Keys and sealing"):
 *
 *   shared   = X25519(ephemeral, server)
 *   key | iv = HKDF-SHA-256(salt "SafeCloud knock v1", shared,
 *                           info = header (with the ephemeral key) | server public key)
 *   packet   = header | AES-256-GCM(key, iv, aad = header, body | signature) | tag
 *   signature = Ed25519(client key, header | server public key | body)
 *
 * The server's X25519 key is parsed once and kept (parsing a private key
 * costs a scalar multiplication in OpenSSL); each knock then costs one X25519
 * and, in verify.c, one Ed25519 verification.
 */
#include "knockd/wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/crypto.h"

#define KDF_SALT "SafeCloud knock v1"
#define SIGNED_MAX (KNOCK_HEADER_LEN + KNOCK_KEY_LEN + KNOCK_MAX_LEN)

struct knock_server_key {
	EVP_PKEY *pkey;
	uint8_t pub[KNOCK_KEY_LEN];
};

int knock_server_key_new(const uint8_t priv[KNOCK_KEY_LEN], struct knock_server_key **out)
{
	struct knock_server_key *key = calloc(1, sizeof(*key));
	size_t len = KNOCK_KEY_LEN;

	*out = NULL;
	if (!key)
		return -ENOMEM;
	key->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, KNOCK_KEY_LEN);
	if (!key->pkey || EVP_PKEY_get_raw_public_key(key->pkey, key->pub, &len) != 1) {
		knock_server_key_free(key);
		return -EINVAL;
	}
	*out = key;
	return 0;
}

void knock_server_key_free(struct knock_server_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey); /* OpenSSL cleanses the private key */
	free(key);
}

const uint8_t *knock_server_key_public(const struct knock_server_key *key)
{
	return key->pub;
}

/* Key and IV from the shared secret; both public keys are bound in. */
static int derive(const uint8_t shared[KNOCK_KEY_LEN], const uint8_t *header,
                  const uint8_t server_pub[KNOCK_KEY_LEN], uint8_t okm[44])
{
	uint8_t info[KNOCK_HEADER_LEN + KNOCK_KEY_LEN];

	memcpy(info, header, KNOCK_HEADER_LEN);
	memcpy(info + KNOCK_HEADER_LEN, server_pub, KNOCK_KEY_LEN);
	return sc_hkdf_sha256((const uint8_t *)KDF_SALT, strlen(KDF_SALT), shared, KNOCK_KEY_LEN,
	                      info, sizeof(info), okm, 44);
}

/* The signed message: header | server public key | body (without signature). */
static size_t signed_message(uint8_t *msg, const uint8_t *header,
                             const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *body,
                             size_t body_len)
{
	memcpy(msg, header, KNOCK_HEADER_LEN);
	memcpy(msg + KNOCK_HEADER_LEN, server_pub, KNOCK_KEY_LEN);
	memcpy(msg + KNOCK_HEADER_LEN + KNOCK_KEY_LEN, body, body_len);
	return KNOCK_HEADER_LEN + KNOCK_KEY_LEN + body_len;
}

/* The knock's ephemeral X25519 pair: fresh, or GIVEN (test vectors). */
static int ephemeral_key(const uint8_t *given, uint8_t priv[KNOCK_KEY_LEN],
                         uint8_t pub[KNOCK_KEY_LEN])
{
	int r;

	if (given)
		memcpy(priv, given, KNOCK_KEY_LEN);
	else if ((r = sc_random_bytes(priv, KNOCK_KEY_LEN)) < 0)
		return r;
	return sc_x25519_public(priv, pub);
}

int knock_packet_seal_body(const uint8_t *body, size_t body_len,
                           const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *ephemeral,
                           uint8_t *out, size_t size)
{
	uint8_t eph_priv[KNOCK_KEY_LEN], eph_pub[KNOCK_KEY_LEN], shared[KNOCK_KEY_LEN];
	uint8_t okm[44];
	size_t total = KNOCK_HEADER_LEN + body_len + KNOCK_TAG_LEN;
	int r;

	if (size < total || total > KNOCK_MAX_LEN)
		return -EMSGSIZE;
	r = ephemeral_key(ephemeral, eph_priv, eph_pub);
	if (r < 0)
		goto out;
	knock_header_write(out, total, eph_pub);
	r = sc_x25519(eph_priv, server_pub, shared);
	if (r < 0)
		goto out;
	r = derive(shared, out, server_pub, okm);
	if (r < 0)
		goto out;
	memmove(out + KNOCK_HEADER_LEN, body, body_len);
	r = sc_aes256gcm_seal(okm, okm + 32, out, KNOCK_HEADER_LEN, out + KNOCK_HEADER_LEN,
	                      body_len, out + KNOCK_HEADER_LEN, out + total - KNOCK_TAG_LEN);
	if (r == 0)
		r = (int)total;
out:
	sc_wipe(eph_priv, sizeof(eph_priv));
	sc_wipe(shared, sizeof(shared));
	sc_wipe(okm, sizeof(okm));
	return r;
}

int knock_packet_seal(const struct knock_request *req, const uint8_t signer[KNOCK_KEY_LEN],
                      const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *ephemeral,
                      uint8_t *out, size_t size)
{
	uint8_t eph_priv[KNOCK_KEY_LEN], eph_pub[KNOCK_KEY_LEN], header[KNOCK_HEADER_LEN];
	uint8_t body[KNOCK_MAX_LEN], msg[SIGNED_MAX];
	size_t total, msg_len;
	int body_len, r;

	if (size < KNOCK_MAX_LEN)
		return -ENOSPC;
	if (req->cert_len > KNOCK_MAX_CERT_LEN)
		return -EMSGSIZE;
	r = ephemeral_key(ephemeral, eph_priv, eph_pub);
	if (r < 0)
		goto out;
	body_len = knock_request_encode(req, body, sizeof(body) - KNOCK_SIG_LEN);
	if (body_len < 0) {
		r = body_len;
		goto out;
	}
	/* The signature covers the header the packet will carry, ephemeral key included. */
	total = KNOCK_HEADER_LEN + (size_t)body_len + KNOCK_SIG_LEN + KNOCK_TAG_LEN;
	knock_header_write(header, total, eph_pub);
	msg_len = signed_message(msg, header, server_pub, body, (size_t)body_len);
	r = sc_ed25519_sign(signer, msg, msg_len, body + body_len);
	if (r < 0)
		goto out;
	r = knock_packet_seal_body(body, (size_t)body_len + KNOCK_SIG_LEN, server_pub, eph_priv,
	                           out, size);
out:
	sc_wipe(eph_priv, sizeof(eph_priv));
	sc_wipe(msg, sizeof(msg));
	sc_wipe(body, sizeof(body));
	return r;
}

static int server_ecdh(const struct knock_server_key *key, const uint8_t peer_pub[KNOCK_KEY_LEN],
                       uint8_t shared[KNOCK_KEY_LEN])
{
	EVP_PKEY *peer =
	    EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, KNOCK_KEY_LEN);
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = KNOCK_KEY_LEN;
	int r = -EBADMSG;

	if (!peer)
		return -EBADMSG;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
	if (!ctx) {
		r = -ENOMEM;
		goto out;
	}
	/* A low-order peer key gives an all-zero secret, which OpenSSL refuses. */
	if (EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) == 1 &&
	    EVP_PKEY_derive(ctx, shared, &len) == 1 && len == KNOCK_KEY_LEN)
		r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}

int knock_packet_open(const struct knock_server_key *key, const uint8_t *packet, size_t len,
                      uint8_t *body)
{
	uint8_t shared[KNOCK_KEY_LEN], okm[44];
	size_t body_len;
	int r;

	if (len < KNOCK_MIN_LEN || len > KNOCK_MAX_LEN)
		return -EBADMSG;
	body_len = len - KNOCK_HEADER_LEN - KNOCK_TAG_LEN;
	r = server_ecdh(key, packet + 8, shared);
	if (r < 0)
		goto out;
	r = derive(shared, packet, key->pub, okm);
	if (r < 0)
		goto out;
	r = sc_aes256gcm_open(okm, okm + 32, packet, KNOCK_HEADER_LEN, packet + KNOCK_HEADER_LEN,
	                      body_len, packet + len - KNOCK_TAG_LEN, body);
	if (r == 0)
		r = (int)body_len;
out:
	sc_wipe(shared, sizeof(shared));
	sc_wipe(okm, sizeof(okm));
	return r;
}

void *knock_ed25519_key_new(const uint8_t pub[KNOCK_KEY_LEN])
{
	return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, KNOCK_KEY_LEN);
}

void knock_ed25519_key_free(void *key)
{
	EVP_PKEY_free(key);
}

int knock_signature_verify_key(void *key, const uint8_t *packet,
                               const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *body,
                               size_t body_len)
{
	uint8_t msg[SIGNED_MAX];
	EVP_MD_CTX *md;
	size_t msg_len;
	int r = -EBADMSG;

	if (!key || body_len < KNOCK_SIG_LEN || body_len > KNOCK_MAX_LEN)
		return -EBADMSG;
	msg_len = signed_message(msg, packet, server_pub, body, body_len - KNOCK_SIG_LEN);
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	if (EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, key, NULL) == 1 &&
	    EVP_DigestVerify(md, body + body_len - KNOCK_SIG_LEN, KNOCK_SIG_LEN, msg, msg_len) == 1)
		r = 0;
	EVP_MD_CTX_free(md);
	return r;
}

int knock_signature_verify(const uint8_t pub[KNOCK_KEY_LEN], const uint8_t *packet,
                           const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *body,
                           size_t body_len)
{
	void *key = knock_ed25519_key_new(pub);
	int r;

	if (!key)
		return -EBADMSG;
	r = knock_signature_verify_key(key, packet, server_pub, body, body_len);
	knock_ed25519_key_free(key);
	return r;
}

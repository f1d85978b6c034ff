/*
 * Keys and certificates from PEM files, as openssl(1) writes them:
 *   openssl genpkey -algorithm X25519 -out server.key   (knockd's static key)
 *   openssl pkey -in server.key -pubout -out server.pub  (what clients hold)
 *   openssl genpkey -algorithm ED25519 -out client.key  (a client's signing key)
 * Private key bytes leave OpenSSL only into the caller's buffer, which the
 * caller wipes.
 */
#include "knockd/libknock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static int file_open(const char *path, FILE **out)
{
	*out = fopen(path, "re");
	return *out ? 0 : -errno;
}

static int raw_private(EVP_PKEY *pkey, int type, uint8_t out[KNOCK_KEY_LEN])
{
	size_t len = KNOCK_KEY_LEN;

	if (EVP_PKEY_get_base_id(pkey) != type)
		return -EKEYREJECTED;
	if (EVP_PKEY_get_raw_private_key(pkey, out, &len) != 1 || len != KNOCK_KEY_LEN)
		return -EINVAL;
	return 0;
}

static int private_load(const char *path, int type, uint8_t out[KNOCK_KEY_LEN])
{
	EVP_PKEY *pkey;
	FILE *f;
	int r = file_open(path, &f);

	if (r < 0)
		return r;
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pkey)
		return -EINVAL;
	r = raw_private(pkey, type, out);
	EVP_PKEY_free(pkey);
	return r;
}

int knock_x25519_private_load(const char *path, uint8_t priv[KNOCK_KEY_LEN])
{
	return private_load(path, EVP_PKEY_X25519, priv);
}

int knock_ed25519_private_load(const char *path, uint8_t priv[KNOCK_KEY_LEN])
{
	return private_load(path, EVP_PKEY_ED25519, priv);
}

int knock_x25519_public_load(const char *path, uint8_t pub[KNOCK_KEY_LEN])
{
	EVP_PKEY *pkey;
	size_t len = KNOCK_KEY_LEN;
	FILE *f;
	int r = file_open(path, &f);

	if (r < 0)
		return r;
	pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!pkey) {
		/* A private key file will do as well: its public half is what we want. */
		rewind(f);
		pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	if (!pkey)
		return -EINVAL;
	r = -EKEYREJECTED;
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_X25519)
		r = EVP_PKEY_get_raw_public_key(pkey, pub, &len) == 1 && len == KNOCK_KEY_LEN
		        ? 0
		        : -EINVAL;
	EVP_PKEY_free(pkey);
	return r;
}

int knock_cert_load_der(const char *path, uint8_t **der, size_t *len)
{
	unsigned char *buf = NULL;
	X509 *cert;
	FILE *f;
	int n, r = file_open(path, &f);

	*der = NULL;
	*len = 0;
	if (r < 0)
		return r;
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert)
		return -EINVAL;
	n = i2d_X509(cert, &buf);
	X509_free(cert);
	if (n <= 0)
		return -EINVAL;
	/* Hand back plain malloc memory: the caller frees with free(). */
	*der = malloc((size_t)n);
	if (*der) {
		memcpy(*der, buf, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(buf);
	return *der ? 0 : -ENOMEM;
}

/*
 * Keys and certificates from PEM files, as openssl(1) writes them:
 *   openssl genpkey -algorithm X25519 -out server.key   (knockd's static key)
 *   openssl pkey -in server.key -pubout -out server.pub  (what clients hold)
 *   openssl genpkey -algorithm ED25519 -out client.key  (a client's signing key)
 * Private key bytes leave OpenSSL only into the caller's buffer, which the
 * caller wipes.
 */
#include "knockd/wire.h"

#include "common/keyfile.h"

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

int knock_x25519_private_load(const char *path, uint8_t priv[KNOCK_KEY_LEN])
{
	return sc_keyfile_private_load(path, SC_KEY_X25519, priv);
}

int knock_ed25519_private_load(const char *path, uint8_t priv[KNOCK_KEY_LEN])
{
	return sc_keyfile_private_load(path, SC_KEY_ED25519, priv);
}

int knock_x25519_public_load(const char *path, uint8_t pub[KNOCK_KEY_LEN])
{
	return sc_keyfile_public_load(path, SC_KEY_X25519, pub);
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

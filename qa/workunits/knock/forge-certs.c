/* Crafted-certificate knocks for floods and benchmarks: see forge-certs.h. */
#include "qa/workunits/knock/forge-certs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"

static int ext_add(X509 *x, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, nid, value);
	int r = e && X509_add_ext(x, e, -1) == 1 ? 0 : -1;

	X509_EXTENSION_free(e);
	return r;
}

/* One crafted certificate (DER into DER, at most SIZE bytes) for LEAF's key. */
static int cert_craft(const X509_NAME *issuer, EVP_PKEY *fake_ca, EVP_PKEY *leaf, long serial,
                      uint8_t *der, size_t size)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	unsigned char *p = der;
	char cn[32];
	int n = -1;

	snprintf(cn, sizeof(cn), "forged-%ld", serial);
	if (!x || !name || X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 86400) ||
	    X509_set_issuer_name(x, issuer) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"SafeCloud",
	                               -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_set_subject_name(x, name) != 1 || X509_set_pubkey(x, leaf) != 1 ||
	    ext_add(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    ext_add(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    ext_add(x, NID_ext_key_usage, "clientAuth") < 0 || X509_sign(x, fake_ca, NULL) <= 0)
		goto out;
	n = i2d_X509(x, NULL);
	if (n <= 0 || (size_t)n > size)
		n = -1;
	else
		n = i2d_X509(x, &p);
out:
	X509_NAME_free(name);
	X509_free(x);
	return n;
}

int forge_cert_knocks(const char *ca_path, const uint8_t server_pub[KNOCK_KEY_LEN],
                      const char *open, const char *destination, uint16_t port, uint64_t now,
                      size_t count, uint8_t (*packets)[KNOCK_MAX_LEN], int *lens)
{
	struct knock_client_config client = {0};
	EVP_PKEY *fake_ca = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t der[KNOCK_MAX_CERT_LEN], signer[KNOCK_KEY_LEN];
	FILE *f = fopen(ca_path, "r");
	X509 *ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	int r = -1;

	if (f)
		fclose(f);
	if (!ca || !fake_ca)
		goto out;
	for (size_t i = 0; i < count; i++) {
		EVP_PKEY *leaf = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		size_t len = sizeof(signer);
		struct knock_request req;
		int n = leaf ? cert_craft(X509_get_subject_name(ca), fake_ca, leaf, (long)i + 1,
		                          der, sizeof(der))
		             : -1;

		if (n < 0 || EVP_PKEY_get_raw_private_key(leaf, signer, &len) != 1) {
			EVP_PKEY_free(leaf);
			goto out;
		}
		EVP_PKEY_free(leaf);
		client.cert = der;
		client.cert_len = (size_t)n;
		if (knock_request_prepare(&client, 6, port, open, destination, &req) < 0)
			goto out;
		req.timestamp = now;
		lens[i] =
		    knock_packet_seal(&req, signer, server_pub, NULL, packets[i], KNOCK_MAX_LEN);
		if (lens[i] < 0)
			goto out;
	}
	r = 0;
out:
	sc_wipe(signer, sizeof(signer));
	X509_free(ca);
	EVP_PKEY_free(fake_ca);
	return r;
}

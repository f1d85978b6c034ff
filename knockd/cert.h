/*
 * Client certificates (cert.c), private to knockd: the CA, the CRL, the
 * ports extension, the verification cache.
 */
#ifndef KNOCK_CERT_H
#define KNOCK_CERT_H

#include "knockd/wire.h"

/* cert.c */
struct knock_cert {
	uint8_t digest[32]; /* SHA-256 of the DER: the cache key */
	bool valid;
	void *key; /* parsed Ed25519 public key (knock_ed25519_key_new) */
	uint8_t public_key[KNOCK_KEY_LEN];
	char subject[256];        /* RFC 2253, made safe for one log line */
	struct knock_ports ports; /* from the certificate's extension */
	int64_t not_before, not_after;
};
struct knock_authority;
/* CA_PATH: PEM certificates; CRL_PATH: PEM CRLs or NULL. Error text in ERR. */
int knock_authority_new(const char *ca_path, const char *crl_path, struct knock_authority **out,
                        struct sc_err *err);
void knock_authority_free(struct knock_authority *authority);
/*
 * Verifies a client certificate at time NOW: chain to the CA, CRL, Ed25519
 * key, the ports extension. Results are cached by digest. Returns 0 and a
 * borrowed *CERT (valid until the next call or free), -EKEYREVOKED,
 * -EKEYREJECTED (with DETAIL), or -EBADMSG for bytes that are no certificate.
 * SUBJECT (when not NULL) gets the subject whenever the DER parses.
 */
int knock_authority_check(struct knock_authority *authority, const uint8_t *der, size_t len,
                          int64_t now, const struct knock_cert **cert, char *subject,
                          size_t subject_size, char *detail, size_t detail_size);
size_t knock_authority_cached(const struct knock_authority *authority);

#endif

/*
 * Client certificates (cert.c), private to knockd: the trust anchors, the
 * CRL, the ports extension, the verdict caches and the rate limit on
 * uncached verifications.
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
	char subject_exact[256];  /* RFC 2253 with its escapes: what access rules match */
	struct knock_ports ports; /* from the certificate's extension */
	int64_t not_before, not_after;
	double tokens, tokens_at; /* accepted knocks it may still have: knock_authority_charge */
};

struct knock_trust {
	const char *ca;             /* PEM certificates: the trust anchors */
	const char *crl;            /* PEM CRLs, or NULL: no revocation (an explicit choice) */
	bool partial_chain;         /* may an anchor be a CA that is not self-signed? */
	unsigned verify_per_second; /* uncached verifications a second, all sources (0: 2000) */
	unsigned verify_per_source; /* of those, per source address or IPv6 /64 (0: 10) */
};

struct knock_authority;
/*
 * Loads TRUST's anchors and CRL once: every anchor must be a CA (and
 * self-signed unless partial_chain), every CRL must be signed by an anchor;
 * their keys stay parsed. Error text in ERR.
 */
int knock_authority_new(const struct knock_trust *trust, struct knock_authority **out,
                        struct sc_err *err);
void knock_authority_free(struct knock_authority *authority);

/* Checks the knock's signature with a certificate's key: 0 or -EBADMSG. */
typedef int knock_key_check_fn(void *arg, void *key);

struct knock_cert_query {
	const uint8_t *der; /* the certificate from the knock */
	size_t len;
	int64_t now;
	int family;                    /* AF_INET or AF_INET6: whose verification budget */
	const uint8_t *source;         /* the datagram's source address */
	knock_key_check_fn *key_check; /* run before the certificate's own signature */
	void *arg;
};

/*
 * Verifies a client certificate, cheapest first: a cached verdict (by
 * SHA-256 of the DER, positive or negative), then the rate limit, then the
 * DER, the key, QUERY's key_check (the knock's signature), the certificate's
 * signature by its anchor's pre-parsed key, validity, key usage (digital
 * signature) and extended key usage (clientAuth), the CRL, the ports
 * extension. Returns 0 and a borrowed *CERT (valid until the next call or
 * free; *SIGNED tells whether key_check ran and passed), -EKEYREVOKED,
 * -EKEYREJECTED (with DETAIL), -EBADMSG for bytes that are no certificate,
 * -EPERM when key_check failed (nothing cached: the certificate may be
 * someone's real one), -EBUSY when the rate limit refused the work. SUBJECT
 * (when not NULL) gets the subject whenever it is known.
 */
int knock_authority_check(struct knock_authority *authority, const struct knock_cert_query *query,
                          const struct knock_cert **cert, bool *signed_, char *subject,
                          size_t subject_size, char *detail, size_t detail_size);

/*
 * Takes one of CERT's knocks: a certificate may have PER_MINUTE accepted a
 * minute (a bucket holding PER_MINUTE, refilled evenly). False when it has
 * none left. CERT is one knock_authority_check returned.
 */
bool knock_authority_charge(struct knock_authority *authority, const struct knock_cert *cert,
                            unsigned per_minute);

struct knock_authority_stats {
	size_t cached;       /* verified certificates in the cache */
	size_t refused;      /* negative verdicts in the cache */
	uint64_t verified;   /* uncached verifications done */
	uint64_t limited;    /* refused by the rate limit */
	int64_t crl_expires; /* the CRL's next update (0: no CRL) */
};
void knock_authority_stats(const struct knock_authority *authority,
                           struct knock_authority_stats *stats);
size_t knock_authority_cached(const struct knock_authority *authority);
/* Runs each OpenSSL path a check takes once (before a sandbox closes the files). */
void knock_authority_warm(struct knock_authority *authority);

#endif

/*
 * The server's check pipeline (verify.c), private to knockd.
 */
#ifndef KNOCK_VERIFY_H
#define KNOCK_VERIFY_H

#include "knockd/cert.h"
#include "knockd/replay.h"

/* verify.c */
struct knock_access_rule {
	char *subject;
	struct knock_ports ports;
};
struct knock_policy {
	uint64_t time_window;                   /* seconds, on both sides of now */
	bool open_other_address;                /* may a request name an address to open? */
	const struct knock_ports *protect;      /* ports knockd guards */
	const struct knock_access_rule *access; /* extra grants by subject */
	size_t access_count;
};
struct knock_verifier {
	const struct knock_server_key *key;
	struct knock_authority *authority;
	struct knock_replay *replay;
	struct knock_policy policy;
};
struct knock_verdict {
	enum knock_reason reason;
	struct knock_request request; /* valid from KNOCK_STALE on */
	int64_t skew;                 /* request time minus now */
	char subject[256];            /* "" until the certificate parses */
	char detail[200];
	uint8_t body[KNOCK_MAX_LEN]; /* the decrypted body REQUEST points into */
};
/* Runs every check, cheapest first; on KNOCK_OK the nonce is remembered. */
enum knock_reason knock_verify(struct knock_verifier *verifier, const uint8_t *packet, size_t len,
                               uint64_t now, struct knock_verdict *verdict);
/* May SUBJECT (with CERT's ports) open PROTOCOL/PORT under POLICY? */
bool knock_policy_allows(const struct knock_policy *policy, const struct knock_cert *cert,
                         uint8_t protocol, uint16_t port);

#endif

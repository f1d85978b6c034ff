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
/* Where a datagram came from and went to, as the IP header says (unsigned). */
struct knock_origin {
	int family; /* AF_INET or AF_INET6 */
	uint8_t source[16];
	uint8_t destination[16];
};
struct knock_address_list {
	uint8_t (*addresses)[17]; /* family (KNOCK_ADDRESS_*), then 16 bytes */
	size_t count;
};
struct knock_policy {
	uint64_t time_window;      /* seconds, on both sides of now */
	bool open_other_address;   /* may the signed address differ from the source? */
	bool allow_source_address; /* may a request leave the address unsigned (family 0)? */
	const struct knock_address_list *destinations; /* more signed destinations to accept */
	const struct knock_ports *protect;             /* ports knockd guards */
	const struct knock_access_rule *access;        /* extra grants by subject */
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
	uint8_t open_family; /* on KNOCK_OK: what to open (KNOCK_ADDRESS_IPV4/6) */
	uint8_t open_address[16];
	uint8_t body[KNOCK_MAX_LEN]; /* the decrypted body REQUEST points into */
};
/*
 * Runs every check, cheapest first, on PACKET as it came from ORIGIN; on
 * KNOCK_OK the nonce is remembered and VERDICT->open_family/open_address
 * name the address to open.
 */
enum knock_reason knock_verify(struct knock_verifier *verifier, const uint8_t *packet, size_t len,
                               const struct knock_origin *origin, uint64_t now,
                               struct knock_verdict *verdict);
/* Is FAMILY/ADDRESS (KNOCK_ADDRESS_*) in LIST? */
bool knock_address_list_contains(const struct knock_address_list *list, uint8_t family,
                                 const uint8_t address[16]);
/* May SUBJECT (with CERT's ports) open PROTOCOL/PORT under POLICY? */
bool knock_policy_allows(const struct knock_policy *policy, const struct knock_cert *cert,
                         uint8_t protocol, uint16_t port);

#endif

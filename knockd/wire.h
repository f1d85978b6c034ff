/*
 * The knock's wire format and crypto, private to knockd/ (the knock program,
 * knockd and their tests): the codec (packet.c), sealing and opening
 * (seal.c), key files (keys.c), port sets (ports.c) and the client's
 * internals (client.c). All of it is libknock_client; docs/knock-protocol.md
 * specifies every byte. Functions return 0 (or a count) or a negative errno.
 * Nothing here prints.
 */
#ifndef KNOCK_WIRE_H
#define KNOCK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "knockd/knock_client.h"

#define KNOCK_MAGIC "SCKN"
#define KNOCK_MAGIC_LEN 4
#define KNOCK_VERSION 2
#define KNOCK_KEY_LEN 32
#define KNOCK_NONCE_LEN 16
#define KNOCK_SIG_LEN 64
#define KNOCK_TAG_LEN 16
#define KNOCK_HEADER_LEN 40   /* magic, version, flags, length, ephemeral key */
#define KNOCK_FIXED_LEN 64    /* request fields before the certificate */
#define KNOCK_PAD_FIELD_LEN 2 /* the padding length after the certificate */
#define KNOCK_MAX_LEN 1200    /* never fragmented, even over IPv6 tunnels */
#define KNOCK_OVERHEAD                                                                             \
	(KNOCK_HEADER_LEN + KNOCK_FIXED_LEN + KNOCK_PAD_FIELD_LEN + KNOCK_SIG_LEN + KNOCK_TAG_LEN)
#define KNOCK_MIN_LEN (KNOCK_OVERHEAD + 1)
#define KNOCK_MAX_CERT_LEN (KNOCK_MAX_LEN - KNOCK_OVERHEAD)
#define KNOCK_DEFAULT_PORT 62201
#define KNOCK_MAX_TIME_WINDOW 3600 /* seconds: the largest time_window knockd.conf takes */
#define KNOCK_DEFAULT_STATE_FILE "/var/lib/knockd/replay-cache"

/* The X.509 extension that lists a certificate's ports (see docs/knockd.md). */
#define KNOCK_PORTS_OID "2.25.281742946190158798858197102220396364456"

/* Address families inside a request. */
#define KNOCK_ADDRESS_SOURCE 0 /* the datagram's source: only with allow_source_address */
#define KNOCK_ADDRESS_IPV4 4
#define KNOCK_ADDRESS_IPV6 6

struct knock_request {
	uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;   /* KNOCK_ADDRESS_* */
	uint16_t port;
	uint8_t address[16]; /* IPv4 in the first 4 bytes, the rest zero */
	uint8_t dest_family; /* KNOCK_ADDRESS_IPV4 or _IPV6: the server knocked */
	uint8_t destination[16];
	uint64_t timestamp; /* Unix seconds */
	uint8_t nonce[KNOCK_NONCE_LEN];
	const uint8_t *cert; /* DER; points into the buffer it was decoded from */
	size_t cert_len;
	size_t pad_len; /* zero bytes after the certificate */
	uint8_t signature[KNOCK_SIG_LEN];
};

/* Why a datagram was refused; knock_reason_name gives the log word. */
enum knock_reason {
	KNOCK_OK = 0,
	KNOCK_TRUNCATED,
	KNOCK_OVERSIZED,
	KNOCK_BAD_MAGIC,
	KNOCK_BAD_VERSION,
	KNOCK_MALFORMED,
	KNOCK_DECRYPT,
	KNOCK_STALE,
	KNOCK_FUTURE,
	KNOCK_REPLAY,
	KNOCK_CERTIFICATE,
	KNOCK_REVOKED,
	KNOCK_UNAUTHORISED,
	KNOCK_SIGNATURE,
	KNOCK_INTERNAL,
	KNOCK_DESTINATION,
	KNOCK_RATE_LIMITED,
	KNOCK_REASON_COUNT,
};
const char *knock_reason_name(enum knock_reason reason);

/* packet.c */
/* Length, magic, version, flags and the length field: no crypto. */
enum knock_reason knock_header_check(const uint8_t *packet, size_t len);
void knock_header_write(uint8_t header[KNOCK_HEADER_LEN], size_t total_len,
                        const uint8_t ephemeral[KNOCK_KEY_LEN]);
/* Writes the request without its signature; returns the length or -errno. */
int knock_request_encode(const struct knock_request *req, uint8_t *out, size_t size);
/* Parses a decrypted body (request, certificate, signature): 0 or -EBADMSG. */
int knock_request_decode(const uint8_t *body, size_t len, struct knock_request *req);

/* seal.c */
struct knock_server_key;
int knock_server_key_new(const uint8_t priv[KNOCK_KEY_LEN], struct knock_server_key **out);
void knock_server_key_free(struct knock_server_key *key);
const uint8_t *knock_server_key_public(const struct knock_server_key *key);
/*
 * Builds a whole datagram into OUT (KNOCK_MAX_LEN bytes): REQ's fields
 * (its signature is computed here), signed with SIGNER (Ed25519 seed) and
 * sealed to SERVER_PUB. EPHEMERAL is the client's X25519 private key, or NULL
 * for a fresh one (only test vectors pass one). Returns the length or -errno.
 */
int knock_packet_seal(const struct knock_request *req, const uint8_t signer[KNOCK_KEY_LEN],
                      const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *ephemeral,
                      uint8_t *out, size_t size);
/* Seals BODY (request, certificate and signature) as it is: tests and fuzzing. */
int knock_packet_seal_body(const uint8_t *body, size_t body_len,
                           const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *ephemeral,
                           uint8_t *out, size_t size);
/*
 * ECDH and AEAD: decrypts PACKET's body into BODY (KNOCK_MAX_LEN bytes) and
 * returns its length, -EBADMSG when it does not authenticate.
 */
int knock_packet_open(const struct knock_server_key *key, const uint8_t *packet, size_t len,
                      uint8_t *body);
/* Checks REQ's signature (from a body that PACKET's header sealed) against PUB. */
int knock_signature_verify(const uint8_t pub[KNOCK_KEY_LEN], const uint8_t *packet,
                           const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *body,
                           size_t body_len);
/* A verify-only Ed25519 key kept parsed between knocks (the certificate cache). */
void *knock_ed25519_key_new(const uint8_t pub[KNOCK_KEY_LEN]);
void knock_ed25519_key_free(void *key);
int knock_signature_verify_key(void *key, const uint8_t *packet,
                               const uint8_t server_pub[KNOCK_KEY_LEN], const uint8_t *body,
                               size_t body_len);

/* keys.c: PEM files as openssl(1) writes them. */
int knock_x25519_private_load(const char *path, uint8_t priv[KNOCK_KEY_LEN]);
int knock_x25519_public_load(const char *path, uint8_t pub[KNOCK_KEY_LEN]);
int knock_ed25519_private_load(const char *path, uint8_t priv[KNOCK_KEY_LEN]);
/* The first certificate of a PEM file, as DER (caller frees). */
int knock_cert_load_der(const char *path, uint8_t **der, size_t *len);

/* ports.c */
struct knock_port_range {
	uint8_t protocol;
	uint16_t first, last;
};
struct knock_ports {
	struct knock_port_range *ranges;
	size_t count;
};
/* "tcp/22", "udp/51820", "tcp/6800-7300", "22" (tcp): 0 or -EINVAL. */
int knock_port_range_parse(const char *text, struct knock_port_range *out);
/* A comma- or space-separated list of the above, appended to PORTS. */
int knock_ports_parse(const char *text, struct knock_ports *ports);
int knock_ports_add(struct knock_ports *ports, const struct knock_port_range *range);
bool knock_ports_contain(const struct knock_ports *ports, uint8_t protocol, uint16_t port);
/* "tcp/22,tcp/6800-7300" into OUT; truncated with "..." when too long. */
void knock_ports_format(const struct knock_ports *ports, char *out, size_t size);
void knock_ports_free(struct knock_ports *ports);
/* "tcp", "udp" or a number; 0 when unknown. */
uint8_t knock_protocol_parse(const char *text);
const char *knock_protocol_name(uint8_t protocol);

/* An address for log lines: "10.0.0.2" or "fd00::2". */
void knock_address_format(int family, const uint8_t *address, char *out, size_t size);

struct knock_client_config {
	uint8_t server_pub[KNOCK_KEY_LEN];
	uint8_t signer[KNOCK_KEY_LEN]; /* secret: wiped by knock_client_config_free */
	uint8_t *cert;
	size_t cert_len;
	uint16_t knock_port;
	int family; /* AF_UNSPEC, AF_INET or AF_INET6: how to reach the server */
	bool pad;   /* pad every knock to KNOCK_MAX_LEN bytes */
};
/* client.c */
/* "192.0.2.7" or "fd00::7" into FAMILY (KNOCK_ADDRESS_*) and ADDRESS: 0 or -EINVAL. */
int knock_address_parse(const char *text, uint8_t *family, uint8_t address[16]);
/*
 * Fills REQ for PROTOCOL/PORT, to open for OPEN (NULL: family 0, the
 * datagram's source, which knockd refuses unless allow_source_address), sent
 * to DESTINATION (the server's address), now, a fresh nonce, the config's
 * padding. 0 or -EINVAL.
 */
int knock_request_prepare(const struct knock_client_config *config, uint8_t protocol, uint16_t port,
                          const char *open, const char *destination, struct knock_request *req);

#endif

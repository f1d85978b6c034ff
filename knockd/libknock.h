/*
 * libknock: the single-packet knock of SafeCloud for Ceph. The wire format is
 * specified byte by byte in docs/knock-protocol.md; this header is its C face.
 *
 *   packet.c   header checks and the plaintext request codec
 *   seal.c     the knock's cryptography: X25519, HKDF, AES-256-GCM, Ed25519
 *   keys.c     loading keys and certificates from PEM files
 *   ports.c    "tcp/22,udp/51820,tcp/6800-7300" port sets
 *   cert.c     client certificates: CA chain, CRL, the ports extension, cache
 *   replay.c   the nonce cache that makes every knock count once
 *   state.c    that cache on disk, so that a restart does not forget it
 *   verify.c   the server's check pipeline, cheapest check first
 *   client.c   what a client needs: load identity, seal, send
 *   config.c   knockd.conf
 *   firewall.c the nftables table, through libnftables
 *   capture.c  knock datagrams from NFLOG, and their IP/UDP headers
 *
 * Functions return 0 (or a count) or a negative errno. Nothing here prints.
 */
#ifndef KNOCK_LIBKNOCK_H
#define KNOCK_LIBKNOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"

#define KNOCK_MAGIC "SCKN"
#define KNOCK_MAGIC_LEN 4
#define KNOCK_VERSION 1
#define KNOCK_KEY_LEN 32
#define KNOCK_NONCE_LEN 16
#define KNOCK_SIG_LEN 64
#define KNOCK_TAG_LEN 16
#define KNOCK_HEADER_LEN 40 /* magic, version, flags, length, ephemeral key */
#define KNOCK_FIXED_LEN 46  /* request fields before the certificate */
#define KNOCK_MAX_LEN 1200  /* never fragmented, even over IPv6 tunnels */
#define KNOCK_MIN_LEN (KNOCK_HEADER_LEN + KNOCK_FIXED_LEN + 1 + KNOCK_SIG_LEN + KNOCK_TAG_LEN)
#define KNOCK_MAX_CERT_LEN                                                                         \
	(KNOCK_MAX_LEN - KNOCK_HEADER_LEN - KNOCK_FIXED_LEN - KNOCK_SIG_LEN - KNOCK_TAG_LEN)
#define KNOCK_DEFAULT_PORT 62201
#define KNOCK_MAX_TIME_WINDOW 3600 /* seconds: the largest time_window knockd.conf takes */
#define KNOCK_DEFAULT_STATE_FILE "/var/lib/knockd/replay-cache"

/* The X.509 extension that lists a certificate's ports (see docs/knockd.md). */
#define KNOCK_PORTS_OID "2.25.281742946190158798858197102220396364456"

/* Address families inside a request. */
#define KNOCK_ADDRESS_SOURCE 0 /* open for the datagram's source address */
#define KNOCK_ADDRESS_IPV4 4
#define KNOCK_ADDRESS_IPV6 6

struct knock_request {
	uint8_t protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family;   /* KNOCK_ADDRESS_* */
	uint16_t port;
	uint8_t address[16]; /* IPv4 in the first 4 bytes, the rest zero */
	uint64_t timestamp;  /* Unix seconds */
	uint8_t nonce[KNOCK_NONCE_LEN];
	const uint8_t *cert; /* DER; points into the buffer it was decoded from */
	size_t cert_len;
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

/* replay.c */
struct knock_replay;
/* Holds up to CAPACITY nonces (rounded up to a power of two, doubled). */
int knock_replay_new(size_t capacity, struct knock_replay **out);
void knock_replay_free(struct knock_replay *replay);
/* -EALREADY when NONCE was seen and has not expired by NOW, 0 otherwise. */
int knock_replay_check(const struct knock_replay *replay, const uint8_t nonce[KNOCK_NONCE_LEN],
                       uint64_t now);
/* Remembers NONCE until EXPIRES; -ENOSPC when full of live nonces. */
int knock_replay_insert(struct knock_replay *replay, const uint8_t nonce[KNOCK_NONCE_LEN],
                        uint64_t expires, uint64_t now);
size_t knock_replay_count(const struct knock_replay *replay);
size_t knock_replay_capacity(const struct knock_replay *replay);
/* Calls FN for every nonce still live at NOW, in no particular order. */
typedef void knock_replay_fn(void *arg, const uint8_t nonce[KNOCK_NONCE_LEN], uint64_t expires);
void knock_replay_foreach(const struct knock_replay *replay, uint64_t now, knock_replay_fn *fn,
                          void *arg);

/*
 * The floor: the cache vouches only for knocks whose timestamp is at least
 * this. An older knock may have been accepted while the cache was not looking
 * (before a start that found no saved cache, or before time_window grew and
 * outlived its nonces), so knock_verify refuses it as a replay. The floor
 * only rises; a new cache has none (0).
 */
enum knock_floor_cause {
	KNOCK_FLOOR_NONE = 0,
	KNOCK_FLOOR_START = 1,  /* knockd started without a saved cache */
	KNOCK_FLOOR_WINDOW = 2, /* time_window grew beyond what the nonces were kept for */
};
void knock_replay_floor_raise(struct knock_replay *replay, uint64_t floor,
                              enum knock_floor_cause cause);
uint64_t knock_replay_floor(const struct knock_replay *replay, enum knock_floor_cause *cause);
/*
 * time_window changes from OLD to NEW seconds at NOW. When it grows, every
 * live nonce is kept NEW - OLD seconds longer, and the floor rises to
 * NOW - OLD (nonces of older knocks may already be gone); a smaller window
 * changes nothing.
 */
void knock_replay_window_change(struct knock_replay *replay, uint64_t old_window,
                                uint64_t new_window, uint64_t now);

/* state.c: the replay cache on disk (docs/knockd.md, "REPLAY CACHE AND STATE FILE"). */
#define KNOCK_STATE_MAGIC "SCKNRPLY"
#define KNOCK_STATE_VERSION 1
#define KNOCK_STATE_HEADER_LEN 40
#define KNOCK_STATE_ENTRY_LEN 24 /* nonce, expiry */
#define KNOCK_STATE_SUM_LEN 32   /* SHA-256 of everything before it */
struct knock_state_info {
	uint64_t saved;      /* when the file was written (Unix seconds) */
	uint64_t window;     /* time_window then */
	size_t nonces;       /* entries in the file */
	size_t live;         /* of those, still live at load: now in the cache */
	const char *problem; /* why a file is corrupt (static text), else NULL */
};
/* The file's bytes for REPLAY's nonces live at NOW (caller frees *OUT). */
int knock_state_encode(const struct knock_replay *replay, uint64_t window, uint64_t now,
                       uint8_t **out, size_t *len);
/*
 * Checks DATA whole -- length, magic, version, fields, checksum -- before it
 * loads anything into REPLAY, which must be empty (-EINVAL otherwise): its
 * live nonces, its floor, and the window change from the file's time_window
 * to WINDOW. Returns 0; -EBADMSG for a corrupt file (INFO->problem says
 * why); -ENOSPC when its live nonces outnumber REPLAY's capacity. On any
 * error REPLAY is left untouched.
 */
int knock_state_decode(const uint8_t *data, size_t len, uint64_t window, uint64_t now,
                       struct knock_replay *replay, struct knock_state_info *info);
/*
 * Writes the file atomically: PATH.tmp (mode 0600) written and fsync'd,
 * renamed over PATH, the directory fsync'd. 0 or -errno.
 */
int knock_state_save(const char *path, const struct knock_replay *replay, uint64_t window,
                     uint64_t now);
/*
 * knock_state_decode of PATH, a regular file no larger than REPLAY's capacity
 * allows (-EFBIG otherwise). -ENOENT when there is none.
 */
int knock_state_load(const char *path, uint64_t window, uint64_t now, struct knock_replay *replay,
                     struct knock_state_info *info);
/* Creates PATH's directory, mode 0700, when it is missing: 0 or -errno. */
int knock_state_dir_make(const char *path);

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

/* config.c */
struct knockd_config {
	char *path;
	uint16_t knock_port;
	uint16_t nflog_group;
	char table[64];
	char *server_key;
	char *ca;
	char *crl;                              /* NULL: no revocation list */
	char *log_file;                         /* NULL: stderr */
	char *status_file;                      /* NULL: none */
	char *state_file;                       /* the replay cache on disk */
	int server_key_line, ca_line, crl_line; /* for messages about those files */
	int state_file_line;                    /* 0: the default */
	int log_level;
	unsigned open_seconds;
	unsigned time_window;
	unsigned replay_capacity;
	unsigned log_rejects_per_second;
	unsigned rcvbuf_mb;
	bool open_other_address;
	struct knock_ports protect;
	struct knock_access_rule *access;
	size_t access_count;
};
int knockd_config_load(const char *path, struct knockd_config **out, struct sc_err *err);
int knockd_config_parse(const char *name, const char *text, struct knockd_config **out,
                        struct sc_err *err);
void knockd_config_free(struct knockd_config *config);

struct knock_client_config {
	uint8_t server_pub[KNOCK_KEY_LEN];
	uint8_t signer[KNOCK_KEY_LEN]; /* secret: wiped by knock_client_config_free */
	uint8_t *cert;
	size_t cert_len;
	uint16_t knock_port;
};
/* client.c */
/*
 * Reads the client's config (group "knock": server_key, certificate, key,
 * port) from PATH; any of the SERVER_KEY, CERT, KEY paths given override it.
 * PATH may be NULL when all three are given.
 */
int knock_client_config_load(const char *path, const char *server_key, const char *cert,
                             const char *key, struct knock_client_config **out, struct sc_err *err);
void knock_client_config_free(struct knock_client_config *config);
/* Fills REQ for PROTOCOL/PORT, OPEN (NULL: the source address), now, a fresh nonce. */
int knock_request_prepare(const struct knock_client_config *config, uint8_t protocol, uint16_t port,
                          const char *open, struct knock_request *req);
/* Sends one fresh knock to HOST (name or address) at the config's knock port. */
int knock_client_send(const struct knock_client_config *config, const char *host, uint8_t protocol,
                      uint16_t port, const char *open, struct sc_err *err);

/* firewall.c */
struct knock_firewall;
/*
 * Creates knockd's table (replacing a stale one of the same name) with the knock
 * rule and the drop rules for CONFIG's protected ports.
 */
int knock_firewall_open(const struct knockd_config *config, struct knock_firewall **out,
                        struct sc_err *err);
/* Adds or refreshes (address . protocol . port) with a timeout of SECONDS. */
int knock_firewall_allow(struct knock_firewall *firewall, int family, const uint8_t *address,
                         uint8_t protocol, uint16_t port, unsigned seconds, struct sc_err *err);
/* The sets' elements as nft prints them (caller frees). */
int knock_firewall_list(struct knock_firewall *firewall, char **out);
/* Deletes the table and frees FIREWALL. */
void knock_firewall_close(struct knock_firewall *firewall);

/* capture.c */
struct knock_datagram {
	int family; /* AF_INET or AF_INET6 */
	uint8_t source[16];
	uint16_t source_port;
	const uint8_t *payload;
	size_t len;      /* bytes of payload captured */
	size_t wire_len; /* UDP payload length on the wire */
};
/* Parses an IPv4 or IPv6 packet carrying UDP: 0 or -EBADMSG. */
int knock_datagram_parse(const uint8_t *ip, size_t len, struct knock_datagram *out);
typedef void knock_datagram_fn(void *arg, const struct knock_datagram *datagram);
struct knock_capture;
int knock_capture_open(uint16_t group, unsigned rcvbuf_mb, struct knock_capture **out);
int knock_capture_fd(const struct knock_capture *capture);
/* Reads what is queued, calling FN for each UDP datagram; -errno on failure. */
int knock_capture_read(struct knock_capture *capture, knock_datagram_fn *fn, void *arg);
/* Datagrams the kernel dropped because the socket was full (ENOBUFS). */
uint64_t knock_capture_overruns(const struct knock_capture *capture);
void knock_capture_close(struct knock_capture *capture);

/* An address for log lines: "10.0.0.2" or "fd00::2". */
void knock_address_format(int family, const uint8_t *address, char *out, size_t size);

#endif

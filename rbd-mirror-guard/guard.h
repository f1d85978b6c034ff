/*
 * rbd-mirror-guard's internal interfaces, one block a file. The wire format
 * (flow header and reply) is specified byte by byte in docs/guard.md.
 *
 *   flow.c     the flow header and its reply: the one parser of tunnel bytes
 *   allow.c    the allow-list: addresses of the primary's mon/osd/mgr maps
 *   tls.c      TLS 1.3 contexts with mutual authentication, CA and CRL
 *   relay.c    moving bytes between a plain socket and a TLS stream
 *   knock.c    the knock, through libknock's client functions
 *   redirect.c the connect side's nftables table, through libnftables
 *   status.c   the JSON status socket
 *   config.c   rbd-mirror-guard.conf
 *   journal.c  bytes a journal-mode replica is behind (the journal's objects)
 *   sandbox.c  what serve may still do after start-up (seccomp allow-list)
 *   serve.c, connect.c, pool.c   the commands
 *
 * Library-style functions return 0 or -errno and never print; the commands
 * log and turn errors into one line.
 */
#ifndef GUARD_GUARD_H
#define GUARD_GUARD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>
#include <rados/librados.h>

#include "common/err.h"

/* ---- flow.c ------------------------------------------------------------ */
#define GUARD_FLOW_MAGIC "SCGF"
#define GUARD_REPLY_MAGIC "SCGR"
#define GUARD_FLOW_VERSION 1
#define GUARD_FLOW_LEN 28       /* magic 4, version 1, kind 1, zero 2, then a list entry */
#define GUARD_REPLY_LEN 12      /* magic 4, version 1, status 1, count 2, zero 4 */
#define GUARD_LIST_ENTRY_LEN 20 /* family 1, zero 1, port 2, addr 16 */
#define GUARD_LIST_MAX 4096

enum guard_flow_kind {
	GUARD_FLOW_CONNECT = 1, /* forward this stream to the address */
	GUARD_FLOW_LIST = 2,    /* send the allow-list, then close */
};

enum guard_status {
	GUARD_STATUS_OK = 0,
	GUARD_STATUS_REFUSED = 1,     /* destination not in the cluster's maps */
	GUARD_STATUS_UNREACHABLE = 2, /* allowed, but the connect failed */
	GUARD_STATUS_BAD_REQUEST = 3,
	GUARD_STATUS_BUSY = 4, /* too many flows */
};

struct guard_addr {
	int family; /* AF_INET or AF_INET6 */
	uint16_t port;
	uint8_t addr[16]; /* IPv4 in the first 4 bytes, the rest zero */
};

struct guard_flow {
	enum guard_flow_kind kind;
	struct guard_addr dest; /* zero for LIST */
};

int guard_flow_encode(const struct guard_flow *flow, uint8_t out[GUARD_FLOW_LEN]);
/* 0, or -EBADMSG for anything but a well-formed header of this version. */
int guard_flow_decode(const uint8_t *in, size_t len, struct guard_flow *flow);
void guard_reply_encode(enum guard_status status, uint16_t count, uint8_t out[GUARD_REPLY_LEN]);
int guard_reply_decode(const uint8_t *in, size_t len, enum guard_status *status, uint16_t *count);
void guard_list_entry_encode(const struct guard_addr *a, uint8_t out[GUARD_LIST_ENTRY_LEN]);
int guard_list_entry_decode(const uint8_t *in, size_t len, struct guard_addr *a);
const char *guard_status_name(enum guard_status status);

/* sockaddr conversions and "10.0.0.1:3300" / "[fd00::1]:3300" for logs. */
int guard_addr_from_sockaddr(const struct sockaddr *sa, struct guard_addr *out);
socklen_t guard_addr_to_sockaddr(const struct guard_addr *a, struct sockaddr_storage *out);
void guard_addr_format(const struct guard_addr *a, char *out, size_t size);
bool guard_addr_equal(const struct guard_addr *a, const struct guard_addr *b);
/* "10.0.0.1:3300" or "[fd00::1]:3300": 0 or -EINVAL. */
int guard_addr_parse(const char *text, struct guard_addr *out);

/* ---- allow.c ----------------------------------------------------------- */
struct guard_allow_list {
	struct guard_addr *addrs;
	size_t count, cap;
};
/*
 * Appends every address of the "addrvec" under each KEY in Ceph's JSON
 * (mon dump's and osd dump's "public_addrs", mgr dump's "active_addrs").
 * Untrusted text: bounded, never reads past LEN. 0, -EBADMSG, -ENOMEM.
 */
int guard_allow_parse(const char *json, size_t len, const char *key, struct guard_allow_list *list);
int guard_allow_add(struct guard_allow_list *list, const struct guard_addr *a);
bool guard_allow_contains(const struct guard_allow_list *list, const struct guard_addr *a);
void guard_allow_free(struct guard_allow_list *list);

/* The primary cluster's maps, refreshed; thread-safe lookups. */
struct guard_maps;
struct sc_cluster_opts;
/* EXTRA: addresses the admin allows besides the maps (may be NULL). */
int guard_maps_open(const struct sc_cluster_opts *opts, const struct guard_allow_list *extra,
                    struct guard_maps **out, struct sc_err *err);
/* "10.0.0.1:5201, [fd00::1]:5201" into LIST: 0 or -EINVAL. */
int guard_allow_parse_text(const char *text, struct guard_allow_list *list);
/* Reads mon, osd and mgr dump again; the list is replaced only on success. */
int guard_maps_refresh(struct guard_maps *maps, struct sc_err *err);
bool guard_maps_allows(struct guard_maps *maps, const struct guard_addr *a);
/* A copy of the current list (caller frees with guard_allow_free). */
int guard_maps_snapshot(struct guard_maps *maps, struct guard_allow_list *out);
void guard_maps_close(struct guard_maps *maps);

/* ---- tls.c ------------------------------------------------------------- */
struct guard_tls_identity {
	X509 *cert;
	STACK_OF(X509) * chain; /* further certificates of the certificate file */
	EVP_PKEY *key;
};
int guard_tls_identity_load(const char *certificate, const char *key,
                            struct guard_tls_identity **out, struct sc_err *err);
void guard_tls_identity_free(struct guard_tls_identity *id);
/*
 * A TLS 1.3-only context presenting ID that demands and verifies the peer's
 * certificate against CA (and CRL, NULL for none). SERVER picks the side.
 */
int guard_tls_context_new(const struct guard_tls_identity *id, const char *ca, const char *crl,
                          bool server, SSL_CTX **out, struct sc_err *err);
/* The peer certificate's subject for logs ("CN=x,O=y"), or "?" */
void guard_tls_peer_subject(SSL *ssl, char *out, size_t size);
/* The last OpenSSL error as text, for one log line. */
void guard_tls_error(char *out, size_t size);

/* ---- relay.c ----------------------------------------------------------- */
/* A shared token bucket: bytes per second, 0 for no limit. */
struct guard_rate {
	pthread_mutex_t lock; /* guards tokens and last */
	double rate, burst, tokens, last;
};
void guard_rate_init(struct guard_rate *rate, double bytes_per_second);
void guard_rate_take(struct guard_rate *rate, size_t bytes);

struct guard_counters {
	_Atomic unsigned long long up, down; /* plain->tls, tls->plain */
};
/*
 * Moves bytes both ways between PLAIN and SSL until either side ends or
 * fails, or *STOP becomes true. Returns 0 on a clean end, -errno otherwise.
 */
int guard_relay(int plain, SSL *ssl, struct guard_rate *rate, struct guard_counters *counters,
                const _Atomic bool *stop);
/* Reads exactly LEN bytes from SSL (blocking socket). 0 or -errno. */
int guard_tls_read_full(SSL *ssl, void *buf, size_t len);
int guard_tls_write_full(SSL *ssl, const void *buf, size_t len);

/* ---- status.c ---------------------------------------------------------- */
typedef int guard_status_fn(void *arg, char **json);
struct guard_status_server;
/* Listens on the unix socket PATH (mode 0600); each client gets FN's JSON. */
int guard_status_open(const char *path, guard_status_fn *fn, void *arg,
                      struct guard_status_server **out);
void guard_status_close(struct guard_status_server *server);
/* Reads the JSON of the socket at PATH (caller frees). */
int guard_status_query(const char *path, char **out);
/* Appends to a growing string (JSON building); 0 or -ENOMEM. */
struct guard_buf {
	char *data;
	size_t len, cap;
};
int guard_buf_printf(struct guard_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string literal of TEXT, quotes included. */
int guard_buf_json_string(struct guard_buf *b, const char *text);

/* ---- knock.c ----------------------------------------------------------- */
struct guard_knock;
/*
 * CONFIG: a knock client config (group "knock") or NULL; SERVER_KEY:
 * knockd's public key (overrides CONFIG's); the identity is CERT and KEY.
 */
int guard_knock_open(const char *config, const char *server_key, const char *cert, const char *key,
                     struct guard_knock **out, struct sc_err *err);
/* Knocks HOST for tcp/PORT. */
int guard_knock_send(struct guard_knock *knock, const char *host, uint16_t port,
                     struct sc_err *err);
void guard_knock_close(struct guard_knock *knock);

/* ---- journal.c --------------------------------------------------------- */
/* A commit position of one splay offset of a journal (docs/guard.md). */
struct guard_journal_position {
	uint64_t object, tag_tid, entry_tid;
};
/* Decodes a journal client record (the value of omap key client_ID): its
 * commit positions, most recent first, at most MAX. 0 or -EBADMSG. */
int guard_journal_client_decode(const uint8_t *buf, size_t len,
                                struct guard_journal_position *positions, size_t max,
                                size_t *count);
/* Walks the entries of one journal data object: BYTES of the entries after
 * COMMITTED (every entry when NULL). 0, or -EBADMSG for anything but whole,
 * well-formed entries. */
int guard_journal_bytes_after(const uint8_t *buf, size_t len,
                              const struct guard_journal_position *committed, uint64_t *bytes);
/* Bytes of image IMAGE_ID's journal (its header in IO's pool) not yet
 * committed by the client CLIENT_ID (the secondary pool's mirror uuid).
 * -ENOENT when that client is not registered. */
int guard_journal_bytes_behind(rados_ioctx_t io, const char *image_id, const char *client_id,
                               uint64_t *bytes);

/* ---- sandbox.c --------------------------------------------------------- */
/* Drops to USER (when root and USER is set) and enters serve's seccomp
 * sandbox, for every thread of the process. 0 or -errno (ERR says why). */
int guard_serve_sandbox_enter(const char *user, struct sc_err *err);

/* ---- redirect.c -------------------------------------------------------- */
struct guard_redirect;
/*
 * Creates the inet table TABLE (replacing a stale one of that name): TCP the
 * host sends to the addresses of LIST goes to 127.0.0.1/::1 port LPORT, except
 * packets carrying MARK (the guard's own sockets); anything else to those
 * addresses that is not marked is dropped before it leaves.
 */
int guard_redirect_open(const char *table, uint32_t mark, uint16_t lport,
                        struct guard_redirect **out, struct sc_err *err);
/* Replaces the sets' contents with LIST's addresses (ports ignored). */
int guard_redirect_update(struct guard_redirect *r, const struct guard_allow_list *list,
                          struct sc_err *err);
/* Deletes the table. */
void guard_redirect_close(struct guard_redirect *r);
/* Deletes a table of that name if one is left over: 1 when one was, 0, -errno. */
int guard_redirect_remove_stale(const char *table);

#endif

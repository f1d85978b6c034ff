/*
 * The messages between knockd's engine (the sandboxed child that verifies
 * knocks) and its parent (which holds CAP_NET_ADMIN), private to knockd.
 * They travel over a SOCK_SEQPACKET socketpair, one message a packet, in
 * the host's byte order (both ends are one binary). The parent trusts
 * nothing in them: knock_message_accept_check is the one place an engine
 * message is read, and it checks the exact length and every field.
 *
 *   engine -> parent  ACCEPT  a verified knock: what to open, its nonce
 *   parent -> engine  STATUS? (one byte)
 *   engine -> parent  STATUS  counters
 */
#ifndef KNOCK_MESSAGE_H
#define KNOCK_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "knockd/wire.h"

#define KNOCK_MSG_ACCEPT 'A'
#define KNOCK_MSG_STATUS 'S'
#define KNOCK_MSG_SUBJECT_LEN 128
#define KNOCK_MSG_SOURCE_LEN 48

struct knock_msg_accept {
	uint8_t type;     /* KNOCK_MSG_ACCEPT */
	uint8_t family;   /* KNOCK_ADDRESS_IPV4 or _IPV6 */
	uint8_t protocol; /* 6 or 17 */
	uint8_t zero;
	uint16_t port;
	uint8_t address[16]; /* IPv4: the first 4 bytes, the rest zero */
	uint8_t nonce[KNOCK_NONCE_LEN];
	uint64_t expires; /* the nonce's expiry in the replay cache */
	uint64_t clock;   /* the engine's replay clock */
	int64_t skew;
	char subject[KNOCK_MSG_SUBJECT_LEN]; /* printable, no '"', NUL-terminated */
	char source[KNOCK_MSG_SOURCE_LEN];   /* the datagram's source, as text */
};

struct knock_msg_status {
	uint8_t type; /* KNOCK_MSG_STATUS */
	uint64_t received, overruns, replay_cache;
	uint64_t rejected[KNOCK_REASON_COUNT];
	uint64_t cert_cache, cert_refused_cache, cert_verified, cert_rate_limited;
};

/*
 * Checks an ACCEPT message of LEN bytes in BUF against what knockd may ever
 * open (PROTECT) and the time (NOW, with TIME_WINDOW): exact length, type,
 * family and address padding, protocol, a protected port, an expiry no
 * later than NOW + 2 x TIME_WINDOW + 1, terminated printable strings. 0 and
 * *OUT filled, or -EBADMSG.
 */
int knock_message_accept_check(const void *buf, size_t len, const struct knock_ports *protect,
                               uint64_t now, uint64_t time_window, struct knock_msg_accept *out);
/* The same for a STATUS message: exact length and type. */
int knock_message_status_check(const void *buf, size_t len, struct knock_msg_status *out);

#endif

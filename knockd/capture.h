/*
 * Knock datagrams from NFLOG (capture.c), private to knockd.
 */
#ifndef KNOCK_CAPTURE_H
#define KNOCK_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

/* capture.c */
struct knock_datagram {
	int family; /* AF_INET or AF_INET6 */
	uint8_t source[16];
	uint8_t destination[16];
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

#endif

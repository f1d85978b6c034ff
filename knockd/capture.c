/*
 * Knock datagrams without a socket on the knock port: the nftables rule
 * "udp dport KNOCK log group G drop" copies each one to NFLOG group G, and we
 * read the group with libnetfilter_log. The kernel drops the datagram itself,
 * so nothing ever answers and the port looks filtered.
 *
 * Under a flood the netlink socket is what fills up: it gets a large receive
 * buffer (SO_RCVBUFFORCE, as root), the kernel batches up to QTHRESH packets
 * per message (flushed every 10 ms), and an overrun (ENOBUFS) is counted and
 * survived, never fatal. knock_datagram_parse is the one place IP and UDP
 * headers are read; it trusts no length field it has not checked.
 */
#include "knockd/capture.h"
#include "knockd/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <libnetfilter_log/libnetfilter_log.h>

#include "common/util.h"

#define COPY_RANGE 1500      /* a knock is at most 1200 bytes; more is "oversized" */
#define NLBUFSIZ (64 * 1024) /* one netlink message from the kernel */
#define QTHRESH 32           /* packets per message */
#define FLUSH_TIMEOUT 1      /* hundredths of a second */
#define READS_PER_CALL 256   /* then back to poll, so signals are seen under a flood */

struct knock_capture {
	struct nflog_handle *handle;
	struct nflog_g_handle *group;
	int fd;
	uint64_t overruns;
	knock_datagram_fn *fn;
	void *arg;
	char buf[2 * NLBUFSIZ];
};

static int ipv4_parse(const uint8_t *ip, size_t len, struct knock_datagram *out, size_t *offset)
{
	size_t ihl, total;

	if (len < 20)
		return -EBADMSG;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	total = sc_get_be16(ip + 2);
	if (ihl < 20 || ihl > len || total < ihl || ip[9] != IPPROTO_UDP)
		return -EBADMSG;
	if ((sc_get_be16(ip + 6) & 0x3fff) != 0) /* a fragment (MF set or an offset) */
		return -EBADMSG;
	out->family = AF_INET;
	memcpy(out->source, ip + 12, 4);
	memcpy(out->destination, ip + 16, 4);
	*offset = ihl;
	return 0;
}

static int ipv6_parse(const uint8_t *ip, size_t len, struct knock_datagram *out, size_t *offset)
{
	size_t off = 40;
	uint8_t next;

	if (len < 40)
		return -EBADMSG;
	next = ip[6];
	/* Skip hop-by-hop, routing and destination options; refuse fragments. */
	while (next == 0 || next == 43 || next == 60) {
		if (off + 8 > len)
			return -EBADMSG;
		next = ip[off];
		off += ((size_t)ip[off + 1] + 1) * 8;
		if (off > len)
			return -EBADMSG;
	}
	if (next != IPPROTO_UDP)
		return -EBADMSG;
	out->family = AF_INET6;
	memcpy(out->source, ip + 8, 16);
	memcpy(out->destination, ip + 24, 16);
	*offset = off;
	return 0;
}

int knock_datagram_parse(const uint8_t *ip, size_t len, struct knock_datagram *out)
{
	size_t off = 0, udp_len;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return -EBADMSG;
	switch (ip[0] >> 4) {
	case 4:
		r = ipv4_parse(ip, len, out, &off);
		break;
	case 6:
		r = ipv6_parse(ip, len, out, &off);
		break;
	default:
		r = -EBADMSG;
	}
	if (r < 0)
		return r;
	if (off + 8 > len)
		return -EBADMSG;
	out->source_port = sc_get_be16(ip + off);
	udp_len = sc_get_be16(ip + off + 4);
	if (udp_len < 8)
		return -EBADMSG;
	out->wire_len = udp_len - 8;
	out->payload = ip + off + 8;
	out->len = len - off - 8;
	if (out->len > out->wire_len)
		out->len = out->wire_len; /* link-layer padding */
	return 0;
}

static int on_packet(struct nflog_g_handle *gh, struct nfgenmsg *msg, struct nflog_data *nfd,
                     void *data)
{
	struct knock_capture *c = data;
	struct knock_datagram d;
	char *payload;
	int len = nflog_get_payload(nfd, &payload);

	if (len > 0 && knock_datagram_parse((const uint8_t *)payload, (size_t)len, &d) == 0)
		c->fn(c->arg, &d);
	return 0;
}

int knock_capture_open(uint16_t group, unsigned rcvbuf_mb, struct knock_capture **out)
{
	struct knock_capture *c = calloc(1, sizeof(*c));
	int size = (int)(rcvbuf_mb > 1024 ? 1024 : rcvbuf_mb) * 1024 * 1024, zero = 0, r;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->handle = nflog_open();
	if (!c->handle) {
		r = errno ? -errno : -EIO;
		goto fail;
	}
	/* Needed by kernels before 3.17 only; harmless (and may fail) after. */
	nflog_unbind_pf(c->handle, AF_INET);
	nflog_bind_pf(c->handle, AF_INET);
	nflog_unbind_pf(c->handle, AF_INET6);
	nflog_bind_pf(c->handle, AF_INET6);
	c->group = nflog_bind_group(c->handle, group);
	if (!c->group) {
		r = -EBUSY; /* another listener holds the group */
		goto fail;
	}
	if (nflog_set_mode(c->group, NFULNL_COPY_PACKET, COPY_RANGE) < 0 ||
	    nflog_set_nlbufsiz(c->group, NLBUFSIZ) < 0 ||
	    nflog_set_qthresh(c->group, QTHRESH) < 0 ||
	    nflog_set_timeout(c->group, FLUSH_TIMEOUT) < 0) {
		r = -EIO;
		goto fail;
	}
	nflog_callback_register(c->group, on_packet, c);
	c->fd = nflog_fd(c->handle);
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	/* Report overruns to us (ENOBUFS) rather than hide them. */
	setsockopt(c->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &zero, sizeof(zero));
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	knock_capture_close(c);
	return r;
}

int knock_capture_fd(const struct knock_capture *c)
{
	return c->fd;
}

uint64_t knock_capture_overruns(const struct knock_capture *c)
{
	return c->overruns;
}

int knock_capture_read(struct knock_capture *c, knock_datagram_fn *fn, void *arg)
{
	int reads = 0;

	c->fn = fn;
	c->arg = arg;
	while (reads < READS_PER_CALL) {
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				c->overruns++;
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		reads++;
		nflog_handle_packet(c->handle, c->buf, (int)n);
	}
	return reads;
}

void knock_capture_close(struct knock_capture *c)
{
	if (!c)
		return;
	if (c->group)
		nflog_unbind_group(c->group);
	if (c->handle)
		nflog_close(c->handle);
	free(c);
}

/*
 * The flow header and its reply: the first bytes of every TLS stream of the
 * tunnel (docs/guard.md, "The flow header"). This file is the one parser of
 * bytes a tunnel peer sends before the relay starts; every field is checked
 * before it is used and every reserved byte must be zero, so that a later
 * version can give them a meaning without old peers misreading them.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

static const char *const status_names[] = {
    [GUARD_STATUS_OK] = "ok",
    [GUARD_STATUS_REFUSED] = "refused",
    [GUARD_STATUS_UNREACHABLE] = "unreachable",
    [GUARD_STATUS_BAD_REQUEST] = "bad-request",
    [GUARD_STATUS_BUSY] = "busy",
};

const char *guard_status_name(enum guard_status status)
{
	if ((unsigned)status < sizeof(status_names) / sizeof(status_names[0]) &&
	    status_names[status])
		return status_names[status];
	return "unknown";
}

static bool all_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

/* family, zero, port, addr: the shared layout of a flow's address and a list entry */
static void addr_put(const struct guard_addr *a, uint8_t out[20])
{
	memset(out, 0, 20);
	out[0] = a->family == AF_INET6 ? 6 : 4;
	sc_put_be16(out + 2, a->port);
	memcpy(out + 4, a->addr, a->family == AF_INET6 ? 16 : 4);
}

static int addr_get(const uint8_t in[20], struct guard_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (in[1] != 0)
		return -EBADMSG;
	if (in[0] == 4) {
		if (!all_zero(in + 8, 12))
			return -EBADMSG;
		a->family = AF_INET;
	} else if (in[0] == 6) {
		a->family = AF_INET6;
	} else {
		return -EBADMSG;
	}
	a->port = sc_get_be16(in + 2);
	if (a->port == 0)
		return -EBADMSG;
	memcpy(a->addr, in + 4, a->family == AF_INET6 ? 16 : 4);
	return 0;
}

int guard_flow_encode(const struct guard_flow *flow, uint8_t out[GUARD_FLOW_LEN])
{
	memset(out, 0, GUARD_FLOW_LEN);
	memcpy(out, GUARD_FLOW_MAGIC, 4);
	out[4] = GUARD_FLOW_VERSION;
	out[5] = (uint8_t)flow->kind;
	if (flow->kind == GUARD_FLOW_CONNECT) {
		if (flow->dest.family != AF_INET && flow->dest.family != AF_INET6)
			return -EINVAL;
		if (flow->dest.port == 0)
			return -EINVAL;
		addr_put(&flow->dest, out + 8);
	} else if (flow->kind != GUARD_FLOW_LIST) {
		return -EINVAL;
	}
	return 0;
}

int guard_flow_decode(const uint8_t *in, size_t len, struct guard_flow *flow)
{
	memset(flow, 0, sizeof(*flow));
	if (len != GUARD_FLOW_LEN)
		return -EBADMSG;
	if (memcmp(in, GUARD_FLOW_MAGIC, 4) != 0 || in[4] != GUARD_FLOW_VERSION)
		return -EBADMSG;
	if (in[6] != 0 || in[7] != 0)
		return -EBADMSG;
	switch (in[5]) {
	case GUARD_FLOW_CONNECT:
		flow->kind = GUARD_FLOW_CONNECT;
		return addr_get(in + 8, &flow->dest);
	case GUARD_FLOW_LIST:
		if (!all_zero(in + 8, 20))
			return -EBADMSG;
		flow->kind = GUARD_FLOW_LIST;
		return 0;
	default:
		return -EBADMSG;
	}
}

void guard_reply_encode(enum guard_status status, uint16_t count, uint8_t out[GUARD_REPLY_LEN])
{
	memset(out, 0, GUARD_REPLY_LEN);
	memcpy(out, GUARD_REPLY_MAGIC, 4);
	out[4] = GUARD_FLOW_VERSION;
	out[5] = (uint8_t)status;
	sc_put_be16(out + 6, count);
}

int guard_reply_decode(const uint8_t *in, size_t len, enum guard_status *status, uint16_t *count)
{
	if (len != GUARD_REPLY_LEN)
		return -EBADMSG;
	if (memcmp(in, GUARD_REPLY_MAGIC, 4) != 0 || in[4] != GUARD_FLOW_VERSION)
		return -EBADMSG;
	if (in[5] > GUARD_STATUS_BUSY || !all_zero(in + 8, 4))
		return -EBADMSG;
	*count = sc_get_be16(in + 6);
	if (*count > GUARD_LIST_MAX || (in[5] != GUARD_STATUS_OK && *count != 0))
		return -EBADMSG;
	*status = (enum guard_status)in[5];
	return 0;
}

void guard_list_entry_encode(const struct guard_addr *a, uint8_t out[GUARD_LIST_ENTRY_LEN])
{
	addr_put(a, out);
}

int guard_list_entry_decode(const uint8_t *in, size_t len, struct guard_addr *a)
{
	if (len != GUARD_LIST_ENTRY_LEN)
		return -EBADMSG;
	return addr_get(in, a);
}

int guard_addr_from_sockaddr(const struct sockaddr *sa, struct guard_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = AF_INET;
		out->port = ntohs(in->sin_port);
		memcpy(out->addr, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		out->family = AF_INET6;
		out->port = ntohs(in6->sin6_port);
		memcpy(out->addr, &in6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

socklen_t guard_addr_to_sockaddr(const struct guard_addr *a, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->addr, 16);
		return sizeof(*in6);
	}
	struct sockaddr_in *in = (struct sockaddr_in *)out;
	in->sin_family = AF_INET;
	in->sin_port = htons(a->port);
	memcpy(&in->sin_addr, a->addr, 4);
	return sizeof(*in);
}

void guard_addr_format(const struct guard_addr *a, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->addr, host, sizeof(host));
	if (a->family == AF_INET6)
		snprintf(out, size, "[%s]:%u", host, a->port);
	else
		snprintf(out, size, "%s:%u", host, a->port);
}

bool guard_addr_equal(const struct guard_addr *a, const struct guard_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, a->family == AF_INET6 ? 16 : 4) == 0;
}

int guard_addr_parse(const char *text, struct guard_addr *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *start = text;
	size_t hlen;
	unsigned long port;
	char *end;

	memset(out, 0, sizeof(*out));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		start = text + 1;
		hlen = (size_t)(close - start);
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - text);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, start, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port == 0 || port > 65535)
		return -EINVAL;
	out->port = (uint16_t)port;
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

/*
 * Port sets: "tcp/22", "udp/51820", "tcp/6800-7300", or a bare "22" for TCP,
 * in lists separated by commas or spaces. The same syntax is used in
 * knockd.conf ("protect", "access") and in the certificate extension, so an
 * admin learns it once. Parsing text from a certificate is untrusted input:
 * every number is range-checked.
 */
#include "knockd/wire.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PORTS_MAX 1024 /* ranges in one set: far more than anyone lists */

uint8_t knock_protocol_parse(const char *text)
{
	if (strcasecmp(text, "tcp") == 0)
		return IPPROTO_TCP;
	if (strcasecmp(text, "udp") == 0)
		return IPPROTO_UDP;
	return 0;
}

const char *knock_protocol_name(uint8_t protocol)
{
	return protocol == IPPROTO_UDP ? "udp" : protocol == IPPROTO_TCP ? "tcp" : "?";
}

static int port_parse(const char *text, size_t len, uint16_t *out)
{
	unsigned value = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)text[i]))
			return -EINVAL;
		value = value * 10 + (unsigned)(text[i] - '0');
	}
	if (value == 0 || value > 65535)
		return -EINVAL;
	*out = (uint16_t)value;
	return 0;
}

/* TEXT of LEN bytes, not necessarily NUL-terminated. */
static int range_parse(const char *text, size_t len, struct knock_port_range *out)
{
	const char *slash = memchr(text, '/', len), *dash;
	char proto[8];

	out->protocol = IPPROTO_TCP;
	if (slash) {
		size_t plen = (size_t)(slash - text);
		if (plen == 0 || plen >= sizeof(proto))
			return -EINVAL;
		memcpy(proto, text, plen);
		proto[plen] = '\0';
		out->protocol = knock_protocol_parse(proto);
		if (!out->protocol)
			return -EINVAL;
		len -= plen + 1;
		text = slash + 1;
	}
	dash = memchr(text, '-', len);
	if (!dash) {
		if (port_parse(text, len, &out->first) < 0)
			return -EINVAL;
		out->last = out->first;
		return 0;
	}
	if (port_parse(text, (size_t)(dash - text), &out->first) < 0 ||
	    port_parse(dash + 1, len - (size_t)(dash - text) - 1, &out->last) < 0 ||
	    out->last < out->first)
		return -EINVAL;
	return 0;
}

int knock_port_range_parse(const char *text, struct knock_port_range *out)
{
	return range_parse(text, strlen(text), out);
}

int knock_ports_add(struct knock_ports *ports, const struct knock_port_range *range)
{
	struct knock_port_range *grown;

	if (ports->count >= PORTS_MAX)
		return -E2BIG;
	grown = realloc(ports->ranges, (ports->count + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	grown[ports->count++] = *range;
	ports->ranges = grown;
	return 0;
}

int knock_ports_parse(const char *text, struct knock_ports *ports)
{
	const char *p = text;

	for (;;) {
		struct knock_port_range range;
		size_t len;
		int r;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			return 0;
		len = strcspn(p, ", \t\r\n");
		r = range_parse(p, len, &range);
		if (r < 0)
			return r;
		r = knock_ports_add(ports, &range);
		if (r < 0)
			return r;
		p += len;
	}
}

bool knock_ports_contain(const struct knock_ports *ports, uint8_t protocol, uint16_t port)
{
	for (size_t i = 0; i < ports->count; i++) {
		const struct knock_port_range *r = &ports->ranges[i];
		if (r->protocol == protocol && port >= r->first && port <= r->last)
			return true;
	}
	return false;
}

void knock_ports_format(const struct knock_ports *ports, char *out, size_t size)
{
	size_t used = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < ports->count; i++) {
		const struct knock_port_range *r = &ports->ranges[i];
		char one[32];
		size_t n;

		if (r->first == r->last)
			n = (size_t)snprintf(one, sizeof(one), "%s%s/%u", i ? "," : "",
			                     knock_protocol_name(r->protocol), r->first);
		else
			n = (size_t)snprintf(one, sizeof(one), "%s%s/%u-%u", i ? "," : "",
			                     knock_protocol_name(r->protocol), r->first, r->last);
		if (used + n + 4 >= size) {
			snprintf(out + used, size - used, "...");
			return;
		}
		memcpy(out + used, one, n + 1);
		used += n;
	}
}

void knock_ports_free(struct knock_ports *ports)
{
	free(ports->ranges);
	ports->ranges = NULL;
	ports->count = 0;
}

/*
 * knockd's one nftables table, through libnftables (never by running nft).
 *
 *   table inet knockd {
 *     set allow4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }
 *     set allow6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }
 *     chain input {
 *       type filter hook input priority filter - 10; policy accept;
 *       udp dport KNOCK log group G drop      knock datagrams go to knockd, unanswered
 *       tcp dport KNOCK drop                  no RST either: the port looks filtered
 *       ct state established,related accept  open flows outlive their element
 *       ip saddr . meta l4proto . th dport @allow4 accept
 *       ip6 saddr . meta l4proto . th dport @allow6 accept
 *       tcp dport { protected } drop
 *       udp dport { protected } drop
 *     }
 *   }
 *
 * Elements carry their own timeout, so the kernel closes a port by itself even
 * if knockd dies. A re-knock deletes and re-adds its element in one
 * transaction, which resets the timeout instead of adding anything. The table
 * is created whole in one transaction (replacing a stale copy of itself) and
 * deleted at stop; no other table is ever named.
 */
#include "knockd/firewall.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#define SET_SIZE 65536

struct knock_firewall {
	struct nft_ctx *nft;
	char table[64];
};

/* Runs one nft transaction; on failure ERR gets nft's own message. */
static int run(struct knock_firewall *fw, struct sc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int run(struct knock_firewall *fw, struct sc_err *err, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r = nft_run_cmd_from_buffer(fw->nft, cmd);
	if (r != 0) {
		const char *why = nft_ctx_get_error_buffer(fw->nft);
		sc_err_set(err, "nftables: %s", why && why[0] ? why : "command failed");
		r = -EIO;
	} else {
		nft_ctx_get_error_buffer(fw->nft); /* reset */
	}
	free(cmd);
	return r;
}

static void ports_of(const struct knock_ports *ports, uint8_t protocol, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ports->count && used < size; i++) {
		const struct knock_port_range *p = &ports->ranges[i];
		int n;
		if (p->protocol != protocol)
			continue;
		if (p->first == p->last)
			n = snprintf(out + used, size - used, "%s%u", used ? ", " : "", p->first);
		else
			n = snprintf(out + used, size - used, "%s%u-%u", used ? ", " : "", p->first,
			             p->last);
		if (n < 0 || (size_t)n >= size - used) {
			out[used] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

int knock_firewall_open(const struct knockd_config *config, struct knock_firewall **out,
                        struct sc_err *err)
{
	struct knock_firewall *fw = calloc(1, sizeof(*fw));
	char tcp[8192], udp[8192], tcp_rule[8300] = "", udp_rule[8300] = "";
	int r = -ENOMEM;

	*out = NULL;
	if (!fw)
		goto fail;
	snprintf(fw->table, sizeof(fw->table), "%s", config->table);
	fw->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!fw->nft || nft_ctx_buffer_output(fw->nft) != 0 || nft_ctx_buffer_error(fw->nft) != 0)
		goto fail;
	ports_of(&config->protect, 6, tcp, sizeof(tcp));
	ports_of(&config->protect, 17, udp, sizeof(udp));
	if (tcp[0])
		snprintf(tcp_rule, sizeof(tcp_rule), "tcp dport { %s } drop\n", tcp);
	if (udp[0])
		snprintf(udp_rule, sizeof(udp_rule), "udp dport { %s } drop\n", udp);
	r = run(
	    fw, err,
	    "add table inet %s\n"
	    "delete table inet %s\n"
	    "table inet %s {\n"
	    " set allow4 { type ipv4_addr . inet_proto . inet_service; flags timeout; size %d; }\n"
	    " set allow6 { type ipv6_addr . inet_proto . inet_service; flags timeout; size %d; }\n"
	    " chain input {\n"
	    "  type filter hook input priority filter - 10; policy accept;\n"
	    "  udp dport %u log group %u drop\n"
	    "  tcp dport %u drop\n"
	    "  ct state established,related accept\n"
	    "  ip saddr . meta l4proto . th dport @allow4 accept\n"
	    "  ip6 saddr . meta l4proto . th dport @allow6 accept\n"
	    "  %s  %s"
	    " }\n"
	    "}\n",
	    fw->table, fw->table, fw->table, SET_SIZE, SET_SIZE, config->knock_port,
	    config->nflog_group, config->knock_port, tcp_rule, udp_rule);
	if (r < 0)
		goto fail;
	*out = fw;
	return 0;
fail:
	if (r == -ENOMEM)
		sc_err_set(err, "nftables: out of memory");
	if (fw && fw->nft)
		nft_ctx_free(fw->nft);
	free(fw);
	return r;
}

int knock_firewall_allow(struct knock_firewall *fw, int family, const uint8_t *address,
                         uint8_t protocol, uint16_t port, unsigned seconds, struct sc_err *err)
{
	const char *set = family == 6 ? "allow6" : "allow4";
	const char *proto = knock_protocol_name(protocol);
	char addr[64], element[128];

	if (protocol != 6 && protocol != 17)
		return -EINVAL;
	knock_address_format(family, address, addr, sizeof(addr));
	snprintf(element, sizeof(element), "%s . %s . %u", addr, proto, port);
	/* add (no-op if present), delete, add: one transaction that resets the timeout. */
	return run(fw, err,
	           "add element inet %s %s { %s timeout %us }\n"
	           "delete element inet %s %s { %s }\n"
	           "add element inet %s %s { %s timeout %us }\n",
	           fw->table, set, element, seconds, fw->table, set, element, fw->table, set,
	           element, seconds);
}

int knock_firewall_list(struct knock_firewall *fw, char **out)
{
	struct sc_err err;
	const char *text;
	int r;

	*out = NULL;
	r = run(fw, &err, "list set inet %s allow4\nlist set inet %s allow6\n", fw->table,
	        fw->table);
	if (r < 0)
		return r;
	text = nft_ctx_get_output_buffer(fw->nft);
	*out = strdup(text ? text : "");
	return *out ? 0 : -ENOMEM;
}

void knock_firewall_close(struct knock_firewall *fw)
{
	struct sc_err err;

	if (!fw)
		return;
	run(fw, &err, "delete table inet %s\n", fw->table);
	nft_ctx_free(fw->nft);
	free(fw);
}

/*
 * knockd's one nftables table, through libnftables (never by running nft).
 *
 *   table inet knockd {
 *     comment "knockd: ..."                   marks the table as knockd's own
 *     set allow4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }
 *     set allow6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }
 *     set trusted4 { type ipv4_addr; flags interval; }   the `trusted` prefixes
 *     set trusted6 { type ipv6_addr; flags interval; }
 *     chain input {
 *       type filter hook input priority filter - 10; policy accept;
 *       udp dport KNOCK log group G drop      knock datagrams go to knockd, unanswered
 *       tcp dport KNOCK drop                  no RST either: the port looks filtered
 *       iif "lo" accept                       a host reaches its own services
 *       ip saddr @trusted4 accept             the cluster's own networks
 *       ip6 saddr @trusted6 accept
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
 * is created whole in one transaction (replacing a stale copy of itself, never
 * another program's table of the same name: the comment tells them apart). At
 * stop only the allow sets are flushed: the knock rule and the drops stay, so
 * a stopped or crashed knockd leaves the ports closed and the knock port
 * silent. Only knockd --remove deletes the table. No other table is ever
 * named.
 */
#include "knockd/firewall.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#define SET_SIZE 65536
#define OWNER_COMMENT "knockd: managed by knockd; knockd --remove deletes it"

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

/*
 * 0 when no table TABLE exists or it is knockd's own, -EEXIST when another
 * program's table has that name.
 */
static int owner_check(struct knock_firewall *fw, struct sc_err *err)
{
	struct sc_err ignored;
	const char *text;

	if (run(fw, &ignored, "list table inet %s\n", fw->table) < 0)
		return 0; /* no such table */
	text = nft_ctx_get_output_buffer(fw->nft);
	if (text && strstr(text, "comment \"" OWNER_COMMENT "\""))
		return 0;
	sc_err_set(err,
	           "table inet %s exists and is not knockd's (it lacks knockd's comment): "
	           "choose another 'table' name",
	           fw->table);
	return -EEXIST;
}

/* "elements = { 10.0.0.0/24, ... }; " for the prefixes of FAMILY, or "". */
static void trusted_elements(const struct knockd_config *config, uint8_t family, char *out,
                             size_t size)
{
	size_t used = 0;
	int n;

	out[0] = '\0';
	for (size_t i = 0; i < config->trusted_count; i++) {
		const struct knock_prefix *p = &config->trusted[i];
		char addr[64];
		if (p->family != family)
			continue;
		knock_address_format(family, p->bytes, addr, sizeof(addr));
		n = snprintf(out + used, size - used, "%s%s/%u", used ? ", " : "elements = { ",
		             addr, p->length);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	if (used && used + 4 < size)
		snprintf(out + used, size - used, " };");
	else
		out[0] = '\0';
}

int knock_firewall_open(const struct knockd_config *config, struct knock_firewall **out,
                        struct sc_err *err)
{
	char trusted4[8192], trusted6[8192];
	struct knock_firewall *fw = calloc(1, sizeof(*fw));
	static char tcp[8192], udp[8192], tcp_rule[8300], udp_rule[8300];
	int r = -ENOMEM;

	*out = NULL;
	if (!fw)
		goto fail;
	snprintf(fw->table, sizeof(fw->table), "%s", config->table);
	fw->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!fw->nft || nft_ctx_buffer_output(fw->nft) != 0 || nft_ctx_buffer_error(fw->nft) != 0)
		goto fail;
	r = owner_check(fw, err);
	if (r < 0)
		goto fail;
	trusted_elements(config, KNOCK_ADDRESS_IPV4, trusted4, sizeof(trusted4));
	trusted_elements(config, KNOCK_ADDRESS_IPV6, trusted6, sizeof(trusted6));
	ports_of(&config->protect, 6, tcp, sizeof(tcp));
	ports_of(&config->protect, 17, udp, sizeof(udp));
	tcp_rule[0] = udp_rule[0] = '\0';
	if (tcp[0])
		snprintf(tcp_rule, sizeof(tcp_rule), "tcp dport { %s } drop\n", tcp);
	if (udp[0])
		snprintf(udp_rule, sizeof(udp_rule), "udp dport { %s } drop\n", udp);
	r = run(
	    fw, err,
	    "add table inet %s\n"
	    "delete table inet %s\n"
	    "table inet %s {\n"
	    " comment \"" OWNER_COMMENT "\"\n"
	    " set allow4 { type ipv4_addr . inet_proto . inet_service; flags timeout; size %d; }\n"
	    " set allow6 { type ipv6_addr . inet_proto . inet_service; flags timeout; size %d; }\n"
	    " set trusted4 { type ipv4_addr; flags interval; %s }\n"
	    " set trusted6 { type ipv6_addr; flags interval; %s }\n"
	    " chain input {\n"
	    "  type filter hook input priority filter - 10; policy accept;\n"
	    "  udp dport %u log group %u drop\n"
	    "  tcp dport %u drop\n"
	    "  iif \"lo\" accept\n"
	    "  ip saddr @trusted4 accept\n"
	    "  ip6 saddr @trusted6 accept\n"
	    "  ct state established,related accept\n"
	    "  ip saddr . meta l4proto . th dport @allow4 accept\n"
	    "  ip6 saddr . meta l4proto . th dport @allow6 accept\n"
	    "  %s  %s"
	    " }\n"
	    "}\n",
	    fw->table, fw->table, fw->table, SET_SIZE, SET_SIZE, trusted4, trusted6,
	    config->knock_port, config->nflog_group, config->knock_port, tcp_rule, udp_rule);
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
	run(fw, &err, "flush set inet %s allow4\nflush set inet %s allow6\n", fw->table, fw->table);
	nft_ctx_free(fw->nft);
	free(fw);
}

void knock_firewall_forget(struct knock_firewall *fw)
{
	if (!fw)
		return;
	nft_ctx_free(fw->nft);
	free(fw);
}

int knock_firewall_remove(const char *table, struct sc_err *err)
{
	struct knock_firewall fw = {0};
	struct sc_err ignored;
	int r;

	snprintf(fw.table, sizeof(fw.table), "%s", table);
	fw.nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!fw.nft || nft_ctx_buffer_output(fw.nft) != 0 || nft_ctx_buffer_error(fw.nft) != 0) {
		sc_err_set(err, "nftables: out of memory");
		r = -ENOMEM;
		goto out;
	}
	if (run(&fw, &ignored, "list table inet %s\n", fw.table) < 0) {
		sc_err_set(err, "no table inet %s", fw.table);
		r = -ENOENT;
		goto out;
	}
	r = owner_check(&fw, err);
	if (r == 0)
		r = run(&fw, err, "delete table inet %s\n", fw.table);
out:
	if (fw.nft)
		nft_ctx_free(fw.nft);
	return r;
}

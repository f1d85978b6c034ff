/*
 * The nftables table of `connect`, through libnftables (never by running
 * nft). It makes the local rbd-mirror's TCP flows to the primary's addresses
 * arrive at connect's own listener, unchanged: the destination stays what
 * rbd-mirror dialled (SO_ORIGINAL_DST reads it back), which msgr2 insists on.
 *
 *   table inet TABLE {
 *     set primary4 { type ipv4_addr; }
 *     set primary6 { type ipv6_addr; }
 *     chain nat_out {
 *       type nat hook output priority -100; policy accept;
 *       meta mark MARK return                  the guard's own sockets go out as they are
 *       ip daddr @primary4 meta l4proto tcp redirect to :LPORT
 *       ip6 daddr @primary6 meta l4proto tcp redirect to :LPORT
 *     }
 *     chain filter_out {
 *       type filter hook output priority 0; policy accept;
 *       meta mark MARK accept
 *       ip daddr @primary4 meta l4proto tcp drop   no TCP reaches the primary in clear,
 *       ip6 daddr @primary6 meta l4proto tcp drop  even if the redirect were bypassed
 *     }
 *   }
 *
 * Only host addresses are redirected (any port): an OSD that restarts on a
 * new port is still tunnelled, and serve checks the port against the maps.
 * The table is created whole in one transaction (replacing a stale copy of
 * itself), its sets are replaced in one transaction, and it is deleted at
 * exit; no other table is ever named.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

struct guard_redirect {
	struct nft_ctx *nft;
	char table[64];
};

static int run(struct nft_ctx *nft, struct sc_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int run(struct nft_ctx *nft, struct sc_err *err, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int n, r = 0;

	va_start(ap, fmt);
	n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(nft, cmd) != 0) {
		const char *why = nft_ctx_get_error_buffer(nft);
		sc_err_set(err, "nftables: %s", why && why[0] ? why : "command failed");
		r = -EIO;
	} else {
		nft_ctx_get_error_buffer(nft); /* reset */
	}
	free(cmd);
	return r;
}

static bool table_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-'))
			return false;
	return true;
}

static struct nft_ctx *nft_open(void)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);

	if (nft && (nft_ctx_buffer_output(nft) != 0 || nft_ctx_buffer_error(nft) != 0)) {
		nft_ctx_free(nft);
		return NULL;
	}
	return nft;
}

int guard_redirect_open(const char *table, uint32_t mark, uint16_t lport,
                        struct guard_redirect **out, struct sc_err *err)
{
	struct guard_redirect *g;
	int r;

	*out = NULL;
	if (!table_name_valid(table)) {
		sc_err_set(err, "nftables: invalid table name '%s'", table);
		return -EINVAL;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	snprintf(g->table, sizeof(g->table), "%s", table);
	g->nft = nft_open();
	if (!g->nft) {
		free(g);
		return -ENOMEM;
	}
	r = run(g->nft, err,
	        "add table inet %s\n"
	        "delete table inet %s\n"
	        "table inet %s {\n"
	        " set primary4 { type ipv4_addr; }\n"
	        " set primary6 { type ipv6_addr; }\n"
	        " chain nat_out {\n"
	        "  type nat hook output priority -100; policy accept;\n"
	        "  meta mark 0x%x return\n"
	        "  ip daddr @primary4 meta l4proto tcp redirect to :%u\n"
	        "  ip6 daddr @primary6 meta l4proto tcp redirect to :%u\n"
	        " }\n"
	        " chain filter_out {\n"
	        "  type filter hook output priority 0; policy accept;\n"
	        "  meta mark 0x%x accept\n"
	        "  ip daddr @primary4 meta l4proto tcp drop\n"
	        "  ip6 daddr @primary6 meta l4proto tcp drop\n"
	        " }\n"
	        "}\n",
	        g->table, g->table, g->table, mark, lport, lport, mark);
	if (r < 0) {
		nft_ctx_free(g->nft);
		free(g);
		return r;
	}
	*out = g;
	return 0;
}

/* Was A's host already listed before index I? */
static bool host_seen(const struct guard_allow_list *list, size_t i)
{
	const struct guard_addr *a = &list->addrs[i];

	for (size_t j = 0; j < i; j++)
		if (list->addrs[j].family == a->family &&
		    memcmp(list->addrs[j].addr, a->addr, 16) == 0)
			return true;
	return false;
}

static int hosts_of(const struct guard_allow_list *list, int family, struct guard_buf *b)
{
	int r = 0;

	for (size_t i = 0; i < list->count && r == 0; i++) {
		char host[INET6_ADDRSTRLEN];
		if (list->addrs[i].family != family || host_seen(list, i))
			continue;
		inet_ntop(family, list->addrs[i].addr, host, sizeof(host));
		r = guard_buf_printf(b, "%s%s", b->len ? ", " : "", host);
	}
	return r;
}

int guard_redirect_update(struct guard_redirect *g, const struct guard_allow_list *list,
                          struct sc_err *err)
{
	struct guard_buf v4 = {0}, v6 = {0}, cmd = {0};
	int r;

	if ((r = hosts_of(list, AF_INET, &v4)) < 0 || (r = hosts_of(list, AF_INET6, &v6)) < 0)
		goto out;
	/* One transaction: the sets are never seen half-filled. */
	r = guard_buf_printf(&cmd, "flush set inet %s primary4\nflush set inet %s primary6\n",
	                     g->table, g->table);
	if (r == 0 && v4.len)
		r = guard_buf_printf(&cmd, "add element inet %s primary4 { %s }\n", g->table,
		                     v4.data);
	if (r == 0 && v6.len)
		r = guard_buf_printf(&cmd, "add element inet %s primary6 { %s }\n", g->table,
		                     v6.data);
	if (r == 0)
		r = run(g->nft, err, "%s", cmd.data);
out:
	free(v4.data);
	free(v6.data);
	free(cmd.data);
	return r;
}

void guard_redirect_close(struct guard_redirect *g)
{
	struct sc_err err;

	if (!g)
		return;
	run(g->nft, &err, "delete table inet %s\n", g->table);
	nft_ctx_free(g->nft);
	free(g);
}

int guard_redirect_remove_stale(const char *table)
{
	struct nft_ctx *nft;
	struct sc_err err;
	int r;

	if (!table_name_valid(table))
		return -EINVAL;
	nft = nft_open();
	if (!nft)
		return -ENOMEM;
	r = run(nft, &err, "list table inet %s\n", table);
	if (r == 0)
		r = run(nft, &err, "delete table inet %s\n", table) == 0 ? 1 : -EIO;
	else
		r = 0;
	nft_ctx_free(nft);
	return r;
}

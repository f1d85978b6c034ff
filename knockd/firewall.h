/*
 * knockd's nftables table (firewall.c), private to knockd.
 */
#ifndef KNOCK_FIREWALL_H
#define KNOCK_FIREWALL_H

#include "knockd/knockd_config.h"

/* firewall.c */
struct knock_firewall;
/*
 * Creates knockd's table, in one transaction, with the knock rule, the
 * accepts for loopback and CONFIG's trusted prefixes, and the drop rules for
 * its protected ports. A table of that name left by an earlier knockd (it
 * carries knockd's comment) is replaced atomically, so the ports are never
 * open in between; any other table of that name is refused (-EEXIST).
 */
int knock_firewall_open(const struct knockd_config *config, struct knock_firewall **out,
                        struct sc_err *err);
/* Adds or refreshes (address . protocol . port) with a timeout of SECONDS. */
int knock_firewall_allow(struct knock_firewall *firewall, int family, const uint8_t *address,
                         uint8_t protocol, uint16_t port, unsigned seconds, struct sc_err *err);
/* The sets' elements as nft prints them (caller frees). */
int knock_firewall_list(struct knock_firewall *firewall, char **out);
/*
 * Flushes what knockd opened (the allow sets) and frees FIREWALL. The table,
 * its knock rule and its drop rules stay, so the protected ports stay
 * closed while knockd is stopped.
 */
void knock_firewall_close(struct knock_firewall *firewall);
/* Frees FIREWALL and its netlink socket, changing nothing (an engine's copy after fork). */
void knock_firewall_forget(struct knock_firewall *firewall);
/* knockd --remove: deletes knockd's table TABLE on purpose (-EEXIST if not knockd's). */
int knock_firewall_remove(const char *table, struct sc_err *err);

#endif

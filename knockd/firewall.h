/*
 * knockd's nftables table (firewall.c), private to knockd.
 */
#ifndef KNOCK_FIREWALL_H
#define KNOCK_FIREWALL_H

#include "knockd/knockd_config.h"

/* firewall.c */
struct knock_firewall;
/*
 * Creates knockd's table (replacing a stale one of the same name) with the knock
 * rule and the drop rules for CONFIG's protected ports.
 */
int knock_firewall_open(const struct knockd_config *config, struct knock_firewall **out,
                        struct sc_err *err);
/* Adds or refreshes (address . protocol . port) with a timeout of SECONDS. */
int knock_firewall_allow(struct knock_firewall *firewall, int family, const uint8_t *address,
                         uint8_t protocol, uint16_t port, unsigned seconds, struct sc_err *err);
/* The sets' elements as nft prints them (caller frees). */
int knock_firewall_list(struct knock_firewall *firewall, char **out);
/* Deletes the table and frees FIREWALL. */
void knock_firewall_close(struct knock_firewall *firewall);

#endif

/*
 * The knock client library, libknock_client (meson: libknock_client_dep):
 * what a program needs to send a knock to knockd. Beneath it are only
 * libcrypto and common's base (no librados, no nftables). The wire format
 * is docs/knock-protocol.md; the daemon's parts live behind knockd/'s own
 * private headers.
 *
 * The client names inside the signed request the address to open (the one
 * it sends from, or OPEN) and the address it sends to (destination binding),
 * so a captured knock opens nothing for anyone else and nowhere else.
 *
 * Functions return 0 or a negative errno and, where ERR is given, one line
 * that says what failed and where. Nothing here prints.
 */
#ifndef KNOCK_CLIENT_H
#define KNOCK_CLIENT_H

#include <stdint.h>

#include "common/err.h"

/* Opaque: the client's identity (server public key, certificate, key). */
struct knock_client_config;

/*
 * Reads the client's config (group "knock": server_key, certificate, key,
 * port, family, pad) from PATH; any of the SERVER_KEY, CERT, KEY paths given
 * override it. PATH may be NULL when all three are given. SERVER_KEY must be
 * a public key file: a private key is refused. *OUT is freed with
 * knock_client_config_free, which wipes the key.
 */
int knock_client_config_load(const char *path, const char *server_key, const char *cert,
                             const char *key, struct knock_client_config **out, struct sc_err *err);
void knock_client_config_free(struct knock_client_config *config);

/*
 * Sends one fresh knock to HOST (name or address) at the config's knock
 * port, asking to open PROTOCOL (6 TCP, 17 UDP) / PORT for OPEN (an IPv4 or
 * IPv6 address), or, when OPEN is NULL, for the address this host sends
 * from towards HOST. HOST is resolved in OPEN's family when OPEN is given.
 */
int knock_client_send(const struct knock_client_config *config, const char *host, uint8_t protocol,
                      uint16_t port, const char *open, struct sc_err *err);

#endif

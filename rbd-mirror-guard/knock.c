/*
 * The knock of `connect`, the one file of rbd-mirror-guard that speaks to
 * libknock: it sends knocks with the same Ed25519 certificate and key the
 * tunnel's TLS client presents, so one identity opens the port and is then
 * checked again by `serve`. It links only the knock client library
 * (knockd/knock_client.h): no part of the daemon. The knock port and, if the
 * guard's config names none, knockd's public key come from a knock client
 * config (the `knock` program's, group "knock").
 */
#include "guard.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "knockd/knock_client.h"

struct guard_knock {
	struct knock_client_config *config;
};

int guard_knock_open(const char *config, const char *server_key, const char *cert, const char *key,
                     struct guard_knock **out, struct sc_err *err)
{
	struct guard_knock *k = calloc(1, sizeof(*k));
	int r;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	r = knock_client_config_load(config, server_key, cert, key, &k->config, err);
	if (r < 0) {
		free(k);
		return r;
	}
	*out = k;
	return 0;
}

int guard_knock_send(struct guard_knock *k, const char *host, uint16_t port, struct sc_err *err)
{
	return knock_client_send(k->config, host, IPPROTO_TCP, port, NULL, err);
}

void guard_knock_close(struct guard_knock *k)
{
	if (!k)
		return;
	knock_client_config_free(k->config);
	free(k);
}

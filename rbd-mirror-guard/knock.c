/*
 * The knock of `connect`, the one file of rbd-mirror-guard that speaks to
 * libknock: it sends knocks with the same Ed25519 certificate and key the
 * tunnel's TLS client presents, so one identity opens the port and is then
 * checked again by `serve`. libknock's client functions are used as they are
 * (knockd/libknock.h); when the knock client library is split out, only this
 * file changes.
 */
#include "guard.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "knockd/libknock.h"

struct guard_knock {
	struct knock_client_config *config;
};

int guard_knock_open(const char *server_key, const char *cert, const char *key,
                     uint16_t knock_port, struct guard_knock **out, struct sc_err *err)
{
	struct guard_knock *k = calloc(1, sizeof(*k));
	int r;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	r = knock_client_config_load(NULL, server_key, cert, key, &k->config, err);
	if (r < 0) {
		free(k);
		return r;
	}
	if (knock_port)
		k->config->knock_port = knock_port;
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

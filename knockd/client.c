/*
 * The knocking side, shared by the knock program and rbd-mirror-guard: load
 * the client's identity (server public key, certificate, Ed25519 key), build
 * a fresh request and send it as one UDP datagram. Nothing is ever read back:
 * knockd does not answer.
 */
#include "knockd/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/util.h"

static const char *const client_names[] = {"server_key", "certificate", "key", "port", NULL};

void knock_client_config_free(struct knock_client_config *c)
{
	if (!c)
		return;
	free(c->cert);
	sc_wipe(c, sizeof(*c));
	free(c);
}

/* The paths named in PATH's "knock" group, where the caller gave none. */
static int client_file_read(const char *path, const char **server_key, const char **cert,
                            const char **key, uint16_t *port, struct sc_config **sc,
                            struct sc_err *err)
{
	const config_setting_t *g;
	const char *value;
	long long v;
	int r = sc_config_open(path, sc, err);

	if (r < 0)
		return r;
	g = sc_config_child(sc_config_root(*sc), "knock");
	if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP) {
		sc_err_set(err, "%s:1: missing group 'knock = { ... };'", path);
		return -EINVAL;
	}
	r = sc_config_check_names(*sc, g, client_names, err);
	if (r < 0)
		return r;
	if (!*server_key &&
	    (r = sc_config_string(*sc, g, "server_key", true, NULL, &value, err)) == 0)
		*server_key = value;
	if (r == 0 && !*cert &&
	    (r = sc_config_string(*sc, g, "certificate", true, NULL, &value, err)) == 0)
		*cert = value;
	if (r == 0 && !*key && (r = sc_config_string(*sc, g, "key", true, NULL, &value, err)) == 0)
		*key = value;
	if (r == 0 && (r = sc_config_int(*sc, g, "port", false, *port, 1, 65535, &v, err)) == 0)
		*port = (uint16_t)v;
	return r;
}

/* Why SERVER_KEY did not load; a private key file gets its own words. */
static void server_key_explain(const char *path, int r, struct sc_err *err)
{
	uint8_t priv[KNOCK_KEY_LEN];
	bool private = r == -EINVAL && knock_x25519_private_load(path, priv) == 0;

	sc_wipe(priv, sizeof(priv));
	if (private)
		sc_err_set(err,
		           "%s: is knockd's private key; give its public key (openssl pkey -in "
		           "server.key -pubout -out server.pub) and keep the private one on the "
		           "server",
		           path);
	else
		sc_err_set(err, "%s: not an X25519 public key in PEM (%s)", path, strerror(-r));
}

int knock_client_config_load(const char *path, const char *server_key, const char *cert,
                             const char *key, struct knock_client_config **out, struct sc_err *err)
{
	struct knock_client_config *c = calloc(1, sizeof(*c));
	struct sc_config *sc = NULL;
	int r = -ENOMEM;

	*out = NULL;
	if (!c)
		goto out;
	c->knock_port = KNOCK_DEFAULT_PORT;
	if (path) {
		r = client_file_read(path, &server_key, &cert, &key, &c->knock_port, &sc, err);
		if (r < 0)
			goto out;
	}
	r = -EINVAL;
	if (!server_key || !cert || !key) {
		sc_err_set(err, "no %s given (use -c CONFIG or the options)",
		           !server_key ? "server key"
		           : !cert     ? "certificate"
		                       : "client key");
		goto out;
	}
	if ((r = knock_x25519_public_load(server_key, c->server_pub)) < 0) {
		server_key_explain(server_key, r, err);
		goto out;
	}
	if ((r = knock_cert_load_der(cert, &c->cert, &c->cert_len)) < 0) {
		sc_err_set(err, "%s: not a PEM certificate (%s)", cert, strerror(-r));
		goto out;
	}
	if (c->cert_len > KNOCK_MAX_CERT_LEN) {
		sc_err_set(err, "%s: certificate is %zu bytes, a knock holds at most %d", cert,
		           c->cert_len, KNOCK_MAX_CERT_LEN);
		r = -EMSGSIZE;
		goto out;
	}
	if ((r = knock_ed25519_private_load(key, c->signer)) < 0) {
		sc_err_set(err, "%s: not an Ed25519 private key (%s)", key, strerror(-r));
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	if (r == -ENOMEM)
		sc_err_set(err, "out of memory");
	sc_config_close(sc);
	knock_client_config_free(c);
	return r;
}

int knock_request_prepare(const struct knock_client_config *config, uint8_t protocol, uint16_t port,
                          const char *open, struct knock_request *req)
{
	memset(req, 0, sizeof(*req));
	req->protocol = protocol;
	req->port = port;
	req->family = KNOCK_ADDRESS_SOURCE;
	if (open && inet_pton(AF_INET, open, req->address) == 1)
		req->family = KNOCK_ADDRESS_IPV4;
	else if (open && inet_pton(AF_INET6, open, req->address) == 1)
		req->family = KNOCK_ADDRESS_IPV6;
	else if (open)
		return -EINVAL;
	req->timestamp = (uint64_t)sc_now_wall();
	req->cert = config->cert;
	req->cert_len = config->cert_len;
	return sc_random_bytes(req->nonce, sizeof(req->nonce));
}

int knock_client_send(const struct knock_client_config *config, const char *host, uint8_t protocol,
                      uint16_t port, const char *open, struct sc_err *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
	uint8_t packet[KNOCK_MAX_LEN];
	struct knock_request req;
	char service[8];
	int fd = -1, n, r;

	r = knock_request_prepare(config, protocol, port, open, &req);
	if (r < 0) {
		sc_err_set(err, "%s: not an IPv4 or IPv6 address", open ? open : "?");
		return r;
	}
	n = knock_packet_seal(&req, config->signer, config->server_pub, NULL, packet,
	                      sizeof(packet));
	if (n < 0) {
		sc_err_set(err, "cannot build the knock: %s", strerror(-n));
		return n;
	}
	snprintf(service, sizeof(service), "%u", config->knock_port);
	r = getaddrinfo(host, service, &hints, &ai);
	if (r != 0) {
		sc_err_set(err, "%s: %s", host, gai_strerror(r));
		return -EHOSTUNREACH;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, packet, (size_t)n, 0, ai->ai_addr, ai->ai_addrlen) != n) {
		r = -errno;
		sc_err_set(err, "%s: cannot send the knock: %s", host, strerror(errno));
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return r;
}

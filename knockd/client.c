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

static const char *const client_names[] = {"server_key", "certificate", "key", "port",
                                           "family",     "pad",         NULL};

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
                            const char **key, uint16_t *port, int *family, bool *pad,
                            struct sc_config **sc, struct sc_err *err)
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
	if (r == 0 && (r = sc_config_int(*sc, g, "family", false, 0, 0, 6, &v, err)) == 0) {
		if (v != 0 && v != 4 && v != 6) {
			sc_err_set(err, "%s:%d: family must be 4, 6 or 0 (either)", path,
			           sc_config_line(sc_config_child(g, "family")));
			return -EINVAL;
		}
		*family = v == 4 ? AF_INET : v == 6 ? AF_INET6 : AF_UNSPEC;
	}
	if (r == 0)
		r = sc_config_bool(*sc, g, "pad", false, false, pad, err);
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
		r = client_file_read(path, &server_key, &cert, &key, &c->knock_port, &c->family,
		                     &c->pad, &sc, err);
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
                          const char *open, const char *destination, struct knock_request *req)
{
	memset(req, 0, sizeof(*req));
	req->protocol = protocol;
	req->port = port;
	req->family = KNOCK_ADDRESS_SOURCE;
	if (open && knock_address_parse(open, &req->family, req->address) < 0)
		return -EINVAL;
	if (knock_address_parse(destination, &req->dest_family, req->destination) < 0)
		return -EINVAL;
	req->timestamp = (uint64_t)sc_now_wall();
	req->cert = config->cert;
	req->cert_len = config->cert_len;
	if (config->pad)
		req->pad_len = KNOCK_MAX_CERT_LEN - config->cert_len;
	return sc_random_bytes(req->nonce, sizeof(req->nonce));
}

/* The numeric form of SA's address. */
static void sockaddr_format(const struct sockaddr *sa, char *out, size_t size)
{
	const void *a = sa->sa_family == AF_INET6
	                    ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
	                    : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (!inet_ntop(sa->sa_family, a, out, (socklen_t)size))
		snprintf(out, size, "?");
}

/*
 * A UDP socket connected to HOST in FAMILY (AF_UNSPEC: the resolver's
 * order, as a connecting client would take it). The kernel then names the
 * address this host sends from, which is what the knock asks to open.
 */
static int client_socket(const char *host, uint16_t knock_port, int family,
                         struct sockaddr_storage *peer, struct sc_err *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_family = family}, *ai = NULL, *p;
	char service[8];
	int fd = -1, r;

	snprintf(service, sizeof(service), "%u", knock_port);
	r = getaddrinfo(host, service, &hints, &ai);
	if (r != 0) {
		sc_err_set(err, "%s: %s%s", host, gai_strerror(r),
		           family == AF_INET    ? " (as IPv4)"
		           : family == AF_INET6 ? " (as IPv6)"
		                                : "");
		return -EHOSTUNREACH;
	}
	r = -EHOSTUNREACH;
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen) == 0 &&
		    p->ai_addrlen <= sizeof(*peer)) {
			memcpy(peer, p->ai_addr, p->ai_addrlen);
			break;
		}
		r = -errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (fd < 0)
		sc_err_set(err, "%s: no route to send the knock: %s", host, strerror(-r));
	freeaddrinfo(ai);
	return fd >= 0 ? fd : r;
}

int knock_client_send(const struct knock_client_config *config, const char *host, uint8_t protocol,
                      uint16_t port, const char *open, struct sc_err *err)
{
	struct sockaddr_storage peer, local;
	socklen_t local_len = sizeof(local);
	char source[INET6_ADDRSTRLEN], destination[INET6_ADDRSTRLEN];
	uint8_t packet[KNOCK_MAX_LEN], family, address[16];
	int af = config->family, fd = -1, n, r;
	struct knock_request req;

	/* Knock over the family of the address to open: that is how it will connect. */
	if (open) {
		if (knock_address_parse(open, &family, address) < 0) {
			sc_err_set(err, "%s: not an IPv4 or IPv6 address", open);
			return -EINVAL;
		}
		af = family == KNOCK_ADDRESS_IPV6 ? AF_INET6 : AF_INET;
		if (config->family != AF_UNSPEC && config->family != af) {
			sc_err_set(err, "%s: not of the address family the config asks for", open);
			return -EINVAL;
		}
	}
	fd = client_socket(host, config->knock_port, af, &peer, err);
	if (fd < 0)
		return fd;
	if (getsockname(fd, (struct sockaddr *)&local, &local_len) < 0) {
		r = -errno;
		sc_err_set(err, "%s: cannot tell the address the knock leaves from: %s", host,
		           strerror(errno));
		goto out;
	}
	sockaddr_format((struct sockaddr *)&local, source, sizeof(source));
	sockaddr_format((struct sockaddr *)&peer, destination, sizeof(destination));
	r = knock_request_prepare(config, protocol, port, open ? open : source, destination, &req);
	if (r < 0) {
		sc_err_set(err, "cannot build the knock for %s to %s", open ? open : source,
		           destination);
		goto out;
	}
	n = knock_packet_seal(&req, config->signer, config->server_pub, NULL, packet,
	                      sizeof(packet));
	if (n < 0) {
		r = n;
		sc_err_set(err, "cannot build the knock: %s", strerror(-n));
		goto out;
	}
	if (send(fd, packet, (size_t)n, 0) != n) {
		r = -errno;
		sc_err_set(err, "%s: cannot send the knock: %s", host, strerror(errno));
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

/*
 * `rbd-mirror-guard connect`, the secondary's end of the tunnel. It knocks
 * (knock.c), asks serve for the primary's addresses (a LIST stream), puts
 * them into its own nftables table (redirect.c) so that the local
 * rbd-mirror's TCP flows to them land on its loopback listener, and carries
 * each flow in its own TLS stream to serve, naming the destination that
 * SO_ORIGINAL_DST reports. Its own sockets carry SO_MARK and so pass the
 * redirect untouched. The table goes away on exit and on SIGTERM; one left
 * by a killed predecessor is removed at start.
 *
 * Threads: the main thread accepts and handles signals; the tunnel thread
 * refreshes the address list and re-knocks; one thread a flow. Locks:
 * knock_lock guards last_knock (and serialises knocks); state_lock guards
 * last_error and the list. Counters are atomics.
 */
#include "guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "commands.h"
#include "common/log.h"
#include "common/util.h"
#include "config.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#define IP6T_SO_ORIGINAL_DST 80
#define BACKOFF_MAX 30.0
#define FLOW_TRIES 4

struct conn {
	const struct guard_connect_config *cfg;
	struct guard_addr server;
	char server_host[64];
	SSL_CTX *ctx;
	struct guard_knock *knock;
	struct guard_redirect *redirect;
	struct guard_rate rate;
	struct guard_counters bytes;
	_Atomic bool stop, up;
	_Atomic long streams_open, flows_active; /* flows_active: flow threads alive */
	_Atomic unsigned long long streams_total, streams_failed, refused, reknocks, reconnects;
	pthread_mutex_t knock_lock; /* guards last_knock */
	double last_knock;
	pthread_mutex_t state_lock; /* guards last_error, list */
	char last_error[256];
	struct guard_allow_list list;
};

struct flow_arg {
	struct conn *c;
	int fd;
	int family;
};

static void conn_error(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void conn_error(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->state_lock);
	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	sc_log_warn("%s", c->last_error);
	pthread_mutex_unlock(&c->state_lock);
}

static void sleep_unless_stopped(struct conn *c, double seconds)
{
	for (double t = 0; t < seconds && !c->stop; t += 0.1)
		usleep(100000);
}

/* Knocks when the last knock is older than knock_refresh_seconds (or FORCE). */
static int knock_if_needed(struct conn *c, bool force)
{
	struct sc_err err = {{0}};
	int r = 0;

	if (!c->knock)
		return 0;
	pthread_mutex_lock(&c->knock_lock);
	double now = sc_now_monotonic();
	if (force || c->last_knock == 0 ||
	    now - c->last_knock >= (double)c->cfg->knock_refresh_seconds) {
		r = guard_knock_send(c->knock, c->server_host, c->server.port, &err);
		if (r == 0) {
			c->last_knock = now;
			c->reknocks++;
			/* knockd adds the element within milliseconds: do not race it. */
			usleep(100000);
		}
	}
	pthread_mutex_unlock(&c->knock_lock);
	if (r < 0)
		conn_error(c, "knock %s: %s", c->server_host, err.msg);
	return r;
}

/* A TLS stream to serve that has sent FLOW and read serve's reply. */
static int stream_open(struct conn *c, const struct guard_flow *flow, SSL **out,
                       enum guard_status *status, uint16_t *count)
{
	uint8_t header[GUARD_FLOW_LEN], rep[GUARD_REPLY_LEN];
	char why[256];
	SSL *ssl = NULL;
	int fd, r;

	*out = NULL;
	knock_if_needed(c, false);
	fd = guard_tcp_connect(&c->server, (unsigned)c->cfg->mark, (double)c->cfg->connect_seconds);
	if (fd < 0) {
		conn_error(c, "server %s port %u: %s", c->server_host, c->server.port,
		           strerror(-fd));
		return fd;
	}
	struct timeval tv = {(time_t)c->cfg->connect_seconds, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(c->ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		r = -ENOMEM;
		goto fail;
	}
	ERR_clear_error();
	if (SSL_connect(ssl) != 1) {
		long v = SSL_get_verify_result(ssl);
		guard_tls_error(why, sizeof(why));
		conn_error(c, "server %s: TLS handshake failed: %s", c->server_host,
		           v != X509_V_OK ? X509_verify_cert_error_string(v) : why);
		r = -EPROTO;
		goto fail;
	}
	if ((r = guard_flow_encode(flow, header)) < 0 ||
	    (r = guard_tls_write_full(ssl, header, sizeof(header))) < 0 ||
	    (r = guard_tls_read_full(ssl, rep, sizeof(rep))) < 0) {
		/* A server that rejects our certificate says so only now, in TLS 1.3. */
		long v = SSL_get_verify_result(ssl);
		guard_tls_error(why, sizeof(why));
		conn_error(c, "server %s: no reply to the flow header (%s)", c->server_host,
		           v != X509_V_OK ? X509_verify_cert_error_string(v) : why);
		goto fail;
	}
	if ((r = guard_reply_decode(rep, sizeof(rep), status, count)) < 0) {
		conn_error(c, "server %s: malformed reply", c->server_host);
		goto fail;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	*out = ssl;
	return 0;
fail:
	SSL_free(ssl);
	close(fd);
	return r;
}

static void stream_close(SSL *ssl)
{
	int fd;

	if (!ssl)
		return;
	fd = SSL_get_fd(ssl);
	SSL_free(ssl);
	close(fd);
}

/* One LIST stream: the addresses serve forwards to. */
static int list_fetch(struct conn *c, struct guard_allow_list *out)
{
	struct guard_flow flow = {.kind = GUARD_FLOW_LIST};
	enum guard_status status;
	uint16_t count;
	SSL *ssl;
	int r = stream_open(c, &flow, &ssl, &status, &count);

	memset(out, 0, sizeof(*out));
	if (r < 0)
		return r;
	if (status != GUARD_STATUS_OK) {
		conn_error(c, "server %s: list %s", c->server_host, guard_status_name(status));
		r = -EPROTO;
	}
	for (uint16_t i = 0; i < count && r == 0; i++) {
		uint8_t e[GUARD_LIST_ENTRY_LEN];
		struct guard_addr a;
		if ((r = guard_tls_read_full(ssl, e, sizeof(e))) < 0 ||
		    (r = guard_list_entry_decode(e, sizeof(e), &a)) < 0 ||
		    (r = guard_allow_add(out, &a)) < 0)
			conn_error(c, "server %s: bad address list", c->server_host);
	}
	stream_close(ssl);
	if (r < 0)
		guard_allow_free(out);
	return r;
}

static bool lists_equal(const struct guard_allow_list *a, const struct guard_allow_list *b)
{
	if (a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (!guard_allow_contains(b, &a->addrs[i]))
			return false;
	return true;
}

static void *tunnel_thread(void *arg)
{
	struct conn *c = arg;
	double backoff = 1;
	struct sc_err err;

	while (!c->stop) {
		struct guard_allow_list fresh;
		knock_if_needed(c, false);
		if (list_fetch(c, &fresh) < 0) {
			if (c->up) {
				c->reconnects++;
				sc_log_warn("tunnel to %s down, retrying", c->server_host);
			}
			c->up = false;
			sleep_unless_stopped(c, backoff);
			backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
			/* A knock may have been lost: the next try knocks afresh. */
			pthread_mutex_lock(&c->knock_lock);
			c->last_knock = 0;
			pthread_mutex_unlock(&c->knock_lock);
			continue;
		}
		backoff = 1;
		pthread_mutex_lock(&c->state_lock);
		bool changed = !lists_equal(&fresh, &c->list);
		pthread_mutex_unlock(&c->state_lock);
		if (changed) {
			if (guard_redirect_update(c->redirect, &fresh, &err) < 0) {
				conn_error(c, "%s", err.msg);
				guard_allow_free(&fresh);
				sleep_unless_stopped(c, 1);
				continue;
			}
			sc_log_info("redirecting %zu addresses of the primary", fresh.count);
			pthread_mutex_lock(&c->state_lock);
			struct guard_allow_list old = c->list;
			c->list = fresh;
			fresh = old;
			pthread_mutex_unlock(&c->state_lock);
		}
		guard_allow_free(&fresh);
		if (!c->up)
			sc_log_info("tunnel to %s port %u up", c->server_host, c->server.port);
		c->up = true;
		double period = (double)c->cfg->refresh_seconds;
		if (c->knock && (double)c->cfg->knock_refresh_seconds < period)
			period = (double)c->cfg->knock_refresh_seconds;
		sleep_unless_stopped(c, period);
	}
	return NULL;
}

static int original_dst(int fd, int family, struct guard_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int r = family == AF_INET6 ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len)
	                           : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len);

	if (r < 0)
		return -errno;
	return guard_addr_from_sockaddr((struct sockaddr *)&ss, out);
}

static void *flow_thread(void *arg)
{
	struct flow_arg *fa = arg;
	struct conn *c = fa->c;
	struct guard_flow flow = {.kind = GUARD_FLOW_CONNECT};
	enum guard_status status = GUARD_STATUS_UNREACHABLE;
	char dest[64];
	uint16_t count;
	SSL *ssl = NULL;
	double backoff = 0.25;
	int r;

	if ((r = original_dst(fa->fd, fa->family, &flow.dest)) < 0) {
		conn_error(c, "a local connection without an original destination: %s",
		           strerror(-r));
		goto done;
	}
	guard_addr_format(&flow.dest, dest, sizeof(dest));
	/* A cut or a restarting serve: try a few times, backing off, then give
	 * up and let rbd-mirror dial again. */
	for (int i = 0; i < FLOW_TRIES && !c->stop; i++) {
		r = stream_open(c, &flow, &ssl, &status, &count);
		if (r == 0 && status == GUARD_STATUS_OK)
			break;
		stream_close(ssl);
		ssl = NULL;
		if (r == 0 && status == GUARD_STATUS_REFUSED) {
			c->refused++;
			conn_error(c, "serve refused the flow to %s", dest);
			goto done;
		}
		if (i == 0) {
			pthread_mutex_lock(&c->knock_lock);
			c->last_knock = 0;
			pthread_mutex_unlock(&c->knock_lock);
		}
		sleep_unless_stopped(c, backoff);
		backoff *= 2;
	}
	if (!ssl) {
		c->streams_failed++;
		goto done;
	}
	c->streams_open++;
	c->streams_total++;
	sc_log_debug("stream to %s open", dest);
	r = guard_relay(fa->fd, ssl, &c->rate, &c->bytes, &c->stop);
	c->streams_open--;
	sc_log_debug("stream to %s ended: %s", dest, r < 0 ? strerror(-r) : "closed");
done:
	stream_close(ssl);
	close(fa->fd);
	free(fa);
	c->flows_active--;
	return NULL;
}

static int connect_status(void *arg, char **json)
{
	struct conn *c = arg;
	struct guard_buf b = {0};
	int r;

	r = guard_buf_printf(
	    &b,
	    "{\"role\":\"connect\",\"server\":\"%s\",\"port\":%u,\"tunnel_up\":%s,"
	    "\"streams_open\":%ld,\"streams_total\":%llu,\"streams_failed\":%llu,"
	    "\"refused\":%llu,\"bytes_sent\":%llu,\"bytes_received\":%llu,\"reknocks\":%llu,"
	    "\"reconnects\":%llu,\"max_rate\":%llu,\"table\":\"%s\",\"last_error\":",
	    c->server_host, c->server.port, c->up ? "true" : "false", (long)c->streams_open,
	    c->streams_total, c->streams_failed, c->refused, c->bytes.up, c->bytes.down,
	    c->reknocks, c->reconnects, (unsigned long long)c->cfg->max_rate, c->cfg->table);
	pthread_mutex_lock(&c->state_lock);
	if (r == 0)
		r = guard_buf_json_string(&b, c->last_error);
	if (r == 0)
		r = guard_buf_printf(&b, ",\"redirected\":[");
	for (size_t i = 0; i < c->list.count && r == 0; i++) {
		char a[64];
		guard_addr_format(&c->list.addrs[i], a, sizeof(a));
		r = guard_buf_printf(&b, "%s\"%s\"", i ? "," : "", a);
	}
	pthread_mutex_unlock(&c->state_lock);
	if (r == 0)
		r = guard_buf_printf(&b, "]}\n");
	if (r < 0) {
		free(b.data);
		return r;
	}
	*json = b.data;
	return 0;
}

static int loopback_listen(int family, uint16_t port)
{
	struct guard_addr a = {.family = family, .port = port};
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (family == AF_INET)
		a.addr[0] = 127, a.addr[3] = 1;
	else
		a.addr[15] = 1;
	len = guard_addr_to_sockaddr(&a, &ss);
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 128) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static const char connect_usage[] =
    "usage: rbd-mirror-guard connect [-c CONFIG] [--max-rate RATE] [--log-file FILE] [-d]\n"
    "  the secondary's end: knocks, opens the TLS tunnel to serve and redirects the\n"
    "  local rbd-mirror's flows to the primary into it. RATE in bytes/s (\"50M\").\n";

int guard_cmd_connect(int argc, char **argv)
{
	const char *max_rate = NULL;
	struct guard_config *config = NULL;
	struct guard_tls_identity *identity = NULL;
	struct guard_status_server *status = NULL;
	struct conn c = {0};
	struct sc_err err = {{0}};
	pthread_t tunnel;
	bool tunnel_started = false;
	int sig[2] = {-1, -1}, lfd[2] = {-1, -1}, code = 1;

	if ((code = guard_daemon_start(argc, argv, connect_usage, "connect", &max_rate, &config)) >=
	    0)
		return code;
	code = 1;
	c.cfg = &config->connect;
	if (max_rate && sc_size_parse(max_rate, &config->connect.max_rate) < 0) {
		guard_fail("--max-rate: '%s' is not a rate like 50M (bytes/s)", max_rate);
		goto out;
	}
	pthread_mutex_init(&c.knock_lock, NULL);
	pthread_mutex_init(&c.state_lock, NULL);
	guard_rate_init(&c.rate, (double)c.cfg->max_rate);
	snprintf(c.server_host, sizeof(c.server_host), "%s", c.cfg->server);
	c.server.port = (uint16_t)c.cfg->port;
	if (inet_pton(AF_INET, c.server_host, c.server.addr) == 1)
		c.server.family = AF_INET;
	else if (inet_pton(AF_INET6, c.server_host, c.server.addr) == 1)
		c.server.family = AF_INET6;
	else {
		guard_fail("server '%s' is not an IPv4 or IPv6 address", c.server_host);
		goto out;
	}
	if (guard_tls_identity_load(c.cfg->certificate, c.cfg->key, &identity, &err) < 0 ||
	    guard_tls_context_new(identity, c.cfg->ca, c.cfg->crl, false, &c.ctx, &err) < 0) {
		guard_fail("%s", err.msg);
		goto out;
	}
	if ((c.cfg->knock_server_key || c.cfg->knock_config) &&
	    guard_knock_open(c.cfg->knock_config, c.cfg->knock_server_key, c.cfg->certificate,
	                     c.cfg->key, &c.knock, &err) < 0) {
		guard_fail("knock: %s", err.msg);
		goto out;
	}
	lfd[0] = loopback_listen(AF_INET, (uint16_t)c.cfg->listen_port);
	if (lfd[0] < 0) {
		guard_fail("cannot listen on 127.0.0.1 port %lld: %s", c.cfg->listen_port,
		           strerror(-lfd[0]));
		goto out;
	}
	lfd[1] = loopback_listen(AF_INET6, (uint16_t)c.cfg->listen_port); /* IPv6 may be off */
	if (guard_signals_open(sig) < 0) {
		guard_fail("cannot install signal handlers");
		goto out;
	}
	if (guard_redirect_remove_stale(c.cfg->table) == 1)
		sc_log_warn("removed a stale nftables table inet %s", c.cfg->table);
	if (guard_redirect_open(c.cfg->table, (uint32_t)c.cfg->mark, (uint16_t)c.cfg->listen_port,
	                        &c.redirect, &err) < 0) {
		guard_fail("%s", err.msg);
		goto out;
	}
	if (c.cfg->status_socket &&
	    guard_status_open(c.cfg->status_socket, connect_status, &c, &status) < 0) {
		guard_fail("cannot open status socket %s", c.cfg->status_socket);
		goto out;
	}
	if (pthread_create(&tunnel, NULL, tunnel_thread, &c) == 0)
		tunnel_started = true;
	sc_log_info("connecting to %s port %u, table inet %s, listening on port %lld%s",
	            c.server_host, c.server.port, c.cfg->table, c.cfg->listen_port,
	            c.cfg->max_rate ? ", rate limited" : "");

	while (!c.stop) {
		struct pollfd fds[3] = {{sig[0], POLLIN, 0},
		                        {lfd[0], POLLIN, 0},
		                        {lfd[1], lfd[1] >= 0 ? POLLIN : 0, 0}};
		if (poll(fds, lfd[1] >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents & POLLIN) {
			unsigned char signo;
			if (read(sig[0], &signo, 1) == 1) {
				if (signo == SIGHUP) {
					sc_log_reopen();
				} else {
					sc_log_info("stopping on signal %d", signo);
					c.stop = true;
				}
			}
		}
		for (int i = 0; i < 2; i++) {
			if (lfd[i] < 0 || !(fds[i + 1].revents & POLLIN))
				continue;
			int fd = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			struct flow_arg *fa = calloc(1, sizeof(*fa));
			if (!fa) {
				close(fd);
				continue;
			}
			fa->c = &c;
			fa->fd = fd;
			fa->family = i == 0 ? AF_INET : AF_INET6;
			guard_flow_start(flow_thread, fa, fd, &c.flows_active);
		}
	}
	code = 0;
	guard_flows_wait(&c.flows_active);
out:
	c.stop = true;
	if (tunnel_started)
		pthread_join(tunnel, NULL);
	/* The table first: nothing may be redirected to a listener that is gone. */
	guard_redirect_close(c.redirect);
	guard_status_close(status);
	for (int i = 0; i < 2; i++)
		if (lfd[i] >= 0)
			close(lfd[i]);
	guard_tls_identity_free(identity);
	if (c.flows_active > 0) {
		/* The table is gone; streams still closing hold the context. */
		sc_log_close();
		_exit(code);
	}
	guard_knock_close(c.knock);
	SSL_CTX_free(c.ctx);
	guard_allow_free(&c.list);
	guard_config_free(config);
	sc_log_close();
	return code;
}

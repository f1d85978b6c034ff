/*
 * `rbd-mirror-guard serve`, the primary's end of the tunnel. It accepts TCP
 * on a port knockd keeps closed, runs a TLS 1.3 handshake that demands a
 * certificate of the CA (checked against the CRL, reloaded on SIGHUP), reads
 * one flow header (flow.c) and forwards the stream only to an address in the
 * primary's current mon, osd or mgr map (allow.c); anything else is refused,
 * answered with "refused" and logged. After binding its port, reading its
 * key and connecting to the cluster it drops root for the configured user
 * and enters its seccomp sandbox (sandbox.c): from then on it can relay,
 * read files and make inet sockets, and nothing else.
 *
 * Threads: the main thread accepts and handles signals; one thread refreshes
 * the maps; one thread a flow. Lock: ctx_lock guards ctx (swapped on
 * SIGHUP; each flow holds its own reference). Counters are atomics.
 */
#include "guard.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <openssl/err.h>

#include "commands.h"
#include "common/cluster.h"
#include "common/log.h"
#include "common/util.h"
#include "config.h"

struct serve {
	const struct guard_serve_config *cfg;
	struct guard_tls_identity *identity;
	pthread_mutex_t ctx_lock; /* guards ctx */
	SSL_CTX *ctx;
	struct guard_maps *maps;
	int listen_fd;
	_Atomic bool stop;
	_Atomic long flows_open;
	_Atomic unsigned long long flows_total, refused, handshakes_failed, busy, reloads;
	_Atomic double last_refresh_try;
	struct guard_counters bytes;
	pthread_mutex_t error_lock; /* guards last_error */
	char last_error[256];
};

struct flow_arg {
	struct serve *s;
	int fd;
	struct guard_addr peer;
};

static void serve_error(struct serve *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void serve_error(struct serve *s, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&s->error_lock);
	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
	sc_log_warn("%s", s->last_error);
	pthread_mutex_unlock(&s->error_lock);
}

static SSL_CTX *ctx_get(struct serve *s)
{
	SSL_CTX *ctx;

	pthread_mutex_lock(&s->ctx_lock);
	ctx = s->ctx;
	SSL_CTX_up_ref(ctx);
	pthread_mutex_unlock(&s->ctx_lock);
	return ctx;
}

static int ctx_reload(struct serve *s, struct sc_err *err)
{
	SSL_CTX *ctx, *old;
	int r = guard_tls_context_new(s->identity, s->cfg->ca, s->cfg->crl, true, &ctx, err);

	if (r < 0)
		return r;
	pthread_mutex_lock(&s->ctx_lock);
	old = s->ctx;
	s->ctx = ctx;
	pthread_mutex_unlock(&s->ctx_lock);
	SSL_CTX_free(old);
	return 0;
}

static void timeouts_set(int fd, double seconds)
{
	struct timeval tv = {(time_t)seconds, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A destination outside the list may be a map change not yet seen: look
 * again, at most once a second, before refusing. */
static bool allowed(struct serve *s, const struct guard_addr *dest)
{
	struct sc_err err;

	if (guard_maps_allows(s->maps, dest))
		return true;
	double now = sc_now_monotonic();
	if (now - s->last_refresh_try < 1.0)
		return false;
	s->last_refresh_try = now;
	if (guard_maps_refresh(s->maps, &err) < 0)
		serve_error(s, "cluster %s: maps not refreshed: %s", s->cfg->cluster, err.msg);
	return guard_maps_allows(s->maps, dest);
}

static int send_list(struct serve *s, SSL *ssl)
{
	struct guard_allow_list list;
	uint8_t reply[GUARD_REPLY_LEN], entry[GUARD_LIST_ENTRY_LEN];
	int r = guard_maps_snapshot(s->maps, &list);

	if (r < 0)
		return r;
	guard_reply_encode(GUARD_STATUS_OK, (uint16_t)list.count, reply);
	r = guard_tls_write_full(ssl, reply, sizeof(reply));
	for (size_t i = 0; i < list.count && r == 0; i++) {
		guard_list_entry_encode(&list.addrs[i], entry);
		r = guard_tls_write_full(ssl, entry, sizeof(entry));
	}
	guard_allow_free(&list);
	return r;
}

static void reply(SSL *ssl, enum guard_status status)
{
	uint8_t buf[GUARD_REPLY_LEN];

	guard_reply_encode(status, 0, buf);
	guard_tls_write_full(ssl, buf, sizeof(buf));
}

static void *flow_thread(void *arg)
{
	struct flow_arg *fa = arg;
	struct serve *s = fa->s;
	char peer[64], dest[64], subject[256] = "?", why[256];
	uint8_t header[GUARD_FLOW_LEN];
	struct guard_flow flow;
	SSL_CTX *ctx = ctx_get(s);
	SSL *ssl = SSL_new(ctx);
	int out = -1, r;

	guard_addr_format(&fa->peer, peer, sizeof(peer));
	timeouts_set(fa->fd, (double)s->cfg->handshake_seconds);
	if (!ssl || SSL_set_fd(ssl, fa->fd) != 1)
		goto done;
	ERR_clear_error();
	if (SSL_accept(ssl) != 1) {
		long v = SSL_get_verify_result(ssl);
		guard_tls_error(why, sizeof(why));
		s->handshakes_failed++;
		serve_error(s, "tls from %s: handshake failed: %s%s%s", peer,
		            v != X509_V_OK ? X509_verify_cert_error_string(v) : why,
		            v != X509_V_OK ? " " : "", v != X509_V_OK ? "(certificate)" : "");
		goto done;
	}
	guard_tls_peer_subject(ssl, subject, sizeof(subject));
	r = guard_tls_read_full(ssl, header, sizeof(header));
	if (r < 0 || guard_flow_decode(header, sizeof(header), &flow) < 0) {
		serve_error(s, "flow from %s (%s): %s", subject, peer,
		            r < 0 ? "no flow header" : "malformed flow header");
		if (r == 0)
			reply(ssl, GUARD_STATUS_BAD_REQUEST);
		goto done;
	}
	if (flow.kind == GUARD_FLOW_LIST) {
		if (send_list(s, ssl) < 0)
			serve_error(s, "list for %s (%s): cannot send", subject, peer);
		goto done;
	}
	guard_addr_format(&flow.dest, dest, sizeof(dest));
	if (!allowed(s, &flow.dest)) {
		s->refused++;
		serve_error(s, "refused flow from %s (%s) to %s: not in cluster %s's maps", subject,
		            peer, dest, s->cfg->cluster);
		reply(ssl, GUARD_STATUS_REFUSED);
		goto done;
	}
	out = guard_tcp_connect(&flow.dest, 0, (double)s->cfg->handshake_seconds);
	if (out < 0) {
		serve_error(s, "flow from %s (%s) to %s: %s", subject, peer, dest, strerror(-out));
		reply(ssl, GUARD_STATUS_UNREACHABLE);
		goto done;
	}
	reply(ssl, GUARD_STATUS_OK);
	timeouts_set(fa->fd, 0);
	sc_log_info("flow from %s (%s) to %s", subject, peer, dest);
	struct guard_counters c = {0};
	r = guard_relay(out, ssl, NULL, &c, &s->stop);
	s->bytes.up += c.up;
	s->bytes.down += c.down;
	sc_log_info("flow from %s to %s ended (%s): %llu bytes in, %llu out", subject, dest,
	            r < 0 ? strerror(-r) : "closed", (unsigned long long)c.down,
	            (unsigned long long)c.up);
done:
	if (out >= 0)
		close(out);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fa->fd);
	s->flows_open--;
	free(fa);
	return NULL;
}

static void *refresh_thread(void *arg)
{
	struct serve *s = arg;
	struct sc_err err;
	size_t last = 0;

	while (!s->stop) {
		for (long long i = 0; i < s->cfg->refresh_seconds * 10 && !s->stop; i++)
			usleep(100000);
		if (s->stop)
			break;
		if (guard_maps_refresh(s->maps, &err) < 0) {
			serve_error(s, "cluster %s: maps not refreshed: %s", s->cfg->cluster,
			            err.msg);
			continue;
		}
		struct guard_allow_list l;
		if (guard_maps_snapshot(s->maps, &l) == 0) {
			if (l.count != last)
				sc_log_info("cluster %s: %zu addresses allowed", s->cfg->cluster,
				            l.count);
			last = l.count;
			guard_allow_free(&l);
		}
	}
	return NULL;
}

static int serve_status(void *arg, char **json)
{
	struct serve *s = arg;
	struct guard_buf b = {0};
	struct guard_allow_list l = {0};
	int r;

	r = guard_buf_printf(&b,
	                     "{\"role\":\"serve\",\"cluster\":\"%s\",\"flows_open\":%ld,"
	                     "\"flows_total\":%llu,\"refused\":%llu,\"handshakes_failed\":%llu,"
	                     "\"busy\":%llu,\"crl_reloads\":%llu,\"bytes_in\":%llu,"
	                     "\"bytes_out\":%llu,\"last_error\":",
	                     s->cfg->cluster, (long)s->flows_open, s->flows_total, s->refused,
	                     s->handshakes_failed, s->busy, s->reloads, s->bytes.down, s->bytes.up);
	pthread_mutex_lock(&s->error_lock);
	if (r == 0)
		r = guard_buf_json_string(&b, s->last_error);
	pthread_mutex_unlock(&s->error_lock);
	if (r == 0)
		r = guard_buf_printf(&b, ",\"allowed\":[");
	if (r == 0)
		r = guard_maps_snapshot(s->maps, &l);
	for (size_t i = 0; i < l.count && r == 0; i++) {
		char a[64];
		guard_addr_format(&l.addrs[i], a, sizeof(a));
		r = guard_buf_printf(&b, "%s\"%s\"", i ? "," : "", a);
	}
	guard_allow_free(&l);
	if (r == 0)
		r = guard_buf_printf(&b, "]}\n");
	if (r < 0) {
		free(b.data);
		return r;
	}
	*json = b.data;
	return 0;
}

static int listen_on(const char *host, long long port, struct sc_err *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
	struct addrinfo *ai = NULL;
	char service[8];
	int fd, one = 1, r;

	snprintf(service, sizeof(service), "%lld", port);
	if ((r = getaddrinfo(host, service, &hints, &ai)) != 0) {
		sc_err_set(err, "listen address %s: %s", host, gai_strerror(r));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		sc_err_set(err, "cannot listen on %s port %lld: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = r;
	}
	freeaddrinfo(ai);
	return fd;
}

static const char serve_usage[] =
    "usage: rbd-mirror-guard serve [-c CONFIG] [--log-file FILE] [-d]\n"
    "  the primary's end: TLS 1.3 with client certificates, forwarding only to\n"
    "  the addresses in the cluster's mon, osd and mgr maps. SIGHUP reloads the CRL.\n";

int guard_cmd_serve(int argc, char **argv)
{
	struct guard_config *config = NULL;
	struct guard_status_server *status = NULL;
	struct serve s = {.listen_fd = -1};
	struct sc_err err = {{0}};
	pthread_t refresher;
	bool refresher_started = false;
	int sig[2] = {-1, -1}, status_code = 1, r;

	if ((r = guard_daemon_start(argc, argv, serve_usage, "serve", NULL, &config)) >= 0)
		return r;
	s.cfg = &config->serve;
	pthread_mutex_init(&s.ctx_lock, NULL);
	pthread_mutex_init(&s.error_lock, NULL);
	if (guard_tls_identity_load(s.cfg->certificate, s.cfg->key, &s.identity, &err) < 0 ||
	    ctx_reload(&s, &err) < 0) {
		guard_fail("%s", err.msg);
		goto out;
	}
	char name[80];
	struct sc_cluster_opts copts = {
	    .cluster = s.cfg->cluster,
	    .conf_dir = s.cfg->conf_dir,
	    .conf_path = s.cfg->conf,
	    .keyring = s.cfg->keyring,
	};
	if (s.cfg->id) {
		if (sc_cluster_name_from_id(s.cfg->id, name, sizeof(name)) < 0) {
			guard_fail("invalid id '%s'", s.cfg->id);
			goto out;
		}
		copts.name = name;
	}
	struct guard_allow_list extra = {0};
	if (s.cfg->allow && guard_allow_parse_text(s.cfg->allow, &extra) < 0) {
		guard_fail("allow: '%s' is not a list of ADDR:PORT", s.cfg->allow);
		goto out;
	}
	if (s.cfg->allow)
		sc_log_warn("allowing %zu addresses besides the cluster's maps (setting 'allow')",
		            extra.count);
	r = guard_maps_open(&copts, &extra, &s.maps, &err);
	guard_allow_free(&extra);
	if (r < 0) {
		guard_fail("%s", err.msg);
		goto out;
	}
	s.listen_fd = listen_on(s.cfg->listen, s.cfg->port, &err);
	if (s.listen_fd < 0) {
		guard_fail("%s", err.msg);
		goto out;
	}
	if (s.cfg->status_socket &&
	    guard_status_open(s.cfg->status_socket, serve_status, &s, &status) < 0) {
		guard_fail("cannot open status socket %s: %s", s.cfg->status_socket,
		           strerror(errno));
		goto out;
	}
	if (guard_signals_open(sig) < 0) {
		guard_fail("cannot install signal handlers");
		goto out;
	}
	if (guard_serve_sandbox_enter(s.cfg->user, &err) < 0) {
		guard_fail("%s", err.msg);
		goto out;
	}
	if (pthread_create(&refresher, NULL, refresh_thread, &s) == 0)
		refresher_started = true;
	struct guard_allow_list l;
	if (guard_maps_snapshot(s.maps, &l) == 0) {
		sc_log_info("serving %s port %lld for cluster %s (%zu addresses allowed), "
		            "sandboxed (seccomp)%s%s",
		            s.cfg->listen, s.cfg->port, s.cfg->cluster, l.count,
		            s.cfg->user ? ", running as " : "", s.cfg->user ? s.cfg->user : "");
		guard_allow_free(&l);
	}

	while (!s.stop) {
		struct pollfd fds[2] = {{s.listen_fd, POLLIN, 0}, {sig[0], POLLIN, 0}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents & POLLIN) {
			unsigned char signo;
			if (read(sig[0], &signo, 1) == 1) {
				if (signo == SIGHUP) {
					if (ctx_reload(&s, &err) < 0)
						serve_error(
						    &s, "reload: %s (keeping the old CA and CRL)",
						    err.msg);
					else {
						s.reloads++;
						sc_log_info("reloaded CA and CRL");
					}
					sc_log_reopen();
				} else {
					sc_log_info("stopping on signal %d", signo);
					s.stop = true;
				}
			}
		}
		if (!(fds[0].revents & POLLIN))
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(s.listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct flow_arg *fa = calloc(1, sizeof(*fa));
		if (!fa || s.flows_open >= s.cfg->max_flows) {
			s.busy++;
			if (fa)
				sc_log_warn("too many flows (%lld): connection refused",
				            s.cfg->max_flows);
			free(fa);
			close(fd);
			continue;
		}
		fa->s = &s;
		fa->fd = fd;
		guard_addr_from_sockaddr((struct sockaddr *)&ss, &fa->peer);
		s.flows_total++;
		guard_flow_start(flow_thread, fa, fd, &s.flows_open);
	}
	status_code = 0;
	guard_flows_wait(&s.flows_open);
out:
	s.stop = true;
	if (refresher_started)
		pthread_join(refresher, NULL);
	guard_status_close(status);
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	if (s.flows_open > 0) {
		/* Flows still hold the context and the maps: end without tearing
		 * down what they use (exit handlers would free OpenSSL under them). */
		sc_log_info("exiting with %ld flows still closing", (long)s.flows_open);
		sc_log_close();
		_exit(status_code);
	}
	guard_maps_close(s.maps);
	SSL_CTX_free(s.ctx);
	guard_tls_identity_free(s.identity);
	guard_config_free(config);
	sc_log_close();
	return status_code;
}

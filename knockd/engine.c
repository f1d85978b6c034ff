/*
 * knockd's engine: the untrusted bytes -- IP/UDP headers, the AEAD, the
 * request, X.509 -- are handled here and only here, in a child that holds
 * no capability and can open nothing (sandbox.c). Before the sandbox closes,
 * every library it will need is warmed up (time zone, OpenSSL's config and
 * algorithms, one X25519 and one certificate signature check), so that
 * nothing tries to open a file later. Single-threaded: one poll loop over
 * the NFLOG socket and the parent's socket. The engine's replay cache is
 * its own copy (made by fork); the parent keeps the one that goes to disk.
 */
#include "knockd/engine.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"
#include "knockd/sandbox.h"

/* Rejects are logged up to log_rejects_per_second; the rest are counted. */
static void reject_note(struct knock_engine *e, const char *src)
{
	const struct knock_verdict *v = &e->verdict;
	uint64_t second = (uint64_t)sc_now_wall();
	unsigned limit = e->log_rejects_per_second;

	e->rejected[v->reason]++;
	if (second != e->log_second) {
		if (e->suppressed)
			sc_log_warn("suppressed %" PRIu64
			            " reject lines (log_rejects_per_second %u)",
			            e->suppressed, limit);
		e->suppressed = 0;
		e->logged = 0;
		e->log_second = second;
	}
	if (limit && e->logged >= limit) {
		e->suppressed++;
		return;
	}
	e->logged++;
	sc_log_warn("reject src=%s subject=\"%s\" reason=%s detail=\"%s\"", src,
	            v->subject[0] ? v->subject : "-", knock_reason_name(v->reason), v->detail);
}

static void accept_send(struct knock_engine *e, const char *src)
{
	const struct knock_verdict *v = &e->verdict;
	struct knock_msg_accept m;

	memset(&m, 0, sizeof(m));
	m.type = KNOCK_MSG_ACCEPT;
	m.family = v->open_family;
	m.protocol = v->request.protocol;
	m.port = v->request.port;
	memcpy(m.address, v->open_address, 16);
	if (m.family == KNOCK_ADDRESS_IPV4)
		memset(m.address + 4, 0, 12);
	memcpy(m.nonce, v->request.nonce, KNOCK_NONCE_LEN);
	m.expires = v->request.timestamp + e->verifier.policy.time_window + 1;
	m.clock = knock_replay_high_water(e->verifier.replay);
	m.skew = v->skew;
	/* Cut to the message's fields (the rest stays zero, as the parent checks). */
	memcpy(m.subject, v->subject, strnlen(v->subject, sizeof(m.subject) - 1));
	memcpy(m.source, src, strnlen(src, sizeof(m.source) - 1));
	if (send(e->fd, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		sc_log_error("engine: cannot hand an accepted knock to the parent: %s",
		             strerror(errno));
}

static void on_datagram(void *arg, const struct knock_datagram *d)
{
	struct knock_engine *e = arg;
	struct knock_verdict *v = &e->verdict;
	struct knock_origin origin = {.family = d->family};
	char src[64];

	e->received++;
	memcpy(origin.source, d->source, 16);
	memcpy(origin.destination, d->destination, 16);
	knock_address_format(d->family == AF_INET6 ? 6 : 4, d->source, src, sizeof(src));
	if (d->wire_len > KNOCK_MAX_LEN || d->len < d->wire_len) {
		v->reason = d->wire_len > KNOCK_MAX_LEN ? KNOCK_OVERSIZED : KNOCK_TRUNCATED;
		v->subject[0] = '\0';
		snprintf(v->detail, sizeof(v->detail), "%zu bytes", d->wire_len);
	} else if (knock_verify(&e->verifier, d->payload, d->len, &origin, (uint64_t)sc_now_wall(),
	                        v) == KNOCK_OK) {
		accept_send(e, src);
		return;
	}
	reject_note(e, src);
}

static void status_send(struct knock_engine *e)
{
	struct knock_authority_stats st;
	struct knock_msg_status m;

	memset(&m, 0, sizeof(m));
	knock_authority_stats(e->verifier.authority, &st);
	m.type = KNOCK_MSG_STATUS;
	m.received = e->received;
	m.overruns = knock_capture_overruns(e->capture);
	m.replay_cache = knock_replay_count(e->verifier.replay);
	memcpy(m.rejected, e->rejected, sizeof(m.rejected));
	m.cert_cache = st.cached;
	m.cert_refused_cache = st.refused;
	m.cert_verified = st.verified;
	m.cert_rate_limited = st.limited;
	send(e->fd, &m, sizeof(m), MSG_NOSIGNAL);
}

/* Everything the engine will touch, touched once while it still may open files. */
static void warm_up(struct knock_engine *e)
{
	struct knock_verdict *v = &e->verdict;
	struct knock_origin origin = {.family = AF_INET};
	uint8_t junk[KNOCK_MIN_LEN + 64], digest[32];

	tzset();
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	sc_random_bytes(junk, sizeof(junk));
	knock_header_write(junk, sizeof(junk), junk + 8);
	knock_verify(&e->verifier, junk, sizeof(junk), &origin, (uint64_t)sc_now_wall(), v);
	sc_sha256(junk, sizeof(junk), digest);
	knock_authority_warm(e->verifier.authority);
}

_Noreturn void knock_engine_run(struct knock_engine *e)
{
	struct pollfd fds[2] = {
	    {.fd = knock_capture_fd(e->capture), .events = POLLIN},
	    {.fd = e->fd, .events = POLLIN},
	};
	uint64_t overruns_seen = 0;
	struct sc_err err = {{0}};
	char request;

	warm_up(e);
	if (knock_sandbox_enter(e->user, &err) < 0) {
		sc_log_error("engine: %s", err.msg);
		_exit(1);
	}
	sc_log_info("engine: sandboxed (no capabilities, seccomp), reading knocks");
	for (;;) {
		int n = poll(fds, 2, 1000);
		if (n < 0 && errno != EINTR) {
			sc_log_error("engine: poll: %s", strerror(errno));
			_exit(1);
		}
		if (fds[1].revents & (POLLHUP | POLLERR))
			_exit(0);
		if (fds[1].revents & POLLIN) {
			ssize_t got = recv(e->fd, &request, 1, 0);
			if (got <= 0)
				_exit(0);
			if (request == KNOCK_MSG_STATUS)
				status_send(e);
		}
		if (fds[0].revents & POLLIN) {
			int r = knock_capture_read(e->capture, on_datagram, e);
			if (r < 0) {
				sc_log_error("engine: nflog: %s", strerror(-r));
				_exit(1);
			}
		}
		if (knock_capture_overruns(e->capture) != overruns_seen) {
			overruns_seen = knock_capture_overruns(e->capture);
			sc_log_warn("nflog socket overran (%" PRIu64
			            " times so far): datagrams lost under load",
			            overruns_seen);
		}
	}
}

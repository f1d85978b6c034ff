/*
 * The relay: one thread moves one flow's bytes both ways between a plain TCP
 * socket and its TLS stream, with both sockets non-blocking and one poll().
 * One SSL object is never touched by two threads. A flow ends when either
 * side closes or fails (Ceph's messenger never half-closes); what was read
 * from one side is written to the other before that.
 *
 * The rate limit is one token bucket shared by every flow of the process
 * (--max-rate caps the tunnel, not each stream); its lock guards its fields.
 */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

#define RELAY_BUF (128 * 1024)
#define TLS_RECORD_MAX (16 * 1024)
#define RELAY_POLL_MS 500

void guard_rate_init(struct guard_rate *rate, double bytes_per_second)
{
	memset(rate, 0, sizeof(*rate));
	pthread_mutex_init(&rate->lock, NULL);
	rate->rate = bytes_per_second;
	/* A tenth of a second of traffic, at least one buffer: smooth, not choppy. */
	rate->burst = bytes_per_second / 10 > RELAY_BUF ? bytes_per_second / 10 : RELAY_BUF;
	rate->tokens = rate->burst;
	rate->last = sc_now_monotonic();
}

void guard_rate_take(struct guard_rate *rate, size_t bytes)
{
	double wait;

	if (!rate || rate->rate <= 0)
		return;
	pthread_mutex_lock(&rate->lock);
	double now = sc_now_monotonic();
	rate->tokens += (now - rate->last) * rate->rate;
	if (rate->tokens > rate->burst)
		rate->tokens = rate->burst;
	rate->last = now;
	rate->tokens -= (double)bytes;
	wait = rate->tokens < 0 ? -rate->tokens / rate->rate : 0;
	pthread_mutex_unlock(&rate->lock);
	if (wait > 0) {
		struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

int guard_tls_read_full(SSL *ssl, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		size_t n = 0;
		if (SSL_read_ex(ssl, (uint8_t *)buf + done, len - done, &n) != 1) {
			int e = SSL_get_error(ssl, 0);
			if (e == SSL_ERROR_ZERO_RETURN)
				return -ECONNRESET;
			if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
				return -ETIMEDOUT;
			return -EPROTO;
		}
		done += n;
	}
	return 0;
}

int guard_tls_write_full(SSL *ssl, const void *buf, size_t len)
{
	size_t n = 0;

	/* Blocking socket, SSL_MODE_ENABLE_PARTIAL_WRITE off: all or nothing. */
	if (SSL_write_ex(ssl, buf, len, &n) != 1 || n != len)
		return -EPROTO;
	return 0;
}

static int nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* After a failed SSL call: what to poll the TLS socket for (0 and false
 * when the stream is over: closed cleanly, *CLEAN, or broken). */
static bool tls_wait(SSL *ssl, short *events, bool *clean)
{
	switch (SSL_get_error(ssl, 0)) {
	case SSL_ERROR_WANT_READ:
		*events |= POLLIN;
		return true;
	case SSL_ERROR_WANT_WRITE:
		*events |= POLLOUT;
		return true;
	case SSL_ERROR_ZERO_RETURN:
		*clean = true;
		return false;
	default:
		*clean = false;
		return false;
	}
}

struct half {
	uint8_t *buf;
	size_t len, off;
	bool eof;
};

int guard_relay(int plain, SSL *ssl, struct guard_rate *rate, struct guard_counters *counters,
                const _Atomic bool *stop)
{
	int sfd = SSL_get_fd(ssl);
	uint8_t *mem = malloc(2 * RELAY_BUF);
	struct half up = {0}, down = {0}; /* up: plain -> tls; down: tls -> plain */
	int r = 0, one = 1;

	if (!mem)
		return -ENOMEM;
	up.buf = mem;
	down.buf = mem + RELAY_BUF;
	if ((r = nonblock(plain)) < 0 || (r = nonblock(sfd)) < 0)
		goto out;
	/* Ceph's messages are small and latency-bound: no Nagle on either leg
	 * (the sockets we accepted have it on by default). */
	setsockopt(plain, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	for (;;) {
		short pev = 0, sev = 0;
		bool progress = false, clean;

		/* TLS -> buffer: every record already read ahead, so that one
		 * write to the plain socket carries many records. */
		if (down.len == 0 && !down.eof) {
			size_t got = 0, n = 0;
			while (SSL_read_ex(ssl, down.buf + got, RELAY_BUF - got, &n) == 1) {
				got += n;
				if (RELAY_BUF - got < TLS_RECORD_MAX || !SSL_has_pending(ssl))
					break;
			}
			if (got > 0) {
				/* A failure after some records comes back on the next read. */
				down.len = got;
				down.off = 0;
				progress = true;
				counters->down += got;
				guard_rate_take(rate, got);
			} else if (!tls_wait(ssl, &sev, &clean)) {
				if (!clean)
					r = -ECONNRESET;
				down.eof = true;
				progress = true;
			}
		}
		/* buffer -> plain */
		if (down.len > 0) {
			ssize_t n = write(plain, down.buf + down.off, down.len);
			if (n > 0) {
				down.off += (size_t)n;
				down.len -= (size_t)n;
				progress = true;
			} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				pev |= POLLOUT;
			} else if (n < 0 && errno != EINTR) {
				r = -errno;
				goto out;
			}
		}
		/* plain -> buffer */
		if (up.len == 0 && !up.eof) {
			ssize_t n = read(plain, up.buf, RELAY_BUF);
			if (n > 0) {
				up.len = (size_t)n;
				up.off = 0;
				progress = true;
				counters->up += (size_t)n;
				guard_rate_take(rate, (size_t)n);
			} else if (n == 0) {
				up.eof = true;
				progress = true;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				pev |= POLLIN;
			} else if (errno != EINTR) {
				r = -errno;
				up.eof = true;
			}
		}
		/* buffer -> TLS */
		if (up.len > 0) {
			size_t n = 0;
			if (SSL_write_ex(ssl, up.buf + up.off, up.len, &n) == 1) {
				up.off += n;
				up.len -= n;
				progress = true;
			} else if (!tls_wait(ssl, &sev, &clean)) {
				r = -ECONNRESET;
				goto out;
			}
		}
		/* One side ended and what it sent is delivered: the flow is over. */
		if ((down.eof && down.len == 0) || (up.eof && up.len == 0))
			break;
		if (stop && *stop)
			break;
		if (progress)
			continue;
		struct pollfd fds[2] = {{plain, pev, 0}, {sfd, sev, 0}};
		int n = poll(fds, 2, RELAY_POLL_MS);
		if (n < 0 && errno != EINTR) {
			r = -errno;
			goto out;
		}
		if ((fds[0].revents & (POLLERR | POLLNVAL)) ||
		    (fds[1].revents & (POLLERR | POLLNVAL))) {
			r = r ? r : -ECONNRESET;
			goto out;
		}
	}
	if (up.eof && r == 0)
		SSL_shutdown(ssl); /* close_notify: the peer closes its side cleanly */
out:
	free(mem);
	return r;
}

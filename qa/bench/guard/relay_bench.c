/*
 * relay-bench: what the guard's relay costs by itself, without Ceph, the
 * WAN router or namespaces. Two relays (connect's and serve's: guard_relay,
 * the code both run) joined by a TCP loopback connection carrying TLS 1.3
 * with the tunnel's contexts; BYTES pushed into one relay's plain socket
 * come out of the other's. Printed next to it, in the same run: the same
 * bytes over one plain TCP loopback connection (what the kernel alone
 * costs), and one core's AES-128-GCM rate (the cipher the tunnel picks):
 * the relay encrypts once and decrypts once, so on two cores its bound is
 * about that rate. Prints, asserts nothing.
 *
 *   relay-bench [MiB]     (default 1024; needs make-pki, as the unit tests)
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "guard.h"

#ifndef MAKE_PKI
#error "meson passes -DMAKE_PKI"
#endif

#define CHUNK (256 * 1024)

static char dir[] = "/tmp/grd-relay-bench-XXXXXX";

static SSL_CTX *context(const char *name, bool server)
{
	char crt[512], key[512], ca[512];
	struct guard_tls_identity *id;
	struct sc_err err;
	SSL_CTX *ctx = NULL;

	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	if (guard_tls_identity_load(crt, key, &id, &err) < 0 ||
	    guard_tls_context_new(id, ca, NULL, server, &ctx, &err) < 0) {
		fprintf(stderr, "relay-bench: %s\n", err.msg);
		exit(1);
	}
	guard_tls_identity_free(id);
	return ctx;
}

/* A connected TCP loopback pair. */
static void tcp_pair(int fds[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		exit(1);
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof(a)) < 0)
		exit(1);
	fds[1] = accept(l, NULL, NULL);
	close(l);
	if (fds[1] < 0)
		exit(1);
}

struct relay {
	int plain;
	SSL *ssl;
	bool server;
	struct guard_counters c;
};

static void *relay_thread(void *arg)
{
	struct relay *r = arg;

	if ((r->server ? SSL_accept(r->ssl) : SSL_connect(r->ssl)) == 1)
		guard_relay(r->plain, r->ssl, NULL, &r->c, NULL);
	shutdown(r->plain, SHUT_RDWR);
	return NULL;
}

struct sink {
	int fd;
	size_t want, got;
};

static void *sink_thread(void *arg)
{
	struct sink *s = arg;
	uint8_t *buf = malloc(CHUNK);

	while (buf && s->got < s->want) {
		ssize_t n = read(s->fd, buf, CHUNK);
		if (n <= 0)
			break;
		s->got += (size_t)n;
	}
	free(buf);
	return NULL;
}

/* Seconds to push BYTES into IN and read them all from OUT. */
static double push(int in, int out, size_t bytes, size_t *got)
{
	uint8_t *buf = calloc(1, CHUNK);
	struct sink s = {out, bytes, 0};
	pthread_t t;
	double start = sc_now_monotonic();

	pthread_create(&t, NULL, sink_thread, &s);
	for (size_t done = 0; buf && done < bytes; done += CHUNK)
		if (sc_write_all(in, buf, CHUNK) < 0)
			break;
	pthread_join(t, NULL);
	free(buf);
	*got = s.got;
	return sc_now_monotonic() - start;
}

static double aes_gcm_rate(void)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	uint8_t key[16] = {0}, iv[12] = {0}, tag[16], *buf = calloc(1, 16384), *out = malloc(16400);
	int len;
	size_t total = 0;
	double start = sc_now_monotonic();

	EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), NULL, key, iv);
	while (sc_now_monotonic() - start < 1.0)
		for (int i = 0; i < 256; i++) {
			EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv);
			EVP_EncryptUpdate(c, out, &len, buf, 16384);
			EVP_EncryptFinal_ex(c, out + len, &len);
			EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag);
			total += 16384;
		}
	double rate = (double)total / (sc_now_monotonic() - start);
	EVP_CIPHER_CTX_free(c);
	free(buf);
	free(out);
	return rate;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024, bytes = mib << 20, got;
	char cmd[1024];
	int raw[2], tls[2], pa[2], pb[2];

	if (!mkdtemp(dir))
		return 1;
	snprintf(cmd, sizeof(cmd),
	         "%s ca %s && EKU=serverAuth %s client %s guard-serve && %s client %s bench "
	         "tcp/7443 >/dev/null 2>&1",
	         MAKE_PKI, dir, MAKE_PKI, dir, MAKE_PKI, dir);
	if (system(cmd) != 0)
		return 1;
	SSL_CTX *server = context("guard-serve", true), *client = context("bench", false);

	tcp_pair(raw);
	double t_raw = push(raw[0], raw[1], bytes, &got);
	close(raw[0]);
	close(raw[1]);

	/* writer -> pa -> connect's relay -> TLS over TCP -> serve's relay -> pb -> reader */
	tcp_pair(tls);
	tcp_pair(pa);
	tcp_pair(pb);
	struct relay c = {.plain = pa[1], .ssl = SSL_new(client)};
	struct relay s = {.plain = pb[0], .ssl = SSL_new(server), .server = true};
	SSL_set_fd(c.ssl, tls[0]);
	SSL_set_fd(s.ssl, tls[1]);
	pthread_t tc, ts;
	pthread_create(&tc, NULL, relay_thread, &c);
	pthread_create(&ts, NULL, relay_thread, &s);
	double t_guard = push(pa[0], pb[1], bytes, &got);
	if (got != bytes)
		fprintf(stderr, "relay-bench: %zu of %zu bytes arrived\n", got, bytes);
	close(pa[0]);
	pthread_join(tc, NULL);
	pthread_join(ts, NULL);

	double aes = aes_gcm_rate();
	printf("relay-bench, %zu MiB one way, MB/s\n", mib);
	printf("  plain TCP loopback            %8.0f\n", (double)bytes / t_raw / 1e6);
	printf("  through both relays (TLS 1.3) %8.0f   %.2f of plain\n",
	       (double)bytes / t_guard / 1e6, t_raw / t_guard);
	printf("  AES-128-GCM, one core         %8.0f   relay/AES %.2f\n", aes / 1e6,
	       (double)bytes / t_guard / aes);
	SSL_free(c.ssl);
	SSL_free(s.ssl);
	SSL_CTX_free(server);
	SSL_CTX_free(client);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}

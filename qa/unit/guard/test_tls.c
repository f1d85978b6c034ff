/*
 * The tunnel's TLS and relay, over socket pairs with a PKI made by knockd's
 * documented commands (make-pki): both sides authenticate; a revoked client
 * certificate, one of another CA, a server of another CA and TLS 1.2 get no
 * session; through an established stream the relay moves 4 MiB each way
 * byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include "common/crypto.h"
#include "common/util.h"
#include "guard.h"

#ifndef MAKE_PKI
#error "meson passes -DMAKE_PKI"
#endif

static char dir[] = "/tmp/guard-tls-XXXXXX";

static int pki(const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s %s >/dev/null 2>&1", MAKE_PKI, args);
	return system(cmd);
}

static int setup(void **state)
{
	char a[512];

	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/other", dir);
	assert_int_equal(mkdir(a, 0700), 0);
	snprintf(a, sizeof(a), "ca %s", dir);
	assert_int_equal(pki(a), 0);
	/* The tunnel's server certificate says serverAuth: TLS clients check it. */
	assert_int_equal(setenv("EKU", "serverAuth", 1), 0);
	snprintf(a, sizeof(a), "client %s guard-serve", dir);
	assert_int_equal(pki(a), 0);
	assert_int_equal(unsetenv("EKU"), 0);
	const char *names[] = {"alice", "bob"};
	for (int i = 0; i < 2; i++) {
		snprintf(a, sizeof(a), "client %s %s tcp/7443", dir, names[i]);
		assert_int_equal(pki(a), 0);
	}
	snprintf(a, sizeof(a), "revoke %s bob", dir);
	assert_int_equal(pki(a), 0);
	snprintf(a, sizeof(a), "ca %s/other", dir);
	assert_int_equal(pki(a), 0);
	snprintf(a, sizeof(a), "client %s/other mallory tcp/7443", dir);
	assert_int_equal(pki(a), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* A context for NAME of the CA in SUB ("" or "/other"), trusting our CA. */
static SSL_CTX *ctx_for(const char *sub, const char *name, bool server)
{
	char crt[512], key[512], ca[512], crl[512];
	struct guard_tls_identity *id;
	struct sc_err err;
	SSL_CTX *ctx;

	snprintf(crt, sizeof(crt), "%s%s/%s.crt", dir, sub, name);
	snprintf(key, sizeof(key), "%s%s/%s.key", dir, sub, name);
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	snprintf(crl, sizeof(crl), "%s/crl.pem", dir);
	assert_int_equal(guard_tls_identity_load(crt, key, &id, &err), 0);
	assert_int_equal(guard_tls_context_new(id, ca, crl, server, &ctx, &err), 0);
	guard_tls_identity_free(id);
	return ctx;
}

struct side {
	SSL *ssl;
	int ok;
	long verify;
};

static void *accept_thread(void *arg)
{
	struct side *s = arg;
	s->ok = SSL_accept(s->ssl) == 1;
	s->verify = SSL_get_verify_result(s->ssl);
	/* In TLS 1.3 the client learns of a refusal only when it reads. */
	if (s->ok) {
		char c;
		s->ok = SSL_read(s->ssl, &c, 1) == 1 && c == 'x' && SSL_write(s->ssl, "y", 1) == 1;
	}
	return NULL;
}

/* Handshake plus one byte each way: 1 when both sides agreed. */
static int session(SSL_CTX *server, SSL_CTX *client, long *server_verify)
{
	int sv[2];
	struct side s = {0};
	pthread_t t;
	char c = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s.ssl = SSL_new(server);
	SSL *cl = SSL_new(client);
	SSL_set_fd(s.ssl, sv[0]);
	SSL_set_fd(cl, sv[1]);
	pthread_create(&t, NULL, accept_thread, &s);
	int ok = SSL_connect(cl) == 1 && SSL_write(cl, "x", 1) == 1 && SSL_read(cl, &c, 1) == 1 &&
	         c == 'y';
	if (!ok)
		shutdown(sv[1], SHUT_RDWR);
	pthread_join(t, NULL);
	if (server_verify)
		*server_verify = s.verify;
	SSL_free(s.ssl);
	SSL_free(cl);
	close(sv[0]);
	close(sv[1]);
	ERR_clear_error();
	return ok && s.ok;
}

static void test_mutual_authentication_between_certificates_of_the_ca(void **state)
{
	SSL_CTX *srv = ctx_for("", "guard-serve", true), *cl = ctx_for("", "alice", false);
	assert_true(session(srv, cl, NULL));
	SSL_CTX_free(srv);
	SSL_CTX_free(cl);
}

static void test_revoked_or_foreign_client_gets_no_session(void **state)
{
	SSL_CTX *srv = ctx_for("", "guard-serve", true);
	SSL_CTX *bob = ctx_for("", "bob", false), *mallory = ctx_for("/other", "mallory", false);
	long v;

	assert_false(session(srv, bob, &v));
	assert_int_equal(v, X509_V_ERR_CERT_REVOKED);
	assert_false(session(srv, mallory, &v));
	assert_int_equal(v, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	SSL_CTX_free(srv);
	SSL_CTX_free(bob);
	SSL_CTX_free(mallory);
}

static void test_client_refuses_a_server_of_another_ca_and_tls12(void **state)
{
	SSL_CTX *fake = ctx_for("/other", "mallory", true), *cl = ctx_for("", "alice", false);
	SSL_CTX *srv = ctx_for("", "guard-serve", true), *old = ctx_for("", "alice", false);

	assert_false(session(fake, cl, NULL));
	SSL_CTX_set_min_proto_version(old, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(old, TLS1_2_VERSION);
	assert_false(session(srv, old, NULL));
	SSL_CTX_free(fake);
	SSL_CTX_free(cl);
	SSL_CTX_free(srv);
	SSL_CTX_free(old);
}

struct relay_side {
	int plain;
	SSL *ssl;
	bool server;
	int r;
	struct guard_counters c;
};

static void *relay_thread(void *arg)
{
	struct relay_side *r = arg;
	int ok = r->server ? SSL_accept(r->ssl) : SSL_connect(r->ssl);
	r->r = ok == 1 ? guard_relay(r->plain, r->ssl, NULL, &r->c, NULL) : -EPROTO;
	return NULL;
}

struct pump {
	int fd;
	uint8_t *data;
	size_t len;
	bool reader;
};

static void *pump_thread(void *arg)
{
	struct pump *p = arg;
	if (!p->reader) {
		sc_write_all(p->fd, p->data, p->len);
		return NULL;
	}
	for (size_t done = 0; done < p->len;) {
		ssize_t k = read(p->fd, p->data + done, p->len - done);
		if (k <= 0)
			break;
		done += (size_t)k;
	}
	return NULL;
}

/* plain A <-> relay (client) <-> TLS <-> relay (server) <-> plain B */
static void test_relay_moves_4_mib_each_way_byte_for_byte(void **state)
{
	const size_t len = 4 << 20;
	uint8_t *up = malloc(len), *down = malloc(len), *got_up = calloc(1, len),
	        *got_down = calloc(1, len);
	SSL_CTX *srv = ctx_for("", "guard-serve", true), *cl = ctx_for("", "alice", false);
	int tls[2], pa[2], pb[2];
	struct relay_side rs = {0}, rc = {0};
	pthread_t ts, tc, w1, w2, r1, r2;

	assert_int_equal(sc_random_bytes(up, len), 0);
	assert_int_equal(sc_random_bytes(down, len), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, tls), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pa), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pb), 0);
	rs = (struct relay_side){.plain = pb[0], .ssl = SSL_new(srv), .server = true};
	rc = (struct relay_side){.plain = pa[0], .ssl = SSL_new(cl), .server = false};
	SSL_set_fd(rs.ssl, tls[0]);
	SSL_set_fd(rc.ssl, tls[1]);
	pthread_create(&ts, NULL, relay_thread, &rs);
	pthread_create(&tc, NULL, relay_thread, &rc);
	struct pump pw1 = {pa[1], up, len, false}, pw2 = {pb[1], down, len, false};
	struct pump pr1 = {pb[1], got_up, len, true}, pr2 = {pa[1], got_down, len, true};
	pthread_create(&w1, NULL, pump_thread, &pw1);
	pthread_create(&w2, NULL, pump_thread, &pw2);
	pthread_create(&r1, NULL, pump_thread, &pr1);
	pthread_create(&r2, NULL, pump_thread, &pr2);
	pthread_join(w1, NULL);
	pthread_join(w2, NULL);
	pthread_join(r1, NULL);
	pthread_join(r2, NULL);
	assert_memory_equal(got_up, up, len);
	assert_memory_equal(got_down, down, len);
	/* One end closes: both relays end, cleanly. */
	close(pa[1]);
	pthread_join(tc, NULL);
	pthread_join(ts, NULL);
	assert_int_equal(rc.r, 0);
	assert_int_equal(rs.r, 0);
	assert_int_equal(rc.c.up, len);
	assert_int_equal(rs.c.down, len);
	assert_int_equal(rs.c.up, len);
	SSL_free(rs.ssl);
	SSL_free(rc.ssl);
	close(tls[0]);
	close(tls[1]);
	close(pa[0]);
	close(pb[0]);
	close(pb[1]);
	SSL_CTX_free(srv);
	SSL_CTX_free(cl);
	free(up);
	free(down);
	free(got_up);
	free(got_down);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mutual_authentication_between_certificates_of_the_ca),
	    cmocka_unit_test(test_revoked_or_foreign_client_gets_no_session),
	    cmocka_unit_test(test_client_refuses_a_server_of_another_ca_and_tls12),
	    cmocka_unit_test(test_relay_moves_4_mib_each_way_byte_for_byte),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

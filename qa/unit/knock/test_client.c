/*
 * libknock_client as another component sees it: this file includes only the
 * public header knockd/knock_client.h and links only libknock_client_dep
 * (no librados, no nftables). It proves that the header stands alone, that a
 * private key given as the server key is refused with words that say so,
 * and that a knock sent to a loopback socket arrives as one datagram of the
 * documented size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "knockd/knock_client.h"

#ifndef MAKE_PKI
#error "meson passes -DMAKE_PKI=path"
#endif

static char dir[64];

static int pki_make(void **state)
{
	char cmd[512];

	snprintf(dir, sizeof(dir), "/tmp/knock-client.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "set -e; P=%s; D=%s; $P ca $D; $P server $D; $P client $D alice",
	         MAKE_PKI, dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static int pki_remove(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void paths(const char *server, char *pub, char *crt, char *key)
{
	sprintf(pub, "%s/%s", dir, server);
	sprintf(crt, "%s/alice.crt", dir);
	sprintf(key, "%s/alice.key", dir);
}

static void test_server_key_refuses_a_private_key_file(void **state)
{
	struct knock_client_config *c = (void *)1;
	char pub[128], crt[128], key[128];
	struct sc_err err = {{0}};

	paths("server.key", pub, crt, key);
	assert_int_equal(knock_client_config_load(NULL, pub, crt, key, &c, &err), -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err.msg, "server.key: is knockd's private key"));
	assert_non_null(strstr(err.msg, "-pubout"));
}

static void test_server_key_refuses_a_certificate(void **state)
{
	struct knock_client_config *c = NULL;
	char pub[128], crt[128], key[128];
	struct sc_err err = {{0}};

	paths("alice.crt", pub, crt, key);
	assert_true(knock_client_config_load(NULL, pub, crt, key, &c, &err) < 0);
	assert_null(c);
	assert_non_null(strstr(err.msg, "not an X25519 public key"));
}

static void test_knock_arrives_as_one_datagram(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct knock_client_config *c = NULL;
	char pub[128], crt[128], key[128], conf[160], text[512];
	struct sc_err err = {{0}};
	uint8_t buf[2048];
	socklen_t len = sizeof(sa);
	FILE *f;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	paths("server.pub", pub, crt, key);
	snprintf(conf, sizeof(conf), "%s/knock.conf", dir);
	snprintf(
	    text, sizeof(text),
	    "knock = { server_key = \"%s\"; certificate = \"%s\"; key = \"%s\"; port = %u; };\n",
	    pub, crt, key, ntohs(sa.sin_port));
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(knock_client_config_load(conf, NULL, NULL, NULL, &c, &err), 0);
	assert_int_equal(knock_client_send(c, "127.0.0.1", 6, 2222, NULL, &err), 0);
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n > 0 && n <= 1200);
	assert_memory_equal(buf, "SCKN", 4);
	assert_int_equal((buf[6] << 8) | buf[7], n);
	/* Nothing else was sent. */
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
	knock_client_config_free(c);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_key_refuses_a_private_key_file),
	    cmocka_unit_test(test_server_key_refuses_a_certificate),
	    cmocka_unit_test(test_knock_arrives_as_one_datagram),
	};
	return cmocka_run_group_tests(tests, pki_make, pki_remove);
}

/*
 * rbd-mirror-guard.conf: the shipped example loads as written, with its
 * relative paths resolved against its directory; unknown settings, wrong
 * types, values out of range and bad sizes are refused with FILE:LINE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#ifndef GUARD_EXAMPLE_CONF
#error "meson passes -DGUARD_EXAMPLE_CONF"
#endif

static void test_example_loads_as_written(void **state)
{
	struct guard_config *c;
	struct sc_err err = {{0}};

	assert_int_equal(guard_config_load(GUARD_EXAMPLE_CONF, &c, &err), 0);
	assert_true(c->has_serve && c->has_connect);
	assert_string_equal(c->serve.cluster, "dc1");
	assert_int_equal(c->serve.port, 7443);
	assert_string_equal(c->serve.user, "nobody");
	assert_non_null(strstr(c->serve.certificate, "ceph-conf-examples/guard/serve.crt"));
	assert_string_equal(c->serve.crl, "/etc/knockd/crl.pem");
	assert_int_equal(c->connect.mark, 0x5347);
	assert_int_equal(c->connect.max_rate, 0);
	assert_string_equal(c->connect.table, "rbd_mirror_guard");
	guard_config_free(c);
}

static int load_text(const char *text, struct sc_err *err)
{
	char path[] = "/tmp/guard-conf-XXXXXX";
	struct guard_config *c = NULL;
	int fd = mkstemp(path), r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	r = guard_config_load(path, &c, err);
	unlink(path);
	guard_config_free(c);
	return r;
}

static void test_errors_name_file_and_line(void **state)
{
	struct sc_err err = {{0}};

	assert_int_equal(load_text("connect = {\n server = \"1.2.3.4\";\n certificate = \"c\";\n"
	                           " key = \"k\"; ca = \"a\";\n  colour = 1;\n};\n",
	                           &err),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, ":5:"));
	assert_non_null(strstr(err.msg, "colour"));
	assert_true(load_text("connect = {\n server = \"1.2.3.4\";\n certificate = \"c\";\n"
	                      " key = \"k\"; ca = \"a\";\n max_rate = \"fast\";\n};\n",
	                      &err) < 0);
	assert_non_null(strstr(err.msg, "fast"));
	assert_true(load_text("serve = {\n listen = \"1.2.3.4\";\n certificate = \"c\";\n"
	                      " key = \"k\"; ca = \"a\";\n port = 70000;\n};\n",
	                      &err) < 0);
	assert_non_null(strstr(err.msg, ":5:"));
	assert_true(load_text("serve = {\n certificate = \"c\";\n key = \"k\"; ca = \"a\";\n};\n",
	                      &err) < 0);
	assert_non_null(strstr(err.msg, "listen"));
	assert_true(load_text("other = 1;\n", &err) < 0);
	assert_true(load_text("serve = {\n", &err) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_loads_as_written),
	    cmocka_unit_test(test_errors_name_file_and_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

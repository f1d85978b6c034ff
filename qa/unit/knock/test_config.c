/*
 * knockd.conf: the shipped example loads as written, defaults apply, and
 * every error names FILE:LINE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "knockd/knockd_config.h"

#ifndef KNOCKD_EXAMPLE_CONF
#error "meson passes -DKNOCKD_EXAMPLE_CONF=path"
#endif

static void test_example_config_loads_as_written(void **state)
{
	struct knockd_config *c;
	struct sc_err err = {{0}};

	assert_int_equal(knockd_config_load(KNOCKD_EXAMPLE_CONF, &c, &err), 0);
	assert_int_equal(c->knock_port, 62201);
	assert_int_equal(c->nflog_group, 2201);
	assert_string_equal(c->table, "knockd");
	assert_string_equal(c->server_key, "/etc/knockd/server.key");
	assert_string_equal(c->ca, "/etc/knockd/ca.crt");
	assert_string_equal(c->crl, "/etc/knockd/crl.pem");
	assert_int_equal(c->open_seconds, 60);
	assert_int_equal(c->time_window, 30);
	assert_string_equal(c->state_file, "/var/lib/knockd/replay-cache");
	assert_true(c->state_file_line > 0);
	assert_true(knock_ports_contain(&c->protect, IPPROTO_TCP, 3300));
	assert_true(knock_ports_contain(&c->protect, IPPROTO_TCP, 7000));
	assert_false(knock_ports_contain(&c->protect, IPPROTO_TCP, 22));
	assert_int_equal(c->access_count, 2);
	assert_string_equal(c->access[0].subject, "CN=dc2-rbd-mirror,O=Example Storage");
	assert_true(knock_ports_contain(&c->access[0].ports, IPPROTO_TCP, 7443));
	assert_true(knock_ports_contain(&c->access[1].ports, IPPROTO_TCP, 6789));
	knockd_config_free(c);
}

static void test_defaults_and_relative_paths(void **state)
{
	struct knockd_config *c;
	struct sc_err err = {{0}};

	assert_int_equal(knockd_config_parse("/etc/knockd/k.conf",
	                                     "knockd = { server_key = \"server.key\";\n"
	                                     " ca = \"/x/ca.crt\"; protect = \"tcp/22\"; };",
	                                     &c, &err),
	                 0);
	assert_string_equal(c->server_key, "/etc/knockd/server.key");
	assert_null(c->crl);
	assert_int_equal(c->knock_port, KNOCK_DEFAULT_PORT);
	assert_int_equal(c->open_seconds, 30);
	assert_int_equal(c->time_window, 30);
	assert_true(c->open_other_address);
	assert_string_equal(c->state_file, KNOCK_DEFAULT_STATE_FILE);
	knockd_config_free(c);
	assert_int_equal(knockd_config_parse("/etc/knockd/k.conf",
	                                     "knockd = { server_key = \"server.key\";\n"
	                                     " ca = \"/x/ca.crt\"; protect = \"tcp/22\";\n"
	                                     " state_file = \"state/replay\"; };",
	                                     &c, &err),
	                 0);
	assert_string_equal(c->state_file, "/etc/knockd/state/replay");
	assert_int_equal(c->state_file_line, 3);
	knockd_config_free(c);
}

static void expect_error(const char *text, const char *message)
{
	struct knockd_config *c;
	struct sc_err err = {{0}};

	assert_true(knockd_config_parse("k.conf", text, &c, &err) < 0);
	assert_null(c);
	if (!strstr(err.msg, message))
		fail_msg("error '%s' lacks '%s'", err.msg, message);
}

static void test_errors_name_file_and_line(void **state)
{
	const char *head = "knockd = {\n server_key = \"s\";\n ca = \"c\";\n";

	expect_error("knockd = {\n port = ;\n};", "k.conf:2: syntax error");
	expect_error("other = 1;", "k.conf:1: unknown setting 'other'");
	expect_error("knockd = 1;", "missing group 'knockd");
	char text[512];
	snprintf(text, sizeof(text), "%s protect = \"tcp/22\";\n tabel = \"x\";\n};", head);
	expect_error(text, "k.conf:5: unknown setting 'tabel'");
	snprintf(text, sizeof(text), "%s protect = \"tcp/22\";\n time_window = 0;\n};", head);
	expect_error(text, "k.conf:5: setting 'time_window' is 0, outside 1..3600");
	snprintf(text, sizeof(text), "%s protect = [\"tcp/22\", \"tcp/99999\"];\n};", head);
	expect_error(text, "k.conf:4: setting 'protect' must list ports");
	snprintf(text, sizeof(text), "%s\n};", head);
	expect_error(text, "missing setting 'protect'");
	snprintf(text, sizeof(text), "%s protect = \"tcp/62201\";\n};", head);
	expect_error(text, "k.conf:4: the knock port 62201 cannot be protected");
	snprintf(text, sizeof(text), "%s protect = \"tcp/22\";\n table = \"a b\";\n};", head);
	expect_error(text, "k.conf:5: table name 'a b'");
	snprintf(text, sizeof(text),
	         "%s protect = \"tcp/22\";\n access = ( { allow = \"tcp/22\"; } );\n};", head);
	expect_error(text, "k.conf:5: missing setting 'subject'");
	snprintf(text, sizeof(text),
	         "%s protect = \"tcp/22\";\n access = ( { subject = \"CN=a\"; allow = \"tcp/x\"; } "
	         ");\n};",
	         head);
	expect_error(text, "k.conf:5: setting 'allow' must list ports");
	snprintf(text, sizeof(text), "%s protect = \"tcp/22\";\n log_level = \"loud\";\n};", head);
	expect_error(text, "k.conf:5: log_level");
	snprintf(text, sizeof(text), "%s protect = \"tcp/22\";\n state_file = \"-\";\n};", head);
	expect_error(text, "k.conf:5: state_file must name a file");
	snprintf(text, sizeof(text), "%s protect = \"tcp/22\";\n state_file = \"\";\n};", head);
	expect_error(text, "k.conf:5: setting 'state_file' is empty");
	expect_error("knockd = { ca = \"c\"; protect = \"tcp/22\"; };",
	             "missing setting 'server_key'");
}

static void test_client_config_errors_are_clear(void **state)
{
	struct knock_client_config *c;
	struct sc_err err = {{0}};

	assert_true(knock_client_config_load(NULL, "/nonexistent/server.pub", "/x.crt", "/x.key",
	                                     &c, &err) < 0);
	assert_null(c);
	assert_non_null(strstr(err.msg, "/nonexistent/server.pub: not an X25519 public key"));
	assert_true(knock_client_config_load(NULL, NULL, NULL, NULL, &c, &err) < 0);
	assert_non_null(strstr(err.msg, "no server key given"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_config_loads_as_written),
	    cmocka_unit_test(test_defaults_and_relative_paths),
	    cmocka_unit_test(test_errors_name_file_and_line),
	    cmocka_unit_test(test_client_config_errors_are_clear),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The command-line parts rados-scfs and scfs-admin share (rados-scfs/cli.h):
 * each value check accepts what it should and refuses the rest, and the
 * common option handler takes exactly the common options.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void test_cli_names_split_counts_bounds_and_separators(void **state)
{
	const char *names[CLI_MAX_CLUSTERS];
	char *storage = NULL;
	unsigned n = 99;

	(void)state;
	assert_int_equal(cli_names_split("dc1,dc2,,dc3", ",", &storage, names, 16, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[2], "dc3");
	assert_int_equal(cli_names_split("a:b", ":", &storage, names, 16, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "b");
	assert_int_equal(cli_names_split(",,", ",", &storage, names, 16, &n), -EINVAL);
	assert_int_equal(cli_names_split("a,b,c", ",", &storage, names, 2, &n), -E2BIG);
	free(storage);
}

static void test_cli_value_checks_accept_and_refuse(void **state)
{
	double t = 0;
	long f = -1;
	unsigned p = 0;

	(void)state;
	assert_int_equal(cli_timeout_parse("2.5", &t), 0);
	assert_true(t == 2.5);
	assert_int_equal(cli_timeout_parse("0", &t), -EINVAL);
	assert_int_equal(cli_timeout_parse("3601", &t), -EINVAL);
	assert_int_equal(cli_timeout_parse("5s", &t), -EINVAL);
	assert_int_equal(cli_timeout_parse("", &t), -EINVAL);
	assert_true(t == 2.5);
	assert_int_equal(cli_faults_parse("1", &f), 0);
	assert_int_equal(f, 1);
	assert_int_equal(cli_faults_parse("6", &f), -EINVAL);
	assert_int_equal(cli_faults_parse("-1", &f), -EINVAL);
	assert_int_equal(cli_faults_parse("", &f), -EINVAL);
	assert_int_equal(cli_protocol_parse("ca", &p), 0);
	assert_int_equal(p, 2);
	assert_int_equal(cli_protocol_parse("A", &p), 0);
	assert_int_equal(p, 1);
	assert_int_equal(cli_protocol_parse("B", &p), -EINVAL);
	assert_true(cli_fs_name_valid("home-1.a_b"));
	assert_false(cli_fs_name_valid(""));
	assert_false(cli_fs_name_valid("a b"));
	assert_false(cli_fs_name_valid("a/b"));
	{
		char long_name[CLI_FSNAME_MAX + 2];
		memset(long_name, 'x', sizeof(long_name) - 1);
		long_name[CLI_FSNAME_MAX + 1] = 0;
		assert_false(cli_fs_name_valid(long_name));
		long_name[CLI_FSNAME_MAX] = 0;
		assert_true(cli_fs_name_valid(long_name));
	}
}

static void test_cli_common_option_takes_only_common_options(void **state)
{
	struct cli_common c = {.pool = "scfs", .timeout = 10};

	(void)state;
	assert_int_equal(cli_common_option("t", &c, CLI_OPT_CLUSTERS, "a,b,c,d"), 1);
	assert_int_equal(c.n, 4);
	assert_int_equal(cli_common_option("t", &c, 'k', "w.pem"), 1);
	assert_string_equal(c.key, "w.pem");
	assert_int_equal(cli_common_option("t", &c, CLI_OPT_POOL, "p"), 1);
	assert_string_equal(c.pool, "p");
	assert_int_equal(cli_common_option("t", &c, CLI_OPT_TIMEOUT, "3"), 1);
	assert_true(c.timeout == 3);
	assert_int_equal(cli_common_option("t", &c, CLI_OPT_TIMEOUT, "never"), -1);
	assert_true(c.timeout == 3);
	assert_int_equal(cli_common_option("t", &c, CLI_OPT_CLUSTERS, ""), -1);
	assert_int_equal(cli_common_option("t", &c, 'f', "1"), 0);
	assert_int_equal(cli_common_option("t", &c, CLI_OPT_FREE, "x"), 0);
	cli_common_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cli_names_split_counts_bounds_and_separators),
	    cmocka_unit_test(test_cli_value_checks_accept_and_refuse),
	    cmocka_unit_test(test_cli_common_option_takes_only_common_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

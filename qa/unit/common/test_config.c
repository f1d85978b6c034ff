/*
 * Unit tests of common/config: every error an admin can see names the file
 * and, where there is one, the line ("FILE:LINE: ..."), and the typed lookups
 * tell absent (-ENOENT), wrong type (-EINVAL) and out of range (-ERANGE)
 * apart. Most cases parse text held in memory under the name "test.conf";
 * those about real files use a temporary directory the teardown removes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/config.h"

#define NAME "test.conf"

/* Asserts that MSG starts with PREFIX, showing both when it does not. */
static void assert_starts_with(const char *msg, const char *prefix)
{
	if (strncmp(msg, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", msg, prefix);
}

static void assert_contains(const char *msg, const char *part)
{
	if (!strstr(msg, part))
		fail_msg("message \"%s\" does not mention \"%s\"", msg, part);
}

static struct sc_config *parse(const char *text)
{
	struct sc_config *config = NULL;
	struct sc_err err = {{0}};

	if (sc_config_open_string(NAME, text, &config, &err) != 0)
		fail_msg("%s does not parse: %s", NAME, err.msg);
	assert_non_null(config);
	return config;
}

/* ---- parse errors ---- */

struct bad_text {
	const char *text;
	int line;
};

static void test_parse_error_names_file_and_line(void **state)
{
	static const struct bad_text cases[] = {
	    {"port = ;\n", 1},
	    {"# a comment\n\nport = 6789;\nname = ;\n", 4},
	    {"cluster = {\n  name = \"dc1\";\n  timeout = 10 20;\n};\n", 3},
	    {"a = 1;\nb = 2;\nc = 3;\nd = 4;\n= 5;\n", 5},
	    {"a = 1;\na = 2;\n", 2},
	    {"list = [1, 2,\n 3, \"four\"];\n", 2},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sc_config *config = (struct sc_config *)&config;
		struct sc_err err = {{0}};
		char prefix[64];
		int r = sc_config_open_string(NAME, cases[i].text, &config, &err);

		print_message("case %zu -> %d \"%s\"\n", i, r, err.msg);
		assert_true(r < 0);
		assert_null(config);
		snprintf(prefix, sizeof(prefix), "%s:%d: ", NAME, cases[i].line);
		assert_starts_with(err.msg, prefix);
		/* And a word on what is wrong after the position. */
		assert_true(strlen(err.msg) > strlen(prefix));
	}
}

static void test_parse_accepts_empty_text(void **state)
{
	struct sc_config *config = parse("");

	assert_string_equal(sc_config_path(config), NAME);
	assert_non_null(sc_config_root(config));
	sc_config_close(config);
	sc_config_close(NULL);
}

/* ---- real files ---- */

struct files {
	char dir[64];
	char path[PATH_MAX];
};

static int files_setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sc-test-config-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/safecloud.conf", f->dir);
	*state = f;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *file = fopen(path, "we");

	assert_non_null(file);
	assert_int_equal(fputs(text, file) >= 0, 1);
	assert_int_equal(fclose(file), 0);
}

static void test_open_missing_file_gives_enoent_naming_it(void **state)
{
	const struct files *f = *state;
	struct sc_config *config = (struct sc_config *)&config;
	struct sc_err err = {{0}};

	assert_int_equal(sc_config_open(f->path, &config, &err), -ENOENT);
	assert_null(config);
	assert_contains(err.msg, f->path);
}

static void test_open_reads_a_file_and_keeps_its_path(void **state)
{
	const struct files *f = *state;
	struct sc_config *config = NULL;
	struct sc_err err = {{0}};
	long long port = 0;

	write_text(f->path, "# knockd\nport = 62201;\n");
	assert_int_equal(sc_config_open(f->path, &config, &err), 0);
	assert_non_null(config);
	assert_string_equal(sc_config_path(config), f->path);
	assert_int_equal(
	    sc_config_int(config, sc_config_root(config), "port", true, 0, 1, 65535, &port, &err),
	    0);
	assert_int_equal(port, 62201);
	sc_config_close(config);
}

static void test_parse_error_in_a_file_names_its_path_and_line(void **state)
{
	const struct files *f = *state;
	struct sc_config *config = (struct sc_config *)&config;
	struct sc_err err = {{0}};
	char prefix[PATH_MAX + 16];

	write_text(f->path, "port = 62201;\n\nsecret = ;\nkey = 1;\n");
	assert_true(sc_config_open(f->path, &config, &err) < 0);
	assert_null(config);
	print_message("%s\n", err.msg);
	snprintf(prefix, sizeof(prefix), "%s:3: ", f->path);
	assert_starts_with(err.msg, prefix);
}

/* ---- typed lookups ---- */

static const char SETTINGS[] = "# line 1\n"
                               "name = \"dc1\";\n"            /* 2 */
                               "port = 6789;\n"               /* 3 */
                               "big = 5000000000L;\n"         /* 4 */
                               "ratio = 0.75;\n"              /* 5 */
                               "enabled = true;\n"            /* 6 */
                               "cluster = {\n"                /* 7 */
                               "  timeout = 10;\n"            /* 8 */
                               "  mon_host = \"10.0.0.1\";\n" /* 9 */
                               "};\n";

static void test_lookups_read_present_values(void **state)
{
	struct sc_config *config = parse(SETTINGS);
	const config_setting_t *root = sc_config_root(config);
	const config_setting_t *cluster = sc_config_child(root, "cluster");
	struct sc_err err = {{0}};
	const char *s = NULL;
	long long i = 0;
	double d = 0;
	bool b = false;

	assert_int_equal(sc_config_string(config, root, "name", true, NULL, &s, &err), 0);
	assert_string_equal(s, "dc1");
	assert_int_equal(sc_config_int(config, root, "port", true, 0, 1, 65535, &i, &err), 0);
	assert_int_equal(i, 6789);
	assert_int_equal(sc_config_int(config, root, "big", true, 0, 0, LLONG_MAX, &i, &err), 0);
	assert_true(i == 5000000000LL);
	assert_int_equal(sc_config_double(config, root, "ratio", true, 0, 0, 1, &d, &err), 0);
	assert_true(d == 0.75);
	assert_int_equal(sc_config_bool(config, root, "enabled", true, false, &b, &err), 0);
	assert_true(b);

	assert_non_null(cluster);
	assert_int_equal(sc_config_line(cluster), 7);
	assert_int_equal(sc_config_int(config, cluster, "timeout", true, 0, 1, 3600, &i, &err), 0);
	assert_int_equal(i, 10);
	assert_int_equal(sc_config_string(config, cluster, "mon_host", true, NULL, &s, &err), 0);
	assert_string_equal(s, "10.0.0.1");
	assert_int_equal(sc_config_line(sc_config_child(cluster, "mon_host")), 9);
	assert_null(sc_config_child(root, "absent"));
	assert_null(sc_config_child(NULL, "cluster"));
	sc_config_close(config);
}

static void test_lookups_of_absent_optional_settings_give_defaults(void **state)
{
	struct sc_config *config = parse(SETTINGS);
	const config_setting_t *root = sc_config_root(config);
	const config_setting_t *cluster = sc_config_child(root, "cluster");
	struct sc_err err = {{0}};
	const char *s = NULL;
	long long i = 0;
	double d = 0;
	bool b = false;

	assert_int_equal(sc_config_string(config, root, "pool", false, "data", &s, &err), 0);
	assert_string_equal(s, "data");
	assert_int_equal(sc_config_string(config, root, "pool", false, NULL, &s, &err), 0);
	assert_null(s);
	assert_int_equal(sc_config_int(config, cluster, "retries", false, 3, 0, 10, &i, &err), 0);
	assert_int_equal(i, 3);
	assert_int_equal(sc_config_double(config, root, "slack", false, 1.5, 0, 2, &d, &err), 0);
	assert_true(d == 1.5);
	assert_int_equal(sc_config_bool(config, root, "verbose", false, true, &b, &err), 0);
	assert_true(b);
	assert_int_equal(sc_config_bool(config, root, "verbose", false, false, &b, &err), 0);
	assert_false(b);
	sc_config_close(config);
}

static void assert_required_missing(int r, const struct sc_err *err, const char *setting)
{
	print_message("%s\n", err->msg);
	assert_int_equal(r, -ENOENT);
	assert_contains(err->msg, NAME);
	assert_contains(err->msg, setting);
}

static void test_required_missing_setting_gives_enoent_naming_it_and_file(void **state)
{
	struct sc_config *config = parse(SETTINGS);
	const config_setting_t *root = sc_config_root(config);
	const config_setting_t *cluster = sc_config_child(root, "cluster");
	struct sc_err err = {{0}};
	const char *s = NULL;
	long long i = 0;
	double d = 0;
	bool b = false;

	assert_required_missing(sc_config_string(config, root, "pool", true, "x", &s, &err), &err,
	                        "pool");
	assert_required_missing(sc_config_int(config, root, "retries", true, 3, 0, 10, &i, &err),
	                        &err, "retries");
	assert_required_missing(sc_config_double(config, root, "slack", true, 1, 0, 2, &d, &err),
	                        &err, "slack");
	assert_required_missing(sc_config_bool(config, root, "verbose", true, 0, &b, &err), &err,
	                        "verbose");
	assert_required_missing(sc_config_string(config, cluster, "keyring", true, NULL, &s, &err),
	                        &err, "keyring");
	sc_config_close(config);
}

static void assert_error_at(int r, int want_r, const struct sc_err *err, int line,
                            const char *setting)
{
	char prefix[64];

	print_message("%s\n", err->msg);
	assert_int_equal(r, want_r);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", NAME, line);
	assert_starts_with(err->msg, prefix);
	assert_contains(err->msg, setting);
}

static void test_wrong_type_gives_einval_with_file_and_line(void **state)
{
	struct sc_config *config = parse(SETTINGS);
	const config_setting_t *root = sc_config_root(config);
	const config_setting_t *cluster = sc_config_child(root, "cluster");
	struct sc_err err = {{0}};
	const char *s = NULL;
	long long i = 0;
	double d = 0;
	bool b = false;

	assert_error_at(sc_config_int(config, root, "name", true, 0, 0, 10, &i, &err), -EINVAL,
	                &err, 2, "name");
	assert_error_at(sc_config_int(config, root, "ratio", false, 0, 0, 10, &i, &err), -EINVAL,
	                &err, 5, "ratio");
	assert_error_at(sc_config_string(config, root, "port", true, NULL, &s, &err), -EINVAL, &err,
	                3, "port");
	assert_error_at(sc_config_bool(config, root, "port", false, false, &b, &err), -EINVAL, &err,
	                3, "port");
	assert_error_at(sc_config_double(config, root, "enabled", true, 0, 0, 1, &d, &err), -EINVAL,
	                &err, 6, "enabled");
	assert_error_at(sc_config_string(config, root, "cluster", true, NULL, &s, &err), -EINVAL,
	                &err, 7, "cluster");
	assert_error_at(sc_config_string(config, cluster, "timeout", true, NULL, &s, &err), -EINVAL,
	                &err, 8, "timeout");
	sc_config_close(config);
}

static void test_out_of_range_gives_erange_with_file_and_line(void **state)
{
	struct sc_config *config = parse(SETTINGS);
	const config_setting_t *root = sc_config_root(config);
	const config_setting_t *cluster = sc_config_child(root, "cluster");
	struct sc_err err = {{0}};
	long long i = 0;
	double d = 0;

	assert_error_at(sc_config_int(config, root, "port", true, 0, 1, 1024, &i, &err), -ERANGE,
	                &err, 3, "port");
	assert_error_at(sc_config_int(config, root, "port", true, 0, 6790, 65535, &i, &err),
	                -ERANGE, &err, 3, "port");
	assert_error_at(sc_config_int(config, root, "big", true, 0, 0, INT32_MAX, &i, &err),
	                -ERANGE, &err, 4, "big");
	assert_error_at(sc_config_int(config, cluster, "timeout", false, 0, 11, 20, &i, &err),
	                -ERANGE, &err, 8, "timeout");
	assert_error_at(sc_config_double(config, root, "ratio", true, 0, 0.8, 1, &d, &err), -ERANGE,
	                &err, 5, "ratio");
	assert_error_at(sc_config_double(config, root, "ratio", true, 0, 0, 0.5, &d, &err), -ERANGE,
	                &err, 5, "ratio");

	/* The bounds themselves are in range. */
	assert_int_equal(sc_config_int(config, root, "port", true, 0, 6789, 6789, &i, &err), 0);
	assert_int_equal(i, 6789);
	assert_int_equal(sc_config_double(config, root, "ratio", true, 0, 0.75, 0.75, &d, &err), 0);
	assert_true(d == 0.75);
	sc_config_close(config);
}

/* ---- unknown settings ---- */

static void test_check_names_refuses_unknown_setting_naming_it_and_line(void **state)
{
	static const char *const top[] = {"name",    "port",    "big", "ratio",
	                                  "enabled", "cluster", NULL};
	static const char *const in_cluster[] = {"timeout", "mon_host", NULL};
	static const char *const too_few[] = {"name", "port", NULL};
	struct sc_config *config = parse(SETTINGS);
	const config_setting_t *root = sc_config_root(config);
	struct sc_err err = {{0}};

	assert_int_equal(sc_config_check_names(config, root, top, &err), 0);
	assert_int_equal(
	    sc_config_check_names(config, sc_config_child(root, "cluster"), in_cluster, &err), 0);
	assert_error_at(sc_config_check_names(config, root, too_few, &err), -EINVAL, &err, 4,
	                "'big'");
	assert_error_at(
	    sc_config_check_names(config, sc_config_child(root, "cluster"), too_few, &err), -EINVAL,
	    &err, 8, "'timeout'");
	sc_config_close(config);
}

static void test_check_names_catches_a_misspelt_setting(void **state)
{
	static const char *const allowed[] = {"mon_host", "keyring", "timeout", NULL};
	struct sc_config *config = parse("mon_host = \"10.0.0.1\";\n"
	                                 "keyring = \"/etc/ceph/keyring\";\n"
	                                 "\n"
	                                 "timeuot = 30;\n");
	struct sc_err err = {{0}};

	assert_error_at(sc_config_check_names(config, sc_config_root(config), allowed, &err),
	                -EINVAL, &err, 4, "unknown setting 'timeuot'");
	sc_config_close(config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_error_names_file_and_line),
	    cmocka_unit_test(test_parse_accepts_empty_text),
	    cmocka_unit_test_setup_teardown(test_open_missing_file_gives_enoent_naming_it,
	                                    files_setup, files_teardown),
	    cmocka_unit_test_setup_teardown(test_open_reads_a_file_and_keeps_its_path, files_setup,
	                                    files_teardown),
	    cmocka_unit_test_setup_teardown(test_parse_error_in_a_file_names_its_path_and_line,
	                                    files_setup, files_teardown),
	    cmocka_unit_test(test_lookups_read_present_values),
	    cmocka_unit_test(test_lookups_of_absent_optional_settings_give_defaults),
	    cmocka_unit_test(test_required_missing_setting_gives_enoent_naming_it_and_file),
	    cmocka_unit_test(test_wrong_type_gives_einval_with_file_and_line),
	    cmocka_unit_test(test_out_of_range_gives_erange_with_file_and_line),
	    cmocka_unit_test(test_check_names_refuses_unknown_setting_naming_it_and_line),
	    cmocka_unit_test(test_check_names_catches_a_misspelt_setting),
	};

	return cmocka_run_group_tests_name("common/config", tests, NULL, NULL);
}

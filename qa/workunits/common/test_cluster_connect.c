/*
 * common/cluster.c against two real micro clusters: connecting by cluster name
 * and conf dir with the client's keyring, writing and reading an object on
 * each, and the clear errors an admin gets for a wrong key, a keyring without
 * the client, an unknown cluster name, a stopped and a hung cluster.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/cluster.h"
#include "common/util.h"
#include "testbed.h"

static struct testbed tb;

static int group_setup(void **state)
{
	static const char *const pools[] = {"scfs", NULL};
	return testbed_start(&tb, "cc", 2, pools);
}

static int group_teardown(void **state)
{
	testbed_stop(&tb);
	return 0;
}

static struct sc_cluster_opts opts_for(int index)
{
	struct sc_cluster_opts o = {
	    .cluster = tb.names[index],
	    .name = "client.admin",
	    .conf_dir = tb.dir,
	    .connect_timeout = 5,
	    .op_timeout = 5,
	};
	return o;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_connect_by_name_writes_and_reads_each_cluster(void **state)
{
	for (int i = 0; i < tb.count; i++) {
		struct sc_cluster_opts o = opts_for(i);
		struct sc_err err = {{0}};
		rados_t rados;
		rados_ioctx_t io;
		char object[64], back[64] = {0};

		assert_int_equal(sc_cluster_connect(&o, &rados, &err), 0);
		assert_int_equal(rados_ioctx_create(rados, "scfs", &io), 0);
		snprintf(object, sizeof(object), "written to %s", tb.names[i]);
		assert_int_equal(rados_write_full(io, "probe", object, strlen(object)), 0);
		assert_int_equal(rados_read(io, "probe", back, sizeof(back) - 1, 0),
		                 (int)strlen(object));
		assert_string_equal(back, object);
		rados_ioctx_destroy(io);
		rados_shutdown(rados);
	}
}

static void test_explicit_conf_and_keyring_override_conf_dir(void **state)
{
	struct sc_cluster_opts o = {
	    .cluster = "renamed",
	    .conf_path = tb.conf[1],
	    .keyring = tb.keyring[1],
	    .connect_timeout = 5,
	};
	struct sc_err err = {{0}};
	rados_t rados;
	char fsid[64];

	assert_int_equal(sc_cluster_connect(&o, &rados, &err), 0);
	assert_int_equal(rados_cluster_fsid(rados, fsid, sizeof(fsid)), 36);
	rados_shutdown(rados);
}

static void test_wrong_key_is_an_authentication_error_naming_the_cluster(void **state)
{
	char path[512];
	struct sc_cluster_opts o = opts_for(0);
	struct sc_err err = {{0}};
	rados_t rados = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/wrong.keyring", tb.dir);
	/* A well-formed key that the cluster never issued. */
	write_file(path, "[client.admin]\n\tkey = AQBVQyBnAAAAABAAW3Pd5X1PBLUHkFpyJTPrsg==\n");
	o.keyring = path;
	r = sc_cluster_connect(&o, &rados, &err);
	assert_true(r == -EACCES || r == -EPERM);
	assert_null(rados);
	assert_non_null(strstr(err.msg, "authentication failed"));
	assert_non_null(strstr(err.msg, tb.names[0]));
}

static void test_keyring_without_the_client_is_named(void **state)
{
	char path[512];
	struct sc_cluster_opts o = opts_for(0);
	struct sc_err err = {{0}};
	rados_t rados = NULL;

	snprintf(path, sizeof(path), "%s/other.keyring", tb.dir);
	write_file(path, "[client.other]\n\tkey = AQBVQyBnAAAAABAAW3Pd5X1PBLUHkFpyJTPrsg==\n");
	o.keyring = path;
	assert_int_equal(sc_cluster_connect(&o, &rados, &err), -ENOKEY);
	assert_non_null(strstr(err.msg, "has no key for client.admin"));
	assert_non_null(strstr(err.msg, path));
}

static void test_unknown_cluster_name_names_the_missing_conf(void **state)
{
	struct sc_cluster_opts o = opts_for(0);
	struct sc_err err = {{0}};
	rados_t rados = NULL;

	o.cluster = "nosuchcluster";
	assert_int_equal(sc_cluster_connect(&o, &rados, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "nosuchcluster.conf"));
	o.cluster = "bad/name";
	assert_int_equal(sc_cluster_connect(&o, &rados, &err), -EINVAL);
}

static void test_hung_cluster_fails_an_operation_within_op_timeout(void **state)
{
	struct sc_cluster_opts o = opts_for(1);
	struct sc_err err = {{0}};
	rados_t rados;
	rados_ioctx_t io;
	double start;
	int r;

	o.op_timeout = 3;
	assert_int_equal(sc_cluster_connect(&o, &rados, &err), 0);
	assert_int_equal(rados_ioctx_create(rados, "scfs", &io), 0);
	assert_int_equal(testbed_freeze(&tb, 1), 0);
	start = sc_now_monotonic();
	r = rados_write_full(io, "hung", "x", 1);
	/* The configured deadline, with room for librados's tick granularity. */
	assert_true(sc_now_monotonic() - start < o.op_timeout + 5);
	assert_int_equal(testbed_thaw(&tb, 1), 0);
	assert_int_equal(r, -ETIMEDOUT);
	rados_ioctx_destroy(io);
	rados_shutdown(rados);
}

static void test_stopped_cluster_times_out_within_connect_timeout(void **state)
{
	struct sc_cluster_opts o = opts_for(1);
	struct sc_err err = {{0}};
	rados_t rados = NULL;
	double start, took;
	int r;

	assert_int_equal(testbed_kill(&tb, 1), 0);
	o.connect_timeout = 3;
	start = sc_now_monotonic();
	r = sc_cluster_connect(&o, &rados, &err);
	took = sc_now_monotonic() - start;
	assert_int_equal(r, -ETIMEDOUT);
	assert_null(rados);
	assert_true(took < o.connect_timeout + 5);
	assert_non_null(strstr(err.msg, "timed out after 3 s"));
	assert_non_null(strstr(err.msg, tb.names[1]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_by_name_writes_and_reads_each_cluster),
	    cmocka_unit_test(test_explicit_conf_and_keyring_override_conf_dir),
	    cmocka_unit_test(test_wrong_key_is_an_authentication_error_naming_the_cluster),
	    cmocka_unit_test(test_keyring_without_the_client_is_named),
	    cmocka_unit_test(test_unknown_cluster_name_names_the_missing_conf),
	    cmocka_unit_test(test_hung_cluster_fails_an_operation_within_op_timeout),
	    cmocka_unit_test(test_stopped_cluster_times_out_within_connect_timeout),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * Unit tests of common/util: hex both ways, big-endian loads and stores, size
 * parsing with its refusals, whole-file reads with their limit, and the clocks.
 * Files live in a fresh temporary directory that the teardown removes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/util.h"

/* ---- hex ---- */

static void test_hex_encode_gives_lower_case_pairs(void **state)
{
	static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
	char out[2 * sizeof(bytes) + 1];

	memset(out, 'x', sizeof(out));
	sc_hex_encode(bytes, sizeof(bytes), out);
	assert_string_equal(out, "00017f80abcdefff");

	memset(out, 'x', sizeof(out));
	sc_hex_encode(bytes, 0, out);
	assert_string_equal(out, "");
}

static void test_hex_decode_round_trips_every_byte(void **state)
{
	uint8_t all[256], back[256];
	char hex[2 * sizeof(all) + 1];

	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)i;
	sc_hex_encode(all, sizeof(all), hex);
	memset(back, 0, sizeof(back));
	assert_int_equal(sc_hex_decode(hex, back, sizeof(back)), 0);
	assert_memory_equal(back, all, sizeof(all));
}

static void test_hex_decode_accepts_upper_case(void **state)
{
	uint8_t out[4];
	static const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef};

	assert_int_equal(sc_hex_decode("DEADbeef", out, sizeof(out)), 0);
	assert_memory_equal(out, want, sizeof(want));
}

static void test_hex_decode_accepts_nothing_for_zero_bytes(void **state)
{
	uint8_t out[1] = {0x42};

	assert_int_equal(sc_hex_decode("", out, 0), 0);
	assert_int_equal(out[0], 0x42);
	assert_int_equal(sc_hex_decode("00", out, 0), -EINVAL);
}

static void test_hex_decode_refuses_odd_or_wrong_length(void **state)
{
	uint8_t out[4];

	assert_int_equal(sc_hex_decode("abc", out, 1), -EINVAL);
	assert_int_equal(sc_hex_decode("abc", out, 2), -EINVAL);
	assert_int_equal(sc_hex_decode("a", out, 1), -EINVAL);
	assert_int_equal(sc_hex_decode("", out, 1), -EINVAL);
	assert_int_equal(sc_hex_decode("001122", out, 2), -EINVAL);
	assert_int_equal(sc_hex_decode("0011", out, 3), -EINVAL);
}

static void test_hex_decode_refuses_non_hex_digits(void **state)
{
	static const char *const bad[] = {"0g", "g0", "zz",  " 1",  "1 ",   "0x",
	                                  "-1", "+1", "\t0", "0\n", "ff:0", "1.00"};
	uint8_t out[2];

	for (size_t i = 0; i < SC_ARRAY_SIZE(bad); i++) {
		print_message("\"%s\"\n", bad[i]);
		assert_int_equal(sc_hex_decode(bad[i], out, strlen(bad[i]) / 2), -EINVAL);
	}
}

/* ---- big-endian ---- */

static void test_put_be_stores_most_significant_byte_first(void **state)
{
	uint8_t buf[9];
	static const uint8_t be16[] = {0x12, 0x34};
	static const uint8_t be32[] = {0x12, 0x34, 0x56, 0x78};
	static const uint8_t be64[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

	/* At an odd address, since wire formats do not align their fields. */
	memset(buf, 0, sizeof(buf));
	sc_put_be16(buf + 1, 0x1234);
	assert_memory_equal(buf + 1, be16, sizeof(be16));
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[3], 0);

	memset(buf, 0, sizeof(buf));
	sc_put_be32(buf + 1, 0x12345678u);
	assert_memory_equal(buf + 1, be32, sizeof(be32));
	assert_int_equal(buf[5], 0);

	memset(buf, 0, sizeof(buf));
	sc_put_be64(buf + 1, UINT64_C(0x0123456789abcdef));
	assert_memory_equal(buf + 1, be64, sizeof(be64));
	assert_int_equal(buf[0], 0);
}

static void test_get_be_reads_most_significant_byte_first(void **state)
{
	static const uint8_t bytes[] = {0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

	assert_int_equal(sc_get_be16(bytes + 1), 0x0123);
	assert_int_equal(sc_get_be32(bytes + 1), 0x01234567u);
	assert_true(sc_get_be64(bytes + 1) == UINT64_C(0x0123456789abcdef));
	/* High bits set: no sign extension anywhere. */
	assert_int_equal(sc_get_be16(bytes), 0xff01);
	assert_int_equal(sc_get_be32(bytes), 0xff012345u);
	assert_true(sc_get_be64(bytes) == UINT64_C(0xff0123456789abcd));
}

static void test_be_put_then_get_round_trips(void **state)
{
	static const uint64_t values[] = {
	    0,
	    1,
	    0x80,
	    0xff,
	    0x8000,
	    0xffff,
	    0x80000000u,
	    0xffffffffu,
	    UINT64_C(0x8000000000000000),
	    UINT64_C(0xfedcba9876543210),
	    UINT64_MAX,
	};
	uint8_t buf[8];

	for (size_t i = 0; i < SC_ARRAY_SIZE(values); i++) {
		uint64_t v = values[i];
		sc_put_be16(buf, (uint16_t)v);
		assert_int_equal(sc_get_be16(buf), (uint16_t)v);
		sc_put_be32(buf, (uint32_t)v);
		assert_int_equal(sc_get_be32(buf), (uint32_t)v);
		sc_put_be64(buf, v);
		assert_true(sc_get_be64(buf) == v);
	}
}

/* ---- sizes ---- */

static void assert_size(const char *text, uint64_t want)
{
	uint64_t got = 0xdeadbeef;

	print_message("\"%s\"\n", text);
	assert_int_equal(sc_size_parse(text, &got), 0);
	assert_true(got == want);
}

static void test_size_parse_reads_plain_and_power_of_1024_sizes(void **state)
{
	assert_size("0", 0);
	assert_size("123", 123);
	assert_size("4K", 4096);
	assert_size("4M", 4194304);
	assert_size("1G", 1073741824);
	assert_size("18446744073709551615", UINT64_MAX);
	/* The largest gibibyte count that fits: 2^64 - 2^30. */
	assert_size("17179869183G", UINT64_MAX - ((UINT64_C(1) << 30) - 1));
}

static void test_size_parse_refuses_what_is_not_a_size(void **state)
{
	static const char *const bad[] = {"4X",  "",    "-1", "M",  "4 M", " 4",
	                                  "4M ", "4MX", "x4", "+4", "4.5M"};

	for (size_t i = 0; i < SC_ARRAY_SIZE(bad); i++) {
		uint64_t out = 7;
		print_message("\"%s\"\n", bad[i]);
		assert_int_equal(sc_size_parse(bad[i], &out), -EINVAL);
	}
}

static void test_size_parse_refuses_sizes_past_64_bits(void **state)
{
	/* 2^64, 2^64 with a suffix, and far beyond. */
	static const char *const huge[] = {"18446744073709551616", "17179869184G", "16777216T",
	                                   "16777216000000000000M", "99999999999999999999999K"};

	for (size_t i = 0; i < SC_ARRAY_SIZE(huge); i++) {
		uint64_t out = 7;
		int r = sc_size_parse(huge[i], &out);
		print_message("\"%s\" -> %d\n", huge[i], r);
		/* util.h names only -EINVAL; -ERANGE says the same thing more exactly. */
		assert_true(r == -EINVAL || r == -ERANGE);
	}
}

/* ---- whole-file reads ---- */

struct files {
	char dir[64];
};

static int files_setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sc-test-util-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *f = *state;
	static const char *const names[] = {"text", "empty", "exact", "big", "binary"};
	char path[PATH_MAX];

	for (size_t i = 0; i < SC_ARRAY_SIZE(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Writes LEN bytes of DATA to DIR/NAME; its path goes to PATH. */
static void write_file(const struct files *f, const char *name, const void *data, size_t len,
                       char path[PATH_MAX])
{
	int fd;

	snprintf(path, PATH_MAX, "%s/%s", f->dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void test_file_read_returns_contents_nul_terminated(void **state)
{
	static const char text[] = "mon_host = 10.0.0.1\nkey = abc\n";
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;

	write_file(*state, "text", text, strlen(text), path);
	assert_int_equal(sc_file_read(path, 1024, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(buf, text, len);
	assert_int_equal(buf[len], '\0');
	free(buf);
}

static void test_file_read_of_empty_file_gives_empty_string(void **state)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 99;

	write_file(*state, "empty", "", 0, path);
	assert_int_equal(sc_file_read(path, 1024, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], '\0');
	free(buf);
}

static void test_file_read_allows_exactly_max_and_refuses_one_more(void **state)
{
	char data[100], path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;

	memset(data, 'z', sizeof(data));
	write_file(*state, "exact", data, sizeof(data), path);
	assert_int_equal(sc_file_read(path, sizeof(data), &buf, &len), 0);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	free(buf);

	buf = (uint8_t *)data; /* must come back NULL */
	assert_int_equal(sc_file_read(path, sizeof(data) - 1, &buf, &len), -EFBIG);
	assert_null(buf);
}

static void test_file_read_refuses_large_file_past_max(void **state)
{
	/* Several times any first buffer, so the limit is checked while growing. */
	enum { SIZE = 3 * 65536 + 17 };
	uint8_t *data = malloc(SIZE), *buf = NULL;
	char path[PATH_MAX];
	size_t len = 0;

	assert_non_null(data);
	memset(data, 'q', SIZE);
	write_file(*state, "big", data, SIZE, path);
	free(data);
	assert_int_equal(sc_file_read(path, 65536, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(sc_file_read(path, 4096, &buf, &len), -EFBIG);
	assert_null(buf);
	assert_int_equal(sc_file_read(path, 0, &buf, &len), -EFBIG);
	assert_null(buf);
}

static void test_file_read_keeps_binary_contents_of_large_file(void **state)
{
	enum { SIZE = 3 * 65536 + 17 };
	uint8_t *data = malloc(SIZE), *buf = NULL;
	char path[PATH_MAX];
	size_t len = 0;

	assert_non_null(data);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (uint8_t)(i * 31 + i / 256); /* NULs included */
	write_file(*state, "binary", data, SIZE, path);
	assert_int_equal(sc_file_read(path, SIZE, &buf, &len), 0);
	assert_int_equal(len, SIZE);
	assert_memory_equal(buf, data, SIZE);
	assert_int_equal(buf[SIZE], '\0');
	free(buf);
	free(data);
}

static void test_file_read_of_missing_file_gives_enoent(void **state)
{
	const struct files *f = *state;
	char path[PATH_MAX];
	uint8_t *buf = (uint8_t *)path;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/absent", f->dir);
	assert_int_equal(sc_file_read(path, 1024, &buf, &len), -ENOENT);
	assert_null(buf);
}

/* ---- clocks ---- */

static void test_clocks_move_forward_and_wall_clock_is_now(void **state)
{
	double m1 = sc_now_monotonic(), wall = sc_now_wall();
	uint64_t n1 = sc_now_ns();
	struct timespec nap = {.tv_sec = 0, .tv_nsec = 20 * 1000 * 1000};
	double m2;
	uint64_t n2;

	assert_int_equal(nanosleep(&nap, NULL), 0);
	m2 = sc_now_monotonic();
	n2 = sc_now_ns();
	assert_true(m2 - m1 >= 0.019);
	assert_true(n2 - n1 >= UINT64_C(19000000));
	/* Monotonic seconds and nanoseconds are the same clock. */
	assert_true((double)n2 / 1e9 - m2 >= -0.001 && (double)n2 / 1e9 - m2 < 0.5);
	assert_true(wall - (double)time(NULL) > -2.0 && wall - (double)time(NULL) < 2.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex_encode_gives_lower_case_pairs),
	    cmocka_unit_test(test_hex_decode_round_trips_every_byte),
	    cmocka_unit_test(test_hex_decode_accepts_upper_case),
	    cmocka_unit_test(test_hex_decode_accepts_nothing_for_zero_bytes),
	    cmocka_unit_test(test_hex_decode_refuses_odd_or_wrong_length),
	    cmocka_unit_test(test_hex_decode_refuses_non_hex_digits),
	    cmocka_unit_test(test_put_be_stores_most_significant_byte_first),
	    cmocka_unit_test(test_get_be_reads_most_significant_byte_first),
	    cmocka_unit_test(test_be_put_then_get_round_trips),
	    cmocka_unit_test(test_size_parse_reads_plain_and_power_of_1024_sizes),
	    cmocka_unit_test(test_size_parse_refuses_what_is_not_a_size),
	    cmocka_unit_test(test_size_parse_refuses_sizes_past_64_bits),
	    cmocka_unit_test_setup_teardown(test_file_read_returns_contents_nul_terminated,
	                                    files_setup, files_teardown),
	    cmocka_unit_test_setup_teardown(test_file_read_of_empty_file_gives_empty_string,
	                                    files_setup, files_teardown),
	    cmocka_unit_test_setup_teardown(test_file_read_allows_exactly_max_and_refuses_one_more,
	                                    files_setup, files_teardown),
	    cmocka_unit_test_setup_teardown(test_file_read_refuses_large_file_past_max, files_setup,
	                                    files_teardown),
	    cmocka_unit_test_setup_teardown(test_file_read_keeps_binary_contents_of_large_file,
	                                    files_setup, files_teardown),
	    cmocka_unit_test_setup_teardown(test_file_read_of_missing_file_gives_enoent,
	                                    files_setup, files_teardown),
	    cmocka_unit_test(test_clocks_move_forward_and_wall_clock_is_now),
	};

	return cmocka_run_group_tests_name("common/util", tests, NULL, NULL);
}

/*
 * The replay cache on disk (knockd/state.c): what is saved loads back with
 * its nonces, floor and window; a file that is corrupt in any byte, cut at
 * any length or grown by one is refused whole and leaves the cache
 * untouched; saving is atomic and private.
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
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"
#include "knockd/replay.h"

#define NOW 1800000000ULL
#define WINDOW 30

static void nonce_make(uint8_t nonce[KNOCK_NONCE_LEN], uint32_t i)
{
	memset(nonce, 0xa5, KNOCK_NONCE_LEN);
	memcpy(nonce, &i, sizeof(i));
}

/* A cache of three live nonces, one expired, and a floor set at start. */
static struct knock_replay *cache_make(void)
{
	struct knock_replay *r;
	uint8_t n[KNOCK_NONCE_LEN];

	assert_int_equal(knock_replay_new(100, &r), 0);
	for (uint32_t i = 0; i < 3; i++) {
		nonce_make(n, i);
		assert_int_equal(knock_replay_insert(r, n, NOW + 20 + i, NOW), 0);
	}
	nonce_make(n, 99);
	assert_int_equal(knock_replay_insert(r, n, NOW - 1, NOW - 40), 0);
	knock_replay_floor_raise(r, NOW - 10, KNOCK_FLOOR_START);
	return r;
}

static void encode(const struct knock_replay *r, uint8_t **data, size_t *len)
{
	assert_int_equal(knock_state_encode(r, WINDOW, NOW, data, len), 0);
	assert_int_equal(*len,
	                 KNOCK_STATE_HEADER_LEN + 3 * KNOCK_STATE_ENTRY_LEN + KNOCK_STATE_SUM_LEN);
}

/* Decodes DATA into a fresh cache; expects RESULT, and an empty cache on error. */
static struct knock_replay *decode_expect(const uint8_t *data, size_t len, uint64_t now, int result,
                                          struct knock_state_info *info)
{
	struct knock_replay *r;

	assert_int_equal(knock_replay_new(100, &r), 0);
	assert_int_equal(knock_state_decode(data, len, WINDOW, now, r, info), result);
	if (result != 0) {
		assert_int_equal(knock_replay_count(r), 0);
		assert_int_equal(knock_replay_floor(r, NULL), 0);
	}
	return r;
}

static void test_saved_cache_loads_with_nonces_floor_and_window(void **state)
{
	struct knock_replay *r = cache_make(), *back;
	struct knock_state_info info;
	enum knock_floor_cause cause;
	uint8_t *data, n[KNOCK_NONCE_LEN];
	size_t len;

	encode(r, &data, &len);
	/* Loaded 21 s later: nonce 0 (expiry NOW + 20) has expired meanwhile. */
	back = decode_expect(data, len, NOW + 21, 0, &info);
	assert_int_equal(info.saved, NOW);
	assert_int_equal(info.window, WINDOW);
	assert_int_equal(info.nonces, 3);
	assert_int_equal(info.live, 2);
	assert_null(info.problem);
	for (uint32_t i = 1; i < 3; i++) {
		nonce_make(n, i);
		assert_int_equal(knock_replay_check(back, n, NOW + 21), -EALREADY);
		assert_int_equal(knock_replay_check(back, n, NOW + 20 + i + 1), 0);
	}
	nonce_make(n, 0);
	assert_int_equal(knock_replay_check(back, n, NOW + 21), 0);
	assert_int_equal(knock_replay_floor(back, &cause), NOW - 10);
	assert_int_equal(cause, KNOCK_FLOOR_START);
	/* Only an empty cache without a floor takes a file. */
	assert_int_equal(knock_state_decode(data, len, WINDOW, NOW, back, &info), -EINVAL);
	knock_replay_free(back);
	knock_replay_free(r);
	free(data);
}

static void test_a_longer_window_at_load_keeps_nonces_longer_and_raises_the_floor(void **state)
{
	struct knock_replay *r = cache_make(), *back;
	struct knock_state_info info;
	enum knock_floor_cause cause;
	uint8_t *data, n[KNOCK_NONCE_LEN];
	size_t len;

	encode(r, &data, &len);
	/* knockd restarted 21 s later with time_window 300 instead of 30. */
	assert_int_equal(knock_replay_new(100, &back), 0);
	assert_int_equal(knock_state_decode(data, len, 300, NOW + 21, back, &info), 0);
	nonce_make(n, 1);
	assert_int_equal(knock_replay_check(back, n, NOW + 21 + 270), -EALREADY);
	assert_int_equal(knock_replay_check(back, n, NOW + 21 + 271), 0);
	/* Knocks older than NOW + 21 - 30 may have lost their nonces already. */
	assert_int_equal(knock_replay_floor(back, &cause), NOW + 21 - WINDOW);
	assert_int_equal(cause, KNOCK_FLOOR_WINDOW);
	knock_replay_free(back);

	/* A shorter window changes nothing. */
	assert_int_equal(knock_replay_new(100, &back), 0);
	assert_int_equal(knock_state_decode(data, len, 10, NOW, back, &info), 0);
	assert_int_equal(knock_replay_floor(back, &cause), NOW - 10);
	assert_int_equal(cause, KNOCK_FLOOR_START);
	nonce_make(n, 0);
	assert_int_equal(knock_replay_check(back, n, NOW + 20), -EALREADY);
	assert_int_equal(knock_replay_check(back, n, NOW + 21), 0);
	knock_replay_free(back);
	knock_replay_free(r);
	free(data);
}

/* Writes a valid checksum over DATA (as a buggy writer would) after editing it. */
static void resum(uint8_t *data, size_t len)
{
	assert_int_equal(
	    sc_sha256(data, len - KNOCK_STATE_SUM_LEN, data + len - KNOCK_STATE_SUM_LEN), 0);
}

static void expect_corrupt(const uint8_t *data, size_t len, const char *problem)
{
	struct knock_state_info info;

	knock_replay_free(decode_expect(data, len, NOW, -EBADMSG, &info));
	assert_non_null(info.problem);
	if (problem && strcmp(info.problem, problem) != 0)
		fail_msg("problem '%s', expected '%s'", info.problem, problem);
}

static void test_corrupt_files_are_refused_whole(void **state)
{
	struct knock_replay *r = cache_make();
	uint8_t *data, *copy;
	size_t len;

	encode(r, &data, &len);
	copy = malloc(len + 1);
	assert_non_null(copy);
	/* One flipped bit anywhere. */
	for (size_t bit = 0; bit < len * 8; bit++) {
		memcpy(copy, data, len);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		expect_corrupt(copy, len, NULL);
	}
	/* Cut at every length, or one byte longer. */
	for (size_t cut = 0; cut < len; cut++)
		expect_corrupt(data, cut, NULL);
	memcpy(copy, data, len);
	copy[len] = 0;
	expect_corrupt(copy, len + 1, "length does not match the count of nonces");
	expect_corrupt((const uint8_t *)"", 0, "shorter than a header");

	/* Checksummed but wrong: each field is checked on its own. */
	memcpy(copy, data, len);
	copy[0] = 'X';
	resum(copy, len);
	expect_corrupt(copy, len, "not a knockd state file");
	memcpy(copy, data, len);
	copy[8] = 2;
	resum(copy, len);
	expect_corrupt(copy, len, "unknown version");
	memcpy(copy, data, len);
	copy[9] = 3;
	resum(copy, len);
	expect_corrupt(copy, len, "invalid header fields");
	memcpy(copy, data, len);
	copy[9] = KNOCK_FLOOR_NONE; /* a floor without a cause */
	resum(copy, len);
	expect_corrupt(copy, len, "invalid header fields");
	memcpy(copy, data, len);
	copy[11] = 1;
	resum(copy, len);
	expect_corrupt(copy, len, "invalid header fields");
	memcpy(copy, data, len);
	sc_put_be32(copy + 12, 4);
	resum(copy, len);
	expect_corrupt(copy, len, "length does not match the count of nonces");
	memcpy(copy, data, len);
	sc_put_be32(copy + 12, UINT32_MAX);
	resum(copy, len);
	expect_corrupt(copy, len, "length does not match the count of nonces");
	memcpy(copy, data, len);
	sc_put_be64(copy + 32, 0);
	resum(copy, len);
	expect_corrupt(copy, len, "invalid time_window");
	memcpy(copy, data, len);
	sc_put_be64(copy + 32, KNOCK_MAX_TIME_WINDOW + 1);
	resum(copy, len);
	expect_corrupt(copy, len, "invalid time_window");
	memcpy(copy, data, len);
	sc_put_be64(copy + KNOCK_STATE_HEADER_LEN + KNOCK_STATE_ENTRY_LEN + KNOCK_NONCE_LEN, 0);
	resum(copy, len);
	expect_corrupt(copy, len, "nonce without an expiry");
	knock_replay_free(r);
	free(copy);
	free(data);
}

static void test_more_live_nonces_than_the_capacity_are_refused(void **state)
{
	struct knock_replay *r, *small;
	struct knock_state_info info;
	uint8_t *data, n[KNOCK_NONCE_LEN];
	size_t len;

	assert_int_equal(knock_replay_new(100, &r), 0);
	for (uint32_t i = 0; i < 20; i++) {
		nonce_make(n, i);
		assert_int_equal(knock_replay_insert(r, n, NOW + 10 + i, NOW), 0);
	}
	assert_int_equal(knock_state_encode(r, WINDOW, NOW, &data, &len), 0);
	assert_int_equal(knock_replay_new(16, &small), 0);
	assert_int_equal(knock_state_decode(data, len, WINDOW, NOW, small, &info), -ENOSPC);
	assert_int_equal(knock_replay_count(small), 0);
	/* Ten seconds later only 16 are live: they fit. */
	assert_int_equal(knock_state_decode(data, len, WINDOW, NOW + 14, small, &info), 0);
	assert_int_equal(info.live, 16);
	knock_replay_free(small);
	knock_replay_free(r);
	free(data);
}

static void test_save_is_atomic_private_and_loads_back(void **state)
{
	char dir[64], path[128], tmp[160];
	struct knock_replay *r = cache_make(), *back;
	struct knock_state_info info;
	struct stat st;
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/knock-state.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/replay-cache", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	assert_int_equal(knock_replay_new(100, &back), 0);
	assert_int_equal(knock_state_load(path, WINDOW, NOW, back, &info), -ENOENT);
	assert_int_equal(knock_state_dir_make(path), 0);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(tmp, sizeof(tmp), "%s/sub", dir);
	assert_int_equal(stat(tmp, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(knock_state_dir_make(path), 0); /* exists: fine */

	/* A leftover temporary file of a crash is replaced. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs("leftover", f);
	fclose(f);
	assert_int_equal(knock_state_save(path, r, WINDOW, NOW), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size,
	                 KNOCK_STATE_HEADER_LEN + 3 * KNOCK_STATE_ENTRY_LEN + KNOCK_STATE_SUM_LEN);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(knock_state_load(path, WINDOW, NOW, back, &info), 0);
	assert_int_equal(info.live, 3);
	knock_replay_free(back);

	/* Saved again over the old file: still one file, the new content. */
	knock_replay_floor_raise(r, NOW - 5, KNOCK_FLOOR_WINDOW);
	assert_int_equal(knock_state_save(path, r, WINDOW, NOW), 0);
	assert_int_equal(knock_replay_new(100, &back), 0);
	assert_int_equal(knock_state_load(path, WINDOW, NOW, back, &info), 0);
	assert_int_equal(knock_replay_floor(back, NULL), NOW - 5);
	knock_replay_free(back);

	/* A corrupt file on disk, and a file larger than the capacity allows. */
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 50, SEEK_SET);
	fputc(0xff, f);
	fclose(f);
	assert_int_equal(knock_replay_new(100, &back), 0);
	assert_int_equal(knock_state_load(path, WINDOW, NOW, back, &info), -EBADMSG);
	assert_string_equal(info.problem, "checksum mismatch");
	assert_int_equal(knock_replay_count(back), 0);
	knock_replay_free(back);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 2000; i++)
		fputc(0, f);
	fclose(f);
	assert_int_equal(knock_replay_new(16, &back), 0);
	assert_int_equal(knock_state_load(path, WINDOW, NOW, back, &info), -EFBIG);
	knock_replay_free(back);

	/* A directory where the file should be is no state file. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(knock_replay_new(100, &back), 0);
	assert_int_equal(knock_state_load(path, WINDOW, NOW, back, &info), -EBADMSG);
	assert_string_equal(info.problem, "not a regular file");
	knock_replay_free(back);
	assert_true(knock_state_save(path, r, WINDOW, NOW) < 0);
	assert_int_equal(access(tmp, F_OK), -1);

	knock_replay_free(r);
	snprintf(tmp, sizeof(tmp), "rm -rf %s", dir);
	assert_int_equal(system(tmp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_saved_cache_loads_with_nonces_floor_and_window),
	    cmocka_unit_test(test_a_longer_window_at_load_keeps_nonces_longer_and_raises_the_floor),
	    cmocka_unit_test(test_corrupt_files_are_refused_whole),
	    cmocka_unit_test(test_more_live_nonces_than_the_capacity_are_refused),
	    cmocka_unit_test(test_save_is_atomic_private_and_loads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

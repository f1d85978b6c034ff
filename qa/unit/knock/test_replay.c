/*
 * The replay cache: a nonce counts once until it expires, expired nonces make
 * room, a cache full of live nonces refuses rather than forgets; its floor
 * only rises, and a longer time window keeps live nonces longer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "knockd/replay.h"

static void nonce_make(uint8_t nonce[16], uint32_t i)
{
	memset(nonce, 0, 16);
	memcpy(nonce, &i, sizeof(i));
	nonce[15] = 0x77;
}

static void test_nonce_counts_once_until_it_expires(void **state)
{
	struct knock_replay *r;
	uint8_t a[16], b[16];

	assert_int_equal(knock_replay_new(100, &r), 0);
	nonce_make(a, 1);
	nonce_make(b, 2);
	assert_int_equal(knock_replay_check(r, a, 1000), 0);
	assert_int_equal(knock_replay_insert(r, a, 1060, 1000), 0);
	assert_int_equal(knock_replay_check(r, a, 1000), -EALREADY);
	assert_int_equal(knock_replay_check(r, a, 1060), -EALREADY);
	assert_int_equal(knock_replay_check(r, b, 1000), 0);
	assert_int_equal(knock_replay_check(r, a, 1061), 0); /* expired */
	assert_int_equal(knock_replay_count(r), 1);
	knock_replay_free(r);
}

static void test_full_cache_sweeps_expired_and_refuses_when_all_live(void **state)
{
	struct knock_replay *r;
	uint8_t n[16];

	assert_int_equal(knock_replay_new(1000, &r), 0);
	for (uint32_t i = 0; i < 1000; i++) {
		nonce_make(n, i);
		assert_int_equal(knock_replay_insert(r, n, 2000 + i, 1000), 0);
	}
	nonce_make(n, 5000);
	assert_int_equal(knock_replay_insert(r, n, 3000, 1000), -ENOSPC);
	/* Every nonce is still known. */
	for (uint32_t i = 0; i < 1000; i++) {
		nonce_make(n, i);
		assert_int_equal(knock_replay_check(r, n, 1500), -EALREADY);
	}
	/* At 2500 the first 500 have expired: the sweep makes room. */
	nonce_make(n, 5000);
	assert_int_equal(knock_replay_insert(r, n, 3000, 2500), 0);
	assert_int_equal(knock_replay_count(r), 501); /* 500 live and the new one */
	for (uint32_t i = 500; i < 1000; i++) {
		nonce_make(n, i);
		assert_int_equal(knock_replay_check(r, n, 2500), -EALREADY);
	}
	knock_replay_free(r);
}

static void test_capacity_bounds(void **state)
{
	struct knock_replay *r;

	assert_int_equal(knock_replay_new(0, &r), -EINVAL);
	assert_null(r);
	assert_int_equal(knock_replay_new((size_t)1 << 30, &r), -EINVAL);
}

static void test_floor_only_rises(void **state)
{
	struct knock_replay *r;
	enum knock_floor_cause cause;

	assert_int_equal(knock_replay_new(16, &r), 0);
	assert_int_equal(knock_replay_floor(r, &cause), 0);
	assert_int_equal(cause, KNOCK_FLOOR_NONE);
	knock_replay_floor_raise(r, 1000, KNOCK_FLOOR_START);
	knock_replay_floor_raise(r, 900, KNOCK_FLOOR_WINDOW);
	assert_int_equal(knock_replay_floor(r, &cause), 1000);
	assert_int_equal(cause, KNOCK_FLOOR_START);
	knock_replay_floor_raise(r, 1001, KNOCK_FLOOR_WINDOW);
	assert_int_equal(knock_replay_floor(r, &cause), 1001);
	assert_int_equal(cause, KNOCK_FLOOR_WINDOW);
	knock_replay_free(r);
}

static void count_live(void *arg, const uint8_t nonce[KNOCK_NONCE_LEN], uint64_t expires)
{
	(void)nonce;
	(void)expires;
	(*(int *)arg)++;
}

static void test_longer_window_keeps_live_nonces_longer(void **state)
{
	struct knock_replay *r;
	uint8_t live[16], dead[16];
	int count = 0;

	assert_int_equal(knock_replay_new(16, &r), 0);
	nonce_make(live, 1);
	nonce_make(dead, 2);
	/* Window 30: accepted at 1000 with timestamp 1000 -> kept until 1031. */
	assert_int_equal(knock_replay_insert(r, live, 1031, 1000), 0);
	assert_int_equal(knock_replay_insert(r, dead, 1009, 970), 0);
	knock_replay_foreach(r, 1020, count_live, &count);
	assert_int_equal(count, 1);
	/* At 1020 the window grows to 100: the live nonce stays until 1101. */
	knock_replay_window_change(r, 30, 100, 1020);
	assert_int_equal(knock_replay_check(r, live, 1101), -EALREADY);
	assert_int_equal(knock_replay_check(r, live, 1102), 0);
	/* The expired one is not revived; the floor covers its knock instead. */
	assert_int_equal(knock_replay_check(r, dead, 1020), 0);
	assert_int_equal(knock_replay_floor(r, NULL), 1020 - 30);
	/* Shrinking changes nothing. */
	knock_replay_window_change(r, 100, 10, 1050);
	assert_int_equal(knock_replay_check(r, live, 1101), -EALREADY);
	assert_int_equal(knock_replay_floor(r, NULL), 990);
	knock_replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nonce_counts_once_until_it_expires),
	    cmocka_unit_test(test_full_cache_sweeps_expired_and_refuses_when_all_live),
	    cmocka_unit_test(test_capacity_bounds),
	    cmocka_unit_test(test_floor_only_rises),
	    cmocka_unit_test(test_longer_window_keeps_live_nonces_longer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

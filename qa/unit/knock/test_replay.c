/*
 * The replay cache: a nonce counts once until it expires, expired nonces make
 * room, a cache full of live nonces refuses rather than forgets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "knockd/libknock.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nonce_counts_once_until_it_expires),
	    cmocka_unit_test(test_full_cache_sweeps_expired_and_refuses_when_all_live),
	    cmocka_unit_test(test_capacity_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

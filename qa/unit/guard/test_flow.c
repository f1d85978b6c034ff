/*
 * The tunnel's flow header and reply (docs/guard.md): what the encoder
 * writes is exactly the documented bytes, what it writes decodes back, and
 * every truncation, every reserved byte set and every unknown kind, family,
 * version or magic is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "guard.h"

static struct guard_flow flow4(void)
{
	struct guard_flow f = {.kind = GUARD_FLOW_CONNECT};
	guard_addr_parse("10.99.0.1:41000", &f.dest);
	return f;
}

static void test_connect_header_is_the_documented_bytes(void **state)
{
	static const uint8_t want[GUARD_FLOW_LEN] = {
	    'S', 'C', 'G',  'F',  1, 1, 0, 0, /* magic, version, kind CONNECT, reserved */
	    4,   0,   0xa0, 0x28,             /* family 4, reserved, port 41000 */
	    10,  99,  0,    1,                /* 10.99.0.1, then 12 zero bytes */
	};
	struct guard_flow f = flow4(), back;
	uint8_t out[GUARD_FLOW_LEN];

	assert_int_equal(guard_flow_encode(&f, out), 0);
	assert_memory_equal(out, want, sizeof(want));
	assert_int_equal(guard_flow_decode(out, sizeof(out), &back), 0);
	assert_int_equal(back.kind, GUARD_FLOW_CONNECT);
	assert_true(guard_addr_equal(&back.dest, &f.dest));
}

static void test_ipv6_and_list_round_trip(void **state)
{
	struct guard_flow f = {.kind = GUARD_FLOW_CONNECT}, back;
	uint8_t out[GUARD_FLOW_LEN];

	assert_int_equal(guard_addr_parse("[fd00::1:2]:6800", &f.dest), 0);
	assert_int_equal(guard_flow_encode(&f, out), 0);
	assert_int_equal(out[8], 6);
	assert_int_equal(guard_flow_decode(out, sizeof(out), &back), 0);
	assert_true(guard_addr_equal(&back.dest, &f.dest));

	f = (struct guard_flow){.kind = GUARD_FLOW_LIST};
	assert_int_equal(guard_flow_encode(&f, out), 0);
	assert_int_equal(guard_flow_decode(out, sizeof(out), &back), 0);
	assert_int_equal(back.kind, GUARD_FLOW_LIST);
}

static void test_every_truncation_and_extension_is_refused(void **state)
{
	struct guard_flow f = flow4(), back;
	uint8_t out[GUARD_FLOW_LEN + 1] = {0};

	assert_int_equal(guard_flow_encode(&f, out), 0);
	for (size_t len = 0; len <= sizeof(out); len++)
		if (len != GUARD_FLOW_LEN)
			assert_int_equal(guard_flow_decode(out, len, &back), -EBADMSG);
}

/* Flipping a bit anywhere but in the port and the address must be refused;
 * there, it names another destination, which serve then checks. */
static void test_flipped_bits_outside_port_and_address_are_refused(void **state)
{
	struct guard_flow f = flow4(), back;
	uint8_t good[GUARD_FLOW_LEN], bad[GUARD_FLOW_LEN];

	assert_int_equal(guard_flow_encode(&f, good), 0);
	for (size_t i = 0; i < GUARD_FLOW_LEN; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, good, sizeof(bad));
			bad[i] ^= (uint8_t)(1 << bit);
			int r = guard_flow_decode(bad, sizeof(bad), &back);
			bool port = i == 10 || i == 11, addr = i >= 12 && i < 16;
			if (port || addr) {
				assert_int_equal(r, 0);
				assert_false(guard_addr_equal(&back.dest, &f.dest));
			} else if (i == 5 && (good[5] ^ (1 << bit)) == GUARD_FLOW_LIST) {
				assert_int_equal(r, -EBADMSG); /* LIST with an address */
			} else if (i == 8 && (good[8] ^ (1 << bit)) == 6) {
				assert_int_equal(r, 0); /* family 6: the same bytes, as IPv6 */
				assert_false(guard_addr_equal(&back.dest, &f.dest));
			} else {
				assert_int_equal(r, -EBADMSG);
			}
		}
	}
}

static void test_port_zero_and_unknown_family_are_refused(void **state)
{
	struct guard_flow f = flow4(), back;
	uint8_t out[GUARD_FLOW_LEN];

	assert_int_equal(guard_flow_encode(&f, out), 0);
	out[10] = out[11] = 0;
	assert_int_equal(guard_flow_decode(out, sizeof(out), &back), -EBADMSG);
	f.dest.port = 0;
	assert_int_equal(guard_flow_encode(&f, out), -EINVAL);
	f = flow4();
	f.dest.family = 99;
	assert_int_equal(guard_flow_encode(&f, out), -EINVAL);
}

static void test_reply_round_trips_and_refuses_defects(void **state)
{
	uint8_t r[GUARD_REPLY_LEN];
	enum guard_status st;
	uint16_t count;

	guard_reply_encode(GUARD_STATUS_OK, 3, r);
	assert_int_equal(guard_reply_decode(r, sizeof(r), &st, &count), 0);
	assert_int_equal(st, GUARD_STATUS_OK);
	assert_int_equal(count, 3);
	guard_reply_encode(GUARD_STATUS_REFUSED, 0, r);
	assert_int_equal(guard_reply_decode(r, sizeof(r), &st, &count), 0);
	assert_int_equal(st, GUARD_STATUS_REFUSED);
	assert_string_equal(guard_status_name(st), "refused");
	/* a refusal with entries, an unknown status, a reserved byte, a short reply */
	guard_reply_encode(GUARD_STATUS_REFUSED, 1, r);
	assert_int_equal(guard_reply_decode(r, sizeof(r), &st, &count), -EBADMSG);
	guard_reply_encode(GUARD_STATUS_OK, 0, r);
	r[5] = 77;
	assert_int_equal(guard_reply_decode(r, sizeof(r), &st, &count), -EBADMSG);
	guard_reply_encode(GUARD_STATUS_OK, 0, r);
	r[11] = 1;
	assert_int_equal(guard_reply_decode(r, sizeof(r), &st, &count), -EBADMSG);
	assert_int_equal(guard_reply_decode(r, sizeof(r) - 1, &st, &count), -EBADMSG);
	guard_reply_encode(GUARD_STATUS_OK, GUARD_LIST_MAX + 1, r);
	assert_int_equal(guard_reply_decode(r, sizeof(r), &st, &count), -EBADMSG);
}

static void test_address_text_parses_and_formats(void **state)
{
	struct guard_addr a;
	char text[64];

	assert_int_equal(guard_addr_parse("127.0.0.1:3300", &a), 0);
	guard_addr_format(&a, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1:3300");
	assert_int_equal(guard_addr_parse("[::1]:6800", &a), 0);
	guard_addr_format(&a, text, sizeof(text));
	assert_string_equal(text, "[::1]:6800");
	assert_int_equal(guard_addr_parse("127.0.0.1", &a), -EINVAL);
	assert_int_equal(guard_addr_parse("127.0.0.1:0", &a), -EINVAL);
	assert_int_equal(guard_addr_parse("127.0.0.1:70000", &a), -EINVAL);
	assert_int_equal(guard_addr_parse("host:3300", &a), -EINVAL);
	assert_int_equal(guard_addr_parse("[::1:6800", &a), -EINVAL);
	assert_int_equal(guard_addr_parse("127.0.0.1:33x", &a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_header_is_the_documented_bytes),
	    cmocka_unit_test(test_ipv6_and_list_round_trip),
	    cmocka_unit_test(test_every_truncation_and_extension_is_refused),
	    cmocka_unit_test(test_flipped_bits_outside_port_and_address_are_refused),
	    cmocka_unit_test(test_port_zero_and_unknown_family_are_refused),
	    cmocka_unit_test(test_reply_round_trips_and_refuses_defects),
	    cmocka_unit_test(test_address_text_parses_and_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

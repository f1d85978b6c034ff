/*
 * The allow-list parser on the JSON Ceph 16.2.15 really prints (mon dump,
 * osd dump, mgr dump of a micro-ceph cluster, in qa/unit/guard/maps/): it
 * finds exactly the public addresses of the MON and the OSD and the active
 * MGR's, and none of the OSD's cluster or heartbeat addresses. Text cut
 * short or garbled is refused rather than half-read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "guard.h"

#ifndef MAPS_DIR
#error "meson passes -DMAPS_DIR"
#endif

static struct guard_allow_list parse_file(const char *name, const char *key, int want)
{
	struct guard_allow_list list = {0};
	uint8_t *text;
	size_t len;

	assert_int_equal(sc_file_read(name, 1 << 20, &text, &len), 0);
	assert_int_equal(guard_allow_parse((const char *)text, len, key, &list), want);
	free(text);
	return list;
}

static bool has(const struct guard_allow_list *l, const char *text)
{
	struct guard_addr a;
	assert_int_equal(guard_addr_parse(text, &a), 0);
	return guard_allow_contains(l, &a);
}

static void test_real_maps_give_mon_osd_and_mgr_public_addresses_only(void **state)
{
	struct guard_allow_list mon = parse_file(MAPS_DIR "/mon_dump.json", "public_addrs", 0);
	struct guard_allow_list osd = parse_file(MAPS_DIR "/osd_dump.json", "public_addrs", 0);
	struct guard_allow_list mgr = parse_file(MAPS_DIR "/mgr_dump.json", "active_addrs", 0);

	assert_int_equal(mon.count, 1);
	assert_true(has(&mon, "127.0.0.1:41000"));
	assert_int_equal(osd.count, 1); /* not its cluster or heartbeat addresses */
	assert_true(has(&osd, "127.0.0.1:41001"));
	assert_int_equal(mgr.count, 1);
	assert_true(has(&mgr, "127.0.0.1:41005"));
	guard_allow_free(&mon);
	guard_allow_free(&osd);
	guard_allow_free(&mgr);
}

static void test_every_prefix_of_a_map_parses_or_is_refused_never_overread(void **state)
{
	uint8_t *text;
	size_t len;

	assert_int_equal(sc_file_read(MAPS_DIR "/mon_dump.json", 1 << 20, &text, &len), 0);
	for (size_t cut = 0; cut <= len; cut++) {
		/* A copy of exactly CUT bytes: ASan/valgrind see any read past it. */
		char *copy = malloc(cut ? cut : 1);
		struct guard_allow_list l = {0};
		memcpy(copy, text, cut);
		int r = guard_allow_parse(copy, cut, "public_addrs", &l);
		assert_true(r == 0 || r == -EBADMSG);
		/* Once the address vector is whole, the address is there. */
		const char *end = strstr((const char *)text, "}]}");
		if (r == 0 && cut > (size_t)(end - (const char *)text) + 3)
			assert_int_equal(l.count, 1);
		guard_allow_free(&l);
		free(copy);
	}
	free(text);
}

static void test_garbled_vectors_are_refused(void **state)
{
	static const char *const bad[] = {
	    "{\"public_addrs\":{\"addrvec\":[{\"type\":\"v2\",\"addr\":\"1.2.3.4\",\"nonce\":0}]}}",
	    "{\"public_addrs\":{\"addrvec\":[{\"type\":\"v2\",\"addr\":\"1.2.3.4:99999\"}]}}",
	    "{\"public_addrs\":{\"addrvec\":[{\"type\":\"v2\",\"addr\":\"x\\\"y:1\"}]}}",
	    "{\"public_addrs\":{\"vec\":[]}}",
	    "{\"public_addrs\":{\"addrvec\":[{\"addr\":\"1.2.3.4:1\"}}",
	};
	static const char good[] =
	    "{\"x\":\"\\\"public_addrs\\\"\",\"public_addrs\" : { \"addrvec\" : [ "
	    "{ \"type\" : \"none\" , \"addr\" : \"0.0.0.0:0\" }, "
	    "{\"type\":\"v2\",\"addr\":\"[fd00::1]:3300\",\"nonce\":-1} ] } }";
	struct guard_allow_list l = {0};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(guard_allow_parse(bad[i], strlen(bad[i]), "public_addrs", &l),
		                 -EBADMSG);
		guard_allow_free(&l);
	}
	assert_int_equal(guard_allow_parse(good, strlen(good), "public_addrs", &l), 0);
	assert_int_equal(l.count, 1);
	assert_true(has(&l, "[fd00::1]:3300"));
	guard_allow_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_maps_give_mon_osd_and_mgr_public_addresses_only),
	    cmocka_unit_test(test_every_prefix_of_a_map_parses_or_is_refused_never_overread),
	    cmocka_unit_test(test_garbled_vectors_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

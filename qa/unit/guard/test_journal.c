/*
 * The two decoders of Ceph's journal bytes (rbd-mirror-guard/journal.c):
 * a client record's commit positions and a data object's entries, on bytes
 * laid out as Ceph 16.2.15 writes them (the entry header below is the first
 * 29 bytes of a real journal_data object), and every truncation and a
 * garbled preamble refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "guard.h"

struct out {
	uint8_t b[4096];
	size_t n;
};

static void put(struct out *o, uint64_t v, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++)
		o->b[o->n++] = (uint8_t)(v >> (8 * i));
}

/* ENCODE_START(1, 1) with a length patched in by struct_end. */
static size_t struct_begin(struct out *o)
{
	put(o, 1, 1);
	put(o, 1, 1);
	put(o, 0, 4);
	return o->n;
}

static void struct_end(struct out *o, size_t body)
{
	uint32_t len = (uint32_t)(o->n - body);
	for (size_t i = 0; i < 4; i++)
		o->b[body - 4 + i] = (uint8_t)(len >> (8 * i));
}

static void client_record(struct out *o, const struct guard_journal_position *p, size_t n)
{
	size_t client = struct_begin(o);
	put(o, 0, 4);        /* id "" */
	put(o, 3, 4);        /* data: 3 bytes */
	put(o, 0x0a0b0c, 3); /* (opaque to us) */
	size_t set = struct_begin(o);
	put(o, n, 4);
	for (size_t i = 0; i < n; i++) {
		size_t pos = struct_begin(o);
		put(o, p[i].object, 8);
		put(o, p[i].tag_tid, 8);
		put(o, p[i].entry_tid, 8);
		struct_end(o, pos);
	}
	struct_end(o, set);
	put(o, 1, 1); /* state */
	struct_end(o, client);
}

static void entry(struct out *o, uint64_t tag, uint64_t tid, uint32_t len)
{
	put(o, 0x3141592653589793ULL, 8);
	put(o, 1, 1);
	put(o, tid, 8);
	put(o, tag, 8);
	put(o, len, 4);
	for (uint32_t i = 0; i < len; i++)
		o->b[o->n++] = 0x67;
	put(o, 0xdeadbeef, 4); /* crc: not ours to check */
}

static void test_client_record_gives_commit_positions_and_refuses_truncation(void **state)
{
	struct guard_journal_position in[3] = {{1, 1, 81}, {0, 1, 80}, {3, 1, 79}}, got[4];
	struct out o = {0};
	size_t n;

	client_record(&o, in, 3);
	assert_int_equal(guard_journal_client_decode(o.b, o.n, got, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(got, in, sizeof(in));
	/* More positions than room: refused, not overrun. */
	assert_int_equal(guard_journal_client_decode(o.b, o.n, got, 2, &n), -EBADMSG);
	for (size_t len = 0; len < o.n; len++)
		assert_int_equal(guard_journal_client_decode(o.b, len, got, 4, &n), -EBADMSG);
	/* A struct claiming more bytes than there are. */
	o.b[2] = 0xff;
	assert_int_equal(guard_journal_client_decode(o.b, o.n, got, 4, &n), -EBADMSG);
}

static void test_entries_after_the_commit_are_counted_with_their_framing(void **state)
{
	/* The first 29 bytes of a real entry (entry tid 3, tag tid 1, 16 KiB of data). */
	static const uint8_t real[29] = {0x93, 0x97, 0x58, 0x53, 0x26, 0x59, 0x41, 0x31, 0x01, 0x03,
	                                 0,    0,    0,    0,    0,    0,    0,    0x01, 0,    0,
	                                 0,    0,    0,    0,    0,    0x00, 0x40, 0,    0};
	struct guard_journal_position commit = {.object = 0, .tag_tid = 1, .entry_tid = 4};
	struct out o = {0};
	uint64_t bytes;

	entry(&o, 1, 3, 100);
	memcpy(o.b, real, 25); /* same preamble, version, tids as Ceph wrote */
	entry(&o, 1, 4, 10);
	entry(&o, 1, 7, 20);
	entry(&o, 2, 0, 30); /* a later tag: after, though its entry tid is lower */
	assert_int_equal(guard_journal_bytes_after(o.b, o.n, &commit, &bytes), 0);
	assert_int_equal(bytes, (33 + 20) + (33 + 30));
	assert_int_equal(guard_journal_bytes_after(o.b, o.n, NULL, &bytes), 0);
	assert_int_equal(bytes, o.n);
	assert_int_equal(guard_journal_bytes_after(o.b, 0, NULL, &bytes), 0);
	assert_int_equal(bytes, 0);
	/* Anything but whole entries is refused. */
	for (size_t len = 1; len < o.n; len++) {
		int r = guard_journal_bytes_after(o.b, len, NULL, &bytes);
		bool boundary = len == 133 || len == 133 + 43 || len == 133 + 43 + 53;
		assert_int_equal(r, boundary ? 0 : -EBADMSG);
	}
	o.b[133] ^= 1; /* the second entry's preamble */
	assert_int_equal(guard_journal_bytes_after(o.b, o.n, NULL, &bytes), -EBADMSG);
	o.b[133] ^= 1;
	o.b[133 + 8] = 2; /* its version */
	assert_int_equal(guard_journal_bytes_after(o.b, o.n, NULL, &bytes), -EBADMSG);
	/* A length past the end. */
	o.b[133 + 8] = 1;
	o.b[133 + 25 + 3] = 0x7f;
	assert_int_equal(guard_journal_bytes_after(o.b, o.n, NULL, &bytes), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_record_gives_commit_positions_and_refuses_truncation),
	    cmocka_unit_test(test_entries_after_the_commit_are_counted_with_their_framing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * libFuzzer target for the bytes rbd-mirror-guard reads from others: the
 * first input byte picks the parser, the rest is its input.
 *
 *   0  a flow header (what serve reads from a tunnel peer): what decodes
 *      must encode back to the same bytes
 *   1  a reply and the list entries after it (what connect reads from serve)
 *   2  a mon/osd/mgr dump (what serve reads from its cluster)
 *   3  a journal client record (what pool status reads from the primary)
 *   4  a journal data object's entries (likewise)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void flow(const uint8_t *d, size_t n)
{
	struct guard_flow f;
	uint8_t again[GUARD_FLOW_LEN];

	if (guard_flow_decode(d, n, &f) != 0)
		return;
	if (guard_flow_encode(&f, again) != 0 || memcmp(again, d, GUARD_FLOW_LEN) != 0)
		abort();
}

static void reply(const uint8_t *d, size_t n)
{
	enum guard_status st;
	uint16_t count;
	struct guard_addr a;
	uint8_t again[GUARD_LIST_ENTRY_LEN];

	if (n < GUARD_REPLY_LEN || guard_reply_decode(d, GUARD_REPLY_LEN, &st, &count) != 0)
		return;
	d += GUARD_REPLY_LEN;
	n -= GUARD_REPLY_LEN;
	for (uint16_t i = 0; i < count && n >= GUARD_LIST_ENTRY_LEN; i++) {
		if (guard_list_entry_decode(d, GUARD_LIST_ENTRY_LEN, &a) == 0) {
			guard_list_entry_encode(&a, again);
			if (memcmp(again, d, sizeof(again)) != 0)
				abort();
		}
		d += GUARD_LIST_ENTRY_LEN;
		n -= GUARD_LIST_ENTRY_LEN;
	}
}

static void maps(const uint8_t *d, size_t n)
{
	static const char *const keys[] = {"public_addrs", "active_addrs"};
	/* An exact-size copy, so that any read past the end is caught. */
	char *copy = malloc(n ? n : 1);

	memcpy(copy, d, n);
	for (size_t k = 0; k < 2; k++) {
		struct guard_allow_list l = {0};
		guard_allow_parse(copy, n, keys[k], &l);
		for (size_t i = 0; i < l.count; i++)
			if (!guard_allow_contains(&l, &l.addrs[i]))
				abort();
		guard_allow_free(&l);
	}
	free(copy);
}

static void journal(const uint8_t *d, size_t n, bool client)
{
	struct guard_journal_position pos[8], commit = {0, 1, 5};
	uint8_t *copy = malloc(n ? n : 1);
	uint64_t bytes, all;
	size_t count;

	memcpy(copy, d, n);
	if (client) {
		if (guard_journal_client_decode(copy, n, pos, 8, &count) == 0 && count > 8)
			abort();
	} else if (guard_journal_bytes_after(copy, n, &commit, &bytes) == 0) {
		/* What counts after a commit is part of the whole, which is all of it. */
		if (guard_journal_bytes_after(copy, n, NULL, &all) != 0 || bytes > all || all != n)
			abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0:
		flow(data + 1, size - 1);
		break;
	case 1:
		reply(data + 1, size - 1);
		break;
	case 3:
	case 4:
		journal(data + 1, size - 1, data[0] % 5 == 3);
		break;
	default:
		maps(data + 1, size - 1);
	}
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the only parsers of bytes a cluster returns:
 * store_record_parse (unit records), store_commit_parse (commit entries) and
 * store_record_index_key_parse (index keys). The first input byte picks the parser.
 * A parse that succeeds must describe a record inside the input, and
 * verifying it against a key must not crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = {1};
	static const struct record_id id = {(const uint8_t *)"fuzz", 4};
	struct record rec;
	struct commit c;
	uint64_t version;
	char kind;
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* A private copy of the exact length, so ASan sees any read past the end. */
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		if (store_record_parse(copy, size - 1, &rec) == 0) {
			if (rec.signed_len + RECORD_SIG_LEN != size - 1 ||
			    rec.common_len > rec.signed_len || rec.index >= rec.c.n)
				abort();
			(void)store_record_verify(&id, copy, &rec, key, 1);
			(void)store_record_verify(&id, copy, &rec, rec.c.writer_key, 1);
		}
		break;
	case 1:
		if (store_commit_parse(copy, size - 1, &c) == 0) {
			if (c.signed_len + RECORD_SIG_LEN != size - 1)
				abort();
			(void)store_commit_verify(&id, copy, &c, c.writer_key, 1);
		}
		break;
	default:
		(void)store_record_index_key_parse((const char *)copy, size - 1, &kind, &version);
		break;
	}
	free(copy);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the index merge (rados-scfs/store/index.c): what n
 * clusters list for one unit, entry by entry, as the store takes it in —
 * keys and values from the input, some of them commit entries validly
 * signed by the trusted writer, some pending keys, some raw junk — then the
 * sort and the lazy, newest-first choice of committed versions. Whatever
 * the listings hold, every version store_index_top hands out must be a
 * commit entry that verifies, of a cluster not dropped, each below the one
 * before; no cluster that listed junk may still count.
 *
 * Input: records of [cluster:1][kind:1][version:2][len:1][len bytes].
 * kind % 4: 0 a signed commit of that version (len bytes ignored), 1 a
 * pending key, 2 a raw key (first 18 bytes) and value (the rest), 3 a
 * signed commit with one byte flipped.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "unit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_N 4
#define FUZZ_NAME "c.0000000000000001.00000002"

static struct store *fuzz_store;
static uint8_t fuzz_priv[32], fuzz_pub[32];

static void fuzz_init(void)
{
	static uint8_t trusted[1][STORE_KEY_LEN];
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	memset(fuzz_priv, 7, sizeof(fuzz_priv));
	if (sc_ed25519_public(fuzz_priv, fuzz_pub) < 0)
		abort();
	memcpy(trusted[0], fuzz_pub, 32);
	s->n = FUZZ_N;
	s->f = 1;
	s->k = 2;
	memcpy(s->id_bytes, "fuzz", 4);
	s->id.bytes = s->id_bytes;
	s->id.len = 4;
	s->trusted = trusted;
	s->trusted_count = 1;
	pthread_mutex_init(&s->lock, NULL);
	for (unsigned i = 0; i < FUZZ_N; i++)
		memcpy(s->clusters[i].name, "dc", 3);
	fuzz_store = s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct version_list list = {0};
	struct op_log log = {.what = "fuzz"};
	uint64_t below = STORE_VERSION_LATEST;
	const struct index_entry *e;
	size_t pos = 0, entries = 0;

	pthread_once(&once, fuzz_init);
	while (pos + 5 <= size && entries++ < 512) {
		unsigned cluster = data[pos] % FUZZ_N, kind = data[pos + 1] % 4;
		uint64_t version = (uint64_t)data[pos + 2] << 8 | data[pos + 3], bad;
		size_t len = data[pos + 4];
		uint8_t val[COMMIT_MAX_LEN];
		size_t val_len = 0;
		char key[19];
		int r;

		pos += 5;
		if (len > size - pos)
			len = size - pos;
		if (list.dropped & (1u << cluster)) {
			pos += len;
			continue;
		}
		if (kind == 0 || kind == 3) {
			store_record_index_key(RECORD_KEY_COMMIT, version, key);
			if (store_commit_encode(&fuzz_store->id, FUZZ_NAME, version, version * 3,
			                        fuzz_pub, fuzz_priv, fuzz_pub, val, sizeof(val),
			                        &val_len) < 0)
				abort();
			if (kind == 3)
				val[len % val_len] ^= 0x40;
			r = store_index_take_entry(FUZZ_NAME, key, 18, (const char *)val, val_len,
			                           &list, cluster, 0, &bad);
		} else if (kind == 1) {
			store_record_index_key(RECORD_KEY_PENDING, version, key);
			r = store_index_take_entry(FUZZ_NAME, key, 18, "", 0, &list, cluster, 0,
			                           &bad);
		} else {
			/* A private copy of the exact length, so ASan sees reads past it. */
			char *raw = malloc(len ? len : 1);
			if (!raw)
				abort();
			memcpy(raw, data + pos, len);
			r = store_index_take_entry(
			    FUZZ_NAME, raw, len < 18 ? len : 18, raw + (len < 18 ? len : 18),
			    len < 18 ? 0 : len - 18, &list, cluster, 0, &bad);
			free(raw);
		}
		pos += len;
		if (r == -EBADMSG)
			store_index_drop(fuzz_store, &log, &list, cluster, "fuzz", bad);
		else if (r < 0)
			abort();
	}
	store_index_sort(&list);
	for (size_t i = 1; i < list.count; i++)
		if (list.e[i].version > list.e[i - 1].version)
			abort(); /* not newest first */
	while ((e = store_index_top(fuzz_store, &list, &log, FUZZ_NAME, below, -1))) {
		struct commit c;
		if (e->kind != RECORD_KEY_COMMIT || e->version >= below || !e->verified ||
		    (list.dropped & (1u << e->cluster)))
			abort();
		if (store_commit_parse(e->commit, e->commit_len, &c) < 0 ||
		    store_commit_verify(&fuzz_store->id, e->commit, &c, fuzz_pub, 1) < 0 ||
		    c.version != e->version || c.data_len != e->data_len)
			abort();
		below = e->version;
	}
	/* A dropped cluster keeps no entry. */
	for (size_t i = 0; i < list.count; i++)
		if (list.dropped & (1u << list.e[i].cluster))
			abort();
	store_index_list_free(&list);
	return 0;
}

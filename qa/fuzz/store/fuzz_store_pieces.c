/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the piece assembly of reads (rados-scfs/store/read.c,
 * built with STORE_FUZZ_HOOKS and small pieces): pieces of n fragments
 * arriving in any order, short, long or corrupted, hashed as they come
 * (or, lazy, only counted). The checks are in store_read_fuzz_pieces: a
 * fragment that counts is whole, of the committed length and, unless lazy,
 * exactly the true bytes.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int store_read_fuzz_pieces(struct store *store, const uint8_t *data, size_t size);

static struct store *fuzz_store;

static void fuzz_init(void)
{
	struct store *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->n = 4;
	s->f = 1;
	s->k = 2;
	s->protocol = RECORD_PROTOCOL_CA;
	pthread_mutex_init(&s->lock, NULL);
	fuzz_store = s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, fuzz_init);
	return store_read_fuzz_pieces(fuzz_store, data, size);
}

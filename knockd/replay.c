/*
 * The replay cache: every accepted knock's nonce, kept until its timestamp
 * leaves the time window (after that the window check rejects the packet
 * anyway). Open addressing with linear probing in a table twice the capacity,
 * so probes stay short; expired entries are swept out in one rebuild when the
 * table reaches its capacity, never one by one (no tombstones).
 *
 * Only knocks that passed every check are inserted, so an attacker cannot
 * fill it; a full cache of live nonces refuses new knocks (-ENOSPC) rather
 * than forget a nonce early. The cache belongs to the daemon's main loop, not
 * to the configuration, so a SIGHUP reload keeps it.
 */
#include "knockd/libknock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"

struct replay_entry {
	uint8_t nonce[KNOCK_NONCE_LEN];
	uint64_t expires; /* 0: empty */
};

struct knock_replay {
	struct replay_entry *table;
	size_t mask;     /* table size - 1 */
	size_t capacity; /* live entries allowed */
	size_t count;    /* occupied slots, expired or not */
	uint64_t seed;
};

int knock_replay_new(size_t capacity, struct knock_replay **out)
{
	struct knock_replay *r;
	size_t size = 16;

	*out = NULL;
	if (capacity == 0 || capacity > (1u << 26))
		return -EINVAL;
	while (size < capacity * 2)
		size <<= 1;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->table = calloc(size, sizeof(*r->table));
	if (!r->table || sc_random_bytes(&r->seed, sizeof(r->seed)) < 0) {
		knock_replay_free(r);
		return -ENOMEM;
	}
	r->mask = size - 1;
	r->capacity = capacity;
	*out = r;
	return 0;
}

void knock_replay_free(struct knock_replay *r)
{
	if (!r)
		return;
	free(r->table);
	free(r);
}

size_t knock_replay_count(const struct knock_replay *r)
{
	return r->count;
}

/* Nonces come from authenticated clients; the seed keeps the layout private. */
static size_t slot_of(const struct knock_replay *r, const uint8_t *nonce)
{
	uint64_t h;

	memcpy(&h, nonce, sizeof(h));
	h ^= r->seed;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & r->mask;
}

int knock_replay_check(const struct knock_replay *r, const uint8_t nonce[KNOCK_NONCE_LEN],
                       uint64_t now)
{
	for (size_t i = slot_of(r, nonce);; i = (i + 1) & r->mask) {
		const struct replay_entry *e = &r->table[i];
		if (e->expires == 0)
			return 0;
		if (memcmp(e->nonce, nonce, KNOCK_NONCE_LEN) == 0)
			return e->expires >= now ? -EALREADY : 0;
	}
}

static void place(struct knock_replay *r, const uint8_t *nonce, uint64_t expires)
{
	for (size_t i = slot_of(r, nonce);; i = (i + 1) & r->mask) {
		struct replay_entry *e = &r->table[i];
		if (e->expires == 0) {
			memcpy(e->nonce, nonce, KNOCK_NONCE_LEN);
			e->expires = expires;
			r->count++;
			return;
		}
		if (memcmp(e->nonce, nonce, KNOCK_NONCE_LEN) == 0) {
			if (expires > e->expires)
				e->expires = expires;
			return;
		}
	}
}

/* Rebuilds the table without the entries that expired before NOW. */
static int sweep(struct knock_replay *r, uint64_t now)
{
	size_t size = r->mask + 1;
	struct replay_entry *old = r->table;

	r->table = calloc(size, sizeof(*r->table));
	if (!r->table) {
		r->table = old;
		return -ENOMEM;
	}
	r->count = 0;
	for (size_t i = 0; i < size; i++)
		if (old[i].expires != 0 && old[i].expires >= now)
			place(r, old[i].nonce, old[i].expires);
	free(old);
	return 0;
}

int knock_replay_insert(struct knock_replay *r, const uint8_t nonce[KNOCK_NONCE_LEN],
                        uint64_t expires, uint64_t now)
{
	if (expires == 0)
		expires = 1;
	if (r->count >= r->capacity) {
		int e = sweep(r, now);
		if (e < 0)
			return e;
		if (r->count >= r->capacity)
			return -ENOSPC;
	}
	place(r, nonce, expires);
	return 0;
}

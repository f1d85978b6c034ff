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
 * to the configuration, so a SIGHUP reload keeps it; state.c keeps it across
 * a restart.
 *
 * The floor covers what the cache cannot know: knocks accepted before a
 * start that found no saved cache, and knocks whose nonces expired under a
 * time_window that has since grown. Invariant: every knock accepted with a
 * timestamp at or above the floor is in the cache until its timestamp leaves
 * the current time window.
 */
#include "knockd/replay.h"

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
	uint64_t floor; /* knocks older than this are refused: see above */
	enum knock_floor_cause floor_cause;
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

size_t knock_replay_capacity(const struct knock_replay *r)
{
	return r->capacity;
}

void knock_replay_foreach(const struct knock_replay *r, uint64_t now, knock_replay_fn *fn,
                          void *arg)
{
	for (size_t i = 0; i <= r->mask; i++)
		if (r->table[i].expires != 0 && r->table[i].expires >= now)
			fn(arg, r->table[i].nonce, r->table[i].expires);
}

void knock_replay_floor_raise(struct knock_replay *r, uint64_t floor, enum knock_floor_cause cause)
{
	if (floor <= r->floor)
		return;
	r->floor = floor;
	r->floor_cause = cause;
}

uint64_t knock_replay_floor(const struct knock_replay *r, enum knock_floor_cause *cause)
{
	if (cause)
		*cause = r->floor_cause;
	return r->floor;
}

void knock_replay_window_change(struct knock_replay *r, uint64_t old_window, uint64_t new_window,
                                uint64_t now)
{
	uint64_t more = new_window - old_window;

	if (new_window <= old_window)
		return;
	/* Live nonces were kept for timestamp + OLD: keep them for timestamp + NEW. */
	for (size_t i = 0; i <= r->mask; i++) {
		struct replay_entry *e = &r->table[i];
		if (e->expires != 0 && e->expires >= now)
			e->expires =
			    e->expires > UINT64_MAX - more ? UINT64_MAX : e->expires + more;
	}
	/* Knocks older than NOW - OLD may have lost their nonces already. */
	if (now > old_window)
		knock_replay_floor_raise(r, now - old_window, KNOCK_FLOOR_WINDOW);
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

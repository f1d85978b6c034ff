/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SHA-256 of several byte streams of equal length at once: the n fragments
 * of a unit, which a write must all hash (docs/store-format.md). One SHA-NI
 * stream is bound by the latency of its round instructions; two streams
 * interleaved in one loop use the unit's idle slots and hash almost twice
 * as many bytes per second on one core (store-bench prints both). Without
 * SHA-NI every stream goes through OpenSSL, one after the other.
 *
 * The digests are plain SHA-256 (FIPS 180-4): test_store_pure checks them
 * against OpenSSL for every length class.
 */
#ifndef SCFS_STORE_DIGEST_H
#define SCFS_STORE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

#define DIGEST_MULTI_MAX RECORD_MAX_N
#define DIGEST_BLOCK 64

struct sc_sha256_ctx;

struct digest_multi {
	unsigned count;
	bool shani;
	bool ended[DIGEST_MULTI_MAX];     /* the last (unaligned) update was taken */
	uint64_t total[DIGEST_MULTI_MAX]; /* bytes of each stream so far */
	bool taken[DIGEST_MULTI_MAX];     /* its digest went out by store_digest_multi_end_stream */
	uint32_t state[DIGEST_MULTI_MAX][8];
	struct sc_sha256_ctx *ctx[DIGEST_MULTI_MAX]; /* without SHA-NI */
};

/* Whether this CPU hashes several streams at once (SHA-NI, SSSE3, SSE4.1). */
bool store_digest_multi_fast(void);

/* COUNT streams, 1..DIGEST_MULTI_MAX. FORCE_PORTABLE uses OpenSSL even with SHA-NI (tests). */
int store_digest_multi_begin(struct digest_multi *d, unsigned count, bool force_portable);
/*
 * Appends LEN bytes to each stream: DATA[i] to stream i. Every update but
 * the last must be a multiple of DIGEST_BLOCK bytes (-EINVAL otherwise).
 */
int store_digest_multi_update(struct digest_multi *d, const uint8_t *const *data, size_t len);
/*
 * The same for some of the streams: LEN bytes of DATA[j] to stream
 * STREAMS[j], j < COUNT, each stream listed once. Streams may advance
 * unevenly (a reader hashes each fragment's pieces as they arrive); the
 * listed ones are still hashed two at a time. -EINVAL for a stream listed
 * twice, out of range or already ended.
 */
int store_digest_multi_update_streams(struct digest_multi *d, const unsigned *streams,
                                      unsigned count, const uint8_t *const *data, size_t len);
/* Stream I's digest into OUT; the stream takes no more updates. D stays to be ended or aborted. */
int store_digest_multi_end_stream(struct digest_multi *d, unsigned i,
                                  uint8_t out[RECORD_DIGEST_LEN]);
/*
 * OUT[i] gets stream i's digest; -EINVAL when a stream was already taken by
 * store_digest_multi_end_stream. Frees D's resources, also on error.
 */
int store_digest_multi_end(struct digest_multi *d, uint8_t (*out)[RECORD_DIGEST_LEN]);
/* Frees D's resources without a result (error paths). */
void store_digest_multi_abort(struct digest_multi *d);

#endif

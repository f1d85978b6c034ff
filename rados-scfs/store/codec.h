/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Turning a unit into what each cluster stores, and back, with no I/O:
 *   CA: fresh key and IV; AES-256-GCM over the unit; the ciphertext, zero-
 *       padded to k * frag_len, is split into k data fragments and n-k
 *       Reed-Solomon parity fragments; the key is split into n Shamir
 *       shares with threshold k = f+1.
 *   A:  every fragment is the unit itself.
 * Every fragment is hashed (SHA-256) exactly once, n fragments side by side
 * (digest.h). The buffers a write needs are one allocation of n * frag_len
 * bytes (CA) or none (A).
 */
#ifndef SCFS_STORE_CODEC_H
#define SCFS_STORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct codec;

struct codec_encoded {
	uint8_t *buf; /* owned: CA fragments, n * frag_len bytes; NULL for A */
	size_t frag_len;
	const uint8_t *frags[RECORD_MAX_N];
	uint8_t digests[RECORD_MAX_N][RECORD_DIGEST_LEN];
	uint8_t iv[RECORD_IV_LEN], tag[RECORD_TAG_LEN];
	uint8_t shares[RECORD_MAX_N][RECORD_SHARE_LEN]; /* CA; secret, wiped on release */
};

/* PROTOCOL is RECORD_PROTOCOL_A or _CA; n <= RECORD_MAX_N, f < n. */
int store_codec_new(int protocol, unsigned n, unsigned f, struct codec **out);
void store_codec_free(struct codec *codec);
size_t store_codec_frag_len(const struct codec *codec, size_t data_len);
/* Hash fragments with OpenSSL one at a time even where SHA-NI allows two
 * at once (digest.h): for the tests and the bench, which compare both. */
void store_codec_set_portable_digest(struct codec *codec, bool portable);

/* AAD binds the ciphertext to the unit's name and version (CA). */
int store_codec_encode(const struct codec *codec, const void *data, size_t len, const void *aad,
                       size_t aad_len, struct codec_encoded *out);
/* Wipes the shares and frees the fragment buffer. */
void store_codec_encoded_release(struct codec_encoded *enc);

/*
 * CA: rebuilds the unit from at least k fragments (FRAGS[i] fragment i of
 * FRAG_LEN bytes, or NULL; the caller has checked their digests) and k
 * shares (SHARES holds share_count shares of RECORD_SHARE_LEN bytes back to
 * back; SHARE_INDEX[j] is the cluster index of share j). *OUT is a new
 * buffer of DATA_LEN bytes (free()). -EBADMSG when the GCM tag does not
 * match (wrong key or fragments), -EIO with fewer than k fragments.
 */
int store_codec_decode(const struct codec *codec, uint8_t *const *frags, size_t frag_len,
                       uint64_t data_len, const uint8_t iv[RECORD_IV_LEN],
                       const uint8_t tag[RECORD_TAG_LEN], const unsigned *share_index,
                       const uint8_t *shares, unsigned share_count, const void *aad, size_t aad_len,
                       uint8_t **out);

/*
 * CA repair: rebuilds all n fragments from at least k of them (FRAGS[i]
 * fragment i or NULL; the caller has checked their digests). OUT[i] gets
 * fragment i, pointing into *BUF (n * FRAG_LEN bytes, free()): the same
 * bytes the writer's encode made, since Reed-Solomon is deterministic.
 * -EIO with fewer than k fragments, -EINVAL for protocol A.
 */
int store_codec_rebuild(const struct codec *codec, uint8_t *const *frags, size_t frag_len,
                        uint8_t **buf, uint8_t **out);

#endif

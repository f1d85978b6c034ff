/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The two small formats the store keeps next to the data, byte by byte in
 * docs/store-format.md: the unit record (one per cluster and version, an
 * xattr of the fragment object) and the commit entry (an omap value of the
 * unit's index object). This file is the only place that parses them; every
 * read is length-checked, and a parse never trusts a length it has not
 * bounded. Parsed structures point into the caller's buffer.
 */
#ifndef SCFS_STORE_RECORD_H
#define SCFS_STORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECORD_MAGIC "SCDU"
#define COMMIT_MAGIC "SCDC"
#define RECORD_FORMAT 2
#define RECORD_MAX_N 16
#define RECORD_NAME_MAX 200
#define RECORD_SHARE_LEN 32
#define RECORD_SIG_LEN 64
#define RECORD_KEY_LEN 32
#define RECORD_DIGEST_LEN 32
#define RECORD_IV_LEN 12
#define RECORD_TAG_LEN 16
#define RECORD_HEADER_LEN 96
#define RECORD_MAX_LEN                                                                             \
	(RECORD_HEADER_LEN + RECORD_NAME_MAX + RECORD_MAX_N * RECORD_DIGEST_LEN + 2 +              \
	 RECORD_SHARE_LEN + RECORD_SIG_LEN)
#define COMMIT_HEADER_LEN 89
#define COMMIT_MAX_LEN (COMMIT_HEADER_LEN + RECORD_NAME_MAX + RECORD_SIG_LEN)
#define RECORD_MAX_DATA (1ull << 40) /* a unit above 1 TiB is malformed */

#define RECORD_ID_MAX 64
/* "scfs.sid" || u8 length || the store id: ahead of every signed or hashed byte. */
#define RECORD_ID_PREFIX_MAX (9 + RECORD_ID_MAX)

#define RECORD_PROTOCOL_A 1
#define RECORD_PROTOCOL_CA 2

/* What the writer puts into the common, signed part (same on every cluster). */
struct record_common {
	uint8_t protocol, n, f;
	uint64_t version, data_len, frag_len;
	const uint8_t *writer_key; /* RECORD_KEY_LEN */
	const uint8_t *iv, *tag;   /* CA only; NULL writes zeros */
	const char *name;
	size_t name_len;
	const uint8_t *digests; /* n * RECORD_DIGEST_LEN */
};

/* A parsed unit record: pointers into the parsed buffer. */
struct record {
	struct record_common c;
	uint8_t index;
	const uint8_t *share; /* RECORD_SHARE_LEN for CA, NULL for A */
	const uint8_t *common;
	size_t common_len; /* the bytes whose SHA-256 is the unit digest */
	size_t signed_len; /* the bytes the signature covers (from offset 0) */
	const uint8_t *sig;
};

/* The store's identity (store_opts.store_id), 1..RECORD_ID_MAX bytes. */
struct record_id {
	const uint8_t *bytes;
	size_t len;
};

struct commit {
	uint64_t version, data_len;
	const uint8_t *digest, *writer_key, *sig;
	const char *name;
	size_t name_len;
	size_t signed_len;
};

/* Names may hold letters, digits and ". _ - : +", 1..RECORD_NAME_MAX bytes (store.h). */
bool store_unit_name_valid(const char *name);

/* The common part's length for these fields, or 0 when they are out of bounds. */
size_t store_record_common_len(const struct record_common *c);
/* Writes the common part into OUT (store_record_common_len bytes). */
int store_record_common_encode(const struct record_common *c, uint8_t *out, size_t out_len);
/*
 * Appends the per-cluster part (index, share) to a common part already in
 * BUF[0..common_len) and signs the whole with PRIV. *OUT_LEN gets the length.
 */
int store_record_seal(const struct record_id *id, uint8_t *buf, size_t buf_len, size_t common_len,
                      uint8_t index, const uint8_t *share, const uint8_t priv[RECORD_KEY_LEN],
                      size_t *out_len);
/* The unit digest: SHA-256 of the store id prefix and the common part. */
int store_record_digest(const struct record_id *id, const uint8_t *common, size_t common_len,
                        uint8_t out[RECORD_DIGEST_LEN]);

/* Bounds-checked parse; -EBADMSG on anything malformed. No signature check. */
int store_record_parse(const uint8_t *buf, size_t len, struct record *out);
/* TRUSTED: TRUSTED_COUNT public keys of 32 bytes each, back to back.
 * -EKEYREJECTED for an unknown writer, -EBADMSG for a bad signature. */
int store_record_verify(const struct record_id *id, const uint8_t *buf, const struct record *rec,
                        const uint8_t *trusted, unsigned trusted_count);

int store_commit_encode(const struct record_id *id, const char *name, uint64_t version,
                        uint64_t data_len, const uint8_t digest[32],
                        const uint8_t priv[RECORD_KEY_LEN], const uint8_t pub[RECORD_KEY_LEN],
                        uint8_t *out, size_t out_len, size_t *written);
int store_commit_parse(const uint8_t *buf, size_t len, struct commit *out);
int store_commit_verify(const struct record_id *id, const uint8_t *buf, const struct commit *c,
                        const uint8_t *trusted, unsigned trusted_count);

/* "scfs.du1.NAME.VVVVVVVVVVVVVVVV" and "scfs.ui1.NAME"; -ENAMETOOLONG if LEN is short. */
int store_record_object_name(const char *name, uint64_t version, char *out, size_t len);
int store_record_index_name(const char *name, char *out, size_t len);
/*
 * The omap keys of a version in the index object: "v.XXXXXXXXXXXXXXXX" holds
 * the commit entry, "p.XXXXXXXXXXXXXXXX" (empty value) marks a write begun,
 * where X is the version inverted (2^64-1-V) in hex: keys sort newest first.
 */
#define RECORD_KEY_COMMIT 'v'
#define RECORD_KEY_PENDING 'p'
void store_record_index_key(char kind, uint64_t version, char out[19]);
/* Parses such a key into *KIND and *VERSION; -EBADMSG otherwise. */
int store_record_index_key_parse(const char *key, size_t len, char *kind, uint64_t *version);

#endif

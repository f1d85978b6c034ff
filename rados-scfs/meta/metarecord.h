/*
 * The on-cluster metadata formats of rados-scfs (docs/fs-format.md): the
 * register value (timestamp prefix + sealed record), the inode and directory
 * entry bodies, and the superblock. This file and record.c are the only code
 * that reads these bytes; everything a cluster returns passes through one
 * parse function here, which checks every length before it reads.
 *
 * Sealing (signature, and in CA the AES-256-GCM encryption of the body) is
 * done here too, under the keys of struct meta_keys, so that a record is
 * never looked at before its writer's signature has been checked.
 * Pure functions: no I/O, no global state; safe from any thread.
 */
#ifndef SCFS_META_METARECORD_H
#define SCFS_META_METARECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define META_FSID_LEN 16
#define META_KEY_LEN 32
#define META_TAG_LEN 32    /* name tag: HMAC-SHA-256 */
#define META_TS_HEX_LEN 32 /* counter and writer id, 16 hex digits each */
#define META_SIG_LEN 64
#define META_HDR_LEN 68          /* record header, before the body */
#define META_MAX_BODY (1u << 20) /* body bytes of one record */
#define META_NAME_MAX 255
#define META_SYMLINK_MAX 4095
#define META_XATTR_NAME_MAX 255
#define META_XATTR_VALUE_MAX 65535
#define META_XATTR_TOTAL_MAX (64u << 10)
#define META_MAX_CLUSTERS 16
#define META_MAX_WRITERS 16
#define META_FSNAME_MAX 64
#define META_DIGEST_LEN 32

enum meta_kind {
	META_KIND_INODE = 1,
	META_KIND_DENTRY = 2,
};

/* A register's timestamp: higher counter wins, then higher writer id. */
struct meta_ts {
	uint64_t counter;
	uint64_t writer;
};

/* The keys a mount holds. In protocol A, aead is unused (encrypt false). */
struct meta_keys {
	uint8_t fs_id[META_FSID_LEN];
	bool encrypt;
	uint8_t aead[META_KEY_LEN]; /* HKDF(metadata key, fs id, "scfs meta aead v1") */
	uint8_t tag[META_KEY_LEN];  /* HKDF(metadata key, fs id, "scfs name tag v1") */
	/* The writer's key; has_priv false for a read-only mount. */
	bool has_priv;
	uint8_t priv[META_KEY_LEN];
	uint64_t writer_id;
	/* Writers the superblock lists: whose records are believed. */
	unsigned writer_count;
	uint8_t writers[META_MAX_WRITERS][META_KEY_LEN];
};

struct meta_chunk_ref {
	uint32_t index;
	uint64_t version;
	uint64_t data_len;
	uint8_t digest[META_DIGEST_LEN];
};

struct meta_xattr {
	char *name;  /* NUL-terminated, 1..255 bytes */
	void *value; /* may be NULL when value_len is 0 */
	uint32_t value_len;
};

struct meta_time {
	int64_t sec;
	uint32_t nsec;
};

/* An inode. Owns symlink, xattrs and chunks (meta_inode_free). */
struct meta_inode {
	uint64_t ino;
	uint32_t mode, uid, gid, nlink;
	uint64_t size, rdev;
	uint64_t parent; /* directories: the parent's inode number */
	struct meta_time atime, mtime, ctime;
	uint32_t chunk_size;
	char *symlink; /* NUL-terminated, or NULL */
	uint32_t xattr_count;
	struct meta_xattr *xattrs;
	uint32_t chunk_count;
	struct meta_chunk_ref *chunks; /* ascending index */
};

struct meta_dentry {
	bool deleted; /* a tombstone: the name was removed at that timestamp */
	uint8_t type; /* DT_* */
	uint64_t ino;
	uint16_t name_len;
	char name[META_NAME_MAX + 1];
};

/* Timestamp order: <0, 0, >0. */
int meta_ts_cmp(const struct meta_ts *a, const struct meta_ts *b);
void meta_ts_hex(const struct meta_ts *ts, char out[META_TS_HEX_LEN + 1]);

/* Writer id: the first 8 bytes of SHA-256 of its public key, big-endian. */
int meta_writer_id(const uint8_t pub[META_KEY_LEN], uint64_t *out);
/*
 * Derives the AEAD and tag keys from the metadata key (CA) into KEYS; in A
 * (MKEY NULL) the tag key comes from the fs id alone and nothing is secret.
 */
int meta_keys_derive(struct meta_keys *keys, const uint8_t *mkey);
/* The name tag of NAME in directory DIR: HMAC-SHA-256 under keys->tag. */
int meta_name_tag(const struct meta_keys *keys, uint64_t dir, const char *name, size_t len,
                  uint8_t out[META_TAG_LEN]);

/* Body codecs. encode allocates *OUT (free()); parse fills a struct. */
int meta_inode_encode(const struct meta_inode *ino, uint8_t **out, size_t *len);
int meta_inode_parse(const uint8_t *buf, size_t len, struct meta_inode *out);
void meta_inode_free(struct meta_inode *ino);
/* Deep copy into *DST (which is overwritten, not freed). */
int meta_inode_copy(struct meta_inode *dst, const struct meta_inode *src);
int meta_dentry_encode(const struct meta_dentry *d, uint8_t **out, size_t *len);
int meta_dentry_parse(const uint8_t *buf, size_t len, struct meta_dentry *out);

/*
 * A register value: the 32-hex-digit timestamp, then the record (header,
 * body sealed under KEYS, signature). OBJ_INO and TAG (NULL: zeros) bind the
 * record to the place it is stored. -EROFS without a private key.
 */
int meta_value_seal(const struct meta_keys *keys, enum meta_kind kind, const struct meta_ts *ts,
                    uint64_t obj_ino, const uint8_t *tag, const uint8_t *body, size_t body_len,
                    uint8_t **out, size_t *out_len);
/*
 * Checks a register value read from a cluster: lengths, magic, the prefix
 * equal to the signed timestamp, the signature of a listed writer, the
 * place (kind, OBJ_INO, TAG), and decrypts. On success *BODY (free()) holds
 * the plaintext body. -EBADMSG for anything wrong (the cluster's fault).
 */
int meta_value_open(const struct meta_keys *keys, const uint8_t *value, size_t len,
                    enum meta_kind kind, uint64_t obj_ino, const uint8_t *tag, struct meta_ts *ts,
                    uint8_t **body, size_t *body_len);
/* Only the timestamp prefix (no check of the rest): for ordering answers. */
int meta_value_ts(const uint8_t *value, size_t len, struct meta_ts *ts);

/* --- the superblock --- */
struct meta_sb_cluster {
	char name[META_FSNAME_MAX + 1];
	char fsid[40];
};

struct meta_superblock {
	uint8_t fs_id[META_FSID_LEN];
	char name[META_FSNAME_MAX + 1];
	uint8_t n, f, protocol, crash_only;
	uint32_t chunk_size;
	uint64_t root_ino;
	uint64_t created_ns;
	struct meta_sb_cluster clusters[META_MAX_CLUSTERS];
	uint8_t writer_count;
	uint8_t writers[META_MAX_WRITERS][META_KEY_LEN];
	uint8_t share_digest[META_MAX_CLUSTERS][META_DIGEST_LEN]; /* CA only */
	/* The per-cluster tail (not signed; the share is checked by its digest). */
	uint8_t index;
	uint16_t share_len;
	uint8_t share[META_KEY_LEN];
};

/* Encodes SB signed by PRIV (which must be writers[0]'s key). */
int meta_sb_encode(const struct meta_superblock *sb, const uint8_t priv[META_KEY_LEN],
                   uint8_t **out, size_t *len);
/*
 * Parses and checks a superblock object: lengths, magic, version, the
 * signature by its first writer key, n >= 3f+1 (2f+1 crash-only), the
 * share's digest. -EBADMSG when the bytes are wrong or the signature fails,
 * -EPROTONOSUPPORT for an unknown format version.
 */
int meta_sb_parse(const uint8_t *buf, size_t len, struct meta_superblock *out);
/* True when A and B agree in everything signed (not the tail). */
bool meta_sb_same(const struct meta_superblock *a, const struct meta_superblock *b);

#endif

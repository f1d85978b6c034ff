/*
 * Making and checking a file system's superblock (docs/fs-format.md,
 * "Superblock"). mkfs writes one signed superblock per cluster, each with
 * that cluster's Shamir share of the metadata key (CA). Mounting reads them
 * all and refuses, with one line in MSG, anything that does not add up.
 */
#ifndef SCFS_META_SUPERBLOCK_H
#define SCFS_META_SUPERBLOCK_H

#include "meta.h"

struct meta_mkfs_params {
	const char *name;
	unsigned f;
	unsigned protocol; /* 1 A, 2 CA */
	uint32_t chunk_size;
	const uint8_t *priv; /* the writer's seed, listed as writer 0 */
};

/* Needs all n clusters. -EEXIST (MSG names the cluster) if one has a superblock. */
int meta_mkfs(struct meta *m, const struct meta_mkfs_params *p, struct meta_superblock *out,
              char *msg, size_t msg_len);

/*
 * Reads and checks the superblocks; on success *SB is the agreed one and
 * *KEYS the mount's keys (with PRIV as writer key, or read-only when PRIV
 * is NULL; PUB must be a listed writer either way). NOTE gets a line naming
 * clusters whose superblock was ignored. Errors: -ENOENT unknown file
 * system, -EXDEV wrong cluster or order, -EDOM n < 3f+1, -EKEYREJECTED key
 * not a writer, -EBADMSG no agreeing quorum.
 */
int meta_mount_check(struct meta *m, const char *name, const uint8_t *priv,
                     const uint8_t pub[META_KEY_LEN], struct meta_superblock *sb,
                     struct meta_keys *keys, char *msg, size_t msg_len, char *note,
                     size_t note_len);

#endif

/*
 * A file's chunks in the store (docs/fs.md, "Data"): the only file of the
 * file system that calls the store. A chunk is the store unit
 * c.<16 hex inode>.<8 hex chunk index>; the version the inode record names
 * is the only one a reader asks for.
 */
#ifndef SCFS_FS_CHUNK_H
#define SCFS_FS_CHUNK_H

#include <stddef.h>
#include <stdint.h>

#include "metarecord.h"

struct fs_chunks;

struct fs_chunks_opts {
	unsigned n, f, protocol;
	const char *const *clusters;
	const char *conf_dir, *client_id, *pool, *rados_ns;
	const uint8_t *priv; /* NULL: read-only */
	const uint8_t (*trusted)[META_KEY_LEN];
	unsigned trusted_count;
	const uint8_t *fs_id;
	uint32_t chunk_size;
	double timeout;
	/* fs_chunk_delete only queues; a thread deletes (chunk.c). */
	bool background_delete;
};

int fs_chunks_open(const struct fs_chunks_opts *o, struct fs_chunks **out, char *err,
                   size_t err_len);
void fs_chunks_close(struct fs_chunks *c);
/*
 * Asks every cluster one cheap question (store_cluster_probe): keeps the
 * store's view of each cluster fresh and makes it connect, in the
 * background, a cluster it has not connected yet. Waits at most a second.
 * Returns how many answered.
 */
int fs_chunks_probe(struct fs_chunks *c);
/* Stores LEN bytes as VERSION of chunk INDEX of INO; fills *REF. */
int fs_chunk_write(struct fs_chunks *c, uint64_t ino, uint32_t index, uint64_t version,
                   const void *data, size_t len, struct meta_chunk_ref *ref);
/* Reads the version REF names into BUF (chunk_size bytes); *LEN its length. */
int fs_chunk_read(struct fs_chunks *c, uint64_t ino, const struct meta_chunk_ref *ref, void *buf,
                  size_t *len);
struct store_unit_health;
enum fs_chunk_check_mode {
	FS_CHUNK_CHECK,      /* records verified, fragment lengths compared */
	FS_CHUNK_VERIFY_ALL, /* every fragment read and hashed as well */
	FS_CHUNK_REPAIR,     /* VERIFY_ALL, then missing and wrong copies rewritten */
};
/*
 * fsck and repair of one chunk version: asks every cluster for its copy of
 * the version REF names and says per cluster in *HEALTH whether it is good,
 * missing or wrong (store.h: store_unit_check, store_unit_repair);
 * *REPAIRED gets bit i for every cluster whose copy FS_CHUNK_REPAIR
 * rewrote. MSG gets the store's one-line report.
 */
int fs_chunk_check(struct fs_chunks *c, uint64_t ino, const struct meta_chunk_ref *ref,
                   enum fs_chunk_check_mode mode, struct store_unit_health *health,
                   uint32_t *repaired, char *msg, size_t msg_len);
/*
 * Deletes that version (an old one after a newer was anchored); errors
 * ignored by callers. With background_delete it is queued and 0 returned.
 */
int fs_chunk_delete(struct fs_chunks *c, uint64_t ino, const struct meta_chunk_ref *ref);

#endif

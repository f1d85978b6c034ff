/*
 * The local chunk cache (docs/fs.md, "Cache"): one file per resident chunk
 * under cache_dir, named <16 hex inode>.<8 hex index>. Each resident chunk
 * reserves a whole chunk of the cache_size budget. Clean entries (equal to
 * the version their ref names) are evicted least recently used; dirty ones
 * never: when only dirty entries remain, adding one fails with -ENOSPC.
 * Entries live only as long as the mount: at open the directory's leftover
 * entries (a crash) are removed, so a torn file is never served.
 * Not thread-safe: the file system's lock guards it.
 */
#ifndef SCFS_FS_CACHE_H
#define SCFS_FS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fs_centry {
	uint64_t ino;
	uint32_t index;
	bool dirty;
	uint64_t version; /* of the clean content (0: a new chunk) */
	uint64_t lru;
	int fd;
	struct fs_centry *next;
};

struct fs_cache;

int fs_cache_open(const char *dir, uint64_t limit, uint32_t chunk_size, struct fs_cache **out);
void fs_cache_close(struct fs_cache *c);
struct fs_centry *fs_cache_find(struct fs_cache *c, uint64_t ino, uint32_t index);
/* A new empty entry (evicting clean ones for room); -ENOSPC when all are dirty. */
int fs_cache_add(struct fs_cache *c, uint64_t ino, uint32_t index, struct fs_centry **out);
void fs_cache_touch(struct fs_cache *c, struct fs_centry *e);
void fs_cache_drop(struct fs_cache *c, struct fs_centry *e);
void fs_cache_drop_ino(struct fs_cache *c, uint64_t ino);
/* Drops INO's entries at chunk index FIRST and above (a truncate). */
void fs_cache_drop_from(struct fs_cache *c, uint64_t ino, uint32_t first);
/* Up to MAX dirty entries of INO into OUT; returns how many there are in all. */
size_t fs_cache_dirty_of(struct fs_cache *c, uint64_t ino, struct fs_centry **out, size_t max);
void fs_cache_usage(const struct fs_cache *c, uint64_t *used, uint64_t *dirty, uint64_t *limit);

#endif

/*
 * The local chunk cache (docs/fs.md, "Cache"): one file per resident chunk
 * under cache_dir, named <16 hex inode>.<8 hex index>. Each resident chunk
 * reserves a whole chunk of the cache_size budget. Clean entries (equal to
 * the version their ref names) are evicted least recently used; dirty ones
 * never: when only dirty or pinned entries remain, adding one fails with
 * -ENOSPC. Entries live only as long as the mount: at open the directory's
 * leftover entries (a crash) are removed, so a torn file is never served.
 *
 * Thread-safe. The cache's own lock guards the list, the budget, the LRU
 * clock, every entry's pin count and (for eviction) its dirty flag. An
 * entry's bytes, fd, version and dirty flag belong to the file system node
 * of its inode: only a thread holding that node's lock changes them, and it
 * uses an entry only while it holds a pin (fs_cache_get, fs_cache_add,
 * fs_cache_dirty_of), so eviction by another thread cannot free it under
 * its feet. The cache lock is a leaf: nothing else is locked while it is held.
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
	unsigned pins;
	/* The owner's (its node's lock): bumped by every change of the bytes,
	 * and its value when the last upload copied them out. */
	uint64_t gen, up_gen;
	int fd;
	struct fs_centry *next;
};

struct fs_cache;

int fs_cache_open(const char *dir, uint64_t limit, uint32_t chunk_size, struct fs_cache **out);
void fs_cache_close(struct fs_cache *c);
/* Whether chunk INDEX of INO is resident (no pin: a hint for its owner). */
bool fs_cache_has(struct fs_cache *c, uint64_t ino, uint32_t index);
/* The resident entry, pinned and made the most recently used; NULL if none. */
struct fs_centry *fs_cache_get(struct fs_cache *c, uint64_t ino, uint32_t index);
/* One more pin on an entry the caller holds pinned (for a thread it hands it to). */
void fs_cache_pin(struct fs_cache *c, struct fs_centry *e);
/* Gives back a pin of fs_cache_get, fs_cache_add or fs_cache_dirty_of. */
void fs_cache_put(struct fs_cache *c, struct fs_centry *e);
/* A new empty entry, pinned (evicting clean ones for room); -ENOSPC when none can go. */
int fs_cache_add(struct fs_cache *c, uint64_t ino, uint32_t index, struct fs_centry **out);
/* Sets a pinned entry's state (its owner's call). */
void fs_cache_mark(struct fs_cache *c, struct fs_centry *e, bool dirty, uint64_t version);
/* Removes a pinned entry; the caller's pin goes with it. */
void fs_cache_drop(struct fs_cache *c, struct fs_centry *e);
void fs_cache_drop_ino(struct fs_cache *c, uint64_t ino);
/* Drops INO's entries at chunk index FIRST and above (a truncate). */
void fs_cache_drop_from(struct fs_cache *c, uint64_t ino, uint32_t first);
/* Up to MAX dirty entries of INO into OUT, pinned; returns how many there are in all. */
size_t fs_cache_dirty_of(struct fs_cache *c, uint64_t ino, struct fs_centry **out, size_t max);
void fs_cache_usage(struct fs_cache *c, uint64_t *used, uint64_t *dirty, uint64_t *limit);

#endif

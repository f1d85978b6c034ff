/*
 * The mounted file system's state (ops.c) as the program (main.c) sets it
 * up. fs.lock guards the node table and the name cache only (never held
 * across a round trip); each node has its own lock, held across the
 * operation on it, so independent operations run in parallel on the
 * multi-threaded session loop. The lock order is written at the top of
 * ops.c. The cache locks itself; the counters are atomic.
 */
#ifndef SCFS_FS_H
#define SCFS_FS_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "chunk.h"
#include "meta.h"

#define FS_STATS_INO 2
#define FS_STATS_NAME ".statistics.txt"

enum fs_stat {
	FS_ST_LOOKUP,
	FS_ST_GETATTR,
	FS_ST_SETATTR,
	FS_ST_CREATE,
	FS_ST_MKDIR,
	FS_ST_MKNOD,
	FS_ST_SYMLINK,
	FS_ST_LINK,
	FS_ST_UNLINK,
	FS_ST_RMDIR,
	FS_ST_RENAME,
	FS_ST_OPEN,
	FS_ST_READ,
	FS_ST_WRITE,
	FS_ST_FLUSH,
	FS_ST_FSYNC,
	FS_ST_READDIR,
	FS_ST_XATTR,
	FS_ST_STATFS,
	FS_ST_CHUNK_UP,
	FS_ST_CHUNK_DOWN,
	FS_ST_META_PUT,
	FS_ST_META_GET,
	FS_ST_ERRORS,
	FS_ST_COUNT
};

struct fs_node;
struct name_entry;

struct fs {
	struct meta *meta;
	struct fs_chunks *chunks;
	struct fs_cache *cache;
	uint64_t root;
	uint32_t chunk_size;
	unsigned f, protocol;
	bool ro;
	char name[META_FSNAME_MAX + 1];
	pthread_mutex_t lock;        /* the node table and the name cache */
	pthread_mutex_t rename_lock; /* one rename at a time (ops.c) */
	pthread_mutex_t upload_lock; /* uploads */
	pthread_cond_t upload_slot;
	unsigned uploads;        /* upload slots taken (at most UPLOADS_MAX) */
	unsigned upload_threads; /* upload threads not yet ended */
	struct fs_node **table;
	size_t buckets, nodes_count;
	struct name_entry **names; /* the name cache (ops.c); NULL on read-only mounts */
	size_t names_count;
	uint64_t stats[FS_ST_COUNT];
	uint64_t bytes_read, bytes_written, bytes_up, bytes_down;
	double stat_time[FS_ST_COUNT];
};

extern const struct fuse_lowlevel_ops fs_ops;

int fs_init_state(struct fs *fs);
void fs_free_state(struct fs *fs);
/* Reads inode INO into the node table: 0, or -errno (the mount's last check). */
int fs_node_probe(struct fs *fs, uint64_t ino);

#endif

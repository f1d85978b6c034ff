/*
 * The FUSE low-level operations (fs.h), one function per operation in the
 * manner of libfuse's passthrough_ll example: each replies exactly once on
 * every path (the last statement of each branch is a fuse_reply_*).
 *
 * Nodes: one per inode the kernel knows (lookup count), that is open, that
 * an operation is using, or (read-write mounts, up to NODES_RETAIN) that the
 * mount read or wrote before: with one writer per file system the mount's
 * copy is the truth, so a stat of an inode it knows costs no round trip. A
 * node's record is the live view: writes change size and chunks in the
 * cache at once, and the record is written to the clusters on flush, fsync
 * and every metadata change (consistency on close, docs/fs.md). An inode
 * whose link count is 0 keeps its record until the last descriptor and
 * lookup are gone, then its object and chunks are removed.
 *
 * Locks, and their order (a thread takes them only in this order):
 *   1. fs.rename_lock   held by rename for its whole run: a directory's
 *                       parent field changes only under it, so the
 *                       ancestor walk of a rename sees a stable tree.
 *   2. node.lock        one per node: its record, meta_dirty, old refs,
 *                       read/write positions, in-flight uploads, and the
 *                       bytes and state of its cache entries. Held across
 *                       the round trips of an operation on that node, so
 *                       operations on different nodes run in parallel.
 *                       Several node locks are taken in inode-number order
 *                       (nodes_lock), or, for a child found under its
 *                       parent's lock, by trylock with a fall back to that
 *                       order (lock_child), and checked again afterwards.
 *   3. fs.upload_lock   the count of uploads in flight (a writer waits for
 *                       a slot with its node locked; a finished upload
 *                       gives its slot back before it locks its node).
 *   4. the cache's lock (cache.c) and fs.lock, leaves: fs.lock guards the
 *                       node table, each node's nlookup, opens, refs,
 *                       loaded/load_error and names_complete, and the name
 *                       cache; it is never held across a round trip.
 * The one exception: a fresh node's lock is taken under fs.lock just before
 * it goes into the table (nobody can hold it yet), so that its loader holds
 * it from the moment others can find it.
 * A node is used only while the thread holds a ref (node_ref, node_get);
 * the last ref of a node nothing else names frees it (node_done).
 * Counters are atomic and take no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "acl.h"
#include "fs.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

struct fs_node {
	uint64_t ino;
	pthread_mutex_t lock;
	/* fs.lock guards these: */
	uint64_t nlookup;
	unsigned opens;
	unsigned refs; /* threads using the node now */
	bool in_table;
	bool loaded;    /* rec holds the record (else its loader holds lock) */
	int load_error; /* the load failed: the node is out of the table */
	/* Directories: every entry is in the name cache (made or listed by this
	 * mount), so a name missing there is absent. */
	bool names_complete;
	size_t names_live; /* with names_complete: how many of them */
	struct fs_node *next;
	/* node.lock guards the rest: */
	bool meta_dirty; /* the record differs from what the clusters hold */
	uint64_t last_write_end, last_read_end;
	uint64_t written_ns; /* directories: when their record was last written (parent_due) */
	struct meta_inode rec;
	/* Refs replaced since the last record write: deleted after it. */
	struct meta_chunk_ref *old;
	size_t old_count;
	unsigned uploads; /* chunk uploads in flight (upload_done signals done) */
	pthread_cond_t done;
};

#define NAMES_BUCKETS 65536u
#define NAMES_MAX 200000u
/* Nodes nothing refers to that a read-write mount keeps (its copy is the truth). */
#define NODES_RETAIN 16384u
/* Chunk uploads in flight for the whole mount: each holds a chunk's bytes. */
#define UPLOADS_MAX 4u
static void names_clear(struct fs *fs);

struct dir_handle {
	struct meta_dentry *e;
	size_t count;
	/* Refs to the inodes the last readdirplus read ahead, kept until the
	 * next one (the retain limit must not drop them before they are used). */
	struct fs_node **ahead;
	unsigned ahead_count;
};

static struct fs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void count(struct fs *fs, enum fs_stat s)
{
	__atomic_fetch_add(&fs->stats[s], 1, __ATOMIC_RELAXED);
}

static void count_n(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t to_kernel(const struct fs *fs, uint64_t ino)
{
	return ino == fs->root ? FUSE_ROOT_ID : ino;
}

static uint64_t from_kernel(const struct fs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? fs->root : ino;
}

static struct meta_time now_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (struct meta_time){ts.tv_sec, (uint32_t)ts.tv_nsec};
}

int fs_init_state(struct fs *fs)
{
	/*
	 * Chunk-sized buffers (copies for uploads and fetches, the store's
	 * fragments) are allocated and freed by short-lived threads: with
	 * glibc's sliding mmap threshold they would end up in per-thread
	 * arenas that keep the memory after free (peak RSS well past the
	 * bound). A fixed threshold keeps every buffer of 256 KiB or more
	 * mapped and gives it back at once.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_mutex_init(&fs->rename_lock, NULL);
	pthread_mutex_init(&fs->upload_lock, NULL);
	pthread_cond_init(&fs->upload_slot, NULL);
	fs->buckets = 65536;
	fs->table = calloc(fs->buckets, sizeof(*fs->table));
	if (!fs->ro)
		fs->names = calloc(NAMES_BUCKETS, sizeof(*fs->names));
	return fs->table && (fs->ro || fs->names) ? 0 : -ENOMEM;
}

static struct fs_node *node_new(uint64_t ino)
{
	struct fs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->ino = ino;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->done, NULL);
	return n;
}

static void node_free(struct fs_node *n)
{
	meta_inode_free(&n->rec);
	free(n->old);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->done);
	free(n);
}

void fs_free_state(struct fs *fs)
{
	/* Uploads still in flight hold refs to their nodes: let them end. */
	pthread_mutex_lock(&fs->upload_lock);
	while (fs->upload_threads)
		pthread_cond_wait(&fs->upload_slot, &fs->upload_lock);
	pthread_mutex_unlock(&fs->upload_lock);
	/* The names first: clearing them walks the node table. */
	names_clear(fs);
	free(fs->names);
	fs->names = NULL;
	for (size_t b = 0; fs->table && b < fs->buckets; b++) {
		struct fs_node *n = fs->table[b], *next;
		for (; n; n = next) {
			next = n->next;
			node_free(n);
		}
	}
	free(fs->table);
	fs->table = NULL;
	pthread_mutex_destroy(&fs->lock);
	pthread_mutex_destroy(&fs->rename_lock);
	pthread_mutex_destroy(&fs->upload_lock);
	pthread_cond_destroy(&fs->upload_slot);
}

/* fs.lock held. */
static struct fs_node **node_slot(struct fs *fs, uint64_t ino)
{
	struct fs_node **p = &fs->table[(ino ^ (ino >> 29)) % fs->buckets];

	while (*p && (*p)->ino != ino)
		p = &(*p)->next;
	return p;
}

/* fs.lock held. */
static void node_insert(struct fs *fs, struct fs_node *n)
{
	struct fs_node **slot = &fs->table[(n->ino ^ (n->ino >> 29)) % fs->buckets];

	n->next = *slot;
	*slot = n;
	n->in_table = true;
	fs->nodes_count++;
}

/* fs.lock held. */
static void node_unlink_table(struct fs *fs, struct fs_node *n)
{
	struct fs_node **slot = node_slot(fs, n->ino);

	if (!n->in_table)
		return;
	if (*slot == n)
		*slot = n->next;
	n->in_table = false;
	fs->nodes_count--;
}

/* fs.lock held: whether N is held by the kernel, a descriptor or a thread. */
static bool node_in_use(const struct fs *fs, const struct fs_node *n)
{
	return n->refs || n->nlookup || n->opens || n->ino == fs->root;
}

/* fs.lock held: the state a loader left N in, once its lock was free. */
static int node_load_result(const struct fs_node *n)
{
	return n->load_error;
}

/*
 * A ref to the node of INO, read from the clusters if the mount holds none
 * (the loader holds the new node's lock while it reads, so others wait for
 * the record, not a second read). Unlocked on return.
 */
static int node_ref(struct fs *fs, uint64_t ino, struct fs_node **out)
{
	struct fs_node *n;
	int r;

	pthread_mutex_lock(&fs->lock);
	n = *node_slot(fs, ino);
	if (n) {
		bool loaded = n->loaded;
		n->refs++;
		pthread_mutex_unlock(&fs->lock);
		if (!loaded) {
			/* Its loader holds the lock until the record is in. */
			pthread_mutex_lock(&n->lock);
			pthread_mutex_unlock(&n->lock);
			pthread_mutex_lock(&fs->lock);
			r = node_load_result(n);
			if (r < 0) {
				bool last = --n->refs == 0;
				pthread_mutex_unlock(&fs->lock);
				if (last)
					node_free(n);
				return r;
			}
			pthread_mutex_unlock(&fs->lock);
		}
		*out = n;
		return 0;
	}
	n = node_new(ino);
	if (!n) {
		pthread_mutex_unlock(&fs->lock);
		return -ENOMEM;
	}
	pthread_mutex_lock(&n->lock); /* a fresh node: nobody can hold it */
	n->refs = 1;
	node_insert(fs, n);
	pthread_mutex_unlock(&fs->lock);
	count(fs, FS_ST_META_GET);
	r = meta_inode_get(fs->meta, ino, &n->rec, NULL);
	pthread_mutex_lock(&fs->lock);
	if (r < 0) {
		bool last;
		n->load_error = r == -ENOENT ? -ENOENT : -EIO;
		node_unlink_table(fs, n);
		last = --n->refs == 0;
		pthread_mutex_unlock(&fs->lock);
		pthread_mutex_unlock(&n->lock);
		if (last)
			node_free(n);
		return r == -ENOENT ? -ENOENT : -EIO;
	}
	n->loaded = true;
	pthread_mutex_unlock(&fs->lock);
	pthread_mutex_unlock(&n->lock);
	*out = n;
	return 0;
}

/* node_ref, and the node's lock taken. */
static int node_get(struct fs *fs, uint64_t ino, struct fs_node **out)
{
	int r = node_ref(fs, ino, out);

	if (r == 0)
		pthread_mutex_lock(&(*out)->lock);
	return r;
}

static void node_quiesce(struct fs_node *n);
static bool node_has_dirty(struct fs *fs, struct fs_node *n);

/*
 * Ends a thread's use of N, whose lock it holds: unlocks it and drops the
 * ref. The last ref of a node nothing else names removes the inode if its
 * link count is 0 (its object and chunks), keeps it if it still has
 * changes to write (a failed flush: the next try needs them) or the mount
 * may keep it (NODES_RETAIN), and frees it otherwise.
 */
static void node_done(struct fs *fs, struct fs_node *n)
{
	bool removed, pending, drop = false;

	if (!n)
		return;
	removed = !fs->ro && n->loaded && n->rec.nlink == 0;
	pending = n->meta_dirty || n->uploads || node_has_dirty(fs, n);
	pthread_mutex_lock(&fs->lock);
	if (n->refs == 1 && !n->nlookup && !n->opens && n->ino != fs->root && n->in_table) {
		if (removed || (!pending && (fs->ro || fs->nodes_count > NODES_RETAIN))) {
			node_unlink_table(fs, n);
			drop = true;
		}
	}
	if (!drop || !removed) {
		bool last = --n->refs == 0 && !n->in_table;
		pthread_mutex_unlock(&fs->lock);
		pthread_mutex_unlock(&n->lock);
		if (last)
			node_free(n);
		return;
	}
	pthread_mutex_unlock(&fs->lock);
	/* Out of the table with our ref the only one: nobody can reach it. */
	node_quiesce(n);
	for (uint32_t i = 0; i < n->rec.chunk_count; i++)
		fs_chunk_delete(fs->chunks, n->ino, &n->rec.chunks[i]);
	for (size_t i = 0; i < n->old_count; i++)
		fs_chunk_delete(fs->chunks, n->ino, &n->old[i]);
	meta_inode_remove(fs->meta, n->ino, NULL);
	fs_cache_drop_ino(fs->cache, n->ino);
	pthread_mutex_unlock(&n->lock);
	node_free(n);
}

/* Locks N and ends its use (node_done), for a node held by ref only. */
static void node_unref(struct fs *fs, struct fs_node *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	node_done(fs, n);
}

static int node_cmp(const void *a, const void *b)
{
	const struct fs_node *x = *(struct fs_node *const *)a, *y = *(struct fs_node *const *)b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Locks the distinct nodes of V (COUNT, NULLs skipped) in inode order. */
static void nodes_lock(struct fs_node *const *v, unsigned count)
{
	struct fs_node *s[4];
	unsigned k = 0;

	for (unsigned i = 0; i < count && k < 4; i++) {
		bool dup = !v[i];
		for (unsigned j = 0; j < k && !dup; j++)
			dup = s[j] == v[i];
		if (!dup)
			s[k++] = v[i];
	}
	qsort(s, k, sizeof(*s), node_cmp);
	for (unsigned i = 0; i < k; i++)
		pthread_mutex_lock(&s[i]->lock);
}

static void nodes_unlock(struct fs_node *const *v, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		bool dup = !v[i];
		for (unsigned j = 0; j < i && !dup; j++)
			dup = v[j] == v[i];
		if (!dup)
			pthread_mutex_unlock(&v[i]->lock);
	}
}

/*
 * Locks child N while its parent P is locked: at once if it is free, else
 * P is let go and both are taken in inode order. Returns true in that case:
 * what the caller read under P's lock must be checked again.
 */
static bool lock_child(struct fs_node *p, struct fs_node *n)
{
	struct fs_node *v[2] = {p, n};

	if (p == n || pthread_mutex_trylock(&n->lock) == 0)
		return false;
	pthread_mutex_unlock(&p->lock);
	nodes_lock(v, 2);
	return true;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int put_record(struct fs *fs, struct fs_node *n)
{
	int r;

	count(fs, FS_ST_META_PUT);
	r = meta_inode_put(fs->meta, &n->rec, NULL);
	if (r < 0) {
		sc_log_error("inode %016llx: record write failed: %s", (unsigned long long)n->ino,
		             strerror(-r));
		return r == -ENOSPC || r == -EFBIG ? r : -EIO;
	}
	n->meta_dirty = false;
	n->written_ns = mono_ns();
	for (size_t i = 0; i < n->old_count; i++)
		fs_chunk_delete(fs->chunks, n->ino, &n->old[i]);
	free(n->old);
	n->old = NULL;
	n->old_count = 0;
	return 0;
}

/*
 * The name cache: (directory, name) -> inode, for names this mount has read
 * or written. With one writer per file system it is exact, so a lookup,
 * unlink or rename of a known name reads no entry from the clusters. Not
 * used on read-only mounts (another mount may change the tree). Bounded:
 * when full it is emptied. fs.lock guards it; a directory's names change
 * only under that directory's node lock.
 */
struct name_entry {
	uint64_t dir, ino;
	uint8_t type;
	struct name_entry *next;
	char name[];
};

static size_t names_hash(uint64_t dir, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ dir;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return (size_t)(h % NAMES_BUCKETS);
}

/* fs.lock held (or the only thread, at unmount). */
static void names_clear(struct fs *fs)
{
	for (size_t b = 0; fs->names && b < NAMES_BUCKETS; b++) {
		struct name_entry *e = fs->names[b], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
		fs->names[b] = NULL;
	}
	fs->names_count = 0;
	/* No directory's names are all known any more. */
	for (size_t b = 0; fs->table && b < fs->buckets; b++)
		for (struct fs_node *n = fs->table[b]; n; n = n->next) {
			n->names_complete = false;
			n->names_live = 0;
		}
}

/* fs.lock held. */
static int names_get_locked(struct fs *fs, uint64_t dir, const char *name, struct meta_dentry *out)
{
	if (!fs->names)
		return -ENOENT;
	for (struct name_entry *e = fs->names[names_hash(dir, name)]; e; e = e->next) {
		if (e->dir == dir && strcmp(e->name, name) == 0) {
			memset(out, 0, sizeof(*out));
			out->ino = e->ino;
			out->type = e->type;
			out->name_len = (uint16_t)strlen(name);
			memcpy(out->name, name, out->name_len);
			return 0;
		}
	}
	return -ENOENT;
}

/* fs.lock held. */
static void names_drop_locked(struct fs *fs, uint64_t dir, const char *name)
{
	if (!fs->names)
		return;
	for (struct name_entry **p = &fs->names[names_hash(dir, name)]; *p; p = &(*p)->next) {
		if ((*p)->dir == dir && strcmp((*p)->name, name) == 0) {
			struct name_entry *e = *p;
			struct fs_node *d = *node_slot(fs, dir);
			*p = e->next;
			free(e);
			fs->names_count--;
			if (d && d->names_live)
				d->names_live--;
			return;
		}
	}
}

static void names_drop(struct fs *fs, uint64_t dir, const char *name)
{
	pthread_mutex_lock(&fs->lock);
	names_drop_locked(fs, dir, name);
	pthread_mutex_unlock(&fs->lock);
}

/* fs.lock held. */
static void names_put_locked(struct fs *fs, uint64_t dir, const char *name, uint64_t ino,
                             uint8_t type)
{
	size_t len = strlen(name), b;
	struct name_entry *e;

	if (!fs->names)
		return;
	names_drop_locked(fs, dir, name);
	if (fs->names_count >= NAMES_MAX)
		names_clear(fs);
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return;
	e->dir = dir;
	e->ino = ino;
	e->type = type;
	memcpy(e->name, name, len + 1);
	b = names_hash(dir, name);
	e->next = fs->names[b];
	fs->names[b] = e;
	fs->names_count++;
	{
		struct fs_node *d = *node_slot(fs, dir);
		if (d)
			d->names_live++;
	}
}

static void names_put(struct fs *fs, uint64_t dir, const char *name, uint64_t ino, uint8_t type)
{
	pthread_mutex_lock(&fs->lock);
	names_put_locked(fs, dir, name, ino, type);
	pthread_mutex_unlock(&fs->lock);
}

/*
 * An entry from the name cache alone: 0, or -ENOENT when it is not there
 * (ABSENT: and the directory's names are all known, so it does not exist).
 */
static int names_get(struct fs *fs, uint64_t dir, const char *name, struct meta_dentry *out,
                     bool *absent)
{
	int r;

	pthread_mutex_lock(&fs->lock);
	r = names_get_locked(fs, dir, name, out);
	if (absent) {
		struct fs_node *p = *node_slot(fs, dir);
		*absent = r < 0 && p && p->names_complete;
	}
	pthread_mutex_unlock(&fs->lock);
	return r;
}

/*
 * An entry: from the name cache, else from the clusters (and then cached).
 * The directory's node lock is held (its names change only under it).
 */
static int entry_get(struct fs *fs, uint64_t dir, const char *name, struct meta_dentry *out)
{
	int r;

	if (names_get(fs, dir, name, out, NULL) == 0)
		return 0;
	r = meta_dentry_get(fs->meta, dir, name, strlen(name), out, NULL);
	if (r == 0)
		names_put(fs, dir, name, out->ino, out->type);
	return r;
}

/* ---- chunk refs of a record ---- */
static struct meta_chunk_ref *ref_find(struct meta_inode *rec, uint32_t index)
{
	for (uint32_t i = 0; i < rec->chunk_count; i++)
		if (rec->chunks[i].index == index)
			return &rec->chunks[i];
	return NULL;
}

/* True when chunk INDEX of N has bytes somewhere: a ref, the cache, or the record itself. */
static bool chunk_known(struct fs *fs, struct fs_node *n, uint32_t index)
{
	return ref_find(&n->rec, index) || fs_cache_has(fs->cache, n->ino, index) ||
	       (index == 0 && n->rec.inline_len > 0);
}

static int remember_old(struct fs_node *n, const struct meta_chunk_ref *ref)
{
	struct meta_chunk_ref *o = realloc(n->old, (n->old_count + 1) * sizeof(*o));

	if (!o)
		return -ENOMEM;
	n->old = o;
	n->old[n->old_count++] = *ref;
	return 0;
}

/* Points the record at REF, unless it names a newer version of that chunk already. */
static int ref_set(struct fs_node *n, const struct meta_chunk_ref *ref)
{
	struct meta_inode *rec = &n->rec;
	struct meta_chunk_ref *c = ref_find(rec, ref->index);
	uint32_t at = 0;

	if (c) {
		if (c->version > ref->version)
			return remember_old(n, ref);
		remember_old(n, c);
		*c = *ref;
		return 0;
	}
	c = realloc(rec->chunks, (rec->chunk_count + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	rec->chunks = c;
	while (at < rec->chunk_count && rec->chunks[at].index < ref->index)
		at++;
	memmove(&rec->chunks[at + 1], &rec->chunks[at],
	        (rec->chunk_count - at) * sizeof(*rec->chunks));
	rec->chunks[at] = *ref;
	rec->chunk_count++;
	return 0;
}

/* Drops refs (and cached chunks) at or after chunk FIRST. */
static void refs_drop_from(struct fs *fs, struct fs_node *n, uint32_t first)
{
	uint32_t w = 0;

	node_quiesce(n);
	for (uint32_t i = 0; i < n->rec.chunk_count; i++) {
		if (n->rec.chunks[i].index >= first)
			remember_old(n, &n->rec.chunks[i]);
		else
			n->rec.chunks[w++] = n->rec.chunks[i];
	}
	n->rec.chunk_count = w;
	fs_cache_drop_from(fs->cache, n->ino, first);
}

/* ---- data ---- */

static bool cache_wait_uploads(struct fs *fs, struct fs_node *n);

/* Makes chunk INDEX resident, with the content its ref names; *OUT the entry, pinned. */
static int chunk_load(struct fs *fs, struct fs_node *n, uint32_t index, struct fs_centry **out)
{
	struct meta_chunk_ref *ref = ref_find(&n->rec, index);
	struct fs_centry *e = fs_cache_get(fs->cache, n->ino, index);
	void *buf;
	size_t len;
	int r;

	if (e && (e->dirty || !ref || e->version == ref->version)) {
		*out = e;
		return 0;
	}
	if (e)
		fs_cache_drop(fs->cache, e);
	r = fs_cache_add(fs->cache, n->ino, index, &e);
	if (r == -ENOSPC && cache_wait_uploads(fs, n))
		r = fs_cache_add(fs->cache, n->ino, index, &e);
	if (r < 0)
		return r;
	if (!ref && index == 0 && n->rec.inline_len) {
		/* A small file: its bytes are in the inode record. */
		r = sc_write_all(e->fd, n->rec.inline_data, n->rec.inline_len);
		if (r < 0) {
			fs_cache_drop(fs->cache, e);
			return r;
		}
	}
	if (ref) {
		buf = malloc(fs->chunk_size);
		if (!buf) {
			fs_cache_drop(fs->cache, e);
			return -ENOMEM;
		}
		r = fs_chunk_read(fs->chunks, n->ino, ref, buf, &len);
		if (r == 0)
			r = sc_write_all(e->fd, buf, len);
		free(buf);
		if (r < 0) {
			fs_cache_drop(fs->cache, e);
			sc_log_error("inode %016llx chunk %u: read failed: %s",
			             (unsigned long long)n->ino, index, strerror(-r));
			return r == -ENOSPC ? r : -EIO;
		}
		count(fs, FS_ST_CHUNK_DOWN);
		count_n(&fs->bytes_down, len);
		fs_cache_mark(fs->cache, e, false, ref->version);
	}
	*out = e;
	return 0;
}

struct fetch_job {
	struct fs *fs;
	uint64_t ino;
	struct meta_chunk_ref ref;
	void *buf;
	size_t len;
	int r;
};

static void *fetch_one(void *arg)
{
	struct fetch_job *j = arg;

	j->r = fs_chunk_read(j->fs->chunks, j->ino, &j->ref, j->buf, &j->len);
	return NULL;
}

/*
 * Sequential reads: fetches chunks FIRST..FIRST+COUNT-1 of N that are on the
 * clusters but not in the cache, in parallel (one thread each; the store is
 * thread-safe), into the cache. Failures are left to chunk_load, which
 * tries again and reports. N's lock is held.
 */
#define PREFETCH_MAX 4
static void chunks_prefetch(struct fs *fs, struct fs_node *n, uint32_t first, unsigned want)
{
	struct fetch_job jobs[PREFETCH_MAX];
	struct fs_centry *entries[PREFETCH_MAX];
	pthread_t threads[PREFETCH_MAX];
	unsigned k = 0;

	for (uint32_t idx = first; idx < first + want && k < PREFETCH_MAX; idx++) {
		struct meta_chunk_ref *ref = ref_find(&n->rec, idx);
		struct fs_centry *e;
		if (!ref)
			continue;
		e = fs_cache_get(fs->cache, n->ino, idx);
		if (e && (e->dirty || e->version == ref->version)) {
			fs_cache_put(fs->cache, e);
			continue;
		}
		if (e)
			fs_cache_drop(fs->cache, e);
		if (fs_cache_add(fs->cache, n->ino, idx, &entries[k]) < 0)
			break;
		jobs[k] = (struct fetch_job){.fs = fs, .ino = n->ino, .ref = *ref};
		jobs[k].buf = malloc(fs->chunk_size);
		if (!jobs[k].buf) {
			fs_cache_drop(fs->cache, entries[k]);
			break;
		}
		if (pthread_create(&threads[k], NULL, fetch_one, &jobs[k]) != 0) {
			free(jobs[k].buf);
			fs_cache_drop(fs->cache, entries[k]);
			break;
		}
		k++;
	}
	for (unsigned i = 0; i < k; i++) {
		pthread_join(threads[i], NULL);
		if (jobs[i].r == 0 && sc_write_all(entries[i]->fd, jobs[i].buf, jobs[i].len) == 0) {
			fs_cache_mark(fs->cache, entries[i], false, jobs[i].ref.version);
			fs_cache_put(fs->cache, entries[i]);
			count(fs, FS_ST_CHUNK_DOWN);
			count_n(&fs->bytes_down, jobs[i].len);
		} else {
			fs_cache_drop(fs->cache, entries[i]);
		}
		free(jobs[i].buf);
	}
}

/*
 * Uploads. A dirty chunk's bytes are copied out under its node's lock and
 * stored by a thread of its own (at most UPLOADS_MAX in flight for the
 * mount), while the writer goes on; the entry stays dirty (never evicted)
 * until the upload is in and no write changed it since the copy (its
 * generation). The upload then points the record at the new version,
 * under the node's lock. Whoever changes refs or drops entries otherwise
 * (flush, truncate, removal) first waits for the node's uploads
 * (node_quiesce). A failed upload leaves the entry dirty: the flush that
 * follows stores it again or reports the error.
 */
struct upload_job {
	struct fs *fs;
	struct fs_node *n;   /* a ref */
	struct fs_centry *e; /* pinned */
	uint64_t gen, version;
	void *buf;
	size_t len;
};

/* N's lock held: waits until none of N's uploads is in flight. */
static void node_quiesce(struct fs_node *n)
{
	while (n->uploads)
		pthread_cond_wait(&n->done, &n->lock);
}

/* A stored version of E, copied at generation GEN: into the record, and E clean if unchanged. */
static int upload_finish(struct fs *fs, struct fs_node *n, struct fs_centry *e, uint64_t gen,
                         const struct meta_chunk_ref *ref)
{
	int r = ref_set(n, ref);

	if (r < 0)
		return r; /* stays dirty: uploaded again */
	if (e->dirty && e->gen == gen)
		fs_cache_mark(fs->cache, e, false, ref->version);
	n->meta_dirty = true;
	count(fs, FS_ST_CHUNK_UP);
	return 0;
}

static void *upload_run(void *arg)
{
	struct upload_job *j = arg;
	struct fs *fs = j->fs;
	struct meta_chunk_ref ref;
	int r =
	    fs_chunk_write(fs->chunks, j->n->ino, j->e->index, j->version, j->buf, j->len, &ref);

	free(j->buf);
	if (r == 0)
		count_n(&fs->bytes_up, j->len);
	else
		sc_log_error("inode %016llx chunk %u: upload failed: %s",
		             (unsigned long long)j->n->ino, j->e->index, strerror(-r));
	/* The slot first: a writer may wait for it with this node locked. */
	pthread_mutex_lock(&fs->upload_lock);
	fs->uploads--;
	pthread_cond_broadcast(&fs->upload_slot);
	pthread_mutex_unlock(&fs->upload_lock);
	pthread_mutex_lock(&j->n->lock);
	if (r == 0)
		upload_finish(fs, j->n, j->e, j->gen, &ref);
	fs_cache_put(fs->cache, j->e);
	j->n->uploads--;
	pthread_cond_broadcast(&j->n->done);
	node_done(fs, j->n);
	free(j);
	pthread_mutex_lock(&fs->upload_lock);
	fs->upload_threads--;
	pthread_cond_broadcast(&fs->upload_slot);
	pthread_mutex_unlock(&fs->upload_lock);
	return NULL;
}

/*
 * A full cache while N's own uploads are in flight (N locked): they leave
 * clean entries behind, so wait for them; false when there are none. (Not
 * for other nodes' uploads: those need their own node's lock to finish,
 * which a thread waiting here with that lock might hold.)
 */
static bool cache_wait_uploads(struct fs *fs, struct fs_node *n)
{
	(void)fs;
	if (!n->uploads)
		return false;
	node_quiesce(n);
	return true;
}

/* Copies out dirty entry E (pinned) of N; *BUF (free()), *LEN. */
static int chunk_copy(struct fs *fs, struct fs_centry *e, void **buf, size_t *len)
{
	struct stat st;
	ssize_t got;

	if (fstat(e->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > fs->chunk_size)
		return -EIO;
	*buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*buf)
		return -ENOMEM;
	got = pread(e->fd, *buf, (size_t)st.st_size, 0);
	if (got != st.st_size) {
		free(*buf);
		return -EIO;
	}
	*len = (size_t)got;
	return 0;
}

/*
 * Starts the upload of dirty entry E (pinned by the caller, who keeps its
 * pin) of N (locked) in the background; waits for a free slot first.
 * Returns 0 or -errno (nothing started).
 */
static int chunk_upload_start(struct fs *fs, struct fs_node *n, struct fs_centry *e)
{
	struct upload_job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!j)
		return -ENOMEM;
	r = chunk_copy(fs, e, &j->buf, &j->len);
	if (r < 0) {
		free(j);
		return r;
	}
	j->fs = fs;
	j->n = n;
	j->e = e;
	j->gen = e->gen;
	j->version = meta_new_counter(fs->meta);
	pthread_mutex_lock(&fs->upload_lock);
	while (fs->uploads >= UPLOADS_MAX)
		pthread_cond_wait(&fs->upload_slot, &fs->upload_lock);
	fs->uploads++;
	fs->upload_threads++;
	pthread_mutex_unlock(&fs->upload_lock);
	pthread_mutex_lock(&fs->lock);
	n->refs++;
	pthread_mutex_unlock(&fs->lock);
	n->uploads++;
	e->up_gen = e->gen;
	fs_cache_pin(fs->cache, e); /* the job's own; the caller keeps its pin */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, upload_run, j) == 0 ? 0 : -EAGAIN;
	pthread_attr_destroy(&attr);
	if (r < 0) {
		fs_cache_put(fs->cache, e);
		n->uploads--;
		pthread_mutex_lock(&fs->lock);
		n->refs--;
		pthread_mutex_unlock(&fs->lock);
		pthread_mutex_lock(&fs->upload_lock);
		fs->uploads--;
		fs->upload_threads--;
		pthread_cond_broadcast(&fs->upload_slot);
		pthread_mutex_unlock(&fs->upload_lock);
		free(j->buf);
		free(j);
	}
	return r;
}

/* Uploads dirty chunk E (pinned) of N (locked) and waits: the fall back. */
static int chunk_upload(struct fs *fs, struct fs_node *n, struct fs_centry *e)
{
	struct meta_chunk_ref ref;
	uint64_t gen = e->gen;
	void *buf = NULL;
	size_t len = 0;
	int r = chunk_copy(fs, e, &buf, &len);

	if (r < 0)
		return r;
	r = fs_chunk_write(fs->chunks, n->ino, e->index, meta_new_counter(fs->meta), buf, len,
	                   &ref);
	free(buf);
	if (r < 0) {
		sc_log_error("inode %016llx chunk %u: upload failed: %s",
		             (unsigned long long)n->ino, e->index, strerror(-r));
		return -EIO;
	}
	count_n(&fs->bytes_up, len);
	return upload_finish(fs, n, e, gen, &ref);
}

/*
 * Small files live in their inode record (META_INLINE_MAX bytes): a dirty
 * chunk 0 of a file that small becomes the record's inline bytes instead of
 * a store unit, so its close costs one round trip. A file that grew past
 * that gets its inline bytes back as a dirty chunk 0, uploaded as usual.
 * N's lock is held and its uploads are done.
 */
static int node_inline(struct fs *fs, struct fs_node *n)
{
	bool only_chunk0 =
	    n->rec.chunk_count == 0 || (n->rec.chunk_count == 1 && n->rec.chunks[0].index == 0);
	struct fs_centry *e;
	int r = 0;

	if (S_ISREG(n->rec.mode) && n->rec.size <= META_INLINE_MAX && only_chunk0) {
		struct stat st;
		uint8_t *bytes;
		size_t len;
		e = fs_cache_get(fs->cache, n->ino, 0);
		if (!e || !e->dirty)
			goto out;
		if (fstat(e->fd, &st) < 0) {
			r = -errno;
			goto out;
		}
		len = (size_t)st.st_size < n->rec.size ? (size_t)st.st_size : (size_t)n->rec.size;
		bytes = malloc(len ? len : 1);
		if (!bytes) {
			r = -ENOMEM;
			goto out;
		}
		if (pread(e->fd, bytes, len, 0) != (ssize_t)len) {
			free(bytes);
			r = -EIO;
			goto out;
		}
		if (n->rec.chunk_count == 1) {
			remember_old(n, &n->rec.chunks[0]);
			n->rec.chunk_count = 0;
		}
		free(n->rec.inline_data);
		n->rec.inline_data = bytes;
		n->rec.inline_len = (uint32_t)len;
		if (len == 0) {
			free(bytes);
			n->rec.inline_data = NULL;
		}
		fs_cache_mark(fs->cache, e, false, 0);
		n->meta_dirty = true;
		goto out;
	}
	if (!n->rec.inline_len)
		return 0;
	r = chunk_load(fs, n, 0, &e);
	if (r < 0)
		return r;
	fs_cache_mark(fs->cache, e, true, e->version);
	e->gen++;
	free(n->rec.inline_data);
	n->rec.inline_data = NULL;
	n->rec.inline_len = 0;
	n->meta_dirty = true;
out:
	fs_cache_put(fs->cache, e);
	return r;
}

/*
 * Uploads every dirty chunk of N (locked), in parallel, then writes its
 * record if anything changed. The lock is let go while uploads run, so the
 * loop ends only when, with the lock held, nothing is dirty or in flight.
 */
static int node_sync(struct fs *fs, struct fs_node *n)
{
	struct fs_centry *dirty[64];
	size_t ndirty;
	int r;

	if (fs->ro)
		return 0;
	for (;;) {
		node_quiesce(n);
		r = node_inline(fs, n);
		if (r < 0)
			return r;
		ndirty = fs_cache_dirty_of(fs->cache, n->ino, dirty, SC_ARRAY_SIZE(dirty));
		if (ndirty > SC_ARRAY_SIZE(dirty))
			ndirty = SC_ARRAY_SIZE(dirty);
		if (ndirty == 0)
			break;
		for (size_t i = 0; i < ndirty; i++) {
			/* In the background, in parallel; here what failed there already
			 * (still dirty with the bytes it copied) or a lone chunk. */
			struct fs_centry *e = dirty[i];
			if (ndirty == 1 || e->up_gen == e->gen || chunk_upload_start(fs, n, e) < 0)
				r = chunk_upload(fs, n, dirty[i]);
			fs_cache_put(fs->cache, dirty[i]);
			if (r < 0) {
				for (size_t k = i + 1; k < ndirty; k++)
					fs_cache_put(fs->cache, dirty[k]);
				node_quiesce(n);
				return r;
			}
		}
	}
	return n->meta_dirty ? put_record(fs, n) : 0;
}

static bool node_has_dirty(struct fs *fs, struct fs_node *n)
{
	struct fs_centry *e;

	if (fs_cache_dirty_of(fs->cache, n->ino, &e, 1) == 0)
		return false;
	fs_cache_put(fs->cache, e);
	return true;
}

static void fill_attr(const struct fs *fs, const struct fs_node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = to_kernel(fs, n->ino);
	st->st_mode = n->rec.mode;
	st->st_nlink = n->rec.nlink;
	st->st_uid = n->rec.uid;
	st->st_gid = n->rec.gid;
	st->st_size = (off_t)n->rec.size;
	st->st_rdev = n->rec.rdev;
	st->st_blksize = 65536;
	st->st_blocks = (blkcnt_t)0;
	for (uint32_t i = 0; i < n->rec.chunk_count; i++)
		st->st_blocks += (blkcnt_t)((n->rec.chunks[i].data_len + 511) / 512);
	st->st_blocks += (blkcnt_t)((n->rec.inline_len + 511) / 512);
	st->st_atim.tv_sec = n->rec.atime.sec;
	st->st_atim.tv_nsec = n->rec.atime.nsec;
	st->st_mtim.tv_sec = n->rec.mtime.sec;
	st->st_mtim.tv_nsec = n->rec.mtime.nsec;
	st->st_ctim.tv_sec = n->rec.ctime.sec;
	st->st_ctim.tv_nsec = n->rec.ctime.nsec;
}

static void stats_attr(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = FS_STATS_INO;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = 0;
}

/* N locked: its entry to the kernel, counted as a lookup. */
static void reply_entry_node(fuse_req_t req, struct fs *fs, struct fs_node *n)
{
	struct fuse_entry_param e = {0};

	e.ino = to_kernel(fs, n->ino);
	e.attr_timeout = 1.0;
	e.entry_timeout = 1.0;
	fill_attr(fs, n, &e.attr);
	pthread_mutex_lock(&fs->lock);
	n->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_entry(req, &e);
}

static int errno_of(struct fs *fs, int r)
{
	if (r < 0)
		count(fs, FS_ST_ERRORS);
	return r == -ETIMEDOUT || r == -EHOSTUNREACH ? EIO : -r;
}

/* ---- operations ---- */
static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* 1 MiB requests (libfuse's buffer holds that much): an eighth of the
	 * requests of the 128 KiB default for sequential I/O. */
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	/* The kernel enforces ACLs and keeps them in step with the mode; new
	 * inodes get the umask or the parent's default ACL here (make_node). */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	uint64_t dir = from_kernel(fs, parent);
	struct meta_dentry d;
	struct fs_node *n = NULL;
	bool absent = false;
	int r;

	count(fs, FS_ST_LOOKUP);
	if (dir == fs->root && strcmp(name, FS_STATS_NAME) == 0) {
		struct fuse_entry_param e = {.ino = FS_STATS_INO};
		stats_attr(&e.attr);
		fuse_reply_entry(req, &e);
		return;
	}
	if (strlen(name) > META_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	r = names_get(fs, dir, name, &d, &absent);
	if (r < 0 && !absent) {
		/* To the clusters, under the directory's lock: its names change only under it. */
		struct fs_node *p;
		r = node_get(fs, dir, &p);
		if (r == 0) {
			r = entry_get(fs, dir, name, &d);
			node_done(fs, p);
		}
	}
	if (r == 0)
		r = node_get(fs, d.ino, &n);
	if (r < 0) {
		int e = errno_of(fs, r);
		if (e == ENOENT) {
			/* A negative entry the kernel may cache for a second. */
			struct fuse_entry_param ne = {.ino = 0, .entry_timeout = 1.0};
			fuse_reply_entry(req, &ne);
		} else {
			fuse_reply_err(req, e);
		}
		return;
	}
	reply_entry_node(req, fs, n);
	node_done(fs, n);
}

static void forget_one(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_node *n;
	bool idle;

	if (ino == FS_STATS_INO)
		return;
	pthread_mutex_lock(&fs->lock);
	n = *node_slot(fs, from_kernel(fs, ino));
	if (!n) {
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
	idle = !node_in_use(fs, n);
	if (idle)
		n->refs++; /* node_done decides, under the node's lock */
	pthread_mutex_unlock(&fs->lock);
	if (idle)
		node_unref(fs, n);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(FS(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		forget_one(FS(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	struct stat st;
	int r;

	(void)fi;
	if (ino == FS_STATS_INO) {
		stats_attr(&st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
	count(fs, FS_ST_GETATTR);
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	fill_attr(fs, n, &st);
	node_done(fs, n);
	fuse_reply_attr(req, &st, 1.0);
}

/* Changes the size of N: drops chunks past it, cuts the one it ends in. */
static int node_truncate(struct fs *fs, struct fs_node *n, uint64_t size)
{
	uint32_t keep = (uint32_t)((size + fs->chunk_size - 1) / fs->chunk_size);
	uint64_t in_last = size % fs->chunk_size;
	int r;

	node_quiesce(n);
	if (size < n->rec.size) {
		if (in_last) {
			struct fs_centry *e;
			uint32_t last = (uint32_t)(size / fs->chunk_size);
			if (chunk_known(fs, n, last)) {
				r = chunk_load(fs, n, last, &e);
				if (r < 0)
					return r;
				r = ftruncate(e->fd, (off_t)in_last) < 0 ? -errno : 0;
				if (r == 0) {
					fs_cache_mark(fs->cache, e, true, e->version);
					e->gen++;
				}
				fs_cache_put(fs->cache, e);
				if (r < 0)
					return r;
			}
		}
		refs_drop_from(fs, n, keep);
		if (n->rec.inline_len > size) {
			n->rec.inline_len = (uint32_t)size;
			if (size == 0) {
				free(n->rec.inline_data);
				n->rec.inline_data = NULL;
			}
		}
	}
	n->rec.size = size;
	n->meta_dirty = true;
	return 0;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct meta_time now = now_time();
	struct fs_node *n = NULL;
	struct stat st;
	int r;

	(void)fi;
	if (ino == FS_STATS_INO) {
		fuse_reply_err(req, EPERM);
		return;
	}
	count(fs, FS_ST_SETATTR);
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0)
		goto out;
	if (to_set & FUSE_SET_ATTR_MODE) {
		n->rec.mode = (n->rec.mode & S_IFMT) | (attr->st_mode & 07777);
		/* The kernel leaves keeping an access ACL in step with chmod to us. */
		for (uint32_t i = 0; i < n->rec.xattr_count; i++)
			if (strcmp(n->rec.xattrs[i].name, FS_ACL_ACCESS) == 0)
				fs_acl_chmod(n->rec.xattrs[i].value, n->rec.xattrs[i].value_len,
				             n->rec.mode);
	}
	if (to_set & FUSE_SET_ATTR_UID)
		n->rec.uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		n->rec.gid = attr->st_gid;
	if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) && !(to_set & FUSE_SET_ATTR_MODE) &&
	    !S_ISDIR(n->rec.mode))
		n->rec.mode &= ~(uint32_t)(S_ISUID | ((n->rec.mode & S_IXGRP) ? S_ISGID : 0));
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (!S_ISREG(n->rec.mode)) {
			r = S_ISDIR(n->rec.mode) ? -EISDIR : -EINVAL;
			goto out;
		}
		r = node_truncate(fs, n, (uint64_t)attr->st_size);
		if (r < 0)
			goto out;
		n->rec.mtime = now;
	}
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		n->rec.atime = now;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		n->rec.atime =
		    (struct meta_time){attr->st_atim.tv_sec, (uint32_t)attr->st_atim.tv_nsec};
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		n->rec.mtime = now;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		n->rec.mtime =
		    (struct meta_time){attr->st_mtim.tv_sec, (uint32_t)attr->st_mtim.tv_nsec};
	n->rec.ctime = now;
	n->meta_dirty = true;
	r = node_sync(fs, n);
out:
	if (r == 0)
		fill_attr(fs, n, &st);
	node_done(fs, n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	fuse_reply_attr(req, &st, 1.0);
}

static uint8_t dtype_of(uint32_t mode)
{
	return (uint8_t)((mode & S_IFMT) >> 12);
}

static const struct meta_xattr *xattr_find(const struct meta_inode *rec, const char *name)
{
	for (uint32_t i = 0; i < rec->xattr_count; i++)
		if (strcmp(rec->xattrs[i].name, name) == 0)
			return &rec->xattrs[i];
	return NULL;
}

static int xattr_add(struct meta_inode *rec, const char *name, const void *value, size_t len)
{
	struct meta_xattr *x = realloc(rec->xattrs, (rec->xattr_count + 1) * sizeof(*x));

	if (!x)
		return -ENOMEM;
	rec->xattrs = x;
	x = &x[rec->xattr_count];
	x->name = strdup(name);
	x->value = len ? malloc(len) : NULL;
	x->value_len = (uint32_t)len;
	if (!x->name || (len && !x->value)) {
		free(x->name);
		free(x->value);
		return -ENOMEM;
	}
	if (len)
		memcpy(x->value, value, len);
	rec->xattr_count++;
	return 0;
}

/*
 * A new inode's permission bits and ACLs: the parent's default ACL if it has
 * one (and directories inherit that default), else the caller's umask.
 * Symlinks keep 0777.
 */
static int inherit_acl(struct fs_node *p, struct fs_node *n, uint32_t *mode, mode_t umask)
{
	const struct meta_xattr *def = xattr_find(&p->rec, FS_ACL_DEFAULT);
	mode_t m = *mode;
	void *acl;
	size_t len;
	int r;

	if (S_ISLNK(m))
		return 0;
	if (!def) {
		*mode = (uint32_t)(m & ~(umask & 0777));
		return 0;
	}
	r = fs_acl_inherit(def->value, def->value_len, &m, &acl, &len);
	if (r < 0)
		return r == -EINVAL ? 0 : r; /* a malformed default ACL: the mode alone */
	*mode = (uint32_t)m;
	if (acl) {
		r = xattr_add(&n->rec, FS_ACL_ACCESS, acl, len);
		free(acl);
		if (r < 0)
			return r;
	}
	if (S_ISDIR(m))
		return xattr_add(&n->rec, FS_ACL_DEFAULT, def->value, def->value_len);
	return 0;
}

/*
 * A directory's record when a file is made or removed in it: only its
 * times change, and they go to the clusters with the next change of the
 * directory that must (a link count, its own attributes), fsyncdir, the
 * unmount, or at the latest with the first entry change PARENT_LAG_NS
 * after the last write; in memory (what stat shows) they are current. A
 * link count change (DIR_LINKS) is written at once. Saves a register write
 * per file made or removed; a crash may lose up to that lag of a
 * directory's mtime, never an entry or a link count.
 */
#define PARENT_LAG_NS 1000000000ull
static bool parent_due(const struct fs_node *p, bool dir_links)
{
	return dir_links || !p->written_ns || mono_ns() - p->written_ns >= PARENT_LAG_NS;
}

/* After an entry change of P: its record was written with it (WRITTEN), or is now pending. */
static void parent_written(struct fs_node *p, bool written)
{
	if (written) {
		p->meta_dirty = false;
		p->written_ns = mono_ns();
	} else {
		p->meta_dirty = true;
	}
}

/* make_node with the parent P locked. */
static int make_node_in(fuse_req_t req, struct fs *fs, struct fs_node *p, const char *name,
                        uint32_t mode, dev_t rdev, const char *target, struct fs_node **out)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct meta_time now = now_time();
	struct meta_dentry d = {0};
	struct fs_node *n;
	size_t len = strlen(name);
	bool with_parent;
	int r;

	if (!S_ISDIR(p->rec.mode))
		return -ENOTDIR;
	if (p->rec.nlink == 0)
		return -ENOENT;
	if (p->ino == fs->root && strcmp(name, FS_STATS_NAME) == 0)
		return -EEXIST;
	/*
	 * No read of the entry first: the kernel calls create, mkdir, mknod
	 * and symlink only after our lookup said the name is absent, and with
	 * one writer per file system nothing else can add it in between.
	 * (Several writers will need the entry write itself to be
	 * create-only.)
	 */
	n = node_new(meta_new_ino());
	if (!n)
		return -ENOMEM;
	r = inherit_acl(p, n, &mode, ctx->umask);
	if (r < 0) {
		node_free(n);
		return r;
	}
	n->rec.ino = n->ino;
	n->rec.mode = mode;
	n->rec.uid = ctx->uid;
	n->rec.gid = (p->rec.mode & S_ISGID) ? p->rec.gid : ctx->gid;
	if (S_ISDIR(mode) && (p->rec.mode & S_ISGID))
		n->rec.mode |= S_ISGID;
	n->rec.nlink = S_ISDIR(mode) ? 2 : 1;
	n->rec.rdev = rdev;
	n->rec.parent = S_ISDIR(mode) ? p->ino : 0;
	n->rec.atime = n->rec.mtime = n->rec.ctime = now;
	n->rec.chunk_size = fs->chunk_size;
	if (target) {
		n->rec.symlink = strdup(target);
		n->rec.size = strlen(target);
		if (!n->rec.symlink) {
			node_free(n);
			return -ENOMEM;
		}
	}
	d.type = dtype_of(mode);
	d.ino = n->ino;
	d.name_len = (uint16_t)len;
	memcpy(d.name, name, len);
	/* The new inode, its entry and (parent_due) the parent's record, in one round. */
	p->rec.mtime = p->rec.ctime = now;
	if (S_ISDIR(mode))
		p->rec.nlink++;
	with_parent = parent_due(p, S_ISDIR(mode));
	{
		const struct meta_inode *recs[2] = {&n->rec, &p->rec};
		count_n(&fs->stats[FS_ST_META_PUT], with_parent ? 3 : 2);
		r = meta_put_parallel(fs->meta, recs, with_parent ? 2 : 1, p->ino, &d, NULL);
	}
	if (r < 0) {
		/* The parent's record on the clusters may be either; ours says what we tried. */
		p->meta_dirty = true;
		if (S_ISDIR(mode))
			p->rec.nlink--;
		d.deleted = true;
		meta_dentry_put(fs->meta, p->ino, &d, NULL);
		meta_inode_remove(fs->meta, n->ino, NULL);
		node_free(n);
		return r;
	}
	parent_written(p, with_parent);
	/* Published locked, with our ref: the caller ends its use. */
	pthread_mutex_lock(&n->lock);
	n->refs = 1;
	n->loaded = true;
	pthread_mutex_lock(&fs->lock);
	node_insert(fs, n);
	names_put_locked(fs, p->ino, name, n->ino, d.type);
	n->names_complete = S_ISDIR(mode) && fs->names != NULL;
	pthread_mutex_unlock(&fs->lock);
	*out = n;
	return 0;
}

/*
 * mknod, mkdir, symlink and create: a new inode named NAME in PARENT.
 * *OUT: the new node, locked, with a ref (end it with node_done).
 */
static int make_node(fuse_req_t req, struct fs *fs, fuse_ino_t parent, const char *name,
                     uint32_t mode, dev_t rdev, const char *target, struct fs_node **out)
{
	struct fs_node *p;
	int r;

	*out = NULL;
	if (fs->ro)
		return -EROFS;
	if (strlen(name) > META_NAME_MAX)
		return -ENAMETOOLONG;
	if (target && strlen(target) > META_SYMLINK_MAX)
		return -ENAMETOOLONG;
	r = node_get(fs, from_kernel(fs, parent), &p);
	if (r < 0)
		return r;
	r = make_node_in(req, fs, p, name, mode, rdev, target, out);
	node_done(fs, p);
	return r;
}

/* Replies to an operation that made or linked N (locked, or NULL on error) and ends its use. */
static void reply_made(fuse_req_t req, struct fs *fs, int r, struct fs_node *n)
{
	if (r < 0) {
		node_done(fs, n);
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	reply_entry_node(req, fs, n);
	node_done(fs, n);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	int r;

	count(fs, FS_ST_MKNOD);
	r = make_node(req, fs, parent, name, mode, rdev, NULL, &n);
	reply_made(req, fs, r, n);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	int r;

	count(fs, FS_ST_MKDIR);
	r = make_node(req, fs, parent, name, S_IFDIR | (mode & 07777), 0, NULL, &n);
	reply_made(req, fs, r, n);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	int r;

	count(fs, FS_ST_SYMLINK);
	r = make_node(req, fs, parent, name, S_IFLNK | 0777, 0, link, &n);
	reply_made(req, fs, r, n);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fuse_entry_param e = {0};
	struct fs_node *n = NULL;
	int r;

	count(fs, FS_ST_CREATE);
	r = make_node(req, fs, parent, name, S_IFREG | (mode & 07777), 0, NULL, &n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	e.ino = to_kernel(fs, n->ino);
	e.attr_timeout = e.entry_timeout = 1.0;
	fill_attr(fs, n, &e.attr);
	pthread_mutex_lock(&fs->lock);
	n->nlookup++;
	n->opens++;
	pthread_mutex_unlock(&fs->lock);
	fi->keep_cache = 1;
	node_done(fs, n);
	fuse_reply_create(req, &e, fi);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	char *target = NULL;
	int r;

	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	if (!S_ISLNK(n->rec.mode) || !n->rec.symlink)
		r = -EINVAL;
	else if (!(target = strdup(n->rec.symlink)))
		r = -ENOMEM;
	node_done(fs, n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	fuse_reply_readlink(req, target);
	free(target);
}

static unsigned node_opens(struct fs *fs, const struct fs_node *n)
{
	unsigned o;

	pthread_mutex_lock(&fs->lock);
	o = n->opens;
	pthread_mutex_unlock(&fs->lock);
	return o;
}

/*
 * Removes NAME from P (a tombstone), drops a link of N and updates P, in one
 * round. N's record is written only while something still refers to it.
 * Both are locked.
 */
static int remove_name(struct fs *fs, struct fs_node *p, const char *name, struct fs_node *n,
                       int dir_links)
{
	struct meta_dentry tomb = {.deleted = true};
	const struct meta_inode *recs[2];
	unsigned k = 0;
	bool with_parent;
	int r;

	tomb.name_len = (uint16_t)strlen(name);
	memcpy(tomb.name, name, tomb.name_len);
	if (S_ISDIR(n->rec.mode))
		n->rec.nlink = 0;
	else if (n->rec.nlink > 0)
		n->rec.nlink--;
	n->rec.ctime = now_time();
	n->meta_dirty = true;
	p->rec.mtime = p->rec.ctime = n->rec.ctime;
	p->rec.nlink = (uint32_t)((int)p->rec.nlink + dir_links);
	with_parent = parent_due(p, dir_links != 0);
	if (n->rec.nlink > 0 || node_opens(fs, n) > 0)
		recs[k++] = &n->rec;
	if (with_parent)
		recs[k++] = &p->rec;
	count_n(&fs->stats[FS_ST_META_PUT], k + 1);
	names_drop(fs, p->ino, name);
	r = meta_put_parallel(fs->meta, recs, k, p->ino, &tomb, NULL);
	if (r < 0) {
		p->meta_dirty = true;
		return r;
	}
	parent_written(p, with_parent);
	if (k > (with_parent ? 1u : 0u))
		n->meta_dirty = false;
	return 0;
}

/*
 * With directory P locked: the node NAME names, locked too, with a ref
 * (lock_child; checked again if P was let go meanwhile).
 */
static int child_get(struct fs *fs, struct fs_node *p, const char *name, struct meta_dentry *d,
                     struct fs_node **out)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		struct meta_dentry again;
		struct fs_node *n;
		int r = entry_get(fs, p->ino, name, d);
		if (r < 0)
			return r;
		r = node_ref(fs, d->ino, &n);
		if (r < 0)
			return r;
		if (n == p) { /* "." is never asked for; a loop in the tree */
			pthread_mutex_lock(&fs->lock);
			n->refs--;
			pthread_mutex_unlock(&fs->lock);
			return -EIO;
		}
		if (!lock_child(p, n)) {
			*out = n;
			return 0;
		}
		r = entry_get(fs, p->ino, name, &again);
		if (r == 0 && again.ino == d->ino) {
			*out = n;
			return 0;
		}
		node_done(fs, n);
		if (r < 0)
			return r;
	}
	return -EIO;
}

/* Whether directory N (locked) has a live entry: from the name cache when it knows them all. */
static int dir_nonempty(struct fs *fs, struct fs_node *n, bool *nonempty)
{
	bool known;

	pthread_mutex_lock(&fs->lock);
	known = n->names_complete;
	*nonempty = n->names_live > 0;
	pthread_mutex_unlock(&fs->lock);
	if (known)
		return 0;
	return meta_dir_nonempty(fs->meta, n->ino, nonempty, NULL);
}

static void op_unlink_or_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct fs *fs = FS(req);
	struct meta_dentry d;
	struct fs_node *p = NULL, *n = NULL;
	int r;

	count(fs, dir ? FS_ST_RMDIR : FS_ST_UNLINK);
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, parent), &p);
	if (r == 0 && strlen(name) > META_NAME_MAX)
		r = -ENAMETOOLONG;
	if (r == 0 && p->ino == fs->root && strcmp(name, FS_STATS_NAME) == 0)
		r = -EPERM;
	if (r == 0)
		r = child_get(fs, p, name, &d, &n);
	if (r == 0 && dir && !S_ISDIR(n->rec.mode))
		r = -ENOTDIR;
	if (r == 0 && !dir && S_ISDIR(n->rec.mode))
		r = -EISDIR;
	if (r == 0 && dir) {
		bool nonempty;
		r = dir_nonempty(fs, n, &nonempty);
		if (r == 0 && nonempty)
			r = -ENOTEMPTY;
	}
	if (r == 0)
		r = remove_name(fs, p, name, n, dir ? -1 : 0);
	if (n && n != p)
		node_done(fs, n);
	if (p)
		node_done(fs, p);
	fuse_reply_err(req, errno_of(fs, r));
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_unlink_or_rmdir(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_unlink_or_rmdir(req, parent, name, true);
}

/*
 * True when directory ANC is DIR or one of its ancestors. Under
 * fs.rename_lock (parent fields change only under it), holding no node
 * lock: each ancestor is locked only to read its parent.
 */
static int is_ancestor(struct fs *fs, uint64_t anc, uint64_t dir, bool *out)
{
	*out = false;
	for (int depth = 0; depth < 4096; depth++) {
		struct fs_node *n;
		int r;
		if (dir == anc) {
			*out = true;
			return 0;
		}
		if (dir == fs->root)
			return 0;
		r = node_get(fs, dir, &n);
		if (r < 0)
			return r;
		dir = n->rec.parent;
		node_done(fs, n);
	}
	return -ELOOP;
}

/* entry_get, answering "absent" at once in a directory whose names are all known. */
static int entry_get_in(struct fs *fs, uint64_t dir, const char *name, struct meta_dentry *out)
{
	bool absent = false;

	if (names_get(fs, dir, name, out, &absent) == 0)
		return 0;
	return absent ? -ENOENT : entry_get(fs, dir, name, out);
}

/* The entry NAME of P (a ref), read under P's lock; *N a ref to its node (NULL if absent). */
static int rename_side(struct fs *fs, struct fs_node *p, const char *name, struct meta_dentry *d,
                       struct fs_node **n)
{
	int r;

	*n = NULL;
	pthread_mutex_lock(&p->lock);
	r = S_ISDIR(p->rec.mode) ? entry_get_in(fs, p->ino, name, d) : -ENOTDIR;
	pthread_mutex_unlock(&p->lock);
	if (r == 0)
		r = node_ref(fs, d->ino, n);
	return r;
}

static bool node_is_dir(struct fs_node *n)
{
	bool dir;

	pthread_mutex_lock(&n->lock);
	dir = S_ISDIR(n->rec.mode);
	pthread_mutex_unlock(&n->lock);
	return dir;
}

/*
 * The rename itself, every node locked. Two rounds: first the new entry
 * alone; then, in parallel, the old name's tombstone (RENAME_EXCHANGE: the
 * other inode's entry there) with the records of the renamed inode (ctime,
 * its parent field when a directory moves), the replaced one (a link
 * fewer) and both parents. A crash between them leaves the renamed inode
 * under both names, never under none, and a replaced inode without its
 * name but with its link count (an orphan for gc, never a name whose
 * inode is gone); with RENAME_EXCHANGE it leaves the second inode without
 * a name. Within a round any subset may land.
 */
static int rename_locked(struct fs *fs, struct fs_node *sp, const char *name, struct fs_node *tp,
                         const char *newname, struct fs_node *s, struct fs_node *t, unsigned flags)
{
	const struct meta_inode *recs[META_PARALLEL_MAX];
	struct meta_dentry nd = {0}, tomb = {.deleted = true};
	struct meta_time now = now_time();
	unsigned k = 0;
	bool sdir = S_ISDIR(s->rec.mode), tdir = t && S_ISDIR(t->rec.mode);
	int r;

	if (t && !(flags & RENAME_EXCHANGE)) {
		if (sdir && !tdir)
			return -ENOTDIR;
		if (!sdir && tdir)
			return -EISDIR;
		if (tdir) {
			bool nonempty;
			if ((r = dir_nonempty(fs, t, &nonempty)) < 0)
				return r;
			if (nonempty)
				return -ENOTEMPTY;
		}
	}
	/* Dropped first: if a write fails, the next lookup reads the clusters. */
	names_drop(fs, tp->ino, newname);
	names_drop(fs, sp->ino, name);
	nd.type = dtype_of(s->rec.mode);
	nd.ino = s->ino;
	nd.name_len = (uint16_t)strlen(newname);
	memcpy(nd.name, newname, nd.name_len);
	count(fs, FS_ST_META_PUT);
	if ((r = meta_put_parallel(fs->meta, NULL, 0, tp->ino, &nd, NULL)) < 0)
		return r;
	names_put(fs, tp->ino, newname, s->ino, nd.type);
	if (sdir && sp != tp) {
		s->rec.parent = tp->ino;
		if (!(flags & RENAME_EXCHANGE) || !tdir) {
			sp->rec.nlink--;
			tp->rec.nlink++;
		}
	}
	if ((flags & RENAME_EXCHANGE) && tdir && !sdir && sp != tp) {
		sp->rec.nlink++;
		tp->rec.nlink--;
	}
	s->rec.ctime = now;
	s->meta_dirty = true;
	recs[k++] = &s->rec;
	if (t) {
		if (flags & RENAME_EXCHANGE) {
			if (tdir && sp != tp)
				t->rec.parent = sp->ino;
		} else if (tdir) {
			t->rec.nlink = 0;
			tp->rec.nlink--;
		} else if (t->rec.nlink) {
			t->rec.nlink--;
		}
		t->rec.ctime = now;
		t->meta_dirty = true;
		if (t->rec.nlink || node_opens(fs, t))
			recs[k++] = &t->rec;
	}
	sp->rec.mtime = sp->rec.ctime = now;
	tp->rec.mtime = tp->rec.ctime = now;
	sp->meta_dirty = tp->meta_dirty = true;
	recs[k++] = &sp->rec;
	if (tp != sp)
		recs[k++] = &tp->rec;
	if (flags & RENAME_EXCHANGE) {
		nd.type = dtype_of(t->rec.mode);
		nd.ino = t->ino;
		nd.name_len = (uint16_t)strlen(name);
		memcpy(nd.name, name, nd.name_len);
	} else {
		tomb.name_len = (uint16_t)strlen(name);
		memcpy(tomb.name, name, tomb.name_len);
	}
	count_n(&fs->stats[FS_ST_META_PUT], k + 1);
	r = meta_put_parallel(fs->meta, recs, k, sp->ino, (flags & RENAME_EXCHANGE) ? &nd : &tomb,
	                      NULL);
	if (r < 0)
		return r;
	s->meta_dirty = false;
	parent_written(sp, true);
	parent_written(tp, true);
	if (t && recs[1] == &t->rec)
		t->meta_dirty = false;
	if (flags & RENAME_EXCHANGE)
		names_put(fs, sp->ino, name, t->ino, nd.type);
	return 0;
}

static int do_rename(struct fs *fs, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                     const char *newname, unsigned flags)
{
	struct meta_dentry sd, td;
	struct fs_node *sp = NULL, *tp = NULL, *s = NULL, *t = NULL;
	bool loop;
	int r;

	if (fs->ro)
		return -EROFS;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (strlen(name) > META_NAME_MAX || strlen(newname) > META_NAME_MAX)
		return -ENAMETOOLONG;
	if ((r = node_ref(fs, from_kernel(fs, parent), &sp)) < 0)
		return r;
	if ((r = node_ref(fs, from_kernel(fs, newparent), &tp)) < 0)
		goto out;
	for (int attempt = 0;; attempt++) {
		struct fs_node *v[4];
		struct meta_dentry again;
		bool same;
		if (attempt == 16) {
			r = -EIO;
			goto out;
		}
		if ((r = rename_side(fs, sp, name, &sd, &s)) < 0)
			goto out;
		r = rename_side(fs, tp, newname, &td, &t);
		if (r < 0 && r != -ENOENT)
			goto out;
		r = 0;
		if (t == s)
			goto out; /* the same inode: POSIX says do nothing */
		if ((flags & RENAME_NOREPLACE) && t) {
			r = -EEXIST;
			goto out;
		}
		if ((flags & RENAME_EXCHANGE) && !t) {
			r = -ENOENT;
			goto out;
		}
		if (sp != tp && node_is_dir(s)) {
			if ((r = is_ancestor(fs, s->ino, tp->ino, &loop)) < 0)
				goto out;
			if (loop) {
				r = -EINVAL;
				goto out;
			}
		}
		if ((flags & RENAME_EXCHANGE) && sp != tp && node_is_dir(t)) {
			if ((r = is_ancestor(fs, t->ino, sp->ino, &loop)) < 0)
				goto out;
			if (loop) {
				r = -EINVAL;
				goto out;
			}
		}
		v[0] = sp, v[1] = tp, v[2] = s, v[3] = t;
		nodes_lock(v, 4);
		/* Nothing changed while no lock was held? */
		same = entry_get(fs, sp->ino, name, &again) == 0 && again.ino == s->ino;
		if (same) {
			int tr = entry_get_in(fs, tp->ino, newname, &again);
			same = t ? tr == 0 && again.ino == t->ino : tr == -ENOENT;
		}
		if (same) {
			r = rename_locked(fs, sp, name, tp, newname, s, t, flags);
			nodes_unlock(v, 4);
			goto out;
		}
		nodes_unlock(v, 4);
		node_unref(fs, s);
		node_unref(fs, t);
		s = t = NULL;
	}
out:
	node_unref(fs, t);
	node_unref(fs, s);
	if (tp != sp)
		node_unref(fs, tp);
	node_unref(fs, sp);
	return r;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
	struct fs *fs = FS(req);
	int r;

	count(fs, FS_ST_RENAME);
	pthread_mutex_lock(&fs->rename_lock);
	r = do_rename(fs, parent, name, newparent, newname, flags);
	pthread_mutex_unlock(&fs->rename_lock);
	fuse_reply_err(req, errno_of(fs, r));
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fs *fs = FS(req);
	struct meta_dentry d = {0};
	struct fs_node *n = NULL, *p = NULL, *v[2];
	int r;

	count(fs, FS_ST_LINK);
	r = fs->ro ? -EROFS : node_ref(fs, from_kernel(fs, ino), &n);
	if (r == 0)
		r = node_ref(fs, from_kernel(fs, newparent), &p);
	if (r < 0) {
		node_unref(fs, n);
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	if (n == p) { /* a directory linked into itself: the kernel refuses it first */
		node_unref(fs, p);
		node_unref(fs, n);
		fuse_reply_err(req, EPERM);
		return;
	}
	v[0] = n, v[1] = p;
	nodes_lock(v, 2);
	if (S_ISDIR(n->rec.mode))
		r = -EPERM;
	else if (strlen(newname) > META_NAME_MAX)
		r = -ENAMETOOLONG;
	else if (!S_ISDIR(p->rec.mode))
		r = -ENOTDIR;
	if (r == 0) {
		r = entry_get_in(fs, p->ino, newname, &d);
		r = r == 0 ? -EEXIST : r == -ENOENT ? 0 : r;
	}
	if (r == 0) {
		/*
		 * The link count first, then the entry and the parent's times in
		 * one round: a crash between them leaves a count one too high
		 * (gc's), never a name more than the count (an unlink of the other
		 * name would remove the inode under it).
		 */
		const struct meta_inode *recs[1] = {&p->rec};
		struct meta_time now = now_time();
		n->rec.nlink++;
		n->rec.ctime = now;
		r = put_record(fs, n);
		if (r < 0)
			n->rec.nlink--;
		if (r == 0) {
			p->rec.mtime = p->rec.ctime = now;
			d.type = dtype_of(n->rec.mode);
			d.ino = n->ino;
			d.name_len = (uint16_t)strlen(newname);
			memcpy(d.name, newname, d.name_len);
			count_n(&fs->stats[FS_ST_META_PUT], 2);
			r = meta_put_parallel(fs->meta, recs, 1, p->ino, &d, NULL);
			p->meta_dirty = r < 0;
			if (r == 0)
				names_put(fs, p->ino, newname, n->ino, d.type);
		}
	}
	pthread_mutex_unlock(&p->lock);
	node_unref(fs, p);
	reply_made(req, fs, r, n);
}

static int stats_text(struct fs *fs, char **out, size_t *len)
{
	static const char *const names[FS_ST_COUNT] = {
	    "lookup",  "getattr",      "setattr",        "create",   "mkdir",    "mknod",
	    "symlink", "link",         "unlink",         "rmdir",    "rename",   "open",
	    "read",    "write",        "flush",          "fsync",    "readdir",  "xattr",
	    "statfs",  "chunk_upload", "chunk_download", "meta_put", "meta_get", "errors"};
	size_t cap = 4096, l = 0;
	char *b = malloc(cap);
	uint64_t used, dirty, limit;

	if (!b)
		return -ENOMEM;
	l += (size_t)snprintf(b + l, cap - l, "# rados-scfs %s: operation counts\n", fs->name);
	for (int i = 0; i < FS_ST_COUNT; i++)
		l += (size_t)snprintf(b + l, cap - l, "%s %llu\n", names[i],
		                      (unsigned long long)fs->stats[i]);
	fs_cache_usage(fs->cache, &used, &dirty, &limit);
	l += (size_t)snprintf(
	    b + l, cap - l,
	    "bytes_read %llu\nbytes_written %llu\nbytes_uploaded %llu\n"
	    "bytes_downloaded %llu\ncache_used %llu\ncache_dirty %llu\n"
	    "cache_limit %llu\n",
	    (unsigned long long)fs->bytes_read, (unsigned long long)fs->bytes_written,
	    (unsigned long long)fs->bytes_up, (unsigned long long)fs->bytes_down,
	    (unsigned long long)used, (unsigned long long)dirty, (unsigned long long)limit);
	*out = b;
	*len = l < cap ? l : cap - 1;
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	int r;

	if (ino == FS_STATS_INO) {
		char *text;
		size_t len;
		r = stats_text(fs, &text, &len);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		fi->fh = (uint64_t)(uintptr_t)text;
		fi->direct_io = 1;
		fuse_reply_open(req, fi);
		return;
	}
	count(fs, FS_ST_OPEN);
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	if (fs->ro && (fi->flags & O_ACCMODE) != O_RDONLY)
		r = -EROFS;
	/* FUSE_CAP_ATOMIC_O_TRUNC: the kernel sends O_TRUNC here, not as a setattr. */
	if (r == 0 && (fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY &&
	    n->rec.size > 0) {
		r = node_truncate(fs, n, 0);
		if (r == 0) {
			n->rec.mtime = n->rec.ctime = now_time();
			r = node_sync(fs, n);
		}
	}
	if (r == 0) {
		pthread_mutex_lock(&fs->lock);
		n->opens++;
		pthread_mutex_unlock(&fs->lock);
	}
	node_done(fs, n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	fi->keep_cache = fs->ro ? 0 : 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	char *buf = NULL;
	size_t done = 0;
	int r;

	if (ino == FS_STATS_INO) {
		const char *text = (const char *)(uintptr_t)fi->fh;
		size_t len = strlen(text);
		fuse_reply_buf(
		    req, (size_t)off < len ? text + off : NULL,
		    (size_t)off < len ? (len - (size_t)off < size ? len - (size_t)off : size) : 0);
		return;
	}
	count(fs, FS_ST_READ);
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	if ((uint64_t)off >= n->rec.size)
		size = 0;
	else if ((uint64_t)off + size > n->rec.size)
		size = (size_t)(n->rec.size - (uint64_t)off);
	buf = calloc(1, size ? size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	if (size && (uint64_t)off == n->last_read_end) {
		/* Sequential: this chunk and the next ones, in parallel. */
		uint32_t first = (uint32_t)((uint64_t)off / fs->chunk_size);
		fs_cache_put(fs->cache, fs_cache_get(fs->cache, n->ino, first));
		chunks_prefetch(fs, n, first, 3);
	}
	n->last_read_end = (uint64_t)off + size;
	while (done < size) {
		uint64_t pos = (uint64_t)off + done;
		uint32_t idx = (uint32_t)(pos / fs->chunk_size);
		size_t in = (size_t)(pos % fs->chunk_size), want = fs->chunk_size - in;
		struct fs_centry *e;
		if (want > size - done)
			want = size - done;
		if (chunk_known(fs, n, idx)) {
			ssize_t got;
			r = chunk_load(fs, n, idx, &e);
			if (r < 0)
				goto out;
			got = pread(e->fd, buf + done, want, (off_t)in);
			fs_cache_put(fs->cache, e);
			if (got < 0) {
				r = -EIO;
				goto out;
			}
			/* Past the chunk's end: zeros (calloc). */
		}
		done += want;
	}
	count_n(&fs->bytes_read, size);
out:
	node_done(fs, n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		free(buf);
		return;
	}
	fuse_reply_buf(req, buf, size);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	size_t done = 0;
	int r;

	(void)fi;
	count(fs, FS_ST_WRITE);
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	if ((uint64_t)off + size < (uint64_t)off || (uint64_t)off + size > (1ull << 50)) {
		r = -EFBIG;
		goto out;
	}
	/* A sequential writer that moved on: the chunks it finished go up in the background. */
	if ((uint64_t)off == n->last_write_end && off > 0) {
		uint32_t cur = (uint32_t)((uint64_t)off / fs->chunk_size);
		for (uint32_t idx = cur > 2 ? cur - 2 : 0; idx < cur; idx++) {
			struct fs_centry *e = fs_cache_get(fs->cache, n->ino, idx);
			if (e && e->dirty && e->gen != e->up_gen &&
			    chunk_upload_start(fs, n, e) < 0 && (r = chunk_upload(fs, n, e)) < 0) {
				fs_cache_put(fs->cache, e);
				goto out;
			}
			fs_cache_put(fs->cache, e);
		}
	}
	while (done < size) {
		uint64_t pos = (uint64_t)off + done;
		uint32_t idx = (uint32_t)(pos / fs->chunk_size);
		size_t in = (size_t)(pos % fs->chunk_size), want = fs->chunk_size - in;
		struct fs_centry *e;
		ssize_t put;
		if (want > size - done)
			want = size - done;
		r = chunk_load(fs, n, idx, &e);
		if (r < 0)
			goto out;
		put = pwrite(e->fd, buf + done, want, (off_t)in);
		if (put == (ssize_t)want) {
			if (!e->dirty)
				fs_cache_mark(fs->cache, e, true, e->version);
			e->gen++;
		}
		fs_cache_put(fs->cache, e);
		if (put != (ssize_t)want) {
			r = errno == ENOSPC ? -ENOSPC : -EIO;
			goto out;
		}
		done += want;
	}
	if ((uint64_t)off + size > n->rec.size)
		n->rec.size = (uint64_t)off + size;
	n->rec.mtime = n->rec.ctime = now_time();
	n->meta_dirty = true;
	n->last_write_end = (uint64_t)off + size;
	count_n(&fs->bytes_written, size);
out:
	if (done && (uint64_t)off + done > n->rec.size) {
		n->rec.size = (uint64_t)off + done;
		n->meta_dirty = true;
	}
	node_done(fs, n);
	if (r < 0 && done == 0) {
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	fuse_reply_write(req, done);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	int r = 0;

	(void)fi;
	if (ino == FS_STATS_INO) {
		fuse_reply_err(req, 0);
		return;
	}
	count(fs, FS_ST_FLUSH);
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0) {
		r = node_sync(fs, n);
		node_done(fs, n);
	}
	fuse_reply_err(req, errno_of(fs, r));
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	int r;

	(void)datasync;
	(void)fi;
	if (ino == FS_STATS_INO) {
		fuse_reply_err(req, 0);
		return;
	}
	count(fs, FS_ST_FSYNC);
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0) {
		r = node_sync(fs, n);
		node_done(fs, n);
	}
	fuse_reply_err(req, errno_of(fs, r));
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;

	if (ino == FS_STATS_INO) {
		free((void *)(uintptr_t)fi->fh);
		fuse_reply_err(req, 0);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	n = *node_slot(fs, from_kernel(fs, ino));
	if (n)
		n->refs++;
	pthread_mutex_unlock(&fs->lock);
	if (n) {
		pthread_mutex_lock(&n->lock);
		if (n->loaded)
			node_sync(fs, n);
		pthread_mutex_lock(&fs->lock);
		if (n->opens)
			n->opens--;
		pthread_mutex_unlock(&fs->lock);
		node_done(fs, n);
	}
	fuse_reply_err(req, 0);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct dir_handle *h = calloc(1, sizeof(*h));
	struct fs_node *n;
	int r;

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	count(fs, FS_ST_READDIR);
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0) {
		free(h);
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	if (!S_ISDIR(n->rec.mode))
		r = -ENOTDIR;
	if (r == 0)
		r = meta_dir_list(fs->meta, n->ino, &h->e, &h->count, NULL);
	if (r == 0 && fs->names) {
		pthread_mutex_lock(&fs->lock);
		for (size_t i = 0; i < h->count; i++)
			names_put_locked(fs, n->ino, h->e[i].name, h->e[i].ino, h->e[i].type);
		/* Unless the cache was emptied while filling it, it now holds them all. */
		if (fs->names_count >= h->count) {
			n->names_complete = true;
			n->names_live = h->count;
		}
		pthread_mutex_unlock(&fs->lock);
	}
	node_done(fs, n);
	if (r < 0) {
		free(h);
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fuse_reply_open(req, fi);
}

#define PREFETCH_INODES 256
/* Gives back the refs of H's last read ahead. */
static void ahead_release(struct fs *fs, struct dir_handle *h)
{
	for (unsigned i = 0; i < h->ahead_count; i++)
		node_unref(fs, h->ahead[i]);
	h->ahead_count = 0;
}

/*
 * Reads the inodes of entries FROM..TO-1 the mount does not hold, in one
 * round. Each is first put in the table as a node still loading, locked
 * (so nobody reads it twice, or believes an older copy than ours).
 */
static void nodes_prefetch(struct fs *fs, struct dir_handle *h, size_t from, size_t to)
{
	uint64_t *inos = malloc(PREFETCH_INODES * sizeof(*inos));
	struct meta_inode *recs = calloc(PREFETCH_INODES, sizeof(*recs));
	struct fs_node **nodes = malloc(PREFETCH_INODES * sizeof(*nodes));
	int *res = malloc(PREFETCH_INODES * sizeof(*res));
	unsigned k = 0;

	if (!h->ahead)
		h->ahead = calloc(PREFETCH_INODES, sizeof(*h->ahead));
	if (!inos || !recs || !nodes || !res || !h->ahead)
		goto out;
	ahead_release(fs, h);
	pthread_mutex_lock(&fs->lock);
	for (size_t i = from; i < to && i < h->count && k < PREFETCH_INODES; i++) {
		struct fs_node *n;
		if (*node_slot(fs, h->e[i].ino))
			continue; /* held, or a duplicate of one just added */
		n = node_new(h->e[i].ino);
		if (!n)
			break;
		pthread_mutex_lock(&n->lock); /* fresh: nobody can hold it */
		n->refs = 1;
		node_insert(fs, n);
		nodes[k] = n;
		inos[k++] = n->ino;
	}
	pthread_mutex_unlock(&fs->lock);
	if (k == 0)
		goto out;
	count_n(&fs->stats[FS_ST_META_GET], k);
	if (meta_inode_get_many(fs->meta, inos, k, recs, res, NULL) < 0)
		for (unsigned j = 0; j < k; j++)
			res[j] = -EIO;
	for (unsigned j = 0; j < k; j++) {
		struct fs_node *n = nodes[j];
		pthread_mutex_lock(&fs->lock);
		if (res[j] == 0) {
			n->rec = recs[j];
			n->loaded = true;
		} else {
			n->load_error = res[j] == -ENOENT ? -ENOENT : -EIO;
			node_unlink_table(fs, n);
		}
		pthread_mutex_unlock(&fs->lock);
		if (res[j] == 0) {
			pthread_mutex_unlock(&n->lock);
			h->ahead[h->ahead_count++] = n; /* our ref, until the next read ahead */
		} else {
			node_done(fs, n);
		}
	}
out:
	free(inos);
	free(recs);
	free(nodes);
	free(res);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = FS(req);
	struct dir_handle *h = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = calloc(1, size), *p = buf;
	size_t left = size;
	uint64_t parent;
	struct fs_node *dir;
	int r = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = node_get(fs, from_kernel(fs, ino), &dir);
	if (r < 0) {
		free(buf);
		fuse_reply_err(req, errno_of(fs, r));
		return;
	}
	parent = dir->rec.parent ? dir->rec.parent : fs->root;
	node_done(fs, dir);
	if (plus) {
		/* The inodes of this reply and the next ones, in one round. */
		size_t from = off > 2 ? (size_t)off - 2 : 0;
		bool held = true;
		pthread_mutex_lock(&fs->lock);
		for (size_t i = from; i < h->count && i < from + 64 && held; i++)
			held = *node_slot(fs, h->e[i].ino) != NULL;
		pthread_mutex_unlock(&fs->lock);
		if (!held)
			nodes_prefetch(fs, h, from, from + PREFETCH_INODES);
	}
	/* Offsets: 0 ".", 1 "..", 2+i entry i; each entry carries the next one's. */
	for (off_t i = off; i < (off_t)h->count + 2; i++) {
		struct fuse_entry_param e = {0};
		const char *name;
		struct fs_node *n = NULL;
		size_t used;
		if (i < 2) {
			name = i == 0 ? "." : "..";
			e.attr.st_ino = i == 0 ? ino : to_kernel(fs, parent);
			e.attr.st_mode = S_IFDIR;
		} else {
			const struct meta_dentry *d = &h->e[i - 2];
			name = d->name;
			e.attr.st_ino = to_kernel(fs, d->ino);
			e.attr.st_mode = (mode_t)d->type << 12;
			if (plus) {
				if (node_get(fs, d->ino, &n) < 0)
					continue;
				e.ino = to_kernel(fs, n->ino);
				e.attr_timeout = e.entry_timeout = 1.0;
				fill_attr(fs, n, &e.attr);
			}
		}
		if (plus) {
			if (i < 2) /* no lookup for . and .. (ino 0 entries are not counted) */
				e.ino = 0;
			used = fuse_add_direntry_plus(req, p, left, name, &e, i + 1);
		} else {
			used = fuse_add_direntry(req, p, left, name, &e.attr, i + 1);
		}
		if (used <= left && n) {
			pthread_mutex_lock(&fs->lock);
			n->nlookup++;
			pthread_mutex_unlock(&fs->lock);
		}
		if (n)
			node_done(fs, n);
		if (used > left)
			break;
		p += used;
		left -= used;
	}
	fuse_reply_buf(req, buf, size - left);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *h = (struct dir_handle *)(uintptr_t)fi->fh;

	(void)ino;
	if (h) {
		ahead_release(FS(req), h);
		free(h->ahead);
		free(h->e);
	}
	free(h);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	int r;

	(void)datasync;
	(void)fi;
	/* Entries are on n-f clusters when their change returns; the times may be pending. */
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0) {
		if (n->meta_dirty && !fs->ro)
			r = put_record(fs, n);
		node_done(fs, n);
	}
	fuse_reply_err(req, errno_of(fs, r));
}

/*
 * The session ends (before main closes the store and the clusters): waits
 * for uploads still in flight and writes what the mount holds unwritten —
 * directories' pending times, dirty chunks of files still open (a lazy
 * unmount), records whose last write failed.
 */
static void op_destroy(void *userdata)
{
	struct fs *fs = userdata;
	struct fs_node **dirty = NULL;
	size_t k = 0, cap = 0;

	pthread_mutex_lock(&fs->upload_lock);
	while (fs->upload_threads)
		pthread_cond_wait(&fs->upload_slot, &fs->upload_lock);
	pthread_mutex_unlock(&fs->upload_lock);
	if (fs->ro)
		return;
	pthread_mutex_lock(&fs->lock);
	for (size_t b = 0; b < fs->buckets; b++) {
		for (struct fs_node *n = fs->table[b]; n; n = n->next) {
			if (!n->loaded)
				continue;
			if (k == cap) {
				size_t nc = cap ? 2 * cap : 64;
				struct fs_node **nd = realloc(dirty, nc * sizeof(*nd));
				if (!nd)
					break;
				dirty = nd;
				cap = nc;
			}
			n->refs++;
			dirty[k++] = n;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	for (size_t i = 0; i < k; i++) {
		struct fs_node *n = dirty[i];
		pthread_mutex_lock(&n->lock);
		if (n->rec.nlink > 0 && (n->meta_dirty || node_has_dirty(fs, n)) &&
		    node_sync(fs, n) < 0)
			sc_log_error("inode %016llx: not written at unmount",
			             (unsigned long long)n->ino);
		node_done(fs, n);
	}
	free(dirty);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	struct statvfs sv = {0};
	uint64_t min_avail = UINT64_MAX, min_total = UINT64_MAX;
	unsigned k;

	(void)ino;
	count(fs, FS_ST_STATFS);
	for (unsigned i = 0; i < meta_n(fs->meta); i++) {
		uint64_t a, t;
		if (meta_cluster_space(fs->meta, i, &a, &t) < 0)
			continue;
		if (a < min_avail)
			min_avail = a;
		if (t < min_total)
			min_total = t;
	}
	/* CA stores 1/(f+1) of each chunk per cluster; A a whole copy. */
	k = fs->protocol == 2 ? fs->f + 1 : 1;
	if (min_avail == UINT64_MAX)
		min_avail = min_total = 0;
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = min_total / 4 * k;
	sv.f_bfree = sv.f_bavail = min_avail / 4 * k;
	sv.f_files = sv.f_ffree = sv.f_favail = 1ull << 40;
	sv.f_namemax = META_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/* ---- extended attributes, kept in the inode record ---- */
static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	struct meta_xattr *x = NULL;
	int r;

	count(fs, FS_ST_XATTR);
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0 && (strlen(name) == 0 || strlen(name) > META_XATTR_NAME_MAX))
		r = -ERANGE;
	if (r == 0 && size > META_XATTR_VALUE_MAX)
		r = -E2BIG;
	if (r < 0)
		goto out;
	if (strcmp(name, FS_ACL_ACCESS) == 0) {
		/* Setting an access ACL sets the mode it implies (the kernel leaves
		 * that to us); an ACL the mode says in full is not stored. */
		mode_t mode = n->rec.mode;
		int extended;
		if (fs_acl_to_mode(value, size, &mode, &extended) < 0) {
			r = -EINVAL;
			goto out;
		}
		n->rec.mode = (uint32_t)mode;
		if (!extended) {
			for (uint32_t i = 0; i < n->rec.xattr_count; i++) {
				if (strcmp(n->rec.xattrs[i].name, FS_ACL_ACCESS) != 0)
					continue;
				free(n->rec.xattrs[i].name);
				free(n->rec.xattrs[i].value);
				n->rec.xattrs[i] = n->rec.xattrs[--n->rec.xattr_count];
				break;
			}
			n->rec.ctime = now_time();
			n->meta_dirty = true;
			r = node_sync(fs, n);
			goto out;
		}
	}
	for (uint32_t i = 0; i < n->rec.xattr_count; i++)
		if (strcmp(n->rec.xattrs[i].name, name) == 0)
			x = &n->rec.xattrs[i];
	if (x && (flags & XATTR_CREATE)) {
		r = -EEXIST;
		goto out;
	}
	if (!x && (flags & XATTR_REPLACE)) {
		r = -ENODATA;
		goto out;
	}
	if (!x) {
		struct meta_xattr *nx =
		    realloc(n->rec.xattrs, (n->rec.xattr_count + 1) * sizeof(*nx));
		if (!nx) {
			r = -ENOMEM;
			goto out;
		}
		n->rec.xattrs = nx;
		x = &nx[n->rec.xattr_count];
		memset(x, 0, sizeof(*x));
		x->name = strdup(name);
		if (!x->name) {
			r = -ENOMEM;
			goto out;
		}
		n->rec.xattr_count++;
	}
	free(x->value);
	x->value = size ? malloc(size) : NULL;
	if (size && !x->value) {
		x->value_len = 0;
		r = -ENOMEM;
		goto out;
	}
	if (size)
		memcpy(x->value, value, size);
	x->value_len = (uint32_t)size;
	n->rec.ctime = now_time();
	n->meta_dirty = true;
	r = node_sync(fs, n);
out:
	node_done(fs, n);
	r = errno_of(fs, r);
	fuse_reply_err(req, r);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	void *copy = NULL;
	size_t len = 0;
	int r;

	if (ino == FS_STATS_INO) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	count(fs, FS_ST_XATTR);
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0) {
		r = -ENODATA;
		for (uint32_t i = 0; i < n->rec.xattr_count; i++) {
			if (strcmp(n->rec.xattrs[i].name, name) != 0)
				continue;
			len = n->rec.xattrs[i].value_len;
			r = 0;
			if (size && len > size)
				r = -ERANGE;
			else if (size && (copy = malloc(len ? len : 1)))
				memcpy(copy, n->rec.xattrs[i].value, len);
			else if (size)
				r = -ENOMEM;
		}
	}
	node_done(fs, n);
	r = errno_of(fs, r);
	if (r)
		fuse_reply_err(req, r);
	else if (size)
		fuse_reply_buf(req, copy, len);
	else
		fuse_reply_xattr(req, len);
	free(copy);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	char *list = NULL;
	size_t len = 0;
	int r;

	if (ino == FS_STATS_INO) {
		fuse_reply_xattr(req, 0);
		return;
	}
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0) {
		for (uint32_t i = 0; i < n->rec.xattr_count; i++)
			len += strlen(n->rec.xattrs[i].name) + 1;
		if (size && len > size)
			r = -ERANGE;
		else if (size && !(list = malloc(len ? len : 1)))
			r = -ENOMEM;
		else if (size) {
			char *p = list;
			for (uint32_t i = 0; i < n->rec.xattr_count; i++) {
				size_t l = strlen(n->rec.xattrs[i].name) + 1;
				memcpy(p, n->rec.xattrs[i].name, l);
				p += l;
			}
		}
	}
	node_done(fs, n);
	r = errno_of(fs, r);
	if (r)
		fuse_reply_err(req, r);
	else if (size)
		fuse_reply_buf(req, list, len);
	else
		fuse_reply_xattr(req, len);
	free(list);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	int r;

	count(fs, FS_ST_XATTR);
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0) {
		r = -ENODATA;
		for (uint32_t i = 0; i < n->rec.xattr_count; i++) {
			if (strcmp(n->rec.xattrs[i].name, name) != 0)
				continue;
			free(n->rec.xattrs[i].name);
			free(n->rec.xattrs[i].value);
			n->rec.xattrs[i] = n->rec.xattrs[--n->rec.xattr_count];
			n->rec.ctime = now_time();
			n->meta_dirty = true;
			r = node_sync(fs, n);
			break;
		}
	}
	node_done(fs, n);
	r = errno_of(fs, r);
	fuse_reply_err(req, r);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	int r;

	(void)fi;
	if (mode != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, ino), &n);
	/* Holes read as zeros, so reserving is only growing the size. */
	if (r == 0 && (uint64_t)offset + (uint64_t)length > n->rec.size) {
		n->rec.size = (uint64_t)offset + (uint64_t)length;
		n->rec.ctime = n->rec.mtime = now_time();
		n->meta_dirty = true;
		r = node_sync(fs, n);
	}
	node_done(fs, n);
	r = errno_of(fs, r);
	fuse_reply_err(req, r);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
    .destroy = op_destroy,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .readlink = op_readlink,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_rmdir,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .open = op_open,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .release = op_release,
    .fsync = op_fsync,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .fsyncdir = op_fsyncdir,
    .statfs = op_statfs,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .create = op_create,
    .fallocate = op_fallocate,
};

int fs_node_probe(struct fs *fs, uint64_t ino)
{
	struct fs_node *n;
	int r = node_get(fs, ino, &n);

	if (r == 0)
		node_done(fs, n);
	return r;
}

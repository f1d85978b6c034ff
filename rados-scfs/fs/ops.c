/*
 * The FUSE low-level operations (fs.h), one function per operation in the
 * manner of libfuse's passthrough_ll example: each replies exactly once on
 * every path (the last statement of each branch is a fuse_reply_*).
 *
 * Nodes: one per inode the kernel knows (lookup count) or that is open. A
 * node's record is the live view: writes change size and chunks in the
 * cache at once, and the record is written to the clusters on flush, fsync
 * and every metadata change (consistency on close, docs/fs.md). An inode
 * whose link count is 0 keeps its record until the last descriptor and
 * lookup are gone, then its object and chunks are removed.
 */
#include <errno.h>
#include <fcntl.h>
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
	uint64_t nlookup;
	unsigned opens;
	bool meta_dirty; /* the record differs from what the clusters hold */
	/* Directories: every entry is in the name cache (made or listed by this
	 * mount), so a name missing there is absent. */
	bool names_complete;
	uint64_t last_write_end, last_read_end;
	struct meta_inode rec;
	/* Refs replaced since the last record write: deleted after it. */
	struct meta_chunk_ref *old;
	size_t old_count;
	struct fs_node *next;
};

#define NAMES_BUCKETS 65536u
#define NAMES_MAX 200000u
static void names_clear(struct fs *fs);

struct dir_handle {
	struct meta_dentry *e;
	size_t count;
};

static struct fs *FS(fuse_req_t req)
{
	return fuse_req_userdata(req);
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
	pthread_mutex_init(&fs->lock, NULL);
	fs->buckets = 4096;
	fs->table = calloc(fs->buckets, sizeof(*fs->table));
	if (!fs->ro)
		fs->names = calloc(NAMES_BUCKETS, sizeof(*fs->names));
	return fs->table && (fs->ro || fs->names) ? 0 : -ENOMEM;
}

static void node_free(struct fs_node *n)
{
	meta_inode_free(&n->rec);
	free(n->old);
	free(n);
}

void fs_free_state(struct fs *fs)
{
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
}

static struct fs_node **node_slot(struct fs *fs, uint64_t ino)
{
	struct fs_node **p = &fs->table[(ino ^ (ino >> 29)) % fs->buckets];

	while (*p && (*p)->ino != ino)
		p = &(*p)->next;
	return p;
}

/* The node of INO, read from the clusters if the mount holds none. */
static int node_get(struct fs *fs, uint64_t ino, struct fs_node **out)
{
	struct fs_node **slot = node_slot(fs, ino), *n;
	int r;

	if (*slot) {
		*out = *slot;
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	fs->stats[FS_ST_META_GET]++;
	r = meta_inode_get(fs->meta, ino, &n->rec, NULL);
	if (r < 0) {
		free(n);
		return r == -ENOENT ? -ENOENT : -EIO;
	}
	n->ino = ino;
	*slot = n;
	*out = n;
	return 0;
}

static void node_insert(struct fs *fs, struct fs_node *n)
{
	*node_slot(fs, n->ino) = n;
}

static void node_unlink_table(struct fs *fs, struct fs_node *n)
{
	struct fs_node **slot = node_slot(fs, n->ino);

	if (*slot == n)
		*slot = n->next;
}

static int put_record(struct fs *fs, struct fs_node *n)
{
	int r;

	fs->stats[FS_ST_META_PUT]++;
	r = meta_inode_put(fs->meta, &n->rec, NULL);
	if (r < 0) {
		sc_log_error("inode %016llx: record write failed: %s", (unsigned long long)n->ino,
		             strerror(-r));
		return r == -ENOSPC || r == -EFBIG ? r : -EIO;
	}
	n->meta_dirty = false;
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
 * when full it is emptied.
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
		for (struct fs_node *n = fs->table[b]; n; n = n->next)
			n->names_complete = false;
}

static int names_get(struct fs *fs, uint64_t dir, const char *name, struct meta_dentry *out)
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

static void names_drop(struct fs *fs, uint64_t dir, const char *name)
{
	if (!fs->names)
		return;
	for (struct name_entry **p = &fs->names[names_hash(dir, name)]; *p; p = &(*p)->next) {
		if ((*p)->dir == dir && strcmp((*p)->name, name) == 0) {
			struct name_entry *e = *p;
			*p = e->next;
			free(e);
			fs->names_count--;
			return;
		}
	}
}

static void names_put(struct fs *fs, uint64_t dir, const char *name, uint64_t ino, uint8_t type)
{
	size_t len = strlen(name), b;
	struct name_entry *e;

	if (!fs->names)
		return;
	names_drop(fs, dir, name);
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
}

/* An entry: from the name cache, else from the clusters (and then cached). */
static int entry_get(struct fs *fs, uint64_t dir, const char *name, struct meta_dentry *out)
{
	int r;

	if (names_get(fs, dir, name, out) == 0)
		return 0;
	r = meta_dentry_get(fs->meta, dir, name, strlen(name), out, NULL);
	if (r == 0)
		names_put(fs, dir, name, out->ino, out->type);
	return r;
}

/* entry_get, answering "absent" at once in a directory whose names are all known. */
static int entry_get_in(struct fs *fs, uint64_t dir, const char *name, struct meta_dentry *out)
{
	struct fs_node *p = *node_slot(fs, dir);

	if (names_get(fs, dir, name, out) == 0)
		return 0;
	if (p && p->names_complete)
		return -ENOENT;
	return entry_get(fs, dir, name, out);
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
	return ref_find(&n->rec, index) || fs_cache_find(fs->cache, n->ino, index) ||
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

static int ref_set(struct fs_node *n, const struct meta_chunk_ref *ref)
{
	struct meta_inode *rec = &n->rec;
	struct meta_chunk_ref *c = ref_find(rec, ref->index);
	uint32_t at = 0;

	if (c) {
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

/* Makes chunk INDEX resident, with the content its ref names; *OUT the entry. */
static int chunk_load(struct fs *fs, struct fs_node *n, uint32_t index, struct fs_centry **out)
{
	struct meta_chunk_ref *ref = ref_find(&n->rec, index);
	struct fs_centry *e = fs_cache_find(fs->cache, n->ino, index);
	void *buf;
	size_t len;
	int r;

	if (e && (e->dirty || !ref || e->version == ref->version)) {
		fs_cache_touch(fs->cache, e);
		*out = e;
		return 0;
	}
	if (e)
		fs_cache_drop(fs->cache, e);
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
		fs->stats[FS_ST_CHUNK_DOWN]++;
		fs->bytes_down += len;
		e->version = ref->version;
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
 * tries again and reports.
 */
#define PREFETCH_MAX 4
static void chunks_prefetch(struct fs *fs, struct fs_node *n, uint32_t first, unsigned count)
{
	struct fetch_job jobs[PREFETCH_MAX];
	struct fs_centry *entries[PREFETCH_MAX];
	pthread_t threads[PREFETCH_MAX];
	unsigned k = 0;

	for (uint32_t idx = first; idx < first + count && k < PREFETCH_MAX; idx++) {
		struct meta_chunk_ref *ref = ref_find(&n->rec, idx);
		struct fs_centry *e = fs_cache_find(fs->cache, n->ino, idx);
		if (!ref || (e && (e->dirty || e->version == ref->version)))
			continue;
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
			entries[i]->version = jobs[i].ref.version;
			fs->stats[FS_ST_CHUNK_DOWN]++;
			fs->bytes_down += jobs[i].len;
		} else {
			fs_cache_drop(fs->cache, entries[i]);
		}
		free(jobs[i].buf);
	}
}

/* Uploads dirty chunk E as a new version and points the record at it. */
static int chunk_upload(struct fs *fs, struct fs_node *n, struct fs_centry *e)
{
	struct meta_chunk_ref ref;
	struct stat st;
	void *buf;
	ssize_t got;
	int r;

	if (fstat(e->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > fs->chunk_size)
		return -EIO;
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	got = pread(e->fd, buf, (size_t)st.st_size, 0);
	if (got != st.st_size) {
		free(buf);
		return -EIO;
	}
	r = fs_chunk_write(fs->chunks, n->ino, e->index, meta_new_counter(fs->meta), buf,
	                   (size_t)got, &ref);
	free(buf);
	if (r < 0) {
		sc_log_error("inode %016llx chunk %u: upload failed: %s",
		             (unsigned long long)n->ino, e->index, strerror(-r));
		return -EIO;
	}
	fs->stats[FS_ST_CHUNK_UP]++;
	fs->bytes_up += (uint64_t)got;
	r = ref_set(n, &ref);
	if (r < 0)
		return r;
	e->dirty = false;
	e->version = ref.version;
	n->meta_dirty = true;
	return 0;
}

/*
 * Small files live in their inode record (META_INLINE_MAX bytes): a dirty
 * chunk 0 of a file that small becomes the record's inline bytes instead of
 * a store unit, so its close costs one round trip. A file that grew past
 * that gets its inline bytes back as a dirty chunk 0, uploaded as usual.
 */
static int node_inline(struct fs *fs, struct fs_node *n)
{
	struct fs_centry *e = fs_cache_find(fs->cache, n->ino, 0);
	bool only_chunk0 =
	    n->rec.chunk_count == 0 || (n->rec.chunk_count == 1 && n->rec.chunks[0].index == 0);
	int r;

	if (S_ISREG(n->rec.mode) && n->rec.size <= META_INLINE_MAX && only_chunk0) {
		struct stat st;
		uint8_t *bytes;
		size_t len;
		if (!e || !e->dirty)
			return 0;
		if (fstat(e->fd, &st) < 0)
			return -errno;
		len = (size_t)st.st_size < n->rec.size ? (size_t)st.st_size : (size_t)n->rec.size;
		bytes = malloc(len ? len : 1);
		if (!bytes)
			return -ENOMEM;
		if (pread(e->fd, bytes, len, 0) != (ssize_t)len) {
			free(bytes);
			return -EIO;
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
		e->dirty = false;
		e->version = 0;
		n->meta_dirty = true;
		return 0;
	}
	if (n->rec.inline_len) {
		r = chunk_load(fs, n, 0, &e);
		if (r < 0)
			return r;
		e->dirty = true;
		free(n->rec.inline_data);
		n->rec.inline_data = NULL;
		n->rec.inline_len = 0;
		n->meta_dirty = true;
	}
	return 0;
}

/* Uploads every dirty chunk of N, then writes its record if anything changed. */
static int node_sync(struct fs *fs, struct fs_node *n)
{
	struct fs_centry *dirty[64];
	size_t count;
	int r;

	if (fs->ro)
		return 0;
	r = node_inline(fs, n);
	if (r < 0)
		return r;
	/* Each upload cleans its entry: ask again until none is left. */
	while ((count = fs_cache_dirty_of(fs->cache, n->ino, dirty, SC_ARRAY_SIZE(dirty))) > 0) {
		if (count > SC_ARRAY_SIZE(dirty))
			count = SC_ARRAY_SIZE(dirty);
		for (size_t i = 0; i < count; i++) {
			r = chunk_upload(fs, n, dirty[i]);
			if (r < 0)
				return r;
		}
	}
	return n->meta_dirty ? put_record(fs, n) : 0;
}

static bool node_has_dirty(struct fs *fs, struct fs_node *n)
{
	struct fs_centry *e;

	return fs_cache_dirty_of(fs->cache, n->ino, &e, 1) > 0;
}

/* Forgets N when nothing refers to it; removes the inode at link count 0. */
static void node_maybe_release(struct fs *fs, struct fs_node *n)
{
	if (n->nlookup || n->opens || n->ino == fs->root)
		return;
	if (n->rec.nlink == 0 && !fs->ro) {
		for (uint32_t i = 0; i < n->rec.chunk_count; i++)
			fs_chunk_delete(fs->chunks, n->ino, &n->rec.chunks[i]);
		for (size_t i = 0; i < n->old_count; i++)
			fs_chunk_delete(fs->chunks, n->ino, &n->old[i]);
		meta_inode_remove(fs->meta, n->ino, NULL);
		fs_cache_drop_ino(fs->cache, n->ino);
	} else if (n->meta_dirty || node_has_dirty(fs, n)) {
		return; /* a failed flush: keep it for the next try */
	}
	node_unlink_table(fs, n);
	node_free(n);
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

static void reply_entry_node(fuse_req_t req, struct fs *fs, struct fs_node *n)
{
	struct fuse_entry_param e = {0};

	e.ino = to_kernel(fs, n->ino);
	e.attr_timeout = 1.0;
	e.entry_timeout = 1.0;
	fill_attr(fs, n, &e.attr);
	n->nlookup++;
	fuse_reply_entry(req, &e);
}

static int errno_of(struct fs *fs, int r)
{
	if (r < 0)
		fs->stats[FS_ST_ERRORS]++;
	return r == -ETIMEDOUT || r == -EHOSTUNREACH ? EIO : -r;
}

/* ---- operations ---- */
static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want &= ~FUSE_CAP_EXPORT_SUPPORT;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
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
	struct fs_node *n;
	size_t len = strlen(name);
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_LOOKUP]++;
	if (dir == fs->root && strcmp(name, FS_STATS_NAME) == 0) {
		struct fuse_entry_param e = {.ino = FS_STATS_INO};
		stats_attr(&e.attr);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_entry(req, &e);
		return;
	}
	if (len > META_NAME_MAX) {
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	r = entry_get_in(fs, dir, name, &d);
	if (r == 0)
		r = node_get(fs, d.ino, &n);
	if (r < 0) {
		int e = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
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
	pthread_mutex_unlock(&fs->lock);
}

static void forget_one(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs_node **slot;

	if (ino == FS_STATS_INO)
		return;
	slot = node_slot(fs, from_kernel(fs, ino));
	if (!*slot)
		return;
	(*slot)->nlookup = (*slot)->nlookup > nlookup ? (*slot)->nlookup - nlookup : 0;
	node_maybe_release(fs, *slot);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs *fs = FS(req);

	pthread_mutex_lock(&fs->lock);
	forget_one(fs, ino, nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct fs *fs = FS(req);

	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
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
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_GETATTR]++;
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, r);
		return;
	}
	fill_attr(fs, n, &st);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_attr(req, &st, 1.0);
}

/* Changes the size of N: drops chunks past it, cuts the one it ends in. */
static int node_truncate(struct fs *fs, struct fs_node *n, uint64_t size)
{
	uint32_t keep = (uint32_t)((size + fs->chunk_size - 1) / fs->chunk_size);
	uint64_t in_last = size % fs->chunk_size;
	int r;

	if (size < n->rec.size) {
		if (in_last) {
			struct fs_centry *e;
			uint32_t last = (uint32_t)(size / fs->chunk_size);
			if (chunk_known(fs, n, last)) {
				r = chunk_load(fs, n, last, &e);
				if (r < 0)
					return r;
				if (ftruncate(e->fd, (off_t)in_last) < 0)
					return -errno;
				e->dirty = true;
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
	struct fs_node *n;
	struct stat st;
	int r;

	(void)fi;
	if (ino == FS_STATS_INO) {
		fuse_reply_err(req, EPERM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_SETATTR]++;
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
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, r);
		return;
	}
	fill_attr(fs, n, &st);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_attr(req, &st, 1.0);
}

static uint8_t dtype_of(uint32_t mode)
{
	return (uint8_t)((mode & S_IFMT) >> 12);
}

/* Parent change of an entry operation: times, and the link count for directories. */
static int parent_touch(struct fs *fs, struct fs_node *p, int dir_links)
{
	p->rec.mtime = p->rec.ctime = now_time();
	p->rec.nlink = (uint32_t)((int)p->rec.nlink + dir_links);
	p->meta_dirty = true;
	return put_record(fs, p);
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

/* mknod, mkdir, symlink and create: a new inode named NAME in PARENT. */
static int make_node(fuse_req_t req, struct fs *fs, fuse_ino_t parent, const char *name,
                     uint32_t mode, dev_t rdev, const char *target, struct fs_node **out)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct meta_time now = now_time();
	struct meta_dentry d = {0};
	struct fs_node *p, *n;
	size_t len = strlen(name);
	int r;

	if (fs->ro)
		return -EROFS;
	if (len > META_NAME_MAX)
		return -ENAMETOOLONG;
	if (target && strlen(target) > META_SYMLINK_MAX)
		return -ENAMETOOLONG;
	r = node_get(fs, from_kernel(fs, parent), &p);
	if (r < 0)
		return r;
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
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	r = inherit_acl(p, n, &mode, ctx->umask);
	if (r < 0) {
		node_free(n);
		return r;
	}
	n->ino = meta_new_ino();
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
			free(n);
			return -ENOMEM;
		}
	}
	d.type = dtype_of(mode);
	d.ino = n->ino;
	d.name_len = (uint16_t)len;
	memcpy(d.name, name, len);
	/* The new inode, its entry and the parent's times (and link count) in one round. */
	p->rec.mtime = p->rec.ctime = now;
	if (S_ISDIR(mode))
		p->rec.nlink++;
	{
		const struct meta_inode *recs[2] = {&n->rec, &p->rec};
		fs->stats[FS_ST_META_PUT] += 3;
		r = meta_put_parallel(fs->meta, recs, 2, p->ino, &d, NULL);
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
	p->meta_dirty = false;
	node_insert(fs, n);
	names_put(fs, p->ino, name, n->ino, d.type);
	n->names_complete = S_ISDIR(mode) && fs->names != NULL;
	*out = n;
	return 0;
}

static void reply_made(fuse_req_t req, struct fs *fs, int r, struct fs_node *n)
{
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, r);
		return;
	}
	reply_entry_node(req, fs, n);
	pthread_mutex_unlock(&fs->lock);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_MKNOD]++;
	r = make_node(req, fs, parent, name, mode, rdev, NULL, &n);
	reply_made(req, fs, r, n);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_MKDIR]++;
	r = make_node(req, fs, parent, name, S_IFDIR | (mode & 07777), 0, NULL, &n);
	reply_made(req, fs, r, n);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct fs *fs = FS(req);
	struct fs_node *n = NULL;
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_SYMLINK]++;
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

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_CREATE]++;
	r = make_node(req, fs, parent, name, S_IFREG | (mode & 07777), 0, NULL, &n);
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, r);
		return;
	}
	e.ino = to_kernel(fs, n->ino);
	e.attr_timeout = e.entry_timeout = 1.0;
	fill_attr(fs, n, &e.attr);
	n->nlookup++;
	n->opens++;
	fi->keep_cache = 1;
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_create(req, &e, fi);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	char *target = NULL;
	int r;

	pthread_mutex_lock(&fs->lock);
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0 && (!S_ISLNK(n->rec.mode) || !n->rec.symlink))
		r = -EINVAL;
	if (r == 0 && !(target = strdup(n->rec.symlink)))
		r = -ENOMEM;
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, r);
		return;
	}
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_readlink(req, target);
	free(target);
}

/*
 * Removes NAME from P (a tombstone), drops a link of N and updates P, in one
 * round. N's record is written only while something still refers to it.
 */
static int remove_name(struct fs *fs, struct fs_node *p, const char *name, struct fs_node *n,
                       int dir_links)
{
	struct meta_dentry tomb = {.deleted = true};
	const struct meta_inode *recs[2];
	unsigned count = 0;
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
	recs[count++] = &p->rec;
	if (n->rec.nlink > 0 || n->opens > 0)
		recs[count++] = &n->rec;
	fs->stats[FS_ST_META_PUT] += count + 1;
	names_drop(fs, p->ino, name);
	r = meta_put_parallel(fs->meta, recs, count, p->ino, &tomb, NULL);
	if (r < 0) {
		p->meta_dirty = true;
		return r;
	}
	p->meta_dirty = false;
	if (count == 2)
		n->meta_dirty = false;
	return 0;
}

static void op_unlink_or_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct fs *fs = FS(req);
	struct meta_dentry d;
	struct fs_node *p, *n;
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[dir ? FS_ST_RMDIR : FS_ST_UNLINK]++;
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, parent), &p);
	if (r == 0 && strlen(name) > META_NAME_MAX)
		r = -ENAMETOOLONG;
	if (r == 0 && p->ino == fs->root && strcmp(name, FS_STATS_NAME) == 0)
		r = -EPERM;
	if (r == 0)
		r = entry_get(fs, p->ino, name, &d);
	if (r == 0)
		r = node_get(fs, d.ino, &n);
	if (r == 0 && dir && !S_ISDIR(n->rec.mode))
		r = -ENOTDIR;
	if (r == 0 && !dir && S_ISDIR(n->rec.mode))
		r = -EISDIR;
	if (r == 0 && dir) {
		bool nonempty;
		r = meta_dir_nonempty(fs->meta, n->ino, &nonempty, NULL);
		if (r == 0 && nonempty)
			r = -ENOTEMPTY;
	}
	if (r == 0)
		r = remove_name(fs, p, name, n, dir ? -1 : 0);
	if (r == 0)
		node_maybe_release(fs, n);
	r = errno_of(fs, r);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, r);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_unlink_or_rmdir(req, parent, name, false);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	op_unlink_or_rmdir(req, parent, name, true);
}

/* True when directory ANC is DIR or one of its ancestors. */
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
	}
	return -ELOOP;
}

static int put_entry(struct fs *fs, uint64_t dir, const char *name, struct fs_node *n)
{
	struct meta_dentry d = {0};

	/* Dropped first: if the write fails, the next lookup reads the clusters. */
	names_drop(fs, dir, name);
	d.type = dtype_of(n->rec.mode);
	d.ino = n->ino;
	d.name_len = (uint16_t)strlen(name);
	memcpy(d.name, name, d.name_len);
	if (meta_dentry_put(fs->meta, dir, &d, NULL) < 0)
		return -EIO;
	names_put(fs, dir, name, n->ino, d.type);
	return 0;
}

static int do_rename(struct fs *fs, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                     const char *newname, unsigned flags)
{
	struct meta_dentry sd, td;
	struct fs_node *sp, *tp, *s, *t = NULL;
	bool loop;
	int r;

	if (fs->ro)
		return -EROFS;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if (strlen(name) > META_NAME_MAX || strlen(newname) > META_NAME_MAX)
		return -ENAMETOOLONG;
	if ((r = node_get(fs, from_kernel(fs, parent), &sp)) < 0 ||
	    (r = node_get(fs, from_kernel(fs, newparent), &tp)) < 0)
		return r;
	if (!S_ISDIR(tp->rec.mode))
		return -ENOTDIR;
	if ((r = entry_get(fs, sp->ino, name, &sd)) < 0)
		return r;
	if ((r = node_get(fs, sd.ino, &s)) < 0)
		return r;
	r = entry_get(fs, tp->ino, newname, &td);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && (r = node_get(fs, td.ino, &t)) < 0)
		return r;
	if (t == s)
		return 0; /* the same inode: POSIX says do nothing */
	if ((flags & RENAME_NOREPLACE) && t)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) && !t)
		return -ENOENT;
	if (S_ISDIR(s->rec.mode) && sp != tp) {
		if ((r = is_ancestor(fs, s->ino, tp->ino, &loop)) < 0)
			return r;
		if (loop)
			return -EINVAL;
	}
	if ((flags & RENAME_EXCHANGE) && S_ISDIR(t->rec.mode) && sp != tp) {
		if ((r = is_ancestor(fs, t->ino, sp->ino, &loop)) < 0)
			return r;
		if (loop)
			return -EINVAL;
	}
	if (t && !(flags & RENAME_EXCHANGE)) {
		if (S_ISDIR(s->rec.mode) && !S_ISDIR(t->rec.mode))
			return -ENOTDIR;
		if (!S_ISDIR(s->rec.mode) && S_ISDIR(t->rec.mode))
			return -EISDIR;
		if (S_ISDIR(t->rec.mode)) {
			bool nonempty;
			if ((r = meta_dir_nonempty(fs->meta, t->ino, &nonempty, NULL)) < 0)
				return r;
			if (nonempty)
				return -ENOTEMPTY;
		}
	}
	/* The new name first: a crash in between leaves a second link, never none. */
	if ((r = put_entry(fs, tp->ino, newname, s)) < 0)
		return r;
	if (flags & RENAME_EXCHANGE) {
		if ((r = put_entry(fs, sp->ino, name, t)) < 0)
			return r;
		if (S_ISDIR(t->rec.mode) && sp != tp) {
			t->rec.parent = sp->ino;
			t->rec.ctime = now_time();
			if ((r = put_record(fs, t)) < 0)
				return r;
		}
	} else {
		struct meta_dentry tomb = {.deleted = true};
		tomb.name_len = (uint16_t)strlen(name);
		memcpy(tomb.name, name, tomb.name_len);
		names_drop(fs, sp->ino, name);
		if ((r = meta_dentry_put(fs->meta, sp->ino, &tomb, NULL)) < 0)
			return r;
		if (t) {
			if (S_ISDIR(t->rec.mode)) {
				t->rec.nlink = 0;
				tp->rec.nlink--;
			} else if (t->rec.nlink) {
				t->rec.nlink--;
			}
			t->rec.ctime = now_time();
			t->meta_dirty = true;
			if (t->rec.nlink || t->opens)
				if ((r = put_record(fs, t)) < 0)
					return r;
		}
	}
	if (S_ISDIR(s->rec.mode) && sp != tp) {
		s->rec.parent = tp->ino;
		if (!(flags & RENAME_EXCHANGE) || !S_ISDIR(t->rec.mode)) {
			sp->rec.nlink--;
			tp->rec.nlink++;
		}
	}
	if ((flags & RENAME_EXCHANGE) && S_ISDIR(t->rec.mode) && !S_ISDIR(s->rec.mode) &&
	    sp != tp) {
		sp->rec.nlink++;
		tp->rec.nlink--;
	}
	s->rec.ctime = now_time();
	if ((r = put_record(fs, s)) < 0)
		return r;
	if ((r = parent_touch(fs, sp, 0)) < 0)
		return r;
	if (tp != sp && (r = parent_touch(fs, tp, 0)) < 0)
		return r;
	if (t)
		node_maybe_release(fs, t);
	return 0;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
	struct fs *fs = FS(req);
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_RENAME]++;
	r = errno_of(fs, do_rename(fs, parent, name, newparent, newname, flags));
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, r);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fs *fs = FS(req);
	struct meta_dentry old;
	struct fs_node *n = NULL, *p = NULL;
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_LINK]++;
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0)
		r = node_get(fs, from_kernel(fs, newparent), &p);
	if (r == 0 && S_ISDIR(n->rec.mode))
		r = -EPERM;
	if (r == 0 && strlen(newname) > META_NAME_MAX)
		r = -ENAMETOOLONG;
	if (r == 0) {
		r = entry_get(fs, p->ino, newname, &old);
		r = r == 0 ? -EEXIST : r == -ENOENT ? 0 : r;
	}
	if (r == 0)
		r = put_entry(fs, p->ino, newname, n);
	if (r == 0) {
		n->rec.nlink++;
		n->rec.ctime = now_time();
		r = put_record(fs, n);
	}
	if (r == 0)
		r = parent_touch(fs, p, 0);
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
		pthread_mutex_lock(&fs->lock);
		r = stats_text(fs, &text, &len);
		pthread_mutex_unlock(&fs->lock);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		fi->fh = (uint64_t)(uintptr_t)text;
		fi->direct_io = 1;
		fuse_reply_open(req, fi);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_OPEN]++;
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0 && fs->ro && (fi->flags & O_ACCMODE) != O_RDONLY)
		r = -EROFS;
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, r);
		return;
	}
	/* FUSE_CAP_ATOMIC_O_TRUNC: the kernel sends O_TRUNC here, not as a setattr. */
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY && n->rec.size > 0) {
		r = node_truncate(fs, n, 0);
		if (r == 0) {
			n->rec.mtime = n->rec.ctime = now_time();
			r = node_sync(fs, n);
		}
		if (r < 0) {
			r = errno_of(fs, r);
			pthread_mutex_unlock(&fs->lock);
			fuse_reply_err(req, r);
			return;
		}
	}
	n->opens++;
	fi->keep_cache = fs->ro ? 0 : 1;
	pthread_mutex_unlock(&fs->lock);
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
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_READ]++;
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0)
		goto out;
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
		struct fs_centry *cur = fs_cache_find(fs->cache, n->ino, first);
		if (cur)
			fs_cache_touch(fs->cache, cur);
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
			if (got < 0) {
				r = -EIO;
				goto out;
			}
			/* Past the chunk's end: zeros (calloc). */
		}
		done += want;
	}
	fs->bytes_read += size;
out:
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, r);
		free(buf);
		return;
	}
	pthread_mutex_unlock(&fs->lock);
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
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_WRITE]++;
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, ino), &n);
	if (r < 0)
		goto out;
	if ((uint64_t)off + size < (uint64_t)off || (uint64_t)off + size > (1ull << 50)) {
		r = -EFBIG;
		goto out;
	}
	/* A sequential writer that moved on: upload the chunks it finished. */
	if ((uint64_t)off == n->last_write_end && off > 0) {
		uint32_t cur = (uint32_t)((uint64_t)off / fs->chunk_size);
		for (uint32_t idx = cur > 2 ? cur - 2 : 0; idx < cur; idx++) {
			struct fs_centry *e = fs_cache_find(fs->cache, n->ino, idx);
			if (e && e->dirty && (r = chunk_upload(fs, n, e)) < 0)
				goto out;
		}
	}
	while (done < size) {
		uint64_t pos = (uint64_t)off + done;
		uint32_t idx = (uint32_t)(pos / fs->chunk_size);
		size_t in = (size_t)(pos % fs->chunk_size), want = fs->chunk_size - in;
		struct fs_centry *e;
		if (want > size - done)
			want = size - done;
		r = chunk_load(fs, n, idx, &e);
		if (r < 0)
			goto out;
		if (pwrite(e->fd, buf + done, want, (off_t)in) != (ssize_t)want) {
			r = errno == ENOSPC ? -ENOSPC : -EIO;
			goto out;
		}
		e->dirty = true;
		done += want;
	}
	if ((uint64_t)off + size > n->rec.size)
		n->rec.size = (uint64_t)off + size;
	n->rec.mtime = n->rec.ctime = now_time();
	n->meta_dirty = true;
	n->last_write_end = (uint64_t)off + size;
	fs->bytes_written += size;
out:
	if (r < 0 && done == 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		fuse_reply_err(req, r);
		return;
	}
	if (done && (uint64_t)off + done > n->rec.size) {
		n->rec.size = (uint64_t)off + done;
		n->meta_dirty = true;
	}
	pthread_mutex_unlock(&fs->lock);
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
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_FLUSH]++;
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0)
		r = node_sync(fs, n);
	r = errno_of(fs, r);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, r);
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
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_FSYNC]++;
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0)
		r = node_sync(fs, n);
	r = errno_of(fs, r);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, r);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node **slot;

	if (ino == FS_STATS_INO) {
		free((void *)(uintptr_t)fi->fh);
		fuse_reply_err(req, 0);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	slot = node_slot(fs, from_kernel(fs, ino));
	if (*slot) {
		struct fs_node *n = *slot;
		node_sync(fs, n);
		if (n->opens)
			n->opens--;
		node_maybe_release(fs, n);
	}
	pthread_mutex_unlock(&fs->lock);
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
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_READDIR]++;
	r = node_get(fs, from_kernel(fs, ino), &n);
	if (r == 0 && !S_ISDIR(n->rec.mode))
		r = -ENOTDIR;
	if (r == 0)
		r = meta_dir_list(fs->meta, n->ino, &h->e, &h->count, NULL);
	for (size_t i = 0; r == 0 && i < h->count; i++)
		names_put(fs, n->ino, h->e[i].name, h->e[i].ino, h->e[i].type);
	/* Unless the cache was emptied while filling it, it now holds them all. */
	if (r == 0 && fs->names && fs->names_count >= h->count)
		n->names_complete = true;
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		free(h);
		fuse_reply_err(req, r);
		return;
	}
	pthread_mutex_unlock(&fs->lock);
	fi->fh = (uint64_t)(uintptr_t)h;
	fuse_reply_open(req, fi);
}

/* Reads the inodes of entries FROM..TO-1 the mount does not hold, in one round. */
static void nodes_prefetch(struct fs *fs, const struct dir_handle *h, size_t from, size_t to)
{
	uint64_t inos[64];
	struct meta_inode recs[64];
	int res[64];
	unsigned count = 0;

	for (size_t i = from; i < to && i < h->count && count < 64; i++) {
		bool dup = false;
		if (*node_slot(fs, h->e[i].ino))
			continue;
		for (unsigned j = 0; j < count; j++)
			dup = dup || inos[j] == h->e[i].ino;
		if (!dup)
			inos[count++] = h->e[i].ino;
	}
	if (count == 0 || meta_inode_get_many(fs->meta, inos, count, recs, res, NULL) < 0)
		return;
	fs->stats[FS_ST_META_GET] += count;
	for (unsigned j = 0; j < count; j++) {
		struct fs_node *n;
		if (res[j] < 0)
			continue;
		n = calloc(1, sizeof(*n));
		if (!n) {
			meta_inode_free(&recs[j]);
			continue;
		}
		n->ino = inos[j];
		n->rec = recs[j];
		node_insert(fs, n);
	}
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, bool plus)
{
	struct fs *fs = FS(req);
	struct dir_handle *h = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = calloc(1, size), *p = buf;
	size_t left = size;
	struct fs_node *dir;
	int r = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	r = node_get(fs, from_kernel(fs, ino), &dir);
	if (r == 0 && plus) {
		/* About 100 bytes an entry: the inodes this reply will carry, in one round. */
		size_t from = off > 2 ? (size_t)off - 2 : 0;
		nodes_prefetch(fs, h, from, from + size / 96 + 1);
	}
	/* Offsets: 0 ".", 1 "..", 2+i entry i; each entry carries the next one's. */
	for (off_t i = off; r == 0 && i < (off_t)h->count + 2; i++) {
		struct fuse_entry_param e = {0};
		const char *name;
		struct fs_node *n = NULL;
		size_t used;
		if (i < 2) {
			name = i == 0 ? "." : "..";
			e.attr.st_ino =
			    i == 0 ? ino
			           : to_kernel(fs, dir->rec.parent ? dir->rec.parent : fs->root);
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
		if (used > left)
			break;
		if (plus && n)
			n->nlookup++;
		p += used;
		left -= used;
	}
	if (r < 0) {
		r = errno_of(fs, r);
		pthread_mutex_unlock(&fs->lock);
		free(buf);
		fuse_reply_err(req, r);
		return;
	}
	pthread_mutex_unlock(&fs->lock);
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
	if (h)
		free(h->e);
	free(h);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0); /* entry changes are on n-f clusters when they return */
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = FS(req);
	struct statvfs sv = {0};
	uint64_t min_avail = UINT64_MAX, min_total = UINT64_MAX;
	unsigned k;

	(void)ino;
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_STATFS]++;
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
	pthread_mutex_unlock(&fs->lock);
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
	struct fs_node *n;
	struct meta_xattr *x = NULL;
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_XATTR]++;
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
	r = errno_of(fs, r);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, r);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	void *copy = NULL;
	size_t len = 0;
	int r;

	if (ino == FS_STATS_INO) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_XATTR]++;
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
	r = errno_of(fs, r);
	pthread_mutex_unlock(&fs->lock);
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
	struct fs_node *n;
	char *list = NULL;
	size_t len = 0;
	int r;

	if (ino == FS_STATS_INO) {
		fuse_reply_xattr(req, 0);
		return;
	}
	pthread_mutex_lock(&fs->lock);
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
	r = errno_of(fs, r);
	pthread_mutex_unlock(&fs->lock);
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
	struct fs_node *n;
	int r;

	pthread_mutex_lock(&fs->lock);
	fs->stats[FS_ST_XATTR]++;
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
	r = errno_of(fs, r);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, r);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
	struct fs *fs = FS(req);
	struct fs_node *n;
	int r;

	(void)fi;
	if (mode != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	r = fs->ro ? -EROFS : node_get(fs, from_kernel(fs, ino), &n);
	/* Holes read as zeros, so reserving is only growing the size. */
	if (r == 0 && (uint64_t)offset + (uint64_t)length > n->rec.size) {
		n->rec.size = (uint64_t)offset + (uint64_t)length;
		n->rec.ctime = n->rec.mtime = now_time();
		n->meta_dirty = true;
		r = node_sync(fs, n);
	}
	r = errno_of(fs, r);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_err(req, r);
}

const struct fuse_lowlevel_ops fs_ops = {
    .init = op_init,
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

	return node_get(fs, ino, &n);
}

/*
 * scfs-admin's file system commands: mkfs, df, unlock, fsck and repair
 * (docs/fs.md).
 * scfs-admin.c hands the whole command line here when the command is one of
 * them. Same rules as the rest of scfs-admin: the command line and the key
 * are checked before anything connects, every failure is one line naming
 * what and where, and a non-zero exit.
 */
#include "admin-fs.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/crypto.h"
#include "common/keyfile.h"
#include "common/util.h"
#include "chunk.h"
#include "cli.h"
#include "meta.h"
#include "store.h"
#include "superblock.h"

#define PROGRAM "scfs-admin"

struct fsadmin {
	struct cli_common c; /* --clusters, -k, --id, --conf-dir, --pool, --timeout */
	struct meta_cluster_spec specs[META_MAX_CLUSTERS];
	long f;
	unsigned protocol;
	uint64_t chunk_size;
	const char *fs;
	bool verify_all;
};

#define fail(...) cli_fail(PROGRAM, __VA_ARGS__)

void admin_fs_usage(FILE *out)
{
	fprintf(out,
	        "  mkfs [--fs NAME] [--protocol CA|A] [-f F] [--chunk-size 4M] -k KEY\n"
	        "                          make a file system: a signed superblock per cluster\n"
	        "  df [--fs NAME]          each cluster's space and the room left for files\n"
	        "  unlock [--fs NAME]      break the read-write lease of a dead mount\n"
	        "  fsck [--fs NAME] [--verify-all] -k KEY\n"
	        "                          walk the file system; name what each cluster misses\n"
	        "                          or holds wrongly (metadata and chunk fragments, by\n"
	        "                          inode, chunk and path); --verify-all reads and hashes\n"
	        "                          every fragment; exit 1 if anything was found\n"
	        "  repair [--fs NAME] -k KEY  the same with every fragment read, rewriting\n"
	        "                          metadata and fragments where missing, old or bad;\n"
	        "                          exit 1 if something could not be rewritten\n"
	        "  gc [--fs NAME] -k KEY   remove chunk versions and inodes nothing refers to\n"
	        "                          (failed or interrupted writes); needs it unmounted\n");
}

static bool is_fs_command(const char *cmd)
{
	return strcmp(cmd, "mkfs") == 0 || strcmp(cmd, "df") == 0 || strcmp(cmd, "unlock") == 0 ||
	       strcmp(cmd, "fsck") == 0 || strcmp(cmd, "repair") == 0 || strcmp(cmd, "gc") == 0;
}

/* Every option of either half that takes an argument, to find the command word. */
static const char *const with_argument[] = {
    "--clusters",  "--fs",    "--protocol", "--faults",   "-f",     "--chunk-size",
    "--key",       "-k",      "--id",       "--conf-dir", "--pool", "--timeout",
    "--namespace", "--trust", "--version",  "--format",   NULL,
};

bool admin_fs_is_command(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		bool takes = false;
		if (argv[i][0] != '-')
			return is_fs_command(argv[i]);
		if (strchr(argv[i], '='))
			continue;
		for (unsigned j = 0; with_argument[j]; j++)
			takes = takes || strcmp(argv[i], with_argument[j]) == 0;
		if (takes)
			i++;
	}
	return false;
}

static int open_meta(struct fsadmin *a, struct meta **m)
{
	struct meta_opts o = {
	    .n = a->c.n,
	    .f = a->f < 0 ? (a->c.n - 1) / 3 : (unsigned)a->f,
	    .pool = a->c.pool,
	    .rados_ns = a->fs,
	    .op_timeout = a->c.timeout,
	    .connect_timeout = a->c.timeout,
	};
	struct sc_err err = {""};
	int r;

	if (a->c.n < 1)
		return fail("--clusters is required (e.g. --clusters dc1,dc2,dc3,dc4)"), -EINVAL;
	r = meta_open(&o, a->specs, m, &err);
	if (r < 0)
		return fail("%s", err.msg), r;
	if (err.msg[0])
		fprintf(stderr, PROGRAM ": note: %s\n", err.msg);
	return 0;
}

static int cmd_mkfs(struct fsadmin *a)
{
	uint8_t key[32];
	struct meta *m = NULL;
	struct meta_superblock sb;
	struct meta_mkfs_params p = {.name = a->fs, .protocol = a->protocol};
	char msg[512], hex[33];
	unsigned f;
	int r;

	if (!a->c.key)
		return fail(
		    "mkfs: give the writer key with -k FILE (scfs-admin keygen FILE makes one)");
	if (a->c.n == 0)
		return fail("--clusters is required (e.g. --clusters dc1,dc2,dc3,dc4)");
	f = a->f < 0 ? (a->c.n - 1) / 3 : (unsigned)a->f;
	if (a->c.n < 3 * f + 1)
		return fail("mkfs: %u clusters cannot tolerate f=%u (n >= 3f+1)", a->c.n, f);
	if (a->chunk_size < 4096 || a->chunk_size > (64u << 20) || (a->chunk_size & 4095))
		return fail("--chunk-size: must be a multiple of 4K from 4K to 64M");
	r = sc_keyfile_private_load(a->c.key, SC_KEY_ED25519, key);
	if (r < 0)
		return fail("%s: %s", a->c.key,
		            r == -EINVAL ? "not an Ed25519 private key in PEM" : strerror(-r));
	p.f = f;
	p.chunk_size = (uint32_t)a->chunk_size;
	p.priv = key;
	if (open_meta(a, &m) < 0) {
		sc_wipe(key, sizeof(key));
		return 1;
	}
	r = meta_mkfs(m, &p, &sb, msg, sizeof(msg));
	sc_wipe(key, sizeof(key));
	meta_close(m);
	if (r < 0)
		return fail("mkfs %s: %s", a->fs, msg[0] ? msg : strerror(-r));
	sc_hex_encode(sb.fs_id, sizeof(sb.fs_id), hex);
	printf("%s: file system id %s on %u clusters, f=%u, %s, chunks of %u KiB\n", a->fs, hex,
	       sb.n, sb.f, sb.protocol == 2 ? "CA" : "A", sb.chunk_size >> 10);
	return 0;
}

static int cmd_df(struct fsadmin *a)
{
	struct meta *m = NULL;
	struct meta_superblock sb;
	uint64_t min_avail = UINT64_MAX;
	bool have_sb = false;
	int rc = 0;

	if (open_meta(a, &m) < 0)
		return 1;
	for (unsigned i = 0; i < meta_n(m) && !have_sb; i++) {
		uint8_t *b;
		size_t l;
		if (meta_sb_read(m, i, &b, &l) == 0) {
			have_sb = meta_sb_parse(b, l, &sb) == 0;
			sc_wipe(b, l);
			free(b);
		}
	}
	if (!have_sb) {
		meta_close(m);
		return fail("df: unknown file system '%s': no cluster holds a valid superblock",
		            a->fs);
	}
	printf("%-12s %14s %14s\n", "CLUSTER", "SIZE_KB", "AVAIL_KB");
	for (unsigned i = 0; i < meta_n(m); i++) {
		uint64_t avail, total;
		if (meta_cluster_space(m, i, &avail, &total) < 0) {
			printf("%-12s %14s %14s\n", meta_cluster_name(m, i), "-", "down");
			rc = 1;
			continue;
		}
		if (avail < min_avail)
			min_avail = avail;
		printf("%-12s %14llu %14llu\n", meta_cluster_name(m, i), (unsigned long long)total,
		       (unsigned long long)avail);
	}
	if (min_avail != UINT64_MAX)
		printf(
		    "file system %s: %s n=%u f=%u, room for about %llu KiB of files\n", sb.name,
		    sb.protocol == 2 ? "CA" : "A", sb.n, sb.f,
		    (unsigned long long)(sb.protocol == 2 ? min_avail * (sb.f + 1u) : min_avail));
	meta_close(m);
	return rc;
}

static int cmd_unlock(struct fsadmin *a)
{
	struct meta *m = NULL;
	char holder[256];
	int n;

	if (open_meta(a, &m) < 0)
		return 1;
	n = meta_lease_break(m, holder, sizeof(holder));
	meta_close(m);
	if (n == 0)
		printf("%s: no mount lease was held\n", a->fs);
	else
		printf("%s: broke the mount lease of %s on %d clusters\n", a->fs,
		       holder[0] ? holder : "an unnamed mount", n);
	return 0;
}

/* ---- fsck and repair ---- */
struct walk {
	struct fsadmin *a;
	struct meta *m;
	struct fs_chunks *chunks;
	bool repair;
	uint64_t *seen;
	size_t seen_count, seen_cap;
	uint64_t *queue;
	char **queue_path; /* the path of each queued directory (the admin holds the key) */
	size_t queue_head, queue_count, queue_cap;
	unsigned long inodes, entries, chunk_count, problems, unfixed;
};

/* One line per cluster in MASK; FIXED: repair rewrote it (metadata: meta_audit's write-back). */
static void name_clusters(struct walk *w, uint32_t mask, const char *what, const char *where,
                          bool fixed)
{
	for (unsigned i = 0; i < meta_n(w->m); i++) {
		if (!(mask & (1u << i)))
			continue;
		printf("cluster %s: %s %s%s\n", meta_cluster_name(w->m, i), what, where,
		       w->repair && fixed ? " (rewritten)" : "");
		w->problems++;
		w->unfixed += !fixed;
	}
}

/*
 * One line per cluster whose copy of a chunk version is not good, with the
 * store's reason; under repair whether it was rewritten.
 */
static void name_chunk_copies(struct walk *w, const struct store_unit_health *h, uint32_t repaired,
                              const char *where)
{
	static const char *const what[] = {
	    [STORE_COPY_MISSING] = "misses",
	    [STORE_COPY_WRONG] = "holds a wrong",
	    [STORE_COPY_UNKNOWN] = "does not answer for",
	};

	for (unsigned i = 0; i < meta_n(w->m); i++) {
		enum store_copy_state st = h->state[i];
		bool fixed = repaired & (1u << i);
		if (st == STORE_COPY_GOOD)
			continue;
		printf("cluster %s: %s %s: %s%s\n", meta_cluster_name(w->m, i), what[st], where,
		       h->reason[i],
		       !w->repair ? ""
		       : fixed    ? " (rewritten)"
		                  : " (not rewritten)");
		w->problems++;
		w->unfixed += !fixed;
	}
}

static void report_audit(struct walk *w, const struct meta_report *rep, const char *where)
{
	name_clusters(w, rep->bad & ~rep->failed, "holds a bad record of", where, true);
	name_clusters(w, rep->stale & ~rep->bad & ~rep->failed, "misses or holds an old", where,
	              true);
	name_clusters(w, rep->failed, "does not answer for", where, false);
}

static bool seen_add(struct walk *w, uint64_t ino)
{
	for (size_t i = 0; i < w->seen_count; i++)
		if (w->seen[i] == ino)
			return false;
	if (w->seen_count == w->seen_cap) {
		size_t nc = w->seen_cap ? 2 * w->seen_cap : 1024;
		uint64_t *n = realloc(w->seen, nc * sizeof(*n));
		if (!n)
			return false;
		w->seen = n;
		w->seen_cap = nc;
	}
	w->seen[w->seen_count++] = ino;
	return true;
}

static void queue_push(struct walk *w, uint64_t ino, const char *path)
{
	char *p = strdup(path);

	if (p && w->queue_count == w->queue_cap) {
		size_t nc = w->queue_cap ? 2 * w->queue_cap : 1024;
		uint64_t *n = realloc(w->queue, nc * sizeof(*n));
		char **np = n ? realloc(w->queue_path, nc * sizeof(*np)) : NULL;
		if (n)
			w->queue = n;
		if (np)
			w->queue_path = np;
		if (n && np)
			w->queue_cap = nc;
	}
	if (!p || w->queue_count == w->queue_cap) {
		free(p);
		printf("out of memory: directory i.%016llx (%s) not walked\n",
		       (unsigned long long)ino, path);
		w->problems++;
		w->unfixed++;
		return;
	}
	w->queue_path[w->queue_count] = p;
	w->queue[w->queue_count++] = ino;
}

/* Every chunk version REC names: each cluster's copy checked (repair: rewritten). */
static void check_chunks(struct walk *w, uint64_t ino, const struct meta_inode *rec,
                         const char *path)
{
	for (uint32_t i = 0; i < rec->chunk_count; i++) {
		struct store_unit_health h;
		uint32_t repaired = 0;
		char cw[4300], msg[1024];
		int r;
		snprintf(cw, sizeof(cw), "chunk c.%016llx.%08x version %llu of %s",
		         (unsigned long long)ino, rec->chunks[i].index,
		         (unsigned long long)rec->chunks[i].version, path);
		r = fs_chunk_check(w->chunks, ino, &rec->chunks[i],
		                   w->repair          ? FS_CHUNK_REPAIR
		                   : w->a->verify_all ? FS_CHUNK_VERIFY_ALL
		                                      : FS_CHUNK_CHECK,
		                   &h, &repaired, msg, sizeof(msg));
		w->chunk_count++;
		if (r < 0 && r != -EIO && r != -EPERM && r != -ETIMEDOUT) {
			printf("%s: cannot check: %s\n", cw, msg[0] ? msg : strerror(-r));
			w->problems++;
			w->unfixed++;
			continue;
		}
		name_chunk_copies(w, &h, repaired, cw);
		if (r < 0)
			printf("%s: %s\n", cw, msg[0] ? msg : strerror(-r));
	}
}

static void check_inode(struct walk *w, uint64_t ino, const char *path)
{
	struct meta_report rep = {0};
	struct meta_inode rec;
	char where[4300];
	int r;

	snprintf(where, sizeof(where), "inode i.%016llx (%s)", (unsigned long long)ino, path);
	r = meta_audit(w->m, ino, NULL, w->repair, &rep);
	report_audit(w, &rep, where);
	if (r < 0) {
		printf("%s: %s\n", where, strerror(-r));
		w->problems++;
		return;
	}
	w->inodes++;
	if (meta_inode_get(w->m, ino, &rec, NULL) < 0)
		return;
	check_chunks(w, ino, &rec, path);
	if (S_ISDIR(rec.mode))
		queue_push(w, ino, path);
	meta_inode_free(&rec);
}

static void check_dir(struct walk *w, uint64_t dir, const char *dpath)
{
	struct meta_dentry *e;
	size_t count;
	int r = meta_dir_list(w->m, dir, &e, &count, NULL);

	if (r < 0) {
		printf("directory i.%016llx (%s): cannot list: %s\n", (unsigned long long)dir,
		       dpath, strerror(-r));
		w->problems++;
		w->unfixed++;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		struct meta_report rep = {0};
		char where[4300], path[4200];
		snprintf(path, sizeof(path), "%s%s%s", dpath, strcmp(dpath, "/") ? "/" : "",
		         e[i].name);
		snprintf(where, sizeof(where), "the entry %s of directory i.%016llx", path,
		         (unsigned long long)dir);
		meta_audit(w->m, dir, e[i].name, w->repair, &rep);
		report_audit(w, &rep, where);
		w->entries++;
		if (seen_add(w, e[i].ino))
			check_inode(w, e[i].ino, path);
	}
	free(e);
}

static int cmd_fsck(struct fsadmin *a, bool repair)
{
	struct walk w = {.a = a, .repair = repair};
	struct meta_superblock sb;
	struct meta_keys keys;
	struct fs_chunks_opts co = {0};
	const char *names[META_MAX_CLUSTERS];
	uint8_t priv[32], pub[32];
	char msg[1024], note[1024];
	int r, rc = 1;

	if (!a->c.key)
		return fail("%s: give a writer key with -k FILE", repair ? "repair" : "fsck");
	r = sc_keyfile_private_load(a->c.key, SC_KEY_ED25519, priv);
	if (r < 0)
		return fail("%s: %s", a->c.key,
		            r == -EINVAL ? "not an Ed25519 private key in PEM" : strerror(-r));
	sc_ed25519_public(priv, pub);
	if (open_meta(a, &w.m) < 0)
		goto out;
	r = meta_mount_check(w.m, a->fs, repair ? priv : NULL, pub, &sb, &keys, msg, sizeof(msg),
	                     note, sizeof(note));
	if (r < 0) {
		fail("%s", msg);
		goto out;
	}
	if (note[0])
		printf("%s\n", note);
	meta_set_faults(w.m, sb.f);
	meta_set_keys(w.m, &keys);
	sc_wipe(&keys, sizeof(keys));
	for (unsigned i = 0; i < a->c.n; i++)
		names[i] = a->specs[i].cluster;
	co = (struct fs_chunks_opts){.n = a->c.n,
	                             .f = sb.f,
	                             .protocol = sb.protocol,
	                             .clusters = names,
	                             .conf_dir = a->c.conf_dir,
	                             .client_id = a->c.id,
	                             .pool = a->c.pool,
	                             .rados_ns = a->fs,
	                             .priv = repair ? priv : NULL,
	                             .trusted = (const uint8_t(*)[META_KEY_LEN])sb.writers,
	                             .trusted_count = sb.writer_count,
	                             .fs_id = sb.fs_id,
	                             .chunk_size = sb.chunk_size,
	                             .timeout = a->c.timeout};
	r = fs_chunks_open(&co, &w.chunks, msg, sizeof(msg));
	if (r < 0) {
		fail("data store: %s", msg[0] ? msg : strerror(-r));
		goto out;
	}
	seen_add(&w, sb.root_ino);
	check_inode(&w, sb.root_ino, "/");
	while (w.queue_head < w.queue_count) {
		check_dir(&w, w.queue[w.queue_head], w.queue_path[w.queue_head]);
		w.queue_head++;
	}
	if (repair)
		printf("repair %s: %lu inodes, %lu entries, %lu chunks checked on %u clusters: "
		       "%lu problems found, %lu rewritten, %lu left\n",
		       a->fs, w.inodes, w.entries, w.chunk_count, a->c.n, w.problems,
		       w.problems - w.unfixed, w.unfixed);
	else
		printf("fsck %s: %lu inodes, %lu entries, %lu chunks checked%s on %u clusters: "
		       "%lu problems\n",
		       a->fs, w.inodes, w.entries, w.chunk_count,
		       a->verify_all ? " (every fragment read)" : "", a->c.n, w.problems);
	rc = (repair ? w.unfixed : w.problems) ? 1 : 0;
out:
	sc_wipe(priv, sizeof(priv));
	fs_chunks_close(w.chunks);
	meta_close(w.m);
	free(w.seen);
	for (size_t i = 0; i < w.queue_count; i++)
		free(w.queue_path[i]);
	free(w.queue_path);
	free(w.queue);
	return rc;
}

/* ---- gc ---- */
struct unit_id {
	uint64_t ino, version;
	uint32_t index;
};

struct gc {
	struct unit_id *refs, *found;
	size_t nrefs, nfound, cap_refs, cap_found;
	uint64_t *inodes, *orphans;
	size_t ninodes, cap_inodes, norphans, cap_orphans;
};

static int push_unit(struct unit_id **a, size_t *n, size_t *cap, struct unit_id u)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 1024;
		struct unit_id *na = realloc(*a, nc * sizeof(*na));
		if (!na)
			return -ENOMEM;
		*a = na;
		*cap = nc;
	}
	(*a)[(*n)++] = u;
	return 0;
}

static int push_ino(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 1024;
		uint64_t *na = realloc(*a, nc * sizeof(*na));
		if (!na)
			return -ENOMEM;
		*a = na;
		*cap = nc;
	}
	(*a)[(*n)++] = v;
	return 0;
}

static int unit_cmp(const void *a, const void *b)
{
	const struct unit_id *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Object names of the store's fragments and of inode registers. */
static void gc_object(const char *oid, void *arg)
{
	struct gc *g = arg;
	unsigned long long ino, ver;
	unsigned idx;
	int used = 0;

	if (sscanf(oid, "scfs.du1.c.%16llx.%8x.%16llx%n", &ino, &idx, &ver, &used) == 3 &&
	    (size_t)used == strlen(oid))
		push_unit(&g->found, &g->nfound, &g->cap_found,
		          (struct unit_id){.ino = ino, .index = idx, .version = ver});
	else if (sscanf(oid, "i.%16llx%n", &ino, &used) == 1 && (size_t)used == strlen(oid))
		push_ino(&g->orphans, &g->norphans, &g->cap_orphans, ino);
}

static int gc_walk(struct meta *m, uint64_t root, struct gc *g)
{
	size_t head = 0;
	int r;

	r = push_ino(&g->inodes, &g->ninodes, &g->cap_inodes, root);
	while (r == 0 && head < g->ninodes) {
		struct meta_inode rec;
		uint64_t ino = g->inodes[head++];
		r = meta_inode_get(m, ino, &rec, NULL);
		if (r < 0)
			return r;
		for (uint32_t i = 0; i < rec.chunk_count; i++)
			push_unit(
			    &g->refs, &g->nrefs, &g->cap_refs,
			    (struct unit_id){ino, rec.chunks[i].version, rec.chunks[i].index});
		if (S_ISDIR(rec.mode)) {
			struct meta_dentry *e;
			size_t count;
			r = meta_dir_list(m, ino, &e, &count, NULL);
			for (size_t i = 0; r == 0 && i < count; i++) {
				bool seen = false;
				for (size_t j = 0; j < g->ninodes && !seen; j++)
					seen = g->inodes[j] == e[i].ino;
				if (!seen)
					push_ino(&g->inodes, &g->ninodes, &g->cap_inodes, e[i].ino);
			}
			if (r == 0)
				free(e);
		}
		meta_inode_free(&rec);
	}
	return r;
}

static int cmd_gc(struct fsadmin *a)
{
	struct meta *m = NULL;
	struct fs_chunks *chunks = NULL;
	struct meta_superblock sb;
	struct meta_keys keys;
	struct gc g = {0};
	const char *names[META_MAX_CLUSTERS];
	uint8_t priv[32], pub[32];
	char msg[1024], note[1024], holder[512];
	unsigned long removed_chunks = 0, removed_inodes = 0;
	bool leased = false;
	int r, rc = 1;

	if (!a->c.key)
		return fail("gc: give the writer key with -k FILE");
	r = sc_keyfile_private_load(a->c.key, SC_KEY_ED25519, priv);
	if (r < 0)
		return fail("%s: %s", a->c.key,
		            r == -EINVAL ? "not an Ed25519 private key in PEM" : strerror(-r));
	sc_ed25519_public(priv, pub);
	if (open_meta(a, &m) < 0)
		goto out;
	r = meta_mount_check(m, a->fs, priv, pub, &sb, &keys, msg, sizeof(msg), note, sizeof(note));
	if (r < 0) {
		fail("%s", msg);
		goto out;
	}
	meta_set_faults(m, sb.f);
	meta_set_keys(m, &keys);
	sc_wipe(&keys, sizeof(keys));
	/* A live mount's chunks may be uploaded but not yet anchored: gc holds the lease. */
	r = meta_lease_acquire(m, holder, sizeof(holder));
	if (r < 0) {
		fail("gc: file system %s is mounted read-write by %s; unmount it first", a->fs,
		     r == -EBUSY ? holder : "?");
		goto out;
	}
	leased = true;
	for (unsigned i = 0; i < a->c.n; i++)
		names[i] = a->specs[i].cluster;
	{
		struct fs_chunks_opts co = {.n = a->c.n,
		                            .f = sb.f,
		                            .protocol = sb.protocol,
		                            .clusters = names,
		                            .conf_dir = a->c.conf_dir,
		                            .client_id = a->c.id,
		                            .pool = a->c.pool,
		                            .rados_ns = a->fs,
		                            .priv = priv,
		                            .trusted = (const uint8_t(*)[META_KEY_LEN])sb.writers,
		                            .trusted_count = sb.writer_count,
		                            .fs_id = sb.fs_id,
		                            .chunk_size = sb.chunk_size,
		                            .timeout = a->c.timeout};
		r = fs_chunks_open(&co, &chunks, msg, sizeof(msg));
	}
	if (r < 0) {
		fail("data store: %s", msg[0] ? msg : strerror(-r));
		goto out;
	}
	r = gc_walk(m, sb.root_ino, &g);
	if (r < 0) {
		fail("gc: cannot walk the tree: %s (nothing removed)", strerror(-r));
		goto out;
	}
	for (unsigned i = 0; i < meta_n(m); i++)
		meta_list_objects(m, i, gc_object, &g);
	qsort(g.refs, g.nrefs, sizeof(*g.refs), unit_cmp);
	qsort(g.found, g.nfound, sizeof(*g.found), unit_cmp);
	qsort(g.inodes, g.ninodes, sizeof(*g.inodes), u64_cmp);
	qsort(g.orphans, g.norphans, sizeof(*g.orphans), u64_cmp);
	for (size_t i = 0; i < g.nfound; i++) {
		struct meta_chunk_ref ref = {.index = g.found[i].index,
		                             .version = g.found[i].version};
		if (i && unit_cmp(&g.found[i], &g.found[i - 1]) == 0)
			continue;
		if (bsearch(&g.found[i], g.refs, g.nrefs, sizeof(*g.refs), unit_cmp))
			continue;
		if (fs_chunk_delete(chunks, g.found[i].ino, &ref) == 0)
			removed_chunks++;
	}
	for (size_t i = 0; i < g.norphans; i++) {
		if (i && g.orphans[i] == g.orphans[i - 1])
			continue;
		if (bsearch(&g.orphans[i], g.inodes, g.ninodes, sizeof(*g.inodes), u64_cmp))
			continue;
		if (meta_inode_remove(m, g.orphans[i], NULL) == 0)
			removed_inodes++;
	}
	printf("gc %s: %zu inodes reachable, %zu chunk versions referenced; removed %lu chunk "
	       "versions and %lu inodes nothing refers to\n",
	       a->fs, g.ninodes, g.nrefs, removed_chunks, removed_inodes);
	rc = 0;
out:
	if (leased)
		meta_lease_release(m);
	sc_wipe(priv, sizeof(priv));
	fs_chunks_close(chunks);
	meta_close(m);
	free(g.refs);
	free(g.found);
	free(g.inodes);
	free(g.orphans);
	return rc;
}

int admin_fs_main(int argc, char **argv)
{
	enum { OPT_FS = CLI_OPT_FREE, OPT_PROTOCOL, OPT_CHUNK, OPT_VERIFY_ALL };
	static const struct option options[] = {
	    CLI_COMMON_OPTIONS,
	    {"fs", required_argument, NULL, OPT_FS},
	    {"protocol", required_argument, NULL, OPT_PROTOCOL},
	    {"faults", required_argument, NULL, 'f'},
	    {"chunk-size", required_argument, NULL, OPT_CHUNK},
	    {"verify-all", no_argument, NULL, OPT_VERIFY_ALL},
	    {NULL, 0, NULL, 0},
	};
	struct fsadmin a = {.f = -1,
	                    .protocol = 2,
	                    .chunk_size = 4u << 20,
	                    .fs = "scfs",
	                    .c = {.pool = "scfs", .timeout = 10}};
	const char *cmd = NULL;
	int c, rc, taken;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+f:k:", options, NULL)) != -1 || optind < argc) {
		if (c == -1) {
			if (cmd)
				return fail("%s: unexpected argument '%s'", cmd, argv[optind]), 2;
			cmd = argv[optind++];
			continue;
		}
		if ((taken = cli_common_option(PROGRAM, &a.c, c, optarg)) != 0) {
			if (taken < 0)
				return cli_common_free(&a.c), 1;
			continue;
		}
		switch (c) {
		case OPT_FS:
			if (!cli_fs_name_valid(optarg))
				return fail("--fs: '%s' is not a file system name (1-64 of A-Z a-z "
				            "0-9 _ . -)",
				            optarg);
			a.fs = optarg;
			break;
		case OPT_PROTOCOL:
			if (cli_protocol_parse(optarg, &a.protocol) < 0)
				return fail("--protocol: '%s' is neither CA nor A", optarg);
			break;
		case 'f':
			if (cli_faults_parse(optarg, &a.f) < 0)
				return fail("-f: '%s' is not a number from 0 to 5", optarg);
			break;
		case OPT_CHUNK:
			if (sc_size_parse(optarg, &a.chunk_size) < 0)
				return fail("--chunk-size: '%s' is not a size like 4M", optarg);
			break;
		case OPT_VERIFY_ALL:
			a.verify_all = true;
			break;
		default:
			return fail("unknown option (see --help)"), 2;
		}
	}
	for (unsigned i = 0; i < a.c.n; i++) {
		a.specs[i].cluster = a.c.clusters[i];
		a.specs[i].conf_dir = a.c.conf_dir;
		a.specs[i].client_id = a.c.id;
	}
	if (!cmd)
		return fail("no command (see --help)"), 2;
	if (strcmp(cmd, "mkfs") == 0)
		rc = cmd_mkfs(&a);
	else if (strcmp(cmd, "df") == 0)
		rc = cmd_df(&a);
	else if (strcmp(cmd, "gc") == 0)
		rc = cmd_gc(&a);
	else if (strcmp(cmd, "fsck") == 0 || strcmp(cmd, "repair") == 0)
		rc = cmd_fsck(&a, strcmp(cmd, "repair") == 0);
	else
		rc = cmd_unlock(&a);
	cli_common_free(&a.c);
	return rc;
}

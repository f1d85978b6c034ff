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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/crypto.h"
#include "common/keyfile.h"
#include "common/util.h"
#include "chunk.h"
#include "meta.h"
#include "superblock.h"

#define PROGRAM "scfs-admin"

struct fsadmin {
	char *list;
	struct meta_cluster_spec specs[META_MAX_CLUSTERS];
	unsigned n;
	long f;
	unsigned protocol;
	uint64_t chunk_size;
	const char *fs, *pool, *conf_dir, *id, *key_path;
	double timeout;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROGRAM ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

void admin_fs_usage(FILE *out)
{
	fprintf(out,
	        "  mkfs [--fs NAME] [--protocol CA|A] [-f F] [--chunk-size 4M] -k KEY\n"
	        "                          make a file system: a signed superblock per cluster\n"
	        "  df [--fs NAME]          each cluster's space and the room left for files\n"
	        "  unlock [--fs NAME]      break the read-write lease of a dead mount\n"
	        "  fsck [--fs NAME] -k KEY walk the file system; name what each cluster misses\n"
	        "                          or holds wrongly (metadata and chunks); exit 1 if any\n"
	        "  repair [--fs NAME] -k KEY  the same, rewriting metadata where it is missing,\n"
	        "                          old or bad\n");
}

static bool is_fs_command(const char *cmd)
{
	return strcmp(cmd, "mkfs") == 0 || strcmp(cmd, "df") == 0 || strcmp(cmd, "unlock") == 0 ||
	       strcmp(cmd, "fsck") == 0 || strcmp(cmd, "repair") == 0;
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
	    .n = a->n,
	    .f = a->f < 0 ? (a->n - 1) / 3 : (unsigned)a->f,
	    .pool = a->pool,
	    .rados_ns = a->fs,
	    .op_timeout = a->timeout,
	    .connect_timeout = a->timeout,
	};
	struct sc_err err = {""};
	int r;

	if (a->n < 1)
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

	if (!a->key_path)
		return fail(
		    "mkfs: give the writer key with -k FILE (scfs-admin keygen FILE makes one)");
	if (a->n == 0)
		return fail("--clusters is required (e.g. --clusters dc1,dc2,dc3,dc4)");
	f = a->f < 0 ? (a->n - 1) / 3 : (unsigned)a->f;
	if (a->n < 3 * f + 1)
		return fail("mkfs: %u clusters cannot tolerate f=%u (n >= 3f+1)", a->n, f);
	if (a->chunk_size < 4096 || a->chunk_size > (64u << 20) || (a->chunk_size & 4095))
		return fail("--chunk-size: must be a multiple of 4K from 4K to 64M");
	r = sc_keyfile_private_load(a->key_path, SC_KEY_ED25519, key);
	if (r < 0)
		return fail("%s: %s", a->key_path,
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
	size_t queue_head, queue_count, queue_cap;
	unsigned long inodes, entries, chunk_count, problems;
};

/* One line per cluster in MASK; FIXED: repair rewrote it (metadata only, for now). */
static void name_clusters(struct walk *w, uint32_t mask, const char *what, const char *where,
                          bool fixed)
{
	for (unsigned i = 0; i < meta_n(w->m); i++) {
		if (!(mask & (1u << i)))
			continue;
		printf("cluster %s: %s %s%s\n", meta_cluster_name(w->m, i), what, where,
		       w->repair && fixed ? " (rewritten)" : "");
		w->problems++;
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

static void queue_push(struct walk *w, uint64_t ino)
{
	if (w->queue_count == w->queue_cap) {
		size_t nc = w->queue_cap ? 2 * w->queue_cap : 1024;
		uint64_t *n = realloc(w->queue, nc * sizeof(*n));
		if (!n)
			return;
		w->queue = n;
		w->queue_cap = nc;
	}
	w->queue[w->queue_count++] = ino;
}

static void check_inode(struct walk *w, uint64_t ino)
{
	struct meta_report rep = {0};
	struct meta_inode rec;
	char where[96];
	int r;

	snprintf(where, sizeof(where), "inode i.%016llx", (unsigned long long)ino);
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
	for (uint32_t i = 0; i < rec.chunk_count; i++) {
		uint32_t bad = 0, failed = 0;
		char cw[96];
		snprintf(cw, sizeof(cw), "chunk c.%016llx.%08x version %llu",
		         (unsigned long long)ino, rec.chunks[i].index,
		         (unsigned long long)rec.chunks[i].version);
		r = fs_chunk_verify(w->chunks, ino, &rec.chunks[i], &bad, &failed);
		w->chunk_count++;
		name_clusters(w, bad, "serves bad", cw, false);
		name_clusters(w, failed & ~bad, "does not serve", cw, false);
		if (r < 0) {
			printf("%s: unreadable: %s\n", cw, strerror(-r));
			w->problems++;
		}
	}
	if (S_ISDIR(rec.mode))
		queue_push(w, ino);
	meta_inode_free(&rec);
}

static void check_dir(struct walk *w, uint64_t dir)
{
	struct meta_dentry *e;
	size_t count;
	int r = meta_dir_list(w->m, dir, &e, &count, NULL);

	if (r < 0) {
		printf("directory i.%016llx: cannot list: %s\n", (unsigned long long)dir,
		       strerror(-r));
		w->problems++;
		return;
	}
	for (size_t i = 0; i < count; i++) {
		struct meta_report rep = {0};
		char where[96];
		snprintf(where, sizeof(where), "an entry of directory i.%016llx",
		         (unsigned long long)dir);
		meta_audit(w->m, dir, e[i].name, w->repair, &rep);
		report_audit(w, &rep, where);
		w->entries++;
		if (seen_add(w, e[i].ino))
			check_inode(w, e[i].ino);
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

	if (!a->key_path)
		return fail("%s: give a writer key with -k FILE", repair ? "repair" : "fsck");
	r = sc_keyfile_private_load(a->key_path, SC_KEY_ED25519, priv);
	if (r < 0)
		return fail("%s: %s", a->key_path,
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
	for (unsigned i = 0; i < a->n; i++)
		names[i] = a->specs[i].cluster;
	co = (struct fs_chunks_opts){.n = a->n,
	                             .f = sb.f,
	                             .protocol = sb.protocol,
	                             .clusters = names,
	                             .conf_dir = a->conf_dir,
	                             .client_id = a->id,
	                             .pool = a->pool,
	                             .rados_ns = a->fs,
	                             .trusted = (const uint8_t(*)[META_KEY_LEN])sb.writers,
	                             .trusted_count = sb.writer_count,
	                             .fs_id = sb.fs_id,
	                             .chunk_size = sb.chunk_size,
	                             .timeout = a->timeout};
	r = fs_chunks_open(&co, &w.chunks, msg, sizeof(msg));
	if (r < 0) {
		fail("data store: %s", msg[0] ? msg : strerror(-r));
		goto out;
	}
	seen_add(&w, sb.root_ino);
	check_inode(&w, sb.root_ino);
	while (w.queue_head < w.queue_count)
		check_dir(&w, w.queue[w.queue_head++]);
	printf("%s %s: %lu inodes, %lu entries, %lu chunks checked on %u clusters: %lu %s\n",
	       repair ? "repair" : "fsck", a->fs, w.inodes, w.entries, w.chunk_count, a->n,
	       w.problems, repair ? "found (metadata rewritten)" : "problems");
	rc = w.problems ? 1 : 0;
out:
	sc_wipe(priv, sizeof(priv));
	fs_chunks_close(w.chunks);
	meta_close(w.m);
	free(w.seen);
	free(w.queue);
	return rc;
}

static int parse_clusters(struct fsadmin *a, const char *list)
{
	char *save = NULL, *name;

	free(a->list);
	a->list = strdup(list);
	a->n = 0;
	if (!a->list)
		return -ENOMEM;
	for (name = strtok_r(a->list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (a->n == META_MAX_CLUSTERS)
			return -E2BIG;
		a->specs[a->n++].cluster = name;
	}
	return a->n ? 0 : -EINVAL;
}

int admin_fs_main(int argc, char **argv)
{
	enum {
		OPT_CLUSTERS = 256,
		OPT_FS,
		OPT_PROTOCOL,
		OPT_CHUNK,
		OPT_ID,
		OPT_CONF_DIR,
		OPT_POOL,
		OPT_TIMEOUT
	};
	static const struct option options[] = {
	    {"clusters", required_argument, NULL, OPT_CLUSTERS},
	    {"fs", required_argument, NULL, OPT_FS},
	    {"protocol", required_argument, NULL, OPT_PROTOCOL},
	    {"faults", required_argument, NULL, 'f'},
	    {"chunk-size", required_argument, NULL, OPT_CHUNK},
	    {"key", required_argument, NULL, 'k'},
	    {"id", required_argument, NULL, OPT_ID},
	    {"conf-dir", required_argument, NULL, OPT_CONF_DIR},
	    {"pool", required_argument, NULL, OPT_POOL},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {NULL, 0, NULL, 0},
	};
	struct fsadmin a = {.f = -1,
	                    .protocol = 2,
	                    .chunk_size = 4u << 20,
	                    .fs = "scfs",
	                    .pool = "scfs",
	                    .timeout = 10};
	const char *cmd = NULL;
	char *end;
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+f:k:", options, NULL)) != -1 || optind < argc) {
		if (c == -1) {
			if (cmd)
				return fail("%s: unexpected argument '%s'", cmd, argv[optind]), 2;
			cmd = argv[optind++];
			continue;
		}
		switch (c) {
		case OPT_CLUSTERS:
			if (parse_clusters(&a, optarg) < 0)
				return fail("--clusters: give 1-%d names like dc1,dc2,dc3,dc4",
				            META_MAX_CLUSTERS);
			break;
		case OPT_FS:
			if (!optarg[0] || strlen(optarg) > META_FSNAME_MAX ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012"
			                   "3456789_.-") != strlen(optarg))
				return fail("--fs: '%s' is not a file system name (1-64 of A-Z a-z "
				            "0-9 _ . -)",
				            optarg);
			a.fs = optarg;
			break;
		case OPT_PROTOCOL:
			if (strcasecmp(optarg, "CA") == 0)
				a.protocol = 2;
			else if (strcasecmp(optarg, "A") == 0)
				a.protocol = 1;
			else
				return fail("--protocol: '%s' is neither CA nor A", optarg);
			break;
		case 'f':
			errno = 0;
			a.f = strtol(optarg, &end, 10);
			if (errno || *end || a.f < 0 || a.f > 5)
				return fail("-f: '%s' is not a number from 0 to 5", optarg);
			break;
		case OPT_CHUNK:
			if (sc_size_parse(optarg, &a.chunk_size) < 0)
				return fail("--chunk-size: '%s' is not a size like 4M", optarg);
			break;
		case 'k':
			a.key_path = optarg;
			break;
		case OPT_ID:
			a.id = optarg;
			break;
		case OPT_CONF_DIR:
			a.conf_dir = optarg;
			break;
		case OPT_POOL:
			a.pool = optarg;
			break;
		case OPT_TIMEOUT:
			a.timeout = strtod(optarg, &end);
			if (*end || !(a.timeout > 0 && a.timeout <= 3600))
				return fail("--timeout: '%s' is not a number of seconds", optarg);
			break;
		default:
			return fail("unknown option (see --help)"), 2;
		}
	}
	for (unsigned i = 0; i < a.n; i++) {
		a.specs[i].conf_dir = a.conf_dir;
		a.specs[i].client_id = a.id;
	}
	if (!cmd)
		return fail("no command (see --help)"), 2;
	if (strcmp(cmd, "mkfs") == 0)
		rc = cmd_mkfs(&a);
	else if (strcmp(cmd, "df") == 0)
		rc = cmd_df(&a);
	else if (strcmp(cmd, "fsck") == 0 || strcmp(cmd, "repair") == 0)
		rc = cmd_fsck(&a, strcmp(cmd, "repair") == 0);
	else
		rc = cmd_unlock(&a);
	free(a.list);
	return rc;
}

/*
 * rados-scfs: mounts a rados-scfs file system with FUSE (docs/fs.md).
 *
 *   rados-scfs --clusters A,B,C,D [--fs NAME] -k WRITER.pem [-o OPTS] [-f]
 *              [-c scfs.conf] [--id ID] [--conf-dir DIR] [--pool POOL] MOUNTPOINT
 *
 * Like ceph-fuse it forks first (before librados starts a thread) unless
 * -f; the child checks everything, mounts, and tells the parent over a
 * pipe, so the parent's exit status says whether the mount is up, and a
 * refusal is one line on stderr with nothing left mounted or running.
 * Readiness also goes to systemd ($NOTIFY_SOCKET, Type=notify).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/config.h"
#include "common/crypto.h"
#include "common/keyfile.h"
#include "common/log.h"
#include "common/util.h"
#include "fs.h"
#include "superblock.h"

#define PROGRAM "rados-scfs"

struct mount_opts {
	char *cluster_list;
	const char *clusters[META_MAX_CLUSTERS];
	unsigned n;
	const char *fs, *key, *conf, *id, *conf_dir, *pool, *mountpoint, *cache_dir, *log_file;
	uint64_t cache_size;
	double timeout;
	bool ro, allow_other, default_permissions, foreground;
	int debug;
};

static int status_fd = -1; /* the parent's pipe, until the mount is up */

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int l;

	va_start(ap, fmt);
	l = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROGRAM ": %s\n", line);
	(void)l;
	return 1;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: " PROGRAM " --clusters A,B,C,D [--fs NAME] -k WRITER.pem [-o OPTS] [-f]\n"
	    "                  [-c scfs.conf] [--id ID] [--conf-dir DIR] [--pool POOL] MOUNTPOINT\n"
	    "\n"
	    "Mounts the rados-scfs file system NAME (default scfs) kept on the Ceph clusters\n"
	    "A,B,C,D (in the order mkfs was given them).\n"
	    "\n"
	    "  --clusters LIST    cluster names, comma-separated\n"
	    "  --fs NAME          file system name (default scfs)\n"
	    "  -k, --key FILE     writer key (PEM, Ed25519) listed in the superblock\n"
	    "  -o OPTS            ro, rw, allow_other, default_permissions (always on),\n"
	    "                     cache_dir=DIR, cache_size=SIZE (default 1G), log_file=FILE,\n"
	    "                     debug; for fstab also clusters=A:B:C:D, fs=, key=, id=,\n"
	    "                     conf_dir=, pool=, config=\n"
	    "  -f                 stay in the foreground\n"
	    "  -c FILE            defaults from a libconfig file (scfs.conf)\n"
	    "  --id ID            cephx client id (default admin)\n"
	    "  --conf-dir DIR     where CLUSTER.conf and keyrings are (default /etc/ceph)\n"
	    "  --pool POOL        RADOS pool (default scfs)\n"
	    "  --timeout S        deadline of each cluster operation (default 10)\n"
	    "  -h, --help         this text\n");
}

static int set_clusters(struct mount_opts *o, const char *list, const char *sep)
{
	return cli_names_split(list, sep, &o->cluster_list, o->clusters, META_MAX_CLUSTERS, &o->n);
}

/* One -o list; options are kept in the order given, later ones win. */
static int parse_o(struct mount_opts *o, char *list)
{
	static const char *const ignored[] = {
	    "_netdev", "nofail", "noauto",  "auto",     "defaults", "nodev", "nosuid",
	    "dev",     "suid",   "exec",    "noexec",   "user",     "users", "nouser",
	    "async",   "atime",  "noatime", "relatime", NULL};
	char *save = NULL, *opt;

	for (opt = strtok_r(list, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(opt, '=');
		const char *val = eq ? eq + 1 : NULL;
		bool skip = false;
		if (eq)
			*eq = 0;
		for (unsigned i = 0; ignored[i]; i++)
			skip = skip || strcmp(opt, ignored[i]) == 0;
		if (skip || strncmp(opt, "x-", 2) == 0)
			continue;
		if (!strcmp(opt, "ro") && !val)
			o->ro = true;
		else if (!strcmp(opt, "rw") && !val)
			o->ro = false;
		else if (!strcmp(opt, "allow_other") && !val)
			o->allow_other = true;
		else if (!strcmp(opt, "default_permissions") && !val)
			o->default_permissions = true;
		else if (!strcmp(opt, "debug") && !val)
			o->debug = SC_LOG_DEBUG;
		else if (!strcmp(opt, "cache_dir") && val && *val)
			o->cache_dir = val;
		else if (!strcmp(opt, "log_file") && val && *val)
			o->log_file = val;
		else if (!strcmp(opt, "cache_size") && val) {
			if (sc_size_parse(val, &o->cache_size) < 0 || o->cache_size == 0)
				return fail("-o cache_size=%s: not a size like 1G", val), -EINVAL;
		} else if (!strcmp(opt, "clusters") && val) {
			if (set_clusters(o, val, ":") < 0)
				return fail("-o clusters=%s: give names like dc1:dc2:dc3:dc4", val),
				       -EINVAL;
		} else if (!strcmp(opt, "fs") && val)
			o->fs = val;
		else if (!strcmp(opt, "key") && val)
			o->key = val;
		else if (!strcmp(opt, "id") && val)
			o->id = val;
		else if (!strcmp(opt, "conf_dir") && val)
			o->conf_dir = val;
		else if (!strcmp(opt, "pool") && val)
			o->pool = val;
		else if (!strcmp(opt, "config") && val)
			o->conf = val;
		else
			return fail("-o %s%s%s: unknown mount option", opt, val ? "=" : "",
			            val ? val : ""),
			       -EINVAL;
	}
	return 0;
}

/* Defaults from scfs.conf (ceph-conf-examples/scfs.conf); the command line wins. */
static int load_config(struct mount_opts *o, struct sc_config **cfg, bool have[6])
{
	static const char *const names[] = {"clusters", "fs",          "key",       "id",
	                                    "conf_dir", "pool",        "cache_dir", "cache_size",
	                                    "timeout",  "allow_other", "log_file",  NULL};
	const config_setting_t *root;
	struct sc_err err;
	const char *s;
	bool b;

	if (sc_config_open(o->conf, cfg, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	root = sc_config_root(*cfg);
	if (sc_config_check_names(*cfg, root, names, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (sc_config_string(*cfg, root, "clusters", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !have[0] && set_clusters(o, s, ",") < 0)
		return fail("%s: clusters: give names like \"dc1,dc2,dc3,dc4\"", o->conf), -EINVAL;
	if (sc_config_string(*cfg, root, "fs", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !have[1])
		o->fs = s;
	if (sc_config_string(*cfg, root, "key", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !have[2])
		o->key = s;
	if (sc_config_string(*cfg, root, "id", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !have[3])
		o->id = s;
	if (sc_config_string(*cfg, root, "conf_dir", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !have[4])
		o->conf_dir = s;
	if (sc_config_string(*cfg, root, "pool", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !have[5])
		o->pool = s;
	if (sc_config_string(*cfg, root, "cache_dir", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !o->cache_dir)
		o->cache_dir = s;
	if (sc_config_string(*cfg, root, "log_file", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !o->log_file)
		o->log_file = s;
	if (sc_config_string(*cfg, root, "cache_size", false, NULL, &s, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (s && !o->cache_size && sc_size_parse(s, &o->cache_size) < 0)
		return fail("%s: cache_size: '%s' is not a size like 1G", o->conf, s), -EINVAL;
	if (sc_config_double(*cfg, root, "timeout", false, o->timeout, 0.1, 3600, &o->timeout,
	                     &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	if (sc_config_bool(*cfg, root, "allow_other", false, o->allow_other, &b, &err) < 0)
		return fail("%s", err.msg), -EINVAL;
	o->allow_other = b;
	return 0;
}

/* PATH made absolute against the working directory (the daemon runs in /). */
static const char *absolute(const char *path, char **keep)
{
	char cwd[4096];

	if (!path || path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return path;
	if (asprintf(keep, "%s/%s", cwd, path) < 0)
		return path;
	return *keep;
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
}

/* The parent: waits for the child's word (one byte) or its death. */
static int parent_wait(pid_t child, int fd)
{
	char c = 1;
	int status;
	ssize_t r;

	do
		r = read(fd, &c, 1);
	while (r < 0 && errno == EINTR);
	if (r == 1 && c == 0)
		return 0;
	if (waitpid(child, &status, 0) == child && WIFEXITED(status))
		return WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
	return 1;
}

static void tell_parent(char c)
{
	if (status_fd >= 0) {
		(void)!write(status_fd, &c, 1);
		close(status_fd);
		status_fd = -1;
	}
}

/*
 * The keeper: two threads. One renews the mount lease every
 * META_LEASE_SECONDS / 3 on a fixed schedule (read-write mounts only); the
 * other, every KEEPER_CONNECT_SECONDS, probes the store's clusters (so the
 * store connects those it misses), connects the metadata layer's clusters
 * that are not connected (unreachable when the mount started, or since)
 * and replaces a connection whose cluster left two probes in a row
 * unanswered (meta_reconnect). They are apart so that a connection
 * attempt, which may wait the connect timeout, never delays a renewal.
 * keeper.lock guards stop.
 */
#define KEEPER_CONNECT_SECONDS 5

struct keeper {
	struct meta *meta;
	struct fs_chunks *chunks;
	const struct meta_cluster_spec *specs;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	const char *fs;
};

/* Sleeps until the monotonic time AT; false when the mount stops. */
static bool keeper_sleep_until(struct keeper *k, double at)
{
	struct timespec ts = {.tv_sec = (time_t)at,
	                      .tv_nsec = (long)((at - (double)(time_t)at) * 1e9)};
	bool stop;

	pthread_mutex_lock(&k->lock);
	while (!k->stop && sc_now_monotonic() < at)
		if (pthread_cond_timedwait(&k->cond, &k->lock, &ts) == ETIMEDOUT)
			break;
	stop = k->stop;
	pthread_mutex_unlock(&k->lock);
	return !stop;
}

static void *lease_loop(void *arg)
{
	struct keeper *k = arg;
	double next = sc_now_monotonic() + META_LEASE_SECONDS / 3.0;
	bool failing = false;

	while (keeper_sleep_until(k, next)) {
		int r;
		next += META_LEASE_SECONDS / 3.0;
		r = meta_lease_renew(k->meta);
		if (r < 0 && !failing)
			sc_log_error("file system %s: cannot renew the mount lease: %s", k->fs,
			             r == -EBUSY ? "another mount took it" : strerror(-r));
		else if (r == 0 && failing)
			sc_log_warn("file system %s: the mount lease is renewed again", k->fs);
		failing = r < 0;
		if (next < sc_now_monotonic())
			next = sc_now_monotonic();
	}
	return NULL;
}

static void *connect_loop(void *arg)
{
	struct keeper *k = arg;

	while (keeper_sleep_until(k, sc_now_monotonic() + KEEPER_CONNECT_SECONDS)) {
		bool before[META_MAX_CLUSTERS];
		unsigned n = meta_n(k->meta), fresh = 0;
		bool stop;
		int done;
		for (unsigned i = 0; i < n; i++)
			before[i] = meta_cluster_connected(k->meta, i);
		/* The store connects its missing clusters itself, when asked to use them. */
		fs_chunks_probe(k->chunks);
		pthread_mutex_lock(&k->lock);
		stop = k->stop;
		pthread_mutex_unlock(&k->lock);
		if (stop)
			break;
		done = meta_reconnect(k->meta, k->specs);
		for (unsigned i = 0; i < n; i++) {
			if (before[i] || !meta_cluster_connected(k->meta, i))
				continue;
			sc_log_warn("file system %s: cluster %s connected", k->fs,
			            meta_cluster_name(k->meta, i));
			fresh++;
		}
		if (done > (int)fresh)
			sc_log_warn("file system %s: %d unanswering connections replaced", k->fs,
			            done - (int)fresh);
	}
	return NULL;
}

static int run_mount(struct mount_opts *o)
{
	struct meta_cluster_spec specs[META_MAX_CLUSTERS];
	struct meta_opts mo = {.n = o->n,
	                       .f = (o->n - 1) / 3,
	                       .pool = o->pool,
	                       .rados_ns = o->fs,
	                       .op_timeout = o->timeout,
	                       .connect_timeout = o->timeout};
	struct fs fs = {0};
	struct meta_superblock sb;
	struct meta_keys keys;
	struct fs_chunks_opts co = {0};
	struct sc_err err = {""};
	struct keeper keeper = {.fs = o->fs};
	pthread_t lease_thread = 0, connect_thread = 0;
	pthread_condattr_t keeper_attr;
	struct fuse_session *se = NULL;
	struct fuse_loop_config lc = {.clone_fd = 0, .max_idle_threads = 10};
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	uint8_t priv[32], pub[32];
	char msg[1024], note[1024], holder[512], fsidhex[33], cache_dir[4096], fsname[160];
	bool leased = false, mounted = false;
	int r, rc = 1;

	r = sc_keyfile_private_load(o->key, SC_KEY_ED25519, priv);
	if (r < 0)
		return fail("%s: %s", o->key,
		            r == -EINVAL ? "not an Ed25519 private key in PEM" : strerror(-r));
	sc_ed25519_public(priv, pub);
	for (unsigned i = 0; i < o->n; i++)
		specs[i] = (struct meta_cluster_spec){o->clusters[i], o->conf_dir, o->id};
	r = meta_open(&mo, specs, &fs.meta, &err);
	if (r < 0) {
		fail("%s", err.msg);
		goto out;
	}
	if (err.msg[0])
		sc_log_warn("%s", err.msg);
	r = meta_mount_check(fs.meta, o->fs, o->ro ? NULL : priv, pub, &sb, &keys, msg, sizeof(msg),
	                     note, sizeof(note));
	if (r < 0) {
		fail("%s", msg);
		goto out;
	}
	if (note[0])
		fprintf(stderr, PROGRAM ": note: %s\n", note);
	meta_set_faults(fs.meta, sb.f);
	meta_set_keys(fs.meta, &keys);
	sc_wipe(&keys, sizeof(keys));
	if (!o->ro) {
		r = meta_lease_acquire(fs.meta, holder, sizeof(holder));
		if (r == -EBUSY) {
			fail("file system %s is mounted read-write by %s; mount it with -o ro, or "
			     "run scfs-admin unlock if that mount is dead",
			     o->fs, holder);
			goto out;
		}
		if (r < 0) {
			fail("file system %s: cannot take the mount lease: %s", o->fs, holder);
			goto out;
		}
		leased = true;
	}
	co.n = o->n;
	co.f = sb.f;
	co.protocol = sb.protocol;
	co.clusters = o->clusters;
	co.conf_dir = o->conf_dir;
	co.client_id = o->id;
	co.pool = o->pool;
	co.rados_ns = o->fs;
	co.priv = o->ro ? NULL : priv;
	co.trusted = (const uint8_t(*)[META_KEY_LEN])sb.writers;
	co.trusted_count = sb.writer_count;
	co.fs_id = sb.fs_id;
	co.chunk_size = sb.chunk_size;
	co.timeout = o->timeout;
	co.background_delete = true;
	r = fs_chunks_open(&co, &fs.chunks, msg, sizeof(msg));
	if (r < 0) {
		fail("file system %s: data store: %s", o->fs, msg[0] ? msg : strerror(-r));
		goto out;
	}
	sc_hex_encode(sb.fs_id, sizeof(sb.fs_id), fsidhex);
	if (o->cache_dir)
		snprintf(cache_dir, sizeof(cache_dir), "%s", o->cache_dir);
	else
		snprintf(cache_dir, sizeof(cache_dir), "/var/cache/rados-scfs/%s-%.8s%s", o->fs,
		         fsidhex, o->ro ? "-ro" : "");
	if (!o->cache_dir)
		mkdir("/var/cache/rados-scfs", 0700);
	if (o->cache_size < 2ull * sb.chunk_size) {
		fail("cache_size: at least two chunks (%u KiB) needed", 2 * (sb.chunk_size >> 10));
		goto out;
	}
	r = fs_cache_open(cache_dir, o->cache_size, sb.chunk_size, &fs.cache);
	if (r < 0) {
		fail("cache_dir %s: %s", cache_dir, strerror(-r));
		goto out;
	}
	fs.root = sb.root_ino;
	fs.chunk_size = sb.chunk_size;
	fs.f = sb.f;
	fs.protocol = sb.protocol;
	fs.ro = o->ro;
	snprintf(fs.name, sizeof(fs.name), "%s", o->fs);
	if (fs_init_state(&fs) < 0)
		goto out;
	/* The root must be readable before anything is mounted. */
	r = fs_node_probe(&fs, fs.root);
	if (r < 0) {
		fail("file system %s: cannot read the root directory: %s", o->fs, strerror(-r));
		goto out;
	}

	snprintf(fsname, sizeof(fsname), "-ofsname=rados-scfs:%s,subtype=rados-scfs%s%s", o->fs,
	         o->allow_other ? ",allow_other" : "", o->ro ? ",ro" : "");
	if (fuse_opt_add_arg(&args, PROGRAM) < 0 || fuse_opt_add_arg(&args, fsname) < 0 ||
	    fuse_opt_add_arg(&args, "-odefault_permissions") < 0)
		goto out;
	if (o->debug >= SC_LOG_DEBUG && fuse_opt_add_arg(&args, "-odebug") < 0)
		goto out;
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (!se) {
		fail("cannot start a FUSE session (is /dev/fuse there?)");
		goto out;
	}
	if (fuse_set_signal_handlers(se) < 0)
		goto out;
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		fail("cannot mount on %s (busy, or not a directory?)", o->mountpoint);
		goto out;
	}
	mounted = true;
	keeper.meta = fs.meta;
	keeper.chunks = fs.chunks;
	keeper.specs = specs;
	pthread_mutex_init(&keeper.lock, NULL);
	pthread_condattr_init(&keeper_attr);
	pthread_condattr_setclock(&keeper_attr, CLOCK_MONOTONIC);
	pthread_cond_init(&keeper.cond, &keeper_attr);
	pthread_condattr_destroy(&keeper_attr);
	if (leased && pthread_create(&lease_thread, NULL, lease_loop, &keeper) != 0)
		lease_thread = 0;
	if (pthread_create(&connect_thread, NULL, connect_loop, &keeper) != 0)
		connect_thread = 0;
	sc_log_info("file system %s mounted on %s (%s, n=%u f=%u)", o->fs, o->mountpoint,
	            sb.protocol == 2 ? "CA" : "A", sb.n, sb.f);
	notify_systemd("READY=1");
	tell_parent(0);
	if (!o->foreground) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			if (!o->log_file)
				dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}
	rc = fuse_session_loop_mt(se, &lc) == 0 ? 0 : 1;
	notify_systemd("STOPPING=1");
out:
	if (lease_thread || connect_thread) {
		pthread_mutex_lock(&keeper.lock);
		keeper.stop = true;
		pthread_cond_broadcast(&keeper.cond);
		pthread_mutex_unlock(&keeper.lock);
		if (lease_thread)
			pthread_join(lease_thread, NULL);
		if (connect_thread)
			pthread_join(connect_thread, NULL);
	}
	if (se) {
		if (mounted)
			fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
	}
	fuse_opt_free_args(&args);
	if (leased)
		meta_lease_release(fs.meta);
	fs_cache_close(fs.cache);
	fs_chunks_close(fs.chunks);
	meta_close(fs.meta);
	if (fs.table)
		fs_free_state(&fs);
	sc_wipe(priv, sizeof(priv));
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_FS = CLI_OPT_FREE };
	static const struct option options[] = {
	    CLI_COMMON_OPTIONS,
	    {"fs", required_argument, NULL, OPT_FS},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct mount_opts o = {
	    .fs = "scfs", .pool = "scfs", .timeout = 10, .default_permissions = true};
	bool have[6] = {0};
	char *owned[5] = {NULL};
	struct sc_config *cfg = NULL;
	const char *pos[2];
	struct stat st;
	int c, npos = 0, rc, pipefd[2];
	pid_t child;

	while ((c = getopt_long(argc, argv, "-k:o:fc:hV", options, NULL)) != -1) {
		switch (c) {
		case 1:
			if (npos == 2)
				return fail("unexpected argument '%s' (see --help)", optarg), 2;
			pos[npos++] = optarg;
			break;
		case CLI_OPT_CLUSTERS:
			if (set_clusters(&o, optarg, ",") < 0)
				return fail("--clusters: give names like dc1,dc2,dc3,dc4"), 2;
			have[0] = true;
			break;
		case OPT_FS:
			o.fs = optarg;
			have[1] = true;
			break;
		case 'k':
			o.key = optarg;
			have[2] = true;
			break;
		case CLI_OPT_ID:
			o.id = optarg;
			have[3] = true;
			break;
		case CLI_OPT_CONF_DIR:
			o.conf_dir = optarg;
			have[4] = true;
			break;
		case CLI_OPT_POOL:
			o.pool = optarg;
			have[5] = true;
			break;
		case CLI_OPT_TIMEOUT:
			if (cli_timeout_parse(optarg, &o.timeout) < 0)
				return fail("--timeout: '%s' is not a number of seconds", optarg),
				       2;
			break;
		case 'o':
			if (parse_o(&o, optarg) < 0)
				return 2;
			break;
		case 'f':
			o.foreground = true;
			break;
		case 'c':
			o.conf = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROGRAM " " SC_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* mount(8) through mount.fuse3 calls "rados-scfs SOURCE MOUNTPOINT -o ...". */
	if (npos == 2) {
		if (!have[1] && strcmp(pos[0], "none") != 0)
			o.fs = pos[0];
		o.mountpoint = pos[1];
	} else if (npos == 1) {
		o.mountpoint = pos[0];
	} else {
		return fail("no mountpoint given (see --help)"), 2;
	}
	if (o.conf && load_config(&o, &cfg, have) < 0)
		return 2;
	if (!o.cache_size)
		o.cache_size = 1ull << 30;
	if (o.n == 0)
		return fail("--clusters is required (e.g. --clusters dc1,dc2,dc3,dc4)"), 2;
	if (!o.key)
		return fail("no writer key: give -k FILE"), 2;
	if (!o.fs[0] || strlen(o.fs) > META_FSNAME_MAX)
		return fail("--fs: '%s' is not a file system name", o.fs), 2;
	if (stat(o.mountpoint, &st) < 0)
		return fail("mountpoint %s: %s", o.mountpoint, strerror(errno)), 1;
	if (!S_ISDIR(st.st_mode))
		return fail("mountpoint %s: not a directory", o.mountpoint), 1;
	{
		/* Linux would stack a second mount on top: refuse a busy mountpoint. */
		struct stat up;
		char parent[4200];
		snprintf(parent, sizeof(parent), "%s/..", o.mountpoint);
		if (stat(parent, &up) == 0 && (up.st_dev != st.st_dev || up.st_ino == st.st_ino))
			return fail("mountpoint %s is a mount point already (busy)", o.mountpoint),
			       1;
	}
	if (access(o.key, R_OK) < 0)
		return fail("%s: %s", o.key, strerror(errno)), 1;
	o.mountpoint = absolute(o.mountpoint, &owned[0]);
	o.key = absolute(o.key, &owned[1]);
	o.conf_dir = absolute(o.conf_dir, &owned[2]);
	o.cache_dir = absolute(o.cache_dir, &owned[3]);
	o.log_file = absolute(o.log_file, &owned[4]);
	sc_log_open(PROGRAM, o.log_file, o.debug ? o.debug : SC_LOG_WARN);

	if (!o.foreground) {
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return fail("pipe: %s", strerror(errno));
		child = fork();
		if (child < 0)
			return fail("fork: %s", strerror(errno));
		if (child > 0) {
			close(pipefd[1]);
			return parent_wait(child, pipefd[0]);
		}
		close(pipefd[0]);
		status_fd = pipefd[1];
		setsid();
		if (chdir("/") < 0)
			return 1;
	}
	rc = run_mount(&o);
	tell_parent(1);
	sc_config_close(cfg);
	free(o.cluster_list);
	for (unsigned i = 0; i < SC_ARRAY_SIZE(owned); i++)
		free(owned[i]);
	sc_log_close();
	return rc;
}

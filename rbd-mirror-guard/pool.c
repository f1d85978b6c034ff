/*
 * `rbd-mirror-guard pool enable|disable|status`: what an admin otherwise
 * types with the rbd CLI on both clusters, through librbd and librados.
 *
 * enable is idempotent: each step reads the current state first and changes
 * only what differs, printing "set" or "already"; a second run prints
 * "nothing changed". Every step runs under a watchdog: a step that exceeds
 * --timeout ends the program with one line naming the cluster and the step,
 * so a bootstrap never hangs. The bootstrap token holds a cephx secret: it
 * lives only in this process's memory (never in argv, a file or a log) and
 * is wiped after the import. The import dials the primary's MONs from this
 * host, so on a secondary behind the guard `connect` must be up first.
 *
 * Lock: watch_lock guards the watchdog's step and deadline.
 */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "commands.h"
#include "common/cluster.h"
#include "common/crypto.h"
#include "common/util.h"

#define TOKEN_MAX 4096
#define PEERS_MAX 16
#define IMAGES_MAX 4096

struct pool_args {
	const char *pool, *primary, *secondary, *conf_dir, *mirror_id, *interval, *socket;
	rbd_mirror_mode_t mode;
	rbd_mirror_image_mode_t image_mode;
	rbd_mirror_peer_direction_t direction;
	double timeout;
	bool json;
};

/* ---- the watchdog ------------------------------------------------------ */
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static char watch_step[512];
static double watch_deadline, watch_timeout;

static void step(const char *cluster, const char *what)
{
	pthread_mutex_lock(&watch_lock);
	snprintf(watch_step, sizeof(watch_step), "cluster %s: %s", cluster, what);
	watch_deadline = sc_now_monotonic() + watch_timeout;
	pthread_mutex_unlock(&watch_lock);
}

static void *watchdog(void *arg)
{
	for (;;) {
		usleep(200000);
		pthread_mutex_lock(&watch_lock);
		if (watch_deadline > 0 && sc_now_monotonic() > watch_deadline) {
			fprintf(stderr, "rbd-mirror-guard: %s: timed out after %g s\n", watch_step,
			        watch_timeout);
			fflush(stderr);
			_exit(1);
		}
		pthread_mutex_unlock(&watch_lock);
	}
	return arg;
}

static int fail_step(const char *what, int r)
{
	pthread_mutex_lock(&watch_lock);
	fprintf(stderr, "rbd-mirror-guard: %s: %s%s\n", watch_step, what, strerror(-r));
	pthread_mutex_unlock(&watch_lock);
	return r;
}

static void report(bool *changed, bool did, const char *cluster, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(bool *changed, bool did, const char *cluster, const char *fmt, ...)
{
	va_list ap;

	printf("cluster %s: ", cluster);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s\n", did ? "set" : "already");
	if (did)
		*changed = true;
}

/* The mgr's rbd_support names a pool level "POOL/" (a bare name does not parse). */

/* ---- the steps ----------------------------------------------------------- */
static int connect_cluster(const struct pool_args *a, const char *name, rados_t *out)
{
	struct sc_cluster_opts o = {.cluster = name,
	                            .conf_dir = a->conf_dir,
	                            .connect_timeout = a->timeout,
	                            .op_timeout = a->timeout};
	struct sc_err err;
	int r;

	step(name, "connect");
	r = sc_cluster_connect(&o, out, &err);
	if (r < 0)
		fprintf(stderr, "rbd-mirror-guard: %s\n", err.msg);
	return r;
}

static int ioctx_of(rados_t rados, const char *cluster, const char *pool, bool create,
                    bool *changed, rados_ioctx_t *out)
{
	int r;

	step(cluster, "open pool");
	r = rados_ioctx_create(rados, pool, out);
	if (r == -ENOENT && create) {
		step(cluster, "create pool");
		if ((r = rados_pool_create(rados, pool)) < 0 && r != -EEXIST)
			return fail_step("", r);
		if ((r = rados_ioctx_create(rados, pool, out)) < 0)
			return fail_step("", r);
		step(cluster, "rbd pool init");
		if ((r = rbd_pool_init(*out, false)) < 0)
			return fail_step("", r);
		report(changed, true, cluster, "pool %s created", pool);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "rbd-mirror-guard: cluster %s: pool %s: %s\n", cluster, pool,
		        strerror(-r));
		return r;
	}
	return 0;
}

static int site_name(rados_t rados, const char *cluster, bool *changed)
{
	char name[256];
	size_t len = sizeof(name);
	int r;

	step(cluster, "site name");
	if ((r = rbd_mirror_site_name_get(rados, name, &len)) < 0)
		return fail_step("", r);
	if (strcmp(name, cluster) == 0) {
		report(changed, false, cluster, "site name %s", cluster);
		return 0;
	}
	if ((r = rbd_mirror_site_name_set(rados, cluster)) < 0)
		return fail_step("", r);
	report(changed, true, cluster, "site name %s", cluster);
	return 0;
}

static int mirror_mode(rados_ioctx_t io, const char *cluster, rbd_mirror_mode_t mode, bool *changed)
{
	rbd_mirror_mode_t now;
	int r;

	step(cluster, "mirror mode");
	if ((r = rbd_mirror_mode_get(io, &now)) < 0)
		return fail_step("", r);
	if (now != mode && (r = rbd_mirror_mode_set(io, mode)) < 0)
		return fail_step("", r);
	report(changed, now != mode, cluster, "mirror mode %s",
	       mode == RBD_MIRROR_MODE_POOL    ? "pool"
	       : mode == RBD_MIRROR_MODE_IMAGE ? "image"
	                                       : "disabled");
	return 0;
}

/* The rbd-mirror daemon's own cephx user on the secondary, and its keyring. */
static int mirror_user(rados_t rados, const struct pool_args *a, bool *changed)
{
	char cmd[512], entity[128], path[4096];
	const char *cmds[1] = {cmd};
	char *out = NULL, *outs = NULL;
	size_t outlen = 0, outslen = 0;
	struct stat st;
	int r;

	snprintf(entity, sizeof(entity), "client.rbd-mirror.%s", a->mirror_id);
	snprintf(path, sizeof(path), "%s/%s.%s.keyring", a->conf_dir ? a->conf_dir : "/etc/ceph",
	         a->secondary, entity);
	step(a->secondary, "rbd-mirror user");
	snprintf(cmd, sizeof(cmd), "{\"prefix\":\"auth get\",\"entity\":\"%s\"}", entity);
	r = rados_mon_command(rados, cmds, 1, "", 0, &out, &outlen, &outs, &outslen);
	bool existed = r == 0;
	rados_buffer_free(out);
	rados_buffer_free(outs);
	out = outs = NULL;
	if (r < 0 && r != -ENOENT)
		return fail_step("auth get: ", r);
	if (existed && stat(path, &st) == 0) {
		report(changed, false, a->secondary, "rbd-mirror user %s", entity);
		return 0;
	}
	snprintf(cmd, sizeof(cmd),
	         "{\"prefix\":\"auth get-or-create\",\"entity\":\"%s\",\"caps\":"
	         "[\"mon\",\"profile rbd-mirror\",\"osd\",\"profile rbd\"],\"format\":\"plain\"}",
	         entity);
	r = rados_mon_command(rados, cmds, 1, "", 0, &out, &outlen, &outs, &outslen);
	if (r == 0) {
		/* The keyring holds a secret: 0600 from its first byte. */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 && errno == EEXIST)
			r = 0;
		else if (fd < 0)
			r = -errno;
		else {
			r = sc_write_all(fd, out, outlen);
			close(fd);
		}
	}
	if (out)
		sc_wipe(out, outlen);
	rados_buffer_free(out);
	rados_buffer_free(outs);
	if (r < 0)
		return fail_step("auth get-or-create: ", r);
	report(changed, true, a->secondary, "rbd-mirror user %s (keyring written)", entity);
	return 0;
}

/* Is there a peer named SITE already? */
static int peer_find(rados_ioctx_t io, const char *site, char *uuid, size_t size)
{
	rbd_mirror_peer_site_t peers[PEERS_MAX];
	int n = PEERS_MAX, r = rbd_mirror_peer_site_list(io, peers, &n);

	if (r < 0)
		return r;
	r = 0;
	for (int i = 0; i < n; i++)
		if (peers[i].site_name && strcmp(peers[i].site_name, site) == 0) {
			if (uuid)
				snprintf(uuid, size, "%s", peers[i].uuid);
			r = 1;
		}
	rbd_mirror_peer_site_list_cleanup(peers, n);
	return r;
}

static int bootstrap(rados_ioctx_t pio, rados_ioctx_t sio, const struct pool_args *a, bool *changed)
{
	char *token = NULL;
	size_t len = TOKEN_MAX;
	int r;

	step(a->secondary, "peer list");
	r = peer_find(sio, a->primary, NULL, 0);
	if (r < 0)
		return fail_step("", r);
	if (r == 1) {
		report(changed, false, a->secondary, "peer %s", a->primary);
		return 0;
	}
	token = calloc(1, TOKEN_MAX);
	if (!token)
		return -ENOMEM;
	step(a->primary, "peer bootstrap create");
	r = rbd_mirror_peer_bootstrap_create(pio, token, &len);
	if (r < 0) {
		fail_step("", r);
		goto out;
	}
	step(a->secondary, "peer bootstrap import (needs the tunnel to the primary)");
	r = rbd_mirror_peer_bootstrap_import(sio, a->direction, token);
	if (r < 0) {
		fail_step("", r);
		goto out;
	}
	report(changed, true, a->secondary, "peer %s", a->primary);
out:
	sc_wipe(token, TOKEN_MAX);
	free(token);
	return r;
}

static int images_enable(rados_ioctx_t io, const struct pool_args *a, bool *changed)
{
	rbd_image_spec_t *specs = calloc(IMAGES_MAX, sizeof(*specs));
	size_t n = IMAGES_MAX;
	int r;

	if (!specs)
		return -ENOMEM;
	step(a->primary, "list images");
	if ((r = rbd_list2(io, specs, &n)) < 0) {
		fail_step("", r);
		goto out;
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		rbd_image_t img;
		rbd_mirror_image_info_t info;
		char what[300];

		snprintf(what, sizeof(what), "image %s: mirroring", specs[i].name);
		step(a->primary, what);
		if ((r = rbd_open(io, specs[i].name, &img, NULL)) < 0) {
			fail_step("", r);
			break;
		}
		r = rbd_mirror_image_get_info(img, &info, sizeof(info));
		if (r == 0) {
			bool on = info.state == RBD_MIRROR_IMAGE_ENABLED;
			rbd_mirror_image_get_info_cleanup(&info);
			if (a->mode == RBD_MIRROR_MODE_POOL) {
				uint64_t features = 0;
				rbd_get_features(img, &features);
				on = features & RBD_FEATURE_JOURNALING;
				if (!on)
					r = rbd_update_features(img, RBD_FEATURE_JOURNALING, 1);
			} else if (!on) {
				r = rbd_mirror_image_enable2(img, a->image_mode);
			}
			if (r == 0)
				report(changed, !on, a->primary, "image %s: mirroring",
				       specs[i].name);
		}
		rbd_close(img);
		if (r < 0)
			fail_step("", r);
	}
out:
	rbd_image_spec_list_cleanup(specs, n);
	free(specs);
	return r;
}

/* One mgr command; its error text goes to stderr. FOUND (may be NULL) gets
 * whether the answer holds NEEDLE. */
static int mgr_command(rados_t rados, const char *cmd, const char *needle, bool *found)
{
	const char *cmds[1] = {cmd};
	char *out = NULL, *outs = NULL;
	size_t outlen = 0, outslen = 0;
	int r = rados_mgr_command(rados, cmds, 1, "", 0, &out, &outlen, &outs, &outslen);

	if (found)
		*found = r == 0 && out && memmem(out, outlen, needle, strlen(needle));
	if (r < 0 && outs)
		fprintf(stderr, "rbd-mirror-guard: mgr: %.*s\n", (int)outslen, outs);
	rados_buffer_free(out);
	rados_buffer_free(outs);
	return r;
}

static int schedule(rados_t rados, const struct pool_args *a, bool *changed)
{
	char cmd[512];
	bool have = false;
	int r;

	step(a->primary, "snapshot schedule (mgr)");
	snprintf(cmd, sizeof(cmd),
	         "{\"prefix\":\"rbd mirror snapshot schedule list\",\"level_spec\":\"%s/\"}",
	         a->pool);
	if ((r = mgr_command(rados, cmd, a->interval, &have)) < 0)
		return fail_step("schedule ls: ", r);
	if (!have) {
		snprintf(cmd, sizeof(cmd),
		         "{\"prefix\":\"rbd mirror snapshot schedule add\",\"level_spec\":\"%s/\","
		         "\"interval\":\"%s\"}",
		         a->pool, a->interval);
		if ((r = mgr_command(rados, cmd, NULL, NULL)) < 0)
			return fail_step("schedule add: ", r);
	}
	report(changed, !have, a->primary, "snapshot schedule every %s", a->interval);
	return 0;
}

/* What a pool command holds: the clusters and their pools, closed in one place. */
struct session {
	rados_t pr, sr;
	rados_ioctx_t pio, sio;
};

/* Connects to the primary (when named) and the secondary (when named) and
 * opens the pool there; CREATE makes it on the secondary if it is missing. */
static int session_open(const struct pool_args *a, bool create, bool *changed, struct session *s)
{
	int r = 0;

	memset(s, 0, sizeof(*s));
	if (a->primary && (r = connect_cluster(a, a->primary, &s->pr)) < 0)
		return r;
	if (a->secondary && (r = connect_cluster(a, a->secondary, &s->sr)) < 0)
		return r;
	if (s->pr && (r = ioctx_of(s->pr, a->primary, a->pool, false, changed, &s->pio)) < 0)
		return r;
	if (s->sr && (r = ioctx_of(s->sr, a->secondary, a->pool, create, changed, &s->sio)) < 0)
		return r;
	return 0;
}

static void session_close(struct session *s)
{
	pthread_mutex_lock(&watch_lock);
	watch_deadline = 0;
	pthread_mutex_unlock(&watch_lock);
	if (s->pio)
		rados_ioctx_destroy(s->pio);
	if (s->sio)
		rados_ioctx_destroy(s->sio);
	if (s->pr)
		rados_shutdown(s->pr);
	if (s->sr)
		rados_shutdown(s->sr);
}

static int pool_enable(const struct pool_args *a)
{
	struct session s;
	bool changed = false;
	int r;

	if ((r = session_open(a, true, &changed, &s)) < 0)
		goto out;
	if ((r = site_name(s.pr, a->primary, &changed)) < 0 ||
	    (r = site_name(s.sr, a->secondary, &changed)) < 0 ||
	    (r = mirror_mode(s.pio, a->primary, a->mode, &changed)) < 0 ||
	    (r = mirror_mode(s.sio, a->secondary, a->mode, &changed)) < 0 ||
	    (r = mirror_user(s.sr, a, &changed)) < 0 ||
	    (r = bootstrap(s.pio, s.sio, a, &changed)) < 0 ||
	    (r = images_enable(s.pio, a, &changed)) < 0)
		goto out;
	if (a->interval && a->image_mode == RBD_MIRROR_IMAGE_MODE_SNAPSHOT &&
	    (r = schedule(s.pr, a, &changed)) < 0)
		goto out;
	printf("pool %s: mirrored from %s to %s%s\n", a->pool, a->primary, a->secondary,
	       changed ? "" : ": nothing changed");
out:
	session_close(&s);
	return r < 0 ? 1 : 0;
}

/* Mirroring off on every image of IO (FORCE on the secondary, whose images
 * are not primary), then the peers, then the mode. */
static int disable_side(rados_ioctx_t io, const char *cluster, bool force)
{
	rbd_image_spec_t *specs = calloc(IMAGES_MAX, sizeof(*specs));
	rbd_mirror_peer_site_t peers[PEERS_MAX];
	size_t n = IMAGES_MAX;
	int np = PEERS_MAX, r;

	if (!specs)
		return -ENOMEM;
	step(cluster, "disable image mirroring");
	if ((r = rbd_list2(io, specs, &n)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		rbd_image_t img;
		if (rbd_open(io, specs[i].name, &img, NULL) == 0) {
			rbd_mirror_image_disable(img, force);
			rbd_close(img);
		}
	}
	step(cluster, "remove peers");
	if ((r = rbd_mirror_peer_site_list(io, peers, &np)) < 0)
		goto out;
	for (int i = 0; i < np; i++)
		rbd_mirror_peer_site_remove(io, peers[i].uuid);
	rbd_mirror_peer_site_list_cleanup(peers, np);
	step(cluster, "mirror mode disabled");
	r = rbd_mirror_mode_set(io, RBD_MIRROR_MODE_DISABLED);
	if (r == 0)
		printf("cluster %s: mirroring disabled\n", cluster);
out:
	rbd_image_spec_list_cleanup(specs, n);
	free(specs);
	return r < 0 ? fail_step("", r) : 0;
}

static int pool_disable(const struct pool_args *a)
{
	struct session s;
	bool changed = false;
	int r;

	if ((r = session_open(a, false, &changed, &s)) < 0 ||
	    (r = disable_side(s.sio, a->secondary, true)) < 0 ||
	    (r = disable_side(s.pio, a->primary, false)) < 0)
		goto out;
out:
	session_close(&s);
	return r < 0 ? 1 : 0;
}

static const char *state_name(rbd_mirror_image_status_state_t s)
{
	static const char *const names[] = {"unknown",         "error",     "syncing",
	                                    "starting_replay", "replaying", "stopping_replay",
	                                    "stopped"};
	return (unsigned)s < SC_ARRAY_SIZE(names) ? names[s] : "unknown";
}

/* A number after "KEY": in a status description (Ceph's own JSON), or -1. */
static double desc_number(const char *desc, const char *key)
{
	char pattern[64];
	const char *p;

	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	p = desc ? strstr(desc, pattern) : NULL;
	return p ? strtod(p + strlen(pattern), NULL) : -1;
}

/* Bytes of image NAME's journal on the primary that the secondary's
 * rbd-mirror (registered there under the secondary pool's MIRROR_UUID) has
 * not committed yet; -1 when not in journal mode or not known. */
static double journal_behind(const struct session *s, const char *mirror_uuid, const char *name)
{
	rbd_mirror_image_mode_t mode;
	rbd_image_t img;
	char id[128];
	uint64_t bytes = 0;
	int r;

	if (!s->pio || !mirror_uuid[0] || rbd_open_read_only(s->pio, name, &img, NULL) < 0)
		return -1;
	r = rbd_mirror_image_get_mode(img, &mode);
	if (r == 0 && mode != RBD_MIRROR_IMAGE_MODE_JOURNAL)
		r = -EMEDIUMTYPE;
	if (r == 0)
		r = rbd_get_id(img, id, sizeof(id));
	rbd_close(img);
	if (r == 0)
		r = guard_journal_bytes_behind(s->pio, id, mirror_uuid, &bytes);
	if (r < 0 && r != -EMEDIUMTYPE && r != -ENOENT)
		fprintf(stderr, "rbd-mirror-guard: image %s: journal not read: %s\n", name,
		        strerror(-r));
	return r < 0 ? -1 : (double)bytes;
}

/* One image of the status list, as JSON into B (and a line when not JSON). */
static void image_status(const struct pool_args *a, const struct session *s, rados_ioctx_t io,
                         const char *mirror_uuid, const char *id,
                         const rbd_mirror_image_global_status_t *st, struct guard_buf *b,
                         bool first)
{
	rbd_mirror_image_site_status_t *local = NULL;
	bool primary = false;
	rbd_image_t img;

	for (uint32_t j = 0; j < st->site_statuses_count; j++)
		if (!st->site_statuses[j].mirror_uuid[0])
			local = &st->site_statuses[j];
	/* info.primary of the list is always false: ask the image. */
	if (rbd_open_by_id(io, id, &img, NULL) == 0) {
		rbd_mirror_image_info_t info;
		if (rbd_mirror_image_get_info(img, &info, sizeof(info)) == 0) {
			primary = info.primary;
			rbd_mirror_image_get_info_cleanup(&info);
		}
		rbd_close(img);
	}
	const char *desc = local && local->description ? local->description : "";
	const char *state = local ? state_name(local->state) : "unknown";
	double lt = desc_number(desc, "local_snapshot_timestamp");
	double rt = desc_number(desc, "remote_snapshot_timestamp");
	double entries = desc_number(desc, "entries_behind_primary");
	double bps = desc_number(desc, "bytes_per_snapshot");
	double prog = desc_number(desc, "syncing_percent");
	/* Journal mode: from the primary's journal; snapshot mode: what the
	 * sync in progress has left of its snapshot. */
	if (s->pio) {
		char what[300];
		snprintf(what, sizeof(what), "image %s: journal", st->name);
		step(a->primary, what);
	}
	double bytes = journal_behind(s, mirror_uuid, st->name);
	bool journal = bytes >= 0 || entries >= 0;
	if (!journal)
		bytes = bps >= 0 && prog >= 0 ? bps * (100 - prog) / 100 : 0;
	char bytes_text[32];
	if (bytes >= 0)
		snprintf(bytes_text, sizeof(bytes_text), "%.0f", bytes);
	else
		snprintf(bytes_text, sizeof(bytes_text), "null");
	guard_buf_printf(b, "%s{\"name\":", first ? "" : ",");
	guard_buf_json_string(b, st->name);
	guard_buf_printf(b,
	                 ",\"primary\":%s,\"state\":\"%s\",\"up\":%s,\"mode\":\"%s\","
	                 "\"seconds_behind\":%.0f,\"entries_behind\":%.0f,"
	                 "\"bytes_behind\":%s,\"description\":",
	                 primary ? "true" : "false", state, local && local->up ? "true" : "false",
	                 journal ? "journal" : "snapshot",
	                 lt >= 0 && rt >= lt ? rt - lt : (entries >= 0 ? -1 : 0),
	                 entries >= 0 ? entries : 0, bytes_text);
	guard_buf_json_string(b, desc);
	guard_buf_printf(b, "}");
	if (!a->json)
		printf("%-24s %-8s %-16s %12s bytes behind  %s\n", st->name,
		       primary ? "primary" : "replica", state, bytes_text, desc);
}

static int pool_status(const struct pool_args *a)
{
	char *ids[64];
	rbd_mirror_image_global_status_t st[64];
	const char *cluster = a->secondary ? a->secondary : a->primary;
	struct session s = {0};
	struct guard_buf b = {0};
	char *tunnel = NULL, mirror_uuid[64] = "", last[128] = "";
	const char *start = "";
	size_t n, uuid_len = sizeof(mirror_uuid);
	int r, count = 0;
	bool changed = false;

	if (!cluster) {
		fprintf(stderr, "rbd-mirror-guard: pool status needs --secondary or --primary\n");
		return 2;
	}
	/* With both clusters named, the primary's journals give journal mode's
	 * bytes behind (through the tunnel, on a secondary behind the guard). */
	if ((r = session_open(a, false, &changed, &s)) < 0)
		goto out;
	rados_ioctx_t io = s.sio ? s.sio : s.pio;
	if (s.sio && s.pio && rbd_mirror_uuid_get(s.sio, mirror_uuid, &uuid_len) < 0)
		mirror_uuid[0] = '\0';
	step(cluster, "mirror image status");
	guard_buf_printf(&b, "{\"pool\":\"%s\",\"cluster\":\"%s\",\"images\":[", a->pool, cluster);
	do {
		n = 0;
		r = rbd_mirror_image_global_status_list(io, start, 64, ids, st, &n);
		if (r < 0) {
			fail_step("", r);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			image_status(a, &s, io, mirror_uuid, ids[i], &st[i], &b, count++ == 0);
			step(cluster, "mirror image status");
		}
		if (n > 0)
			snprintf(last, sizeof(last), "%s", ids[n - 1]);
		rbd_mirror_image_global_status_list_cleanup(ids, st, n);
		start = last;
	} while (n == 64);
	guard_buf_printf(&b, "],\"tunnel\":");
	if (a->socket && guard_status_query(a->socket, &tunnel) == 0) {
		size_t tl = strlen(tunnel);
		while (tl && tunnel[tl - 1] == '\n')
			tunnel[--tl] = '\0';
		guard_buf_printf(&b, "%s}", tunnel);
	} else {
		guard_buf_printf(&b, "null}");
	}
	if (a->json)
		printf("%s\n", b.data);
	else if (tunnel)
		printf("tunnel: %s\n", tunnel);
	r = 0;
out:
	session_close(&s);
	free(tunnel);
	free(b.data);
	return r < 0 ? 1 : 0;
}

static const char pool_usage[] =
    "usage: rbd-mirror-guard pool enable|disable|status POOL --primary CLUSTER\n"
    "           --secondary CLUSTER [--mode image|pool] [--image-mode journal|snapshot]\n"
    "           [--direction rx-only|rx-tx] [--snapshot-interval DUR] [--mirror-id ID]\n"
    "           [--conf-dir DIR] [--timeout SECONDS] [--socket CONNECT_STATUS_SOCKET]\n"
    "           [--format json|plain]\n";

int guard_cmd_pool(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"primary", required_argument, NULL, 'p'},
	    {"secondary", required_argument, NULL, 's'},
	    {"mode", required_argument, NULL, 'm'},
	    {"image-mode", required_argument, NULL, 'i'},
	    {"direction", required_argument, NULL, 'D'},
	    {"snapshot-interval", required_argument, NULL, 'I'},
	    {"mirror-id", required_argument, NULL, 'M'},
	    {"conf-dir", required_argument, NULL, 'C'},
	    {"timeout", required_argument, NULL, 't'},
	    {"socket", required_argument, NULL, 'S'},
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct pool_args a = {
	    .mode = RBD_MIRROR_MODE_IMAGE,
	    .image_mode = RBD_MIRROR_IMAGE_MODE_JOURNAL,
	    .direction = RBD_MIRROR_PEER_DIRECTION_RX,
	    .mirror_id = "a",
	    .timeout = 30,
	};
	const char *verb;
	pthread_t w;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			a.primary = optarg;
			break;
		case 's':
			a.secondary = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "image") && strcmp(optarg, "pool"))
				return guard_fail("--mode: '%s' is neither image nor pool", optarg);
			a.mode =
			    strcmp(optarg, "pool") ? RBD_MIRROR_MODE_IMAGE : RBD_MIRROR_MODE_POOL;
			break;
		case 'i':
			if (strcmp(optarg, "journal") && strcmp(optarg, "snapshot"))
				return guard_fail(
				    "--image-mode: '%s' is neither journal nor snapshot", optarg);
			a.image_mode = strcmp(optarg, "snapshot") ? RBD_MIRROR_IMAGE_MODE_JOURNAL
			                                          : RBD_MIRROR_IMAGE_MODE_SNAPSHOT;
			break;
		case 'D':
			if (!strcmp(optarg, "rx-only"))
				a.direction = RBD_MIRROR_PEER_DIRECTION_RX;
			else if (!strcmp(optarg, "rx-tx"))
				a.direction = RBD_MIRROR_PEER_DIRECTION_RX_TX;
			else
				return guard_fail("--direction: '%s' is neither rx-only nor rx-tx",
				                  optarg);
			break;
		case 'I':
			a.interval = optarg;
			break;
		case 'M':
			a.mirror_id = optarg;
			break;
		case 'C':
			a.conf_dir = optarg;
			break;
		case 't':
			a.timeout = strtod(optarg, NULL);
			if (a.timeout <= 0)
				return guard_fail("--timeout: '%s' is not a number of seconds",
				                  optarg);
			break;
		case 'S':
			a.socket = optarg;
			break;
		case 'f':
			a.json = !strcmp(optarg, "json");
			break;
		case 'h':
			fputs(pool_usage, stdout);
			return 0;
		default:
			fputs(pool_usage, stderr);
			return 2;
		}
	}
	if (optind + 2 != argc) {
		fputs(pool_usage, stderr);
		return 2;
	}
	verb = argv[optind];
	a.pool = argv[optind + 1];
	if (a.mode == RBD_MIRROR_MODE_POOL && a.image_mode == RBD_MIRROR_IMAGE_MODE_SNAPSHOT)
		return guard_fail("--mode pool mirrors journaled images only: use --mode image "
		                  "for snapshot mirroring");
	if (strchr(a.mirror_id, '"') || strchr(a.pool, '"') ||
	    (a.interval && strchr(a.interval, '"')))
		return guard_fail("names must not contain '\"'");
	watch_timeout = a.timeout;
	pthread_create(&w, NULL, watchdog, NULL);
	pthread_detach(w);
	if (!strcmp(verb, "status"))
		return pool_status(&a);
	if (!a.primary || !a.secondary)
		return guard_fail("pool %s needs --primary and --secondary", verb);
	if (!strcmp(verb, "enable"))
		return pool_enable(&a);
	if (!strcmp(verb, "disable"))
		return pool_disable(&a);
	return guard_fail("pool: unknown verb '%s' (enable, disable, status)", verb);
}

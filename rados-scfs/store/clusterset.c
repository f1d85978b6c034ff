/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cluster set: opening the n clusters in parallel, reconnecting the ones
 * that were down, and each cluster's state as the operations see it
 * (latency EWMA, up/slow/down/bad data, the last reason). Nothing here
 * decides a quorum; write.c, read.c, index.c and delete.c do.
 */
#include <errno.h>
#include <stddef.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cluster.h"
#include "common/crypto.h"
#include "common/util.h"
#include "store_internal.h"

#define EWMA_WEIGHT 0.2
#define SLOW_FACTOR 4.0
#define SLOW_FLOOR_MS 50.0

const char *store_protocol_name(enum store_protocol protocol)
{
	return protocol == STORE_PROTOCOL_A ? "A" : protocol == STORE_PROTOCOL_CA ? "CA" : "?";
}

const char *store_cluster_name(const struct store *store, unsigned index)
{
	return store->clusters[index].name;
}

bool store_error_is_transport(int r)
{
	return r == -ETIMEDOUT || r == -ENOTCONN || r == -ECONNREFUSED || r == -ESHUTDOWN ||
	       r == -EHOSTUNREACH || r == -ECONNRESET || r == -ENETUNREACH;
}

/* Copies SRC into DST, cut to fit (names and reasons only, never secrets). */
static void copy_string(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/*
 * Half of librados's in-flight budget for this client: the store never
 * reaches the point where a submission would block in librados's throttle.
 */
static void cluster_budget(struct cluster *cl, rados_t rados)
{
	char buf[64];
	unsigned long long ops = 1024, bytes = 100ull << 20;

	if (rados_conf_get(rados, "objecter_inflight_ops", buf, sizeof(buf)) == 0)
		ops = strtoull(buf, NULL, 10);
	if (rados_conf_get(rados, "objecter_inflight_op_bytes", buf, sizeof(buf)) == 0)
		bytes = strtoull(buf, NULL, 10);
	cl->cap_ops = ops >= 2 ? (unsigned)(ops / 2) : 1;
	cl->cap_bytes = bytes >= 2 ? (size_t)(bytes / 2) : 1;
}

/* Connects one cluster; runs in its own thread. */
static void *cluster_connect_thread(void *arg)
{
	struct cluster *cl = arg;
	struct store *store =
	    (struct store *)((char *)(cl - cl->index) - offsetof(struct store, clusters));
	struct sc_cluster_opts opts = {0};
	struct sc_err err = {{0}};
	char entity[96];
	rados_t rados = NULL;
	rados_ioctx_t io = NULL;
	int r;

	opts.cluster = cl->name;
	opts.conf_dir = cl->conf_dir[0] ? cl->conf_dir : NULL;
	opts.conf_path = cl->conf_path[0] ? cl->conf_path : NULL;
	opts.keyring = cl->keyring[0] ? cl->keyring : NULL;
	opts.connect_timeout = store->connect_timeout;
	/* librados gives up on a hung OSD after this; our deadline is far shorter. */
	opts.op_timeout = store->op_timeout * 3 > 30 ? store->op_timeout * 3 : 30;
	if (cl->client[0]) {
		if (sc_cluster_name_from_id(cl->client, entity, sizeof(entity)) < 0) {
			r = -EINVAL;
			snprintf(err.msg, sizeof(err.msg), "cluster %s: invalid client id '%s'",
			         cl->name, cl->client);
			goto out;
		}
		opts.name = entity;
	}
	r = sc_cluster_connect(&opts, &rados, &err);
	if (r < 0)
		goto out;
	/*
	 * A cluster that comes back should be seen within seconds, not after
	 * librados's backoff grew to 30 s (monitor hunting) or 15 s (OSD
	 * reconnects). Both are read at run time; failures change nothing.
	 */
	rados_conf_set(rados, "mon_client_hunt_interval_max_multiple", "2");
	rados_conf_set(rados, "ms_max_backoff", "2");
	cluster_budget(cl, rados);
	r = rados_ioctx_create(rados, cl->pool, &io);
	if (r < 0) {
		snprintf(err.msg, sizeof(err.msg), "cluster %s: pool %s: %s", cl->name, cl->pool,
		         r == -ENOENT ? "no such pool" : strerror(-r));
		goto out;
	}
	rados_ioctx_set_namespace(io, cl->rados_ns[0] ? cl->rados_ns : NULL);
out:
	pthread_mutex_lock(&store->lock);
	cl->connecting = false;
	if (r == 0 && !store->closing) {
		cl->rados = rados;
		cl->io = io;
		cl->connected = true;
		cl->state.connected = true;
		cl->state.condition = STORE_CLUSTER_UP;
		cl->state.reason[0] = '\0';
		rados = NULL;
		io = NULL;
	} else {
		cl->state.condition = STORE_CLUSTER_DOWN;
		cl->state.last_error = r < 0 ? r : -ESHUTDOWN;
		copy_string(cl->state.reason, sizeof(cl->state.reason), err.msg);
	}
	pthread_mutex_unlock(&store->lock);
	if (io)
		rados_ioctx_destroy(io);
	if (rados)
		rados_shutdown(rados);
	return NULL;
}

/* Starts a connection attempt; store->lock held. */
static int cluster_connect_start(struct store *store, struct cluster *cl)
{
	if (cl->thread_started) {
		pthread_join(cl->thread, NULL);
		cl->thread_started = false;
	}
	cl->connecting = true;
	cl->last_attempt = sc_now_monotonic();
	if (pthread_create(&cl->thread, NULL, cluster_connect_thread, cl) != 0) {
		cl->connecting = false;
		return -EAGAIN;
	}
	cl->thread_started = true;
	return 0;
}

rados_ioctx_t store_cluster_io(struct store *store, unsigned index)
{
	struct cluster *cl = &store->clusters[index];
	rados_ioctx_t io = NULL;

	pthread_mutex_lock(&store->lock);
	if (cl->connected)
		io = cl->io;
	else if (!cl->connecting && !store->closing &&
	         sc_now_monotonic() - cl->last_attempt > STORE_RECONNECT_INTERVAL)
		cluster_connect_start(store, cl);
	pthread_mutex_unlock(&store->lock);
	return io;
}

static int opts_check(const struct store_opts *opts)
{
	if (!opts || opts->n < 1 || opts->n > STORE_MAX_CLUSTERS)
		return -EINVAL;
	if (opts->crash_only ? opts->n < 2 * opts->f + 1 : opts->n < 3 * opts->f + 1)
		return -EINVAL;
	if (opts->protocol != STORE_PROTOCOL_A && opts->protocol != STORE_PROTOCOL_CA)
		return -EINVAL;
	if (opts->trusted_count > 0 && !opts->trusted_keys)
		return -EINVAL;
	if (!opts->writer_key && opts->trusted_count == 0)
		return -EINVAL; /* nothing could ever verify */
	if (opts->op_timeout < 0 || opts->connect_timeout < 0)
		return -EINVAL;
	if (!opts->store_id || opts->store_id_len < 1 || opts->store_id_len > STORE_ID_MAX)
		return -EINVAL;
	return 0;
}

int store_open(const struct store_opts *opts, const struct store_cluster_spec *specs,
               struct store **out, struct sc_err *err)
{
	struct store *store;
	unsigned up = 0;
	char msg[1024] = "";
	size_t used = 0;
	int r;

	*out = NULL;
	if (err)
		err->msg[0] = '\0';
	r = opts_check(opts);
	if (r < 0) {
		if (opts && !opts->writer_key && opts->trusted_count == 0)
			sc_err_set(err, "no writer key and no trusted key: nothing could verify");
		else if (opts && (!opts->store_id || opts->store_id_len < 1 ||
		                  opts->store_id_len > STORE_ID_MAX))
			sc_err_set(err, "the store id must have 1 to %u bytes", STORE_ID_MAX);
		else
			sc_err_set(err, "invalid store options (n=%u f=%u needs n >= %uf+1)",
			           opts ? opts->n : 0, opts ? opts->f : 0,
			           opts && opts->crash_only ? 2 : 3);
		return r;
	}
	for (unsigned i = 0; i < opts->n; i++)
		if (!specs || !specs[i].cluster || !specs[i].pool ||
		    sc_cluster_name_valid(specs[i].cluster) < 0) {
			sc_err_set(err, "cluster %u: missing or invalid cluster name or pool", i);
			return -EINVAL;
		}

	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	pthread_mutex_init(&store->lock, NULL);
	pthread_cond_init(&store->idle, NULL);
	store->n = opts->n;
	store->f = opts->f;
	memcpy(store->id_bytes, opts->store_id, opts->store_id_len);
	store->id.bytes = store->id_bytes;
	store->id.len = opts->store_id_len;
	store->k = opts->f + 1;
	store->protocol =
	    opts->protocol == STORE_PROTOCOL_A ? RECORD_PROTOCOL_A : RECORD_PROTOCOL_CA;
	store->max_unit = opts->max_unit_size ? opts->max_unit_size : STORE_DEFAULT_MAX_UNIT;
	store->op_timeout = opts->op_timeout > 0 ? opts->op_timeout : 10.0;
	store->connect_timeout = opts->connect_timeout > 0 ? opts->connect_timeout : 10.0;
	store->trusted = calloc(opts->trusted_count + 1, STORE_KEY_LEN);
	if (!store->trusted) {
		r = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < opts->trusted_count; i++)
		memcpy(store->trusted[store->trusted_count++], opts->trusted_keys[i],
		       STORE_KEY_LEN);
	if (opts->writer_key) {
		memcpy(store->writer_priv, opts->writer_key, STORE_KEY_LEN);
		r = sc_ed25519_public(store->writer_priv, store->writer_pub);
		if (r < 0)
			goto fail;
		memcpy(store->trusted[store->trusted_count++], store->writer_pub, STORE_KEY_LEN);
		store->can_write = true;
	}
	r = store_codec_new(store->protocol, store->n, store->f, &store->codec);
	if (r < 0)
		goto fail;

	pthread_mutex_lock(&store->lock);
	for (unsigned i = 0; i < store->n; i++) {
		struct cluster *cl = &store->clusters[i];
		cl->index = i;
		copy_string(cl->name, sizeof(cl->name), specs[i].cluster);
		copy_string(cl->pool, sizeof(cl->pool), specs[i].pool);
		copy_string(cl->rados_ns, sizeof(cl->rados_ns), specs[i].rados_ns);
		copy_string(cl->conf_dir, sizeof(cl->conf_dir), specs[i].conf_dir);
		copy_string(cl->conf_path, sizeof(cl->conf_path), specs[i].conf_path);
		copy_string(cl->keyring, sizeof(cl->keyring), specs[i].keyring);
		copy_string(cl->client, sizeof(cl->client), specs[i].client_id);
		copy_string(cl->state.name, sizeof(cl->state.name), specs[i].cluster);
		cl->state.condition = STORE_CLUSTER_DOWN;
		cluster_connect_start(store, cl);
	}
	pthread_mutex_unlock(&store->lock);
	for (unsigned i = 0; i < store->n; i++) {
		struct cluster *cl = &store->clusters[i];
		if (cl->thread_started) {
			pthread_join(cl->thread, NULL);
			cl->thread_started = false;
		}
		if (cl->connected) {
			up++;
		} else if (used < sizeof(msg)) {
			int n = snprintf(msg + used, sizeof(msg) - used, "%s%s", used ? "; " : "",
			                 cl->state.reason);
			used += n > 0 ? (size_t)n : 0;
		}
	}
	/*
	 * A missing conf or keyring, a key the cluster refuses or a missing pool
	 * is a mistake in the setup, not an outage: say so now rather than run
	 * with f clusters silently missing.
	 */
	for (unsigned i = 0; i < store->n; i++) {
		struct cluster *cl = &store->clusters[i];
		int e = cl->state.last_error;
		if (!cl->connected &&
		    (e == -ENOENT || e == -ENOKEY || e == -EINVAL || e == -EACCES || e == -EPERM)) {
			sc_err_set(err, "%s", cl->state.reason);
			r = e;
			goto fail;
		}
	}
	if (up < store->n - store->f) {
		sc_err_set(err, "only %u of %u clusters reachable, %u needed: %s", up, store->n,
		           store->n - store->f, msg);
		r = -EHOSTUNREACH;
		goto fail;
	}
	*out = store;
	return 0;
fail:
	store_close(store);
	return r;
}

int store_flush(struct store *store, double timeout)
{
	struct timespec ts;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)timeout;
	ts.tv_nsec += (long)((timeout - (double)(time_t)timeout) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&store->lock);
	while (store->outstanding > 0 && r == 0)
		if (pthread_cond_timedwait(&store->idle, &store->lock, &ts) == ETIMEDOUT)
			r = store->outstanding > 0 ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&store->lock);
	return r;
}

int store_op_enter(struct store *store)
{
	int r = 0;

	pthread_mutex_lock(&store->lock);
	if (store->closing)
		r = -ESHUTDOWN;
	else
		store->ops_active++;
	pthread_mutex_unlock(&store->lock);
	return r;
}

void store_op_leave(struct store *store)
{
	pthread_mutex_lock(&store->lock);
	if (--store->ops_active == 0)
		pthread_cond_broadcast(&store->idle);
	pthread_mutex_unlock(&store->lock);
}

void store_close(struct store *store)
{
	if (!store)
		return;
	pthread_mutex_lock(&store->lock);
	store->closing = true;
	/* Operations of other threads end within their deadline; wait for them. */
	while (store->ops_active > 0)
		pthread_cond_wait(&store->idle, &store->lock);
	pthread_mutex_unlock(&store->lock);
	for (unsigned i = 0; i < store->n; i++)
		if (store->clusters[i].thread_started)
			pthread_join(store->clusters[i].thread, NULL);
	/*
	 * Late answers touch the store and their aio sets: wait for every one
	 * of them. librados's own op timeout (rados_osd_op_timeout, 3 x the
	 * deadline, at least 30 s) ends each with -ETIMEDOUT, so this wait is
	 * bounded; only then do the ioctxs go, and after them the clusters.
	 */
	while (store_flush(store, 60) == -ETIMEDOUT)
		;
	for (unsigned i = 0; i < store->n; i++) {
		struct cluster *cl = &store->clusters[i];
		if (cl->io)
			rados_ioctx_destroy(cl->io);
		if (cl->rados)
			rados_shutdown(cl->rados);
	}
	store_codec_free(store->codec);
	sc_wipe(store->writer_priv, sizeof(store->writer_priv));
	free(store->trusted);
	pthread_mutex_destroy(&store->lock);
	pthread_cond_destroy(&store->idle);
	free(store);
}

unsigned store_cluster_count(const struct store *store)
{
	return store->n;
}

static double min_other_latency(const struct store *store, unsigned index)
{
	double best = -1;

	for (unsigned i = 0; i < store->n; i++) {
		const struct store_cluster_state *st = &store->clusters[i].state;
		if (i == index || st->ops_ok == 0)
			continue;
		if (best < 0 || st->latency_ms < best)
			best = st->latency_ms;
	}
	return best;
}

int store_cluster_state(struct store *store, unsigned index, struct store_cluster_state *out)
{
	const struct cluster *cl;
	double other, silent = 0;

	if (index >= store->n)
		return -EINVAL;
	cl = &store->clusters[index];
	pthread_mutex_lock(&store->lock);
	*out = cl->state;
	other = min_other_latency(store, index);
	if (cl->inflight > 0)
		silent = sc_now_monotonic() - cl->waiting_since;
	pthread_mutex_unlock(&store->lock);
	if (out->condition == STORE_CLUSTER_BAD_DATA)
		return 0; /* the strongest news: keep it until it serves good data */
	if (silent > store->op_timeout) {
		/* Operations were answered by the others long ago; this one said nothing. */
		out->condition = STORE_CLUSTER_DOWN;
		out->last_error = -ETIMEDOUT;
		snprintf(out->reason, sizeof(out->reason), "no answer for %.0f s", silent);
	} else if (out->condition == STORE_CLUSTER_UP &&
	           ((silent * 1000 > SLOW_FLOOR_MS && other >= 0 &&
	             silent * 1000 > SLOW_FACTOR * other) ||
	            (other >= 0 && out->ops_ok > 0 && out->latency_ms > SLOW_FLOOR_MS &&
	             out->latency_ms > SLOW_FACTOR * other))) {
		out->condition = STORE_CLUSTER_SLOW;
	}
	return 0;
}

void store_cluster_note(struct store *store, unsigned index, int r, double latency)
{
	struct store_cluster_state *st = &store->clusters[index].state;
	double ms = latency * 1000.0;

	pthread_mutex_lock(&store->lock);
	if (store_error_is_transport(r)) {
		st->ops_failed++;
		st->last_error = r;
		st->condition = STORE_CLUSTER_DOWN;
		snprintf(st->reason, sizeof(st->reason), "operation failed: %s", strerror(-r));
	} else {
		st->latency_ms =
		    st->ops_ok == 0 ? ms : (1 - EWMA_WEIGHT) * st->latency_ms + EWMA_WEIGHT * ms;
		st->ops_ok++;
		if (st->condition == STORE_CLUSTER_DOWN)
			st->condition = STORE_CLUSTER_UP;
	}
	pthread_mutex_unlock(&store->lock);
}

void store_cluster_fault(struct store *store, unsigned index, int condition, int err,
                         const char *fmt, ...)
{
	struct store_cluster_state *st = &store->clusters[index].state;
	va_list ap;

	pthread_mutex_lock(&store->lock);
	st->condition = (enum store_cluster_condition)condition;
	st->last_error = err;
	if (condition == STORE_CLUSTER_BAD_DATA)
		st->bad_data++;
	else
		st->ops_failed++;
	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&store->lock);
}

void store_cluster_good(struct store *store, unsigned index)
{
	struct store_cluster_state *st = &store->clusters[index].state;

	pthread_mutex_lock(&store->lock);
	if (st->condition == STORE_CLUSTER_BAD_DATA || st->condition == STORE_CLUSTER_DOWN)
		st->condition = STORE_CLUSTER_UP;
	pthread_mutex_unlock(&store->lock);
}

void store_cluster_note_data(struct store *store, unsigned index, double seconds)
{
	struct cluster *cl = &store->clusters[index];
	double ms = seconds * 1000.0;

	pthread_mutex_lock(&store->lock);
	if (cl->data_ops == 0)
		cl->data_latency_ms = ms;
	else
		cl->data_latency_ms = (1 - EWMA_WEIGHT) * cl->data_latency_ms + EWMA_WEIGHT * ms;
	cl->data_ops++;
	pthread_mutex_unlock(&store->lock);
}

void store_cluster_order(struct store *store, unsigned *order)
{
	double key[STORE_MAX_CLUSTERS], now = sc_now_monotonic();

	pthread_mutex_lock(&store->lock);
	for (unsigned i = 0; i < store->n; i++) {
		const struct cluster *cl = &store->clusters[i];
		/*
		 * By fragment-read latency once there is one (a cluster quick with
		 * index answers but slow with fragments is slow here); unknown
		 * latency sorts as fast; bad data and down sort last.
		 */
		key[i] = cl->data_ops ? cl->data_latency_ms : cl->state.latency_ms;
		if (!cl->connected || cl->state.condition == STORE_CLUSTER_DOWN)
			key[i] += 1e9;
		else if (cl->state.condition == STORE_CLUSTER_BAD_DATA)
			key[i] += 1e6;
		else if ((cl->inflight > 0 && now - cl->waiting_since > 1.0) ||
		         (cl->data_inflight > 0 && now - cl->data_waiting_since > 1.0))
			key[i] += 1e5; /* hung: it has left requests unanswered for a while */
		order[i] = i;
	}
	pthread_mutex_unlock(&store->lock);
	for (unsigned i = 1; i < store->n; i++)
		for (unsigned j = i; j > 0 && key[order[j]] < key[order[j - 1]]; j--) {
			unsigned t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
}

unsigned store_cluster_f(const struct store *store)
{
	return store->f;
}

int store_cluster_ioctx(struct store *store, unsigned index, rados_ioctx_t *out)
{
	int r = -ENOTCONN;

	*out = NULL;
	if (index >= store->n)
		return -EINVAL;
	pthread_mutex_lock(&store->lock);
	if (store->clusters[index].connected && !store->closing) {
		*out = store->clusters[index].io;
		r = 0;
	}
	pthread_mutex_unlock(&store->lock);
	return r;
}

int store_cluster_fsid(struct store *store, unsigned index, char *fsid, size_t len)
{
	rados_t rados = NULL;
	int r;

	if (index >= store->n || !fsid || len == 0)
		return -EINVAL;
	pthread_mutex_lock(&store->lock);
	if (store->clusters[index].connected && !store->closing)
		rados = store->clusters[index].rados;
	pthread_mutex_unlock(&store->lock);
	if (!rados)
		return -ENOTCONN;
	/* rados lives until store_close once connected. */
	r = rados_cluster_fsid(rados, fsid, len);
	return r < 0 ? r : 0;
}

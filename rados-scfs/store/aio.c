/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The refcounted aio set (store_internal.h). Every cluster operation of the
 * store goes through here, so this is the one place that knows the rule:
 * a buffer librados may still write into is freed only after its completion
 * has fired. The waiter never cancels; it drops its reference and the late
 * completion frees the set. rados_osd_op_timeout bounds how late that is.
 *
 * A submission that cannot go out (no completion, or the cluster's in-flight
 * budget is spent: -EBUSY) ends its io at once as done with that error, so
 * the waiter sees it like any answer and counts the cluster as failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "store_internal.h"

int store_aio_set_new(struct store *store, struct aio_set **out)
{
	struct aio_set *set = calloc(1, sizeof(*set));
	pthread_condattr_t attr;

	*out = NULL;
	if (!set)
		return -ENOMEM;
	set->store = store;
	set->refs = 1;
	pthread_mutex_init(&set->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&set->cond, &attr);
	pthread_condattr_destroy(&attr);
	*out = set;
	return 0;
}

static void aio_set_free(struct aio_set *set)
{
	for (unsigned i = 0; i < set->count; i++) {
		struct aio_io *io = &set->ios[i];
		if (io->xattrs)
			rados_getxattrs_end(io->xattrs);
		if (io->omap)
			rados_omap_get_end(io->omap);
		if (io->omap2)
			rados_omap_get_end(io->omap2);
		free(io->buf);
	}
	pthread_mutex_destroy(&set->lock);
	pthread_cond_destroy(&set->cond);
	free(set);
}

void store_aio_set_put(struct aio_set *set)
{
	bool last;

	if (!set)
		return;
	pthread_mutex_lock(&set->lock);
	last = --set->refs == 0;
	pthread_mutex_unlock(&set->lock);
	if (last)
		aio_set_free(set);
}

struct aio_io *store_aio_io_add(struct aio_set *set, unsigned cluster, int kind)
{
	struct aio_io *io;

	pthread_mutex_lock(&set->lock);
	if (set->count == AIO_SET_MAX) {
		pthread_mutex_unlock(&set->lock);
		return NULL;
	}
	io = &set->ios[set->count++];
	pthread_mutex_unlock(&set->lock);
	io->set = set;
	io->cluster = cluster;
	io->kind = kind;
	return io;
}

static void aio_complete(rados_completion_t c, void *arg)
{
	struct aio_io *io = arg;
	struct aio_set *set = io->set;
	struct store *store = set->store;
	unsigned cluster = io->cluster;
	size_t bytes = io->bytes;
	bool data = io->data;
	int r = rados_aio_get_return_value(c);
	double latency = sc_now_monotonic() - io->submitted_at;
	bool last;

	rados_aio_release(c);
	/* Before the waiter can see the answer: a caller that returns on it (the
	 * probe) must find it counted in the cluster's state. */
	store_cluster_note(store, cluster, r, latency);
	if (data)
		store_cluster_note_data(store, cluster, latency);
	pthread_mutex_lock(&set->lock);
	io->r = r;
	io->latency = latency;
	io->done = true;
	pthread_cond_broadcast(&set->cond);
	last = --set->refs == 0;
	pthread_mutex_unlock(&set->lock);
	if (last)
		aio_set_free(set);

	pthread_mutex_lock(&store->lock);
	/* Any answer restarts the clock: the cluster is alive. */
	store->clusters[cluster].inflight--;
	store->clusters[cluster].inflight_bytes -= bytes;
	store->clusters[cluster].waiting_since = sc_now_monotonic();
	if (data) {
		store->clusters[cluster].data_inflight--;
		store->clusters[cluster].data_waiting_since = sc_now_monotonic();
	}
	if (--store->outstanding == 0)
		pthread_cond_broadcast(&store->idle);
	pthread_mutex_unlock(&store->lock);
}

/* Ends IO at once with R, as if the cluster had answered so. */
static void aio_io_fail(struct aio_io *io, int r)
{
	struct aio_set *set = io->set;

	pthread_mutex_lock(&set->lock);
	io->submitted = true;
	io->submitted_at = sc_now_monotonic();
	io->r = r;
	io->done = true;
	pthread_cond_broadcast(&set->cond);
	pthread_mutex_unlock(&set->lock);
}

/* Takes the references an in-flight io holds; undone by aio_submit_failed. */
static int aio_begin(struct aio_io *io, rados_completion_t *c)
{
	struct aio_set *set = io->set;
	struct store *store = set->store;
	struct cluster *cl = &store->clusters[io->cluster];
	int r;

	pthread_mutex_lock(&store->lock);
	if (cl->inflight > 0 &&
	    (cl->inflight >= cl->cap_ops || cl->inflight_bytes + io->bytes > cl->cap_bytes)) {
		pthread_mutex_unlock(&store->lock);
		return -EBUSY;
	}
	store->outstanding++;
	if (cl->inflight++ == 0)
		cl->waiting_since = sc_now_monotonic();
	cl->inflight_bytes += io->bytes;
	if (io->data && cl->data_inflight++ == 0)
		cl->data_waiting_since = sc_now_monotonic();
	pthread_mutex_unlock(&store->lock);
	r = rados_aio_create_completion2(io, aio_complete, c);
	if (r < 0) {
		pthread_mutex_lock(&store->lock);
		cl->inflight--;
		cl->inflight_bytes -= io->bytes;
		cl->data_inflight -= io->data;
		if (--store->outstanding == 0)
			pthread_cond_broadcast(&store->idle);
		pthread_mutex_unlock(&store->lock);
		return r;
	}
	pthread_mutex_lock(&set->lock);
	set->refs++;
	set->pending++;
	io->submitted = true;
	io->submitted_at = sc_now_monotonic();
	pthread_mutex_unlock(&set->lock);
	return 0;
}

static void aio_submit_failed(struct aio_io *io, rados_completion_t c, int r)
{
	struct aio_set *set = io->set;
	struct store *store = set->store;

	rados_aio_release(c);
	pthread_mutex_lock(&set->lock);
	io->r = r;
	io->done = true;
	set->refs--; /* the waiter still holds its own reference */
	pthread_cond_broadcast(&set->cond);
	pthread_mutex_unlock(&set->lock);
	pthread_mutex_lock(&store->lock);
	store->clusters[io->cluster].inflight--;
	store->clusters[io->cluster].inflight_bytes -= io->bytes;
	store->clusters[io->cluster].data_inflight -= io->data;
	if (--store->outstanding == 0)
		pthread_cond_broadcast(&store->idle);
	pthread_mutex_unlock(&store->lock);
}

int store_aio_submit_read(struct aio_io *io, rados_ioctx_t ioctx, const char *oid,
                          rados_read_op_t op)
{
	rados_completion_t c;
	int r = aio_begin(io, &c);

	if (r < 0) {
		aio_io_fail(io, r);
		return r;
	}
	r = rados_aio_read_op_operate(op, ioctx, c, oid, 0);
	if (r < 0)
		aio_submit_failed(io, c, r);
	return r;
}

int store_aio_submit_write(struct aio_io *io, rados_ioctx_t ioctx, const char *oid,
                           rados_write_op_t op)
{
	rados_completion_t c;
	int r = aio_begin(io, &c);

	if (r < 0) {
		aio_io_fail(io, r);
		return r;
	}
	r = rados_aio_write_op_operate(op, ioctx, c, oid, NULL, 0);
	if (r < 0)
		aio_submit_failed(io, c, r);
	return r;
}

struct aio_io *store_aio_set_next(struct aio_set *set, double deadline)
{
	struct aio_io *found = NULL;
	struct timespec ts;

	ts.tv_sec = (time_t)deadline;
	ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&set->lock);
	for (;;) {
		bool waiting = false;
		for (unsigned i = 0; i < set->count; i++) {
			struct aio_io *io = &set->ios[i];
			if (!io->submitted || io->taken)
				continue;
			if (io->done) {
				io->taken = true;
				found = io;
				break;
			}
			waiting = true;
		}
		if (found || !waiting)
			break;
		if (pthread_cond_timedwait(&set->cond, &set->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&set->lock);
	return found;
}

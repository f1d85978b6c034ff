/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store_cluster_probe (store.h): one cheap question to every connected
 * cluster at once, so that status tools see each cluster's latency and
 * condition before any unit was read or written. The question is a stat of
 * STORE_PROBE_OBJECT, which need not exist: -ENOENT is an answer like any
 * other. Invariants: the probe writes nothing; its answers go through the
 * same completion bookkeeping as every operation (latency EWMA, up/down),
 * so a probe never tells a different story than the next read would; a
 * cluster that does not answer in time is named in the report and left to
 * store_cluster_state's silence rule (slow, then down).
 */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "unit.h"

#define STORE_PROBE_OBJECT "scfs.probe"

static int cluster_probe(struct store *store, double timeout, struct store_report *rep)
{
	struct op_log log = {.what = "probe", .rep = rep};
	double started = sc_now_monotonic(), deadline;
	struct aio_set *set = NULL;
	struct aio_io *io;
	unsigned asked = 0, answered = 0;
	int r;

	if (timeout < 0)
		return store_op_finish(store, &log, -EINVAL, "probe: negative timeout");
	deadline = started + (timeout > 0 ? timeout : store->op_timeout);
	r = store_aio_set_new(store, &set);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx = store_op_ioctx(store, &log, i);
		rados_read_op_t op;

		if (!ioctx)
			continue;
		io = store_aio_io_add(set, i, IO_PROBE);
		op = rados_create_read_op();
		rados_read_op_stat(op, &io->stat_size, &io->stat_mtime, &io->stat_rval);
		store_aio_submit_read(io, ioctx, STORE_PROBE_OBJECT, op);
		rados_release_read_op(op);
		asked++;
	}
	while (answered < asked && (io = store_aio_set_next(set, deadline))) {
		if (io->r == 0 || io->r == -ENOENT)
			answered++;
		else
			store_op_fail(store, &log, io->cluster, -1, io->r, "probe failed: %s",
			              strerror(-io->r));
	}
	store_op_timeouts(store, set, &log, deadline - started);
	store_aio_set_put(set);
	store_op_finish(store, &log, (int)answered, "probe: %u of %u clusters answered%s", answered,
	                store->n, (log.bad | log.failed) ? ": " : "");
	return (int)answered;
}

int store_cluster_probe(struct store *store, double timeout, struct store_report *rep)
{
	int r = store_op_enter(store);

	if (r < 0) {
		struct op_log log = {.what = "probe", .rep = rep};
		return store_op_finish(store, &log, r, "probe: the store is closing");
	}
	r = cluster_probe(store, timeout, rep);
	store_op_leave(store);
	return r;
}

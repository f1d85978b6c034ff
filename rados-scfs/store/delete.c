/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deleting a data unit version (docs/store.md, "Deletion / GC"): the commit
 * and pending index keys and the fragment object, on every reachable
 * cluster. Invariants: commit and pending keys go in one index op, and a
 * cluster's fragment removal is sent only once that cluster confirmed the
 * index op, so no cluster ever lists a version whose fragment it already
 * removed: a read racing a delete sees the version gone (-ENOENT), never a
 * listed version without data. Success needs n-f clusters to confirm both
 * removals (-ENOENT counts as removed), but it waits for all clusters until
 * the deadline (every copy should go).
 */
#include <errno.h>
#include <string.h>

#include "common/util.h"
#include "unit.h"

static int unit_delete(struct store *store, const char *name, uint64_t version,
                       struct store_report *rep)
{
	struct op_log log = {.what = "delete", .rep = rep};
	char oid[OID_MAX], index_oid[OID_MAX], key[19], pending[19];
	const char *keys[2] = {key, pending};
	size_t key_lens[2] = {18, 18};
	unsigned removed[STORE_MAX_CLUSTERS] = {0}, confirmed = 0;
	double deadline = sc_now_monotonic() + store->op_timeout;
	struct aio_set *set = NULL;
	struct aio_io *io;
	int r;

	if (!store_unit_name_valid(name) || version == 0 || version == STORE_VERSION_LATEST)
		return store_op_finish(store, &log, -EINVAL,
		                       "delete: invalid unit name or version");
	if (!store->can_write)
		return store_op_finish(store, &log, -EROFS, "delete %s: no writer key", name);
	store_record_index_key(RECORD_KEY_COMMIT, version, key);
	store_record_index_key(RECORD_KEY_PENDING, version, pending);
	if ((r = store_record_object_name(name, version, oid, sizeof(oid))) < 0 ||
	    (r = store_record_index_name(name, index_oid, sizeof(index_oid))) < 0 ||
	    (r = store_aio_set_new(store, &set)) < 0)
		return r;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx = store_op_ioctx(store, &log, i);
		rados_write_op_t op;
		if (!ioctx)
			continue;
		io = store_aio_io_add(set, i, IO_DELETE_INDEX);
		op = rados_create_write_op();
		rados_write_op_omap_rm_keys2(op, keys, key_lens, 2);
		store_aio_submit_write(io, ioctx, index_oid, op);
		rados_release_write_op(op);
	}
	/* Wait for every cluster (every copy should go), up to the deadline. */
	while ((io = store_aio_set_next(set, deadline))) {
		if (io->r == 0 || io->r == -ENOENT) {
			rados_ioctx_t ioctx;
			if (++removed[io->cluster] == 2)
				confirmed++;
			/* The index no longer lists it there: now the fragment may go. */
			if (io->kind == IO_DELETE_INDEX &&
			    (ioctx = store_op_ioctx(store, &log, io->cluster))) {
				struct aio_io *data =
				    store_aio_io_add(set, io->cluster, IO_DELETE_DATA);
				rados_write_op_t op = rados_create_write_op();
				rados_write_op_remove(op);
				store_aio_submit_write(data, ioctx, oid, op);
				rados_release_write_op(op);
			}
		} else {
			store_op_fail(store, &log, io->cluster, -1, io->r, "remove failed: %s",
			              strerror(-io->r));
		}
	}
	store_op_timeouts(store, set, &log, store->op_timeout);
	store_aio_set_put(set);
	r = confirmed >= store->n - store->f ? 0 : -ETIMEDOUT;
	return store_op_finish(store, &log, r, "delete %s v%llu: removed on %u of %u clusters%s",
	                       name, (unsigned long long)version, confirmed, store->n,
	                       (log.bad | log.failed) ? ": " : "");
}

int store_unit_delete(struct store *store, const char *name, uint64_t version,
                      struct store_report *rep)
{
	int r = store_op_enter(store);

	if (r < 0) {
		struct op_log log = {.what = "delete", .rep = rep};
		return store_op_finish(store, &log, r, "delete: the store is closing");
	}
	r = unit_delete(store, name, version, rep);
	store_op_leave(store);
	return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One operation's account of the clusters (unit.h): which cluster failed or
 * served bad data and why, turned into the store's report when the
 * operation ends. Invariants: each cluster has one reason slot (a later
 * failure overwrites it); a cluster already named failed or bad is never
 * also named as timed out; every public operation ends through
 * store_op_finish, which fills the report the caller passed to that call
 * (one per call, so concurrent threads never see each other's).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "unit.h"

rados_ioctx_t store_op_ioctx(struct store *store, struct op_log *log, unsigned i)
{
	rados_ioctx_t ioctx = store_cluster_io(store, i);

	if (!ioctx)
		store_op_fail(store, log, i, -1, -ENOTCONN, "not connected");
	return ioctx;
}

void store_op_fail(struct store *store, struct op_log *log, unsigned i, int condition, int err,
                   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log->reason[i], sizeof(log->reason[i]), fmt, ap);
	va_end(ap);
	log->err[i] = err;
	if (condition == STORE_CLUSTER_BAD_DATA)
		log->bad |= 1u << i;
	else
		log->failed |= 1u << i;
	if (condition >= 0)
		store_cluster_fault(store, i, condition, err, "%s", log->reason[i]);
}

void store_op_timeouts(struct store *store, struct aio_set *set, struct op_log *log, double waited)
{
	for (unsigned j = 0; j < set->count; j++) {
		struct aio_io *io = &set->ios[j];
		bool done;
		pthread_mutex_lock(&set->lock);
		done = io->done;
		pthread_mutex_unlock(&set->lock);
		if (io->submitted && !done && !(log->failed & (1u << io->cluster)) &&
		    !(log->bad & (1u << io->cluster)))
			store_op_fail(store, log, io->cluster, -1, -ETIMEDOUT,
			              "no answer within %g s", waited);
	}
}

int store_op_finish(struct store *store, struct op_log *log, int r, const char *fmt, ...)
{
	struct store_report rep = {0};
	size_t used;
	va_list ap;

	if (!log->rep)
		return r;
	rep.result = r;
	rep.bad_clusters = log->bad;
	rep.failed_clusters = log->failed;
	rep.maybe_written = r < 0 && log->maybe_written;
	va_start(ap, fmt);
	vsnprintf(rep.msg, sizeof(rep.msg), fmt, ap);
	va_end(ap);
	used = strlen(rep.msg);
	for (unsigned i = 0; i < store->n; i++) {
		if (!((log->bad | log->failed) & (1u << i)) || used >= sizeof(rep.msg) - 1)
			continue;
		int n = snprintf(rep.msg + used, sizeof(rep.msg) - used, "%s%s%s: %s",
		                 used && rep.msg[used - 1] != ' ' ? "; " : "",
		                 log->bad & (1u << i) ? "bad data from " : "",
		                 store_cluster_name(store, i), log->reason[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	*log->rep = rep;
	return r;
}

void store_unit_aad(const struct store *store, const char *name, uint64_t version, uint8_t *aad,
                    size_t *len)
{
	size_t name_len = strlen(name), id_len = store->id.len;

	memcpy(aad, "scfs.du2", 8);
	sc_put_be64(aad + 8, version);
	aad[16] = (uint8_t)id_len;
	memcpy(aad + 17, store->id.bytes, id_len);
	memcpy(aad + 17 + id_len, name, name_len);
	*len = 17 + id_len + name_len;
}

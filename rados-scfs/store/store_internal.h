/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the store's files share and nobody else sees: the store handle, one
 * slot per cluster, and the refcounted aio set through which every cluster
 * operation runs (aio.c).
 *
 * Locking: store->lock guards every cluster's connection fields and state
 * and the outstanding counter. An aio set's own lock guards its
 * ios' completion fields. The store lock is never taken while holding a set
 * lock, except in the completion callback's state update, which takes only
 * the store lock after releasing the set lock.
 */
#ifndef SCFS_STORE_INTERNAL_H
#define SCFS_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include <rados/librados.h>

#include "codec.h"
#include "record.h"
#include "store.h"

#define STORE_XATTR_RECORD "scfs.rec"
#define STORE_RECONNECT_INTERVAL 10.0
#define AIO_SET_MAX (4 * STORE_MAX_CLUSTERS)

struct cluster {
	unsigned index;
	/* Copied from the spec; used for every (re)connection. */
	char name[64], pool[128], rados_ns[128], conf_dir[256], conf_path[256], keyring[256],
	    client[80];
	/* Guarded by store->lock. Once connected, rados and io live until store_close. */
	rados_t rados;
	rados_ioctx_t io;
	bool connected, connecting, thread_started;
	pthread_t thread;
	double last_attempt;
	unsigned inflight;     /* operations submitted and not answered */
	size_t inflight_bytes; /* their payload */
	/*
	 * The store's own budget for this cluster, half of librados's
	 * (objecter_inflight_ops, objecter_inflight_op_bytes) as read at
	 * connection: an operation past it fails at once with -EBUSY instead of
	 * blocking its caller in librados's throttle behind a hung cluster.
	 */
	unsigned cap_ops;
	size_t cap_bytes;
	/*
	 * Fragment reads apart: a cluster may answer small index reads at once
	 * and stall the large ones. Their own latency EWMA and clock order the
	 * clusters for fragment reads (store_cluster_order).
	 */
	double data_latency_ms;
	uint64_t data_ops;
	unsigned data_inflight;
	double data_waiting_since;
	double waiting_since; /* when the oldest unanswered one (roughly) began */
	struct store_cluster_state state;
};

struct store {
	unsigned n, f, k;
	int protocol; /* RECORD_PROTOCOL_* */
	bool can_write;
	uint8_t writer_priv[STORE_KEY_LEN], writer_pub[STORE_KEY_LEN];
	uint8_t (*trusted)[STORE_KEY_LEN];
	unsigned trusted_count;
	uint8_t id_bytes[STORE_ID_MAX];
	struct record_id id; /* points at id_bytes */
	size_t max_unit;
	double op_timeout, connect_timeout;
	struct codec *codec;
	struct cluster clusters[STORE_MAX_CLUSTERS];

	pthread_mutex_t lock;
	pthread_cond_t idle;  /* signalled when outstanding drops to 0 */
	unsigned outstanding; /* cluster operations submitted and not completed */
	bool closing;
	unsigned ops_active; /* public operations running (store_op_enter) */
};

/* One cluster operation of an aio set. */
struct aio_io {
	struct aio_set *set;
	unsigned cluster;
	int kind;
	size_t bytes; /* payload, for the in-flight budget (set before submitting) */
	bool data;    /* a fragment read (set before submitting) */
	bool submitted, done, taken;
	int r;
	double submitted_at, latency;
	/* Read outputs, written by librados until completion. BUF, if set, is
	 * owned by the io and freed with the set; a fragment's later pieces are
	 * read into the buffer of its first piece's io (PIECE > 0, BUF NULL). */
	uint8_t *buf;
	size_t buf_len, bytes_read;
	unsigned piece;
	int read_rval;
	rados_xattrs_iter_t xattrs;
	int xattrs_rval;
	rados_omap_iter_t omap, omap2; /* index reads: commit and pending keys */
	unsigned char omap_more, omap2_more;
	int omap_rval, omap2_rval;
	uint64_t stat_size; /* probe */
	time_t stat_mtime;
	int stat_rval;
};

/*
 * A set of operations that one store call waits on. It is freed by whoever
 * drops the last reference: the waiter (store_aio_set_put) or the completion of
 * the last operation that answered after the waiter gave up. So a late
 * answer always finds its buffers alive.
 */
struct aio_set {
	struct store *store;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned refs, count, pending;
	struct aio_io ios[AIO_SET_MAX];
};

int store_aio_set_new(struct store *store, struct aio_set **out);
void store_aio_set_put(struct aio_set *set);
/* A fresh io slot for CLUSTER; NULL when the set is full. */
struct aio_io *store_aio_io_add(struct aio_set *set, unsigned cluster, int kind);
/* Submits; the op may be released by the caller afterwards. On failure the io is done with r. */
int store_aio_submit_read(struct aio_io *io, rados_ioctx_t ioctx, const char *oid,
                          rados_read_op_t op);
int store_aio_submit_write(struct aio_io *io, rados_ioctx_t ioctx, const char *oid,
                           rados_write_op_t op);
/*
 * The next answered io not yet handed out, or NULL when every submitted io
 * was handed out or DEADLINE (monotonic seconds) passed.
 */
struct aio_io *store_aio_set_next(struct aio_set *set, double deadline);

/* clusterset.c */
/* Cluster INDEX's ioctx, or NULL when not connected (a reconnect may start). */
rados_ioctx_t store_cluster_io(struct store *store, unsigned index);
void store_cluster_note(struct store *store, unsigned index, int r, double latency);
void store_cluster_fault(struct store *store, unsigned index, int condition, int err,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void store_cluster_good(struct store *store, unsigned index);
/* A fragment read of cluster INDEX took (or has waited, unanswered) SECONDS. */
void store_cluster_note_data(struct store *store, unsigned index, double seconds);
/* Clusters ordered by preference for fragment reads (fast, trusted, up first). */
void store_cluster_order(struct store *store, unsigned *order);
const char *store_cluster_name(const struct store *store, unsigned index);
/*
 * Every public operation runs between these two: enter fails with
 * -ESHUTDOWN once store_close began, and store_close waits until every
 * operation that entered has left before it tears anything down.
 */
int store_op_enter(struct store *store);
void store_op_leave(struct store *store);
bool store_error_is_transport(int r);

#endif

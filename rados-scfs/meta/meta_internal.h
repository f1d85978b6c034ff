/*
 * Inside the metadata layer: the handle and the quorum round. A round is
 * one request sent to every connected cluster; it is refcounted, so a
 * cluster that answers after the caller gave up (deadline, quorum reached)
 * frees it: buffers librados may still write into outlive the caller.
 * meta.lock guards the timestamp counter and the retired connections; a
 * round's own lock guards its slots.
 */
#ifndef SCFS_META_INTERNAL_H
#define SCFS_META_INTERNAL_H

#include <pthread.h>

#include "meta.h"

struct meta_conn {
	char name[65];
	rados_t rados;
	rados_ioctx_t io;
	char lease_cookie[40];
	bool leased;
};

struct meta {
	struct meta_opts opts;
	struct meta_conn c[META_MAX_CLUSTERS];
	struct meta_keys keys;
	pthread_mutex_t lock; /* guards last_counter, retired, retired_count */
	uint64_t last_counter;
	char pool[128], ns[128];
	/* Connections replaced by meta_reconnect: other threads may still hold
	 * their ioctx, so they are closed only by meta_close. */
	struct meta_conn retired[4 * META_MAX_CLUSTERS];
	unsigned retired_count;
	unsigned probe_failures[META_MAX_CLUSTERS]; /* the keeper's, in a row */
};

enum round_kind { ROUND_WRITE, ROUND_OMAP_KEYS, ROUND_OMAP_LIST, ROUND_REMOVE };

struct round_slot {
	struct round *round;
	unsigned cluster;
	bool submitted, done;
	int r;
	rados_write_op_t wop;
	rados_read_op_t rop;
	rados_omap_iter_t iter;
	int prval;
	unsigned char more;
};

struct round {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;
	unsigned count;
	struct round_slot s[META_MAX_CLUSTERS];
};

struct round *round_new(void);
void round_put(struct round *rd);
/* A slot for cluster I; the caller points the op's outputs into it, then submits. */
struct round_slot *round_slot_add(struct round *rd, unsigned i);
/* Submit takes the op (released with the round). */
int round_submit_write(struct round_slot *s, struct meta *m, const char *oid, rados_write_op_t op);
int round_submit_read(struct round_slot *s, struct meta *m, const char *oid, rados_read_op_t op);
int round_submit_remove(struct round_slot *s, struct meta *m, const char *oid);
/* Waits until NEED slots succeeded (r >= 0), all are done, or the deadline. */
void round_wait(struct round *rd, unsigned need, double deadline);

void meta_ino_oid(uint64_t ino, char out[24]);
uint64_t meta_next_counter(struct meta *m);
void meta_counter_seen(struct meta *m, uint64_t counter);

#endif

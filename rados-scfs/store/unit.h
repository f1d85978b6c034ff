/*
 * What the data-unit operations (index.c, write.c, read.c, delete.c, and
 * the cluster probe in probe.c) share
 * and nobody else sees: the kinds of cluster I/O they issue, the per-
 * operation log of what each cluster did (oplog.c), and the index listing
 * that both "write the next version" and "read the latest" start from
 * (index.c). The quorum rules themselves are in docs/store.md.
 */
#ifndef SCFS_STORE_UNIT_H
#define SCFS_STORE_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"

#define OID_MAX 256
#define INDEX_MAX_ENTRIES 65536

enum io_kind {
	IO_DATA_WRITE = 1,
	IO_INDEX_WRITE,
	IO_COMMIT_WRITE,
	IO_INDEX_READ,
	IO_FULL_READ,  /* record and the fragment's first piece */
	IO_PIECE_READ, /* a later piece of the fragment (read.c) */
	IO_DELETE_DATA,
	IO_DELETE_INDEX,
	IO_PROBE,
};

/* Per-operation bookkeeping of what each cluster did, for the report. */
struct op_log {
	const char *what;
	struct store_report *rep; /* the caller's, or NULL */
	bool maybe_written;       /* a write: some cluster may hold it */
	char reason[STORE_MAX_CLUSTERS][160];
	int err[STORE_MAX_CLUSTERS]; /* negative errno of each failed cluster */
	uint32_t bad, failed;
};

/*
 * Notes that cluster I failed this operation with REASON. CONDITION is a
 * STORE_CLUSTER_* to record in the cluster's state, or -1 to leave the
 * state to the completion's own bookkeeping (timeouts, transport errors).
 */
void store_op_fail(struct store *store, struct op_log *log, unsigned i, int condition, int err,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Cluster I's I/O context, or NULL after noting it in LOG as not connected. */
rados_ioctx_t store_op_ioctx(struct store *store, struct op_log *log, unsigned i);
/* Names every cluster of SET that was asked and has not answered within WAITED seconds. */
void store_op_timeouts(struct store *store, struct aio_set *set, struct op_log *log, double waited);
/* Ends an operation: fills the caller's report (naming every cluster that failed), returns R. */
int store_op_finish(struct store *store, struct op_log *log, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The GCM additional data of a unit version:
 * "scfs.du2" || be64(V) || u8 len(ID) || ID || NAME.
 */
#define UNIT_AAD_MAX (17 + RECORD_ID_MAX + RECORD_NAME_MAX)
void store_unit_aad(const struct store *store, const char *name, uint64_t version, uint8_t *aad,
                    size_t *len);

/* The versions the index objects list, merged over the clusters that answered. */
struct version_entry {
	uint64_t version;
	uint64_t data_len; /* from the verified commit */
	bool committed;
	uint32_t clusters; /* bit i: cluster i lists it */
	uint8_t digest[RECORD_DIGEST_LEN];
	uint8_t commit_hash[RECORD_DIGEST_LEN]; /* SHA-256 of the verified commit entry */
};

struct version_list {
	struct version_entry *v; /* ascending by version once fetched; free() */
	size_t count, cap;
};

/*
 * Reads the unit's index from every cluster: returns once n-f answered (or,
 * with ALL, once every cluster answered), or at the deadline (-ETIMEDOUT).
 * ON_ANSWER, if not NULL, is called with ARG after each cluster's listing
 * was merged into LIST (unsorted until the end): a reader may start on
 * what the first answer names before the quorum is in (read.c).
 */
typedef void store_index_answered_fn(void *arg, const struct version_list *list, unsigned cluster);
int store_index_fetch(struct store *store, const char *name, bool all, double deadline,
                      struct op_log *log, struct version_list *list,
                      store_index_answered_fn *on_answer, void *arg);
/*
 * The version a write of NAME takes next: one above the highest committed
 * version and the highest pending one that f+1 answering clusters list (so
 * that f clusters cannot steer it).
 */
int store_index_next_version(struct store *store, const char *name, double deadline,
                             struct op_log *log, uint64_t *version);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the data-unit operations (index.c, write.c, read.c, delete.c, repair.c and
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
	IO_CHECK_READ,   /* repair.c: record and the whole fragment (or its size) */
	IO_REPAIR_WRITE, /* repair.c: a rebuilt fragment and its record */
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

/*
 * What one fetch of the index objects found: every key each answering
 * cluster listed, merged, newest version first once the fetch returned.
 * Commit entries are parsed but their signatures are checked only when a
 * caller asks for a version (store_index_top), from the highest down; a
 * cluster one of whose entries fails any check is DROPPED: none of its
 * entries counts any more.
 */
struct index_entry {
	uint64_t version;
	uint64_t data_len; /* commit: from its parsed bytes */
	uint8_t cluster;
	char kind;     /* RECORD_KEY_COMMIT or _PENDING */
	bool verified; /* commit: signature checked and good */
	uint8_t digest[RECORD_DIGEST_LEN];
	uint8_t hash[RECORD_DIGEST_LEN]; /* commit: SHA-256 of the entry's bytes */
	uint16_t commit_len;
	uint8_t commit[COMMIT_MAX_LEN]; /* commit: the entry as listed */
};

struct version_list {
	struct index_entry *e; /* newest first once fetched; store_index_list_free */
	size_t count, cap;
	uint32_t answered, dropped; /* bit i: cluster i answered / was dropped */
	bool truncated;             /* (versions) some listing was not read to its end */
	bool sorted;                /* store_index_sort ran since the last entry came */
};

/* The newest keys a listing takes of each kind, per cluster and round trip. */
#define INDEX_PAGE_COMMITS 1024u
#define INDEX_PAGE_PENDING 256u
/* A full listing (store_unit_versions) reads at most this many keys a cluster. */
#define INDEX_MAX_ENTRIES 65536u

enum index_mode {
	INDEX_NEWEST,  /* the newest keys of each kind: latest, next version */
	INDEX_VERSION, /* the keys of one version only */
	INDEX_ALL,     /* every key, page after page, from every cluster */
};

/*
 * Reads the unit's index from the clusters: returns once n-f answered
 * (INDEX_ALL: every cluster, or the deadline), -ETIMEDOUT when fewer than
 * n-f answered by DEADLINE. ON_ANSWER, if not NULL, is called with ARG
 * after each cluster's listing was taken in (the list then is unsorted): a
 * reader may start on what the first answer names before the quorum is in.
 */
typedef void store_index_answered_fn(void *arg, struct version_list *list, unsigned cluster);
int store_index_fetch(struct store *store, const char *name, enum index_mode mode, uint64_t version,
                      double deadline, struct op_log *log, struct version_list *list,
                      store_index_answered_fn *on_answer, void *arg);
void store_index_list_free(struct version_list *list);
/*
 * The merge, piece by piece (also for qa/fuzz/store): takes one listed key
 * of CLUSTER (EXPECT_KIND or, if 0, either kind) into LIST; -EBADMSG when
 * it is malformed or misplaced (*VERSION: which, if parsed), -ENOMEM.
 * store_index_drop forgets a cluster's entries and names it bad data;
 * store_index_sort orders LIST newest first.
 */
int store_index_take_entry(const char *name, const char *key, size_t key_len, const char *val,
                           size_t val_len, struct version_list *list, unsigned cluster,
                           char expect_kind, uint64_t *version);
void store_index_drop(struct store *store, struct op_log *log, struct version_list *list,
                      unsigned cluster, const char *what, unsigned long long version);
void store_index_sort(struct version_list *list);
/*
 * The highest version below BELOW (STORE_VERSION_LATEST: any) that has a
 * commit entry with a good signature, from clusters not dropped (ONLY: only
 * cluster ONLY's entries; -1 for all); NULL when none. Verifies lazily.
 */
const struct index_entry *store_index_top(struct store *store, struct version_list *list,
                                          struct op_log *log, const char *name, uint64_t below,
                                          int only);
/*
 * The version a write of NAME takes next: one above the highest committed
 * version and the highest pending one that f+1 answering clusters list (so
 * that f clusters cannot steer it).
 */
int store_index_next_version(struct store *store, const char *name, double deadline,
                             struct op_log *log, uint64_t *version);

#endif

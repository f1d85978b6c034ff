/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rados-scfs store: DepSky-A and DepSky-CA data units over the RADOS
 * pools of n independent Ceph clusters. See docs/store.md for the guarantees
 * and docs/store-format.md for what lands in each cluster.
 *
 * In the manner of librados.h: opaque handles, every function returns 0 or a
 * negative errno, out-parameters come last, and every buffer handed out is
 * released by the caller with the matching free function.
 *
 * A store handle may be used by several threads at once; each operation runs
 * its own quorum round. Up to f clusters may be down, hung or lying: an
 * operation completes as soon as its quorum answered, and never waits past
 * its deadline (store_opts.op_timeout) for the others.
 */
#ifndef SCFS_STORE_H
#define SCFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rados/librados.h>

#include "common/err.h"

#define STORE_MAX_CLUSTERS 16
#define STORE_NAME_MAX 200 /* bytes of a unit name */
#define STORE_DIGEST_LEN 32
#define STORE_KEY_LEN 32 /* Ed25519 seed / public key */
#define STORE_VERSION_LATEST UINT64_MAX
#define STORE_DEFAULT_MAX_UNIT (4u << 20)
#define STORE_ID_MAX 64 /* bytes of a store identity */

enum store_protocol {
	STORE_PROTOCOL_A = 1,  /* the whole unit in every cluster */
	STORE_PROTOCOL_CA = 2, /* AES-256-GCM + Reed-Solomon + Shamir (default) */
};

/* Where one cluster's share of the store lives. Strings are copied by store_open. */
struct store_cluster_spec {
	const char *cluster; /* Ceph cluster name: CONF_DIR/NAME.conf */
	const char *pool;
	const char *rados_ns;  /* RADOS namespace, one per file system; NULL for none */
	const char *conf_dir;  /* NULL means /etc/ceph */
	const char *conf_path; /* optional -c override */
	const char *keyring;   /* optional -k override */
	const char *client_id; /* "scfs" for client.scfs; NULL means admin */
};

struct store_opts {
	unsigned n, f;
	enum store_protocol protocol;
	bool crash_only; /* accept n >= 2f+1 (no Byzantine clusters) */
	/* The writer's Ed25519 seed; NULL opens the store read-only. */
	const uint8_t *writer_key;
	/* Public keys whose records are believed; the writer's own is added. */
	const uint8_t (*trusted_keys)[STORE_KEY_LEN];
	unsigned trusted_count;
	size_t max_unit_size;   /* 0 means STORE_DEFAULT_MAX_UNIT */
	double op_timeout;      /* deadline of one operation, seconds; 0 means 10 */
	double connect_timeout; /* per cluster, seconds; 0 means 10 */
	/*
	 * The store's identity (e.g. the file system id and its namespace),
	 * 1..STORE_ID_MAX bytes, required: it is bound into every signed record
	 * and commit and into the GCM additional data, so that records cannot
	 * be moved between stores that share a writer key.
	 */
	const void *store_id;
	size_t store_id_len;
};

/* A version of a unit as the file system's inode anchor names it. */
struct store_unit_ref {
	uint64_t version;
	uint64_t data_len;                /* bytes of the unit */
	uint8_t digest[STORE_DIGEST_LEN]; /* SHA-256 of the signed common record */
};

enum store_cluster_condition {
	STORE_CLUSTER_UP = 0,
	STORE_CLUSTER_SLOW = 1,     /* answered, but after the operation's quorum or deadline */
	STORE_CLUSTER_DOWN = 2,     /* not connected, or its last operation failed */
	STORE_CLUSTER_BAD_DATA = 3, /* served a record or fragment that failed verification */
};

struct store_cluster_state {
	char name[64];
	enum store_cluster_condition condition;
	bool connected;
	double latency_ms; /* EWMA of answered operations */
	int last_error;    /* negative errno of its last failure, 0 if none */
	char
	    reason[192]; /* what happened last, "timed out after 5 s", "fragment digest mismatch" */
	uint64_t ops_ok, ops_failed, bad_data;
};

/* One entry of store_unit_versions. */
struct store_version_info {
	uint64_t version;
	bool committed;                   /* a writer-signed commit was found */
	unsigned clusters;                /* how many answering clusters list it */
	uint8_t digest[STORE_DIGEST_LEN]; /* when committed */
};

/*
 * The outcome of one call, for callers that pass one (every operation takes
 * an optional report as its last argument; NULL when not wanted).
 */
struct store_report {
	int result;
	uint32_t bad_clusters;    /* bit i: cluster i served bad data */
	uint32_t failed_clusters; /* bit i: cluster i failed or missed the deadline */
	bool maybe_written;       /* a failed write may still be on some clusters */
	char msg[1024];
};

/* Read flags. */
#define STORE_READ_VERIFY_ALL 1u /* fetch and verify every cluster's copy (fsck) */

struct store;

/*
 * Whether NAME may name a unit: 1..STORE_NAME_MAX bytes of A-Z a-z 0-9 and
 * ". _ - : +" (unit names become part of RADOS object names).
 */
bool store_unit_name_valid(const char *name);

/*
 * Connects to the n clusters in SPECS (n = opts->n entries) in parallel.
 * Returns -EINVAL when n < 3f+1 (2f+1 with crash_only) or the options are
 * wrong, and -EHOSTUNREACH when fewer than n-f clusters could be reached
 * (ERR, if given, names them). Clusters that could not be reached are
 * retried in the background.
 */
int store_open(const struct store_opts *opts, const struct store_cluster_spec *specs,
               struct store **out, struct sc_err *err);
/*
 * Waits (bounded by the op timeout) for late cluster answers, then
 * disconnects. Safe with operations of other threads still in flight: they
 * end with -ESHUTDOWN or their own result before the handle goes.
 */
void store_close(struct store *store);

/*
 * Errors common to the operations below (and rep->result):
 *   -ENOENT     n-f clusters say the version or unit is absent;
 *   -EIO        clusters answered but fewer than needed had good data;
 *   -ETIMEDOUT  no quorum answered by the deadline;
 *   -EEXIST     (writes) another unit is stored at that version;
 *   -EINVAL, -EROFS (no writer key), -EFBIG (above max_unit_size).
 * A failed write sets rep->maybe_written when any cluster may hold it.
 */

/*
 * Writes DATA as a new version of unit NAME (a version no cluster holds,
 * above every committed one). Succeeds once n-f clusters stored fragment
 * and record and n-f stored the signed commit; *REF names it.
 */
int store_unit_write(struct store *store, const char *name, const void *data, size_t len,
                     struct store_unit_ref *ref, struct store_report *rep);
/* The same with a version chosen by the caller; -EEXIST if that version exists. */
int store_unit_write_version(struct store *store, const char *name, uint64_t version,
                             const void *data, size_t len, struct store_unit_ref *ref,
                             struct store_report *rep);
/*
 * Stores DATA as VERSION of NAME on n-f clusters in one round trip and
 * fills *REF. No commit is written: only a reader holding REF finds it.
 * -EEXIST when some cluster holds a different unit at that version.
 */
int store_unit_write_anchored(struct store *store, const char *name, uint64_t version,
                              const void *data, size_t len, struct store_unit_ref *ref,
                              struct store_report *rep);

/*
 * Reads a committed version (STORE_VERSION_LATEST for the newest). On success
 * *BUF (free with store_buffer_free) holds *LEN bytes and *REF, if not NULL,
 * names the version read. -ENOENT when no committed version exists.
 */
int store_unit_read(struct store *store, const char *name, uint64_t version, unsigned flags,
                    void **buf, size_t *len, struct store_unit_ref *ref, struct store_report *rep);
/* Reads exactly the version REF names (an inode anchor): one round trip. */
int store_unit_read_ref(struct store *store, const char *name, const struct store_unit_ref *ref,
                        unsigned flags, void **buf, size_t *len, struct store_report *rep);
void store_buffer_free(void *buf, size_t len);

/* Lists the versions the answering clusters know, ascending. Free with free(). */
int store_unit_versions(struct store *store, const char *name, struct store_version_info **out,
                        size_t *count, struct store_report *rep);
/*
 * Removes a version from every reachable cluster: per cluster its index
 * entries first, then the fragment, so a racing read sees -ENOENT.
 */
int store_unit_delete(struct store *store, const char *name, uint64_t version,
                      struct store_report *rep);

/* What store_unit_check finds of one version on one cluster. */
enum store_copy_state {
	STORE_COPY_GOOD = 0,    /* record verifies and is the ref's; fragment checks out */
	STORE_COPY_MISSING = 1, /* the cluster holds no fragment object of that version */
	STORE_COPY_WRONG = 2,   /* record or fragment fails a check, or another write's */
	STORE_COPY_UNKNOWN = 3, /* not connected, or no answer by the deadline */
};

struct store_unit_health {
	enum store_copy_state state[STORE_MAX_CLUSTERS];
	char reason[STORE_MAX_CLUSTERS][160]; /* why, for every copy that is not good */
};

/* Check flags. */
#define STORE_CHECK_DATA 1u /* read and hash every fragment (fsck --verify-all) */

/*
 * fsck of one version: asks every cluster for the record and fragment of
 * the version REF names and says per cluster whether its copy is good,
 * missing or wrong (*OUT). Without STORE_CHECK_DATA only the record is read
 * and verified and the fragment's length compared (a stat); with it every
 * fragment is read and its SHA-256 compared with the signed digest. Waits
 * for every cluster up to the deadline. Returns 0 once it has an answer for
 * each cluster (unknown ones included) or -errno (-EINVAL: bad name or
 * ref). REP: bad_clusters are the wrong copies, failed_clusters the missing
 * and unknown ones. Writes nothing.
 */
int store_unit_check(struct store *store, const char *name, const struct store_unit_ref *ref,
                     unsigned flags, struct store_unit_health *out, struct store_report *rep);
/*
 * repair of one version: checks every copy as store_unit_check with
 * STORE_CHECK_DATA does (*FOUND, if not NULL, gets what it found), then
 * rebuilds the fragment and record of each cluster in CLUSTERS (bit i;
 * 0 means all) whose copy is missing or wrong from the good ones (CA: k
 * fragments rebuilt by Reed-Solomon to the writer's bytes, that cluster's
 * own key share kept from its record if that verifies, else interpolated
 * from k shares, the record re-sealed for its index) and writes each in one RADOS write op (fragment and record
 * together). Good copies and unknown clusters are never written. *REPAIRED
 * gets bit i for every cluster rewritten. 0 when every such copy was
 * rewritten (or none needed it); -EIO when fewer than k good copies (A: 1)
 * are left to rebuild from; -EPERM when the version was written under
 * another writer key (only its writer can re-seal its record); -EROFS
 * without a writer key; a failed rewrite's error otherwise.
 */
int store_unit_repair(struct store *store, const char *name, const struct store_unit_ref *ref,
                      uint32_t clusters, struct store_unit_health *found, uint32_t *repaired,
                      struct store_report *rep);

unsigned store_cluster_count(const struct store *store);
/* f as opened. */
unsigned store_cluster_f(const struct store *store);
/*
 * Asks every connected cluster one cheap question in parallel (a stat of the
 * object "scfs.probe" in the store's pool and namespace, which need not
 * exist) and waits until all answered or TIMEOUT seconds passed (0: the op
 * timeout). The answers update each cluster's state like any operation, so
 * store_cluster_state has a measured latency_ms and a condition even before
 * the first read or write; a cluster that did not answer shows as slow, then
 * down. Returns how many clusters answered (0..n), or -EINVAL for a negative
 * TIMEOUT; REP names the clusters that did not answer and why.
 * Writes nothing; safe on a read-only store.
 */
int store_cluster_probe(struct store *store, double timeout, struct store_report *rep);
int store_cluster_state(struct store *store, unsigned index, struct store_cluster_state *out);
/*
 * Sharing the connections with the metadata layer: cluster INDEX's ioctx
 * (the store's pool and namespace), borrowed until store_close; -ENOTCONN
 * while that cluster is not connected.
 */
int store_cluster_ioctx(struct store *store, unsigned index, rados_ioctx_t *out);
/* The cluster's fsid (for the superblock), -ENOTCONN likewise, -ERANGE if LEN is short. */
int store_cluster_fsid(struct store *store, unsigned index, char *fsid, size_t len);
/* Waits until no cluster operation is outstanding, or TIMEOUT seconds. -ETIMEDOUT then. */
int store_flush(struct store *store, double timeout);

const char *store_protocol_name(enum store_protocol protocol);

#endif

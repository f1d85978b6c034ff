/*
 * rados-scfs metadata: inode and directory entry registers replicated on n
 * Ceph clusters (docs/fs.md, "Metadata"). Each register is one omap key of
 * the object i.<16 hex inode>: "inode" for the inode record, "e.<64 hex name
 * tag>" for each directory entry. A write is stored by a cluster only if its
 * timestamp is above the stored one, checked and written in one RADOS write
 * op (create idempotent + omap_cmp LT + omap_set). Reads ask every cluster,
 * take the first n-f answers, keep the highest verified record and write it
 * back where it was missing or older.
 *
 * Also here: the superblock objects, the mount lease, and the clusters'
 * connections (one per cluster, shared by every thread of a mount).
 * Thread-safe: a meta handle is used by every FUSE worker at once.
 */
#ifndef SCFS_META_H
#define SCFS_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rados/librados.h>

#include "common/err.h"
#include "metarecord.h"

#define META_SB_OBJECT "scfs.sb"
#define META_LEASE_OBJECT "scfs.lease"
#define META_LEASE_NAME "mount"
#define META_LEASE_SECONDS 30

struct meta_cluster_spec {
	const char *cluster;   /* Ceph cluster name */
	const char *conf_dir;  /* NULL: /etc/ceph */
	const char *client_id; /* NULL: admin */
};

struct meta_opts {
	unsigned n, f;
	const char *pool;
	const char *rados_ns; /* the file system's namespace */
	double op_timeout;    /* seconds; 0 means 10 */
	double connect_timeout;
};

/* Per-call account of the clusters, like the store's report. */
struct meta_report {
	uint32_t failed; /* bit i: cluster i failed or missed the deadline */
	uint32_t bad;    /* bit i: cluster i served a record that failed verification */
	uint32_t stale;  /* bit i: cluster i held an older record (written back) */
};

struct meta;

/*
 * Connects to the n clusters in parallel. Needs n-f of them: otherwise
 * -EHOSTUNREACH and ERR names those that failed. Clusters that failed stay
 * unconnected (their slots answer -ENOTCONN).
 */
int meta_open(const struct meta_opts *opts, const struct meta_cluster_spec *specs,
              struct meta **out, struct sc_err *err);
void meta_close(struct meta *m);
/*
 * Connects the clusters that are not connected (unreachable at meta_open)
 * and replaces the connection of a cluster that left two calls in a row
 * unanswered (each call probes every cluster once). SPECS as given to
 * meta_open; the connections are made in parallel, so a call blocks up to
 * the op timeout plus the connect timeout. Returns how many it connected.
 * Call from one thread only (the mount's keeper).
 */
int meta_reconnect(struct meta *m, const struct meta_cluster_spec *specs);
unsigned meta_n(const struct meta *m);
const char *meta_cluster_name(const struct meta *m, unsigned i);
bool meta_cluster_connected(const struct meta *m, unsigned i);
/* The connection's fsid; -ENOTCONN when cluster I is not connected. */
int meta_cluster_fsid(struct meta *m, unsigned i, char *buf, size_t len);
/* Free and total space of cluster I, in KiB. */
int meta_cluster_space(struct meta *m, unsigned i, uint64_t *avail_kb, uint64_t *total_kb);
/* Borrowed: rados handle of cluster I (the store may share it), or NULL. */
rados_t meta_cluster_rados(struct meta *m, unsigned i);

/* Sets f as the superblock says (the quorum is n-f). */
void meta_set_faults(struct meta *m, unsigned f);
/* The keys records are sealed and checked with (copied). */
void meta_set_keys(struct meta *m, const struct meta_keys *keys);

/* Superblock: written exclusively (-EEXIST if any cluster has one). */
int meta_sb_write(struct meta *m, unsigned i, const uint8_t *buf, size_t len);
/* Reads cluster I's superblock object; *BUF free(). -ENOENT when absent. */
int meta_sb_read(struct meta *m, unsigned i, uint8_t **buf, size_t *len);

/* Registers. ERR-free: 0 or -errno; REP (may be NULL) names the clusters. */
int meta_inode_get(struct meta *m, uint64_t ino, struct meta_inode *out, struct meta_report *rep);
/* COUNT inode reads in one parallel round; RESULTS[i] is read i's 0 or -errno. */
int meta_inode_get_many(struct meta *m, const uint64_t *inos, unsigned count,
                        struct meta_inode *out, int *results, struct meta_report *rep);
int meta_inode_put(struct meta *m, const struct meta_inode *ino, struct meta_report *rep);
/* Removes the inode's object (record and entries) from every cluster. */
int meta_inode_remove(struct meta *m, uint64_t ino, struct meta_report *rep);
/* The live entry NAME of DIR; -ENOENT when absent or a tombstone. */
int meta_dentry_get(struct meta *m, uint64_t dir, const char *name, size_t len,
                    struct meta_dentry *out, struct meta_report *rep);
/* Writes entry D (d->deleted: a tombstone) into DIR. */
int meta_dentry_put(struct meta *m, uint64_t dir, const struct meta_dentry *d,
                    struct meta_report *rep);
/*
 * Writes COUNT inode records and, if D is not NULL, entry D of DIR, all in
 * one parallel round: the cost of one register write. 0 when every one is on
 * n-f clusters; otherwise the first error (some may be stored).
 */
#define META_PARALLEL_MAX 4
int meta_put_parallel(struct meta *m, const struct meta_inode *const *inodes, unsigned count,
                      uint64_t dir, const struct meta_dentry *d, struct meta_report *rep);
/* Every live entry of DIR, read in batches; *OUT free(). */
int meta_dir_list(struct meta *m, uint64_t dir, struct meta_dentry **out, size_t *count,
                  struct meta_report *rep);
/* True when DIR has at least one live entry (stops at the first batch with one). */
int meta_dir_nonempty(struct meta *m, uint64_t dir, bool *nonempty, struct meta_report *rep);

/* The next timestamp counter of this mount: also a fresh chunk version. */
uint64_t meta_new_counter(struct meta *m);
/*
 * fsck: reads inode INO's record (NAME NULL) or its entry NAME from every
 * cluster, waiting for all of them (or the deadline). REP: failed = did not
 * answer, bad = served a record that fails verification, stale = misses it
 * or holds an older one. REPAIR writes the newest record where it is stale
 * or bad.
 */
int meta_audit(struct meta *m, uint64_t ino, const char *name, bool repair,
               struct meta_report *rep);
/*
 * Calls FN for every object name in the file system's namespace on
 * cluster I (gc). Returns 0 or -errno.
 */
int meta_list_objects(struct meta *m, unsigned i, void (*fn)(const char *oid, void *arg),
                      void *arg);
/* A fresh random inode number (never 0, 1 or 2). */
uint64_t meta_new_ino(void);

/*
 * The mount lease: an exclusive RADOS lock with a duration on the object
 * scfs.lease, taken on n-f clusters. -EBUSY when another mount holds it so
 * that n-f cannot be had; HOLDER then names it ("host x pid 123"). Renew
 * keeps it (and takes it on clusters that had it free); release gives it
 * up; break removes whoever holds it (scfs-admin unlock) and returns how
 * many locks were broken. All of them treat a lock with this mount's
 * cookie held by another client instance of ours as ours (cluster.c).
 */
int meta_lease_acquire(struct meta *m, char *holder, size_t holder_len);
int meta_lease_renew(struct meta *m);
void meta_lease_release(struct meta *m);
int meta_lease_break(struct meta *m, char *holder, size_t holder_len);

#endif

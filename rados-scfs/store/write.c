/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Writing a data unit (docs/store.md, "Write"):
 *   phase 1: fragment + signed record to every cluster in one atomic
 *            rados_write_op each, plus (not for an anchored write) a
 *            "pending" index entry; wait for n-f acknowledgements;
 *   phase 2: the writer-signed commit entry into the index object of the
 *            clusters that acknowledged phase 1; wait for n-f. Only then is
 *            the version visible to readers of "latest".
 * An anchored write (store_unit_write_anchored) is phase 1 alone: the file
 * system's inode record, which holds the ref, is its commit.
 *
 * Invariants: a write that missed its phase-1 quorum never sends a commit,
 * so it never becomes visible; the caller gets an error, the report names
 * each cluster's reason and says whether the unit may be on some clusters
 * (maybe_written). A commit goes only to a cluster that stored the data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "unit.h"

enum write_mode { WRITE_NEXT, WRITE_CHOSEN, WRITE_ANCHORED };

/*
 * Waits for n-f successes among the ios of KIND: 0, or 1 when no quorum
 * answered. *OK gets bit i for every cluster that acknowledged (those in by
 * the time the quorum was reached, late ones are not waited for).
 */
static int quorum_wait(struct store *store, struct aio_set *set, int kind, double deadline,
                       struct op_log *log, const char *phase, uint32_t *ok_mask, uint32_t *exists)
{
	unsigned ok = 0;
	struct aio_io *io;

	*ok_mask = 0;
	while (ok < store->n - store->f && (io = store_aio_set_next(set, deadline))) {
		if (io->kind != kind)
			continue;
		if (io->r == 0) {
			ok++;
			*ok_mask |= 1u << io->cluster;
		} else {
			if (io->r == -EEXIST && exists)
				*exists |= 1u << io->cluster;
			store_op_fail(store, log, io->cluster, -1, io->r, "%s failed: %s", phase,
			              strerror(-io->r));
		}
	}
	/* Acknowledgements already in count too: their clusters get the commit. */
	while ((io = store_aio_set_next(set, 0)))
		if (io->kind == kind && io->r == 0)
			*ok_mask |= 1u << io->cluster;
	if (ok >= store->n - store->f)
		return 0;
	store_op_timeouts(store, set, log, store->op_timeout);
	return 1;
}

/* Builds the signed common part of NAME vVERSION into REC; digest and common length out. */
static int write_record(struct store *store, const char *name, uint64_t version, size_t len,
                        const struct codec_encoded *enc, uint8_t *rec, size_t rec_size,
                        size_t *common_len, uint8_t digest[RECORD_DIGEST_LEN])
{
	struct record_common c = {0};
	int r;

	c.protocol = (uint8_t)store->protocol;
	c.n = (uint8_t)store->n;
	c.f = (uint8_t)store->f;
	c.version = version;
	c.data_len = len;
	c.frag_len = enc->frag_len;
	c.writer_key = store->writer_pub;
	if (store->protocol == RECORD_PROTOCOL_CA) {
		c.iv = enc->iv;
		c.tag = enc->tag;
	}
	c.name = name;
	c.name_len = strlen(name);
	c.digests = &enc->digests[0][0];
	*common_len = store_record_common_len(&c);
	r = store_record_common_encode(&c, rec, rec_size);
	if (r < 0)
		return r;
	return store_record_digest(&store->id, rec, *common_len, digest);
}

/*
 * Phase 1. Returns 0 with *ACKED the clusters that stored it (maybe fewer
 * than n-f) and *EXISTS those that said -EEXIST, or -errno.
 */
static int write_phase_data(struct store *store, const char *name, uint64_t version,
                            enum write_mode mode, const void *data, size_t len, struct op_log *log,
                            double deadline, uint8_t digest[RECORD_DIGEST_LEN], uint32_t *acked,
                            uint32_t *exists, struct aio_set **setp)
{
	struct codec_encoded enc;
	uint8_t aad[UNIT_AAD_MAX], rec[RECORD_MAX_LEN];
	char oid[OID_MAX], index_oid[OID_MAX], key[19];
	const char *keys[1] = {key}, *vals[1] = {""};
	size_t aad_len, common_len, rec_len, key_lens[1] = {18}, val_lens[1] = {0};
	struct aio_set *set = NULL;
	int r;

	store_unit_aad(store, name, version, aad, &aad_len);
	if ((r = store_record_object_name(name, version, oid, sizeof(oid))) < 0 ||
	    (r = store_record_index_name(name, index_oid, sizeof(index_oid))) < 0)
		return r;
	store_record_index_key(RECORD_KEY_PENDING, version, key);
	r = store_codec_encode(store->codec, data, len, aad, aad_len, &enc);
	if (r < 0)
		return r;
	r = write_record(store, name, version, len, &enc, rec, sizeof(rec), &common_len, digest);
	if (r < 0)
		goto out;
	r = store_aio_set_new(store, &set);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx = store_op_ioctx(store, log, i);
		const uint8_t *share = store->protocol == RECORD_PROTOCOL_CA ? enc.shares[i] : NULL;
		struct aio_io *io;
		rados_write_op_t op;

		if (!ioctx)
			continue;
		r = store_record_seal(&store->id, rec, sizeof(rec), common_len, (uint8_t)i, share,
		                      store->writer_priv, &rec_len);
		if (r < 0)
			goto out;
		/* librados copies buffers at submission: rec and enc may change after. */
		io = store_aio_io_add(set, i, IO_DATA_WRITE);
		io->bytes = enc.frag_len + rec_len;
		op = rados_create_write_op();
		rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
		rados_write_op_write_full(op, (const char *)enc.frags[i], enc.frag_len);
		rados_write_op_setxattr(op, STORE_XATTR_RECORD, (const char *)rec, rec_len);
		if (store_aio_submit_write(io, ioctx, oid, op) == 0)
			log->maybe_written = true;
		rados_release_write_op(op);
		if (mode == WRITE_ANCHORED)
			continue;
		io = store_aio_io_add(set, i, IO_INDEX_WRITE);
		op = rados_create_write_op();
		rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 1);
		store_aio_submit_write(io, ioctx, index_oid, op);
		rados_release_write_op(op);
	}
	sc_wipe(rec, sizeof(rec));
	store_codec_encoded_release(&enc);
	r = quorum_wait(store, set, IO_DATA_WRITE, deadline, log, "fragment write", acked, exists);
	r = r > 0 ? 0 : r; /* the caller counts *ACKED */
	*setp = set;       /* the commit phase still takes late acknowledgements */
	set = NULL;
out:
	sc_wipe(rec, sizeof(rec));
	store_codec_encoded_release(&enc);
	store_aio_set_put(set);
	return r;
}

/*
 * Phase 2 on SET, the phase-1 set: the commit goes to every cluster in
 * ACKED at once, and to any other cluster as soon as its late phase-1
 * acknowledgement comes in, while the commit quorum is awaited.
 */
static int write_phase_commit(struct store *store, struct aio_set *set, const char *name,
                              uint64_t version, uint64_t data_len,
                              const uint8_t digest[RECORD_DIGEST_LEN], uint32_t acked,
                              struct op_log *log, double deadline)
{
	uint8_t commit[COMMIT_MAX_LEN];
	char index_oid[OID_MAX], key[19], pending[19];
	size_t commit_len;
	uint32_t sent = 0;
	unsigned ok = 0;
	struct aio_io *io;
	int r;

	store_record_index_key(RECORD_KEY_COMMIT, version, key);
	store_record_index_key(RECORD_KEY_PENDING, version, pending);
	if ((r = store_record_index_name(name, index_oid, sizeof(index_oid))) < 0 ||
	    (r = store_commit_encode(&store->id, name, version, data_len, digest,
	                             store->writer_priv, store->writer_pub, commit, sizeof(commit),
	                             &commit_len)) < 0)
		return r;
	for (;;) {
		for (unsigned i = 0; i < store->n; i++) {
			const char *keys[1] = {key}, *vals[1] = {(const char *)commit},
			           *rm[1] = {pending};
			size_t key_lens[1] = {18}, val_lens[1] = {commit_len};
			rados_ioctx_t ioctx;
			rados_write_op_t op;
			if (!(acked & ~sent & (1u << i)))
				continue;
			sent |= 1u << i;
			if (!(ioctx = store_cluster_io(store, i)) ||
			    !(io = store_aio_io_add(set, i, IO_COMMIT_WRITE)))
				continue;
			op = rados_create_write_op();
			rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 1);
			rados_write_op_omap_rm_keys2(op, rm, key_lens, 1);
			store_aio_submit_write(io, ioctx, index_oid, op);
			rados_release_write_op(op);
		}
		if (ok >= store->n - store->f || !(io = store_aio_set_next(set, deadline)))
			break;
		if (io->kind == IO_DATA_WRITE && io->r == 0) {
			acked |= 1u << io->cluster; /* late: it gets the commit too */
		} else if (io->kind == IO_COMMIT_WRITE) {
			if (io->r == 0)
				ok++;
			else
				store_op_fail(store, log, io->cluster, -1, io->r,
				              "commit failed: %s", strerror(-io->r));
		}
	}
	if (ok >= store->n - store->f)
		return 0;
	store_op_timeouts(store, set, log, store->op_timeout);
	return 1;
}

/*
 * Some clusters said -EEXIST in phase 1: look at what they hold. A record
 * that is this store's, unit and version, signed by a trusted writer, with
 * our digest is our own write (a retry, protocol A): *SAME. With another
 * digest it is a real collision: *OTHER. Anything else is a lie about
 * -EEXIST: that cluster is bad data, and the write goes on without it.
 */
static void write_collisions(struct store *store, const char *name, uint64_t version,
                             const uint8_t digest[RECORD_DIGEST_LEN], uint32_t exists,
                             struct op_log *log, double deadline, uint32_t *same, uint32_t *other)
{
	char oid[OID_MAX];
	struct aio_set *set = NULL;
	struct aio_io *io;

	*same = *other = 0;
	if (store_record_object_name(name, version, oid, sizeof(oid)) < 0 ||
	    store_aio_set_new(store, &set) < 0)
		return;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx;
		rados_read_op_t op;
		if (!(exists & (1u << i)) || !(ioctx = store_cluster_io(store, i)))
			continue;
		io = store_aio_io_add(set, i, IO_FULL_READ);
		op = rados_create_read_op();
		rados_read_op_getxattrs(op, &io->xattrs, &io->xattrs_rval);
		store_aio_submit_read(io, ioctx, oid, op);
		rados_release_read_op(op);
	}
	while ((io = store_aio_set_next(set, deadline))) {
		const char *xn, *xv;
		size_t xl;
		struct record rec;
		uint8_t d[RECORD_DIGEST_LEN];
		bool valid = false;
		if (io->r < 0 || io->xattrs_rval < 0 || !io->xattrs)
			continue; /* gone again, or silent: no news */
		while (rados_getxattrs_next(io->xattrs, &xn, &xv, &xl) == 0 && xn) {
			if (strcmp(xn, STORE_XATTR_RECORD) != 0)
				continue;
			valid =
			    store_record_parse((const uint8_t *)xv, xl, &rec) == 0 &&
			    rec.index == io->cluster && rec.c.version == version &&
			    rec.c.name_len == strlen(name) &&
			    memcmp(rec.c.name, name, rec.c.name_len) == 0 &&
			    store_record_verify(&store->id, (const uint8_t *)xv, &rec,
			                        &store->trusted[0][0], store->trusted_count) == 0 &&
			    store_record_digest(&store->id, (const uint8_t *)xv, rec.common_len,
			                        d) == 0;
			break;
		}
		if (!valid)
			store_op_fail(store, log, io->cluster, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			              "says v%llu exists but holds no valid record of it",
			              (unsigned long long)version);
		else if (memcmp(d, digest, RECORD_DIGEST_LEN) == 0)
			*same |= 1u << io->cluster;
		else
			*other |= 1u << io->cluster;
	}
	store_aio_set_put(set);
}

/* The error of a phase that missed its quorum: -ETIMEDOUT only when every failure was silence. */
static int write_quorum_error(const struct store *store, const struct op_log *log)
{
	for (unsigned i = 0; i < store->n; i++)
		if ((log->failed & (1u << i)) && log->err[i] != -ETIMEDOUT &&
		    log->err[i] != -ENOTCONN)
			return -EIO;
	return log->failed ? -ETIMEDOUT : -EIO;
}

/* How many times a write that picks its own version moves past a collision. */
#define WRITE_COLLISION_RETRIES 16

static int unit_write(struct store *store, const char *name, uint64_t version, enum write_mode mode,
                      const void *data, size_t len, struct store_unit_ref *ref,
                      struct store_report *rep)
{
	struct op_log log = {.what = "write", .rep = rep};
	uint8_t digest[RECORD_DIGEST_LEN];
	double deadline = sc_now_monotonic() + store->op_timeout;
	uint32_t acked = 0, exists = 0, same = 0, other = 0;
	struct aio_set *set = NULL;
	int r;

	if (ref)
		memset(ref, 0, sizeof(*ref));
	if (!store_unit_name_valid(name) || (!data && len > 0))
		return store_op_finish(store, &log, -EINVAL, "write: invalid unit name or data");
	if (!store->can_write)
		return store_op_finish(store, &log, -EROFS, "write %s: no writer key", name);
	if (len > store->max_unit)
		return store_op_finish(store, &log, -EFBIG, "write %s: %zu bytes above the limit",
		                       name, len);
	if (mode == WRITE_NEXT) {
		r = store_index_next_version(store, name, deadline, &log, &version);
		if (r < 0)
			return store_op_finish(
			    store, &log, r, "write %s: cannot learn the current version: ", name);
	}
	for (unsigned attempt = 0;; attempt++) {
		if (version == 0 || version == STORE_VERSION_LATEST)
			return store_op_finish(store, &log, -EINVAL, "write %s: invalid version",
			                       name);
		store_aio_set_put(set);
		set = NULL;
		r = write_phase_data(store, name, version, mode, data, len, &log, deadline, digest,
		                     &acked, &exists, &set);
		if (r < 0)
			return store_op_finish(store, &log, r, "write %s v%llu: %s", name,
			                       (unsigned long long)version, strerror(-r));
		if (exists)
			write_collisions(store, name, version, digest, exists, &log, deadline,
			                 &same, &other);
		acked |= same;
		if (!other)
			break;
		/* A correct cluster holds another unit there: never commit this version. */
		if (mode != WRITE_NEXT || attempt + 1 >= WRITE_COLLISION_RETRIES ||
		    sc_now_monotonic() >= deadline) {
			store_aio_set_put(set);
			return store_op_finish(
			    store, &log, -EEXIST,
			    "write %s v%llu: another unit is stored at that version: ", name,
			    (unsigned long long)version);
		}
		version++;
		exists = same = other = 0;
	}
	if ((unsigned)__builtin_popcount(acked) < store->n - store->f) {
		store_aio_set_put(set);
		return store_op_finish(
		    store, &log, write_quorum_error(store, &log),
		    "write %s v%llu: fewer than %u of %u clusters stored it: ", name,
		    (unsigned long long)version, store->n - store->f, store->n);
	}
	r = mode == WRITE_ANCHORED
	        ? 0
	        : write_phase_commit(store, set, name, version, len, digest, acked, &log, deadline);
	store_aio_set_put(set);
	{
		if (r != 0)
			return store_op_finish(
			    store, &log, r < 0 ? r : write_quorum_error(store, &log),
			    "write %s v%llu: commit reached fewer than %u of %u clusters: ", name,
			    (unsigned long long)version, store->n - store->f, store->n);
	}
	if (ref) {
		ref->version = version;
		ref->data_len = len;
		memcpy(ref->digest, digest, RECORD_DIGEST_LEN);
	}
	return store_op_finish(store, &log, 0, "write %s v%llu ok%s", name,
	                       (unsigned long long)version, (log.bad | log.failed) ? ": " : "");
}

/* unit_write between store_op_enter and store_op_leave. */
static int unit_write_entered(struct store *store, const char *name, uint64_t version,
                              enum write_mode mode, const void *data, size_t len,
                              struct store_unit_ref *ref, struct store_report *rep)
{
	int r = store_op_enter(store);

	if (r < 0) {
		struct op_log log = {.what = "write", .rep = rep};
		if (ref)
			memset(ref, 0, sizeof(*ref));
		return store_op_finish(store, &log, r, "write: the store is closing");
	}
	r = unit_write(store, name, version, mode, data, len, ref, rep);
	store_op_leave(store);
	return r;
}

int store_unit_write(struct store *store, const char *name, const void *data, size_t len,
                     struct store_unit_ref *ref, struct store_report *rep)
{
	return unit_write_entered(store, name, 0, WRITE_NEXT, data, len, ref, rep);
}

int store_unit_write_version(struct store *store, const char *name, uint64_t version,
                             const void *data, size_t len, struct store_unit_ref *ref,
                             struct store_report *rep)
{
	return unit_write_entered(store, name, version, WRITE_CHOSEN, data, len, ref, rep);
}

int store_unit_write_anchored(struct store *store, const char *name, uint64_t version,
                              const void *data, size_t len, struct store_unit_ref *ref,
                              struct store_report *rep)
{
	return unit_write_entered(store, name, version, WRITE_ANCHORED, data, len, ref, rep);
}

/*
 * Writing a data unit (docs/store.md, "Write"):
 *   phase 1: fragment + signed record to every cluster in one atomic
 *            rados_write_op each, plus a "pending" index entry; wait for
 *            n-f acknowledgements;
 *   phase 2: the writer-signed commit entry into every cluster's index
 *            object; wait for n-f. Only then is the version visible to
 *            readers of "latest".
 * Invariant: a write that missed its phase-1 quorum never sends a commit,
 * so it never becomes visible; the caller gets an error and the report
 * names each cluster's reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "unit.h"

/* Waits for n-f successes among the ios of KIND: 0, or 1 when no quorum answered. */
static int quorum_wait(struct store *store, struct aio_set *set, int kind, double deadline,
                       struct op_log *log, const char *phase, bool *exists)
{
	unsigned ok = 0;
	struct aio_io *io;

	while (ok < store->n - store->f && (io = aio_set_next(set, deadline))) {
		if (io->kind != kind)
			continue;
		if (io->r == 0) {
			ok++;
		} else {
			if (io->r == -EEXIST && exists)
				*exists = true;
			store_op_fail(store, log, io->cluster, -1, io->r, "%s failed: %s", phase,
			              strerror(-io->r));
		}
	}
	if (ok >= store->n - store->f)
		return 0;
	store_op_timeouts(store, set, log, store->op_timeout);
	return 1;
}

static int write_phase_data(struct store *store, const char *name, uint64_t version,
                            const void *data, size_t len, struct op_log *log, double deadline,
                            uint8_t digest[RECORD_DIGEST_LEN], bool *exists)
{
	struct codec_encoded enc;
	struct record_common c = {0};
	uint8_t aad[UNIT_AAD_MAX], rec[RECORD_MAX_LEN];
	char oid[OID_MAX], index_oid[OID_MAX], key[19];
	const char *keys[1] = {key}, *vals[1] = {""};
	size_t aad_len, common_len, rec_len, key_lens[1] = {18}, val_lens[1] = {0};
	struct aio_set *set = NULL;
	int r;

	store_unit_aad(name, version, aad, &aad_len);
	if ((r = record_object_name(name, version, oid, sizeof(oid))) < 0 ||
	    (r = record_index_name(name, index_oid, sizeof(index_oid))) < 0)
		return r;
	record_index_key(RECORD_KEY_PENDING, version, key);
	r = codec_encode(store->codec, data, len, aad, aad_len, &enc);
	if (r < 0)
		return r;
	c.protocol = (uint8_t)store->protocol;
	c.n = (uint8_t)store->n;
	c.f = (uint8_t)store->f;
	c.version = version;
	c.data_len = len;
	c.frag_len = enc.frag_len;
	c.writer_key = store->writer_pub;
	if (store->protocol == RECORD_PROTOCOL_CA) {
		c.iv = enc.iv;
		c.tag = enc.tag;
	}
	c.name = name;
	c.name_len = strlen(name);
	c.digests = &enc.digests[0][0];
	common_len = record_common_len(&c);
	r = record_common_encode(&c, rec, sizeof(rec));
	if (r < 0)
		goto out;
	r = sc_sha256(rec, common_len, digest);
	if (r < 0)
		goto out;
	r = aio_set_new(store, &set);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx = store_op_ioctx(store, log, i);
		const uint8_t *share = store->protocol == RECORD_PROTOCOL_CA ? enc.shares[i] : NULL;
		struct aio_io *io;
		rados_write_op_t op;

		if (!ioctx)
			continue;
		r = record_seal(rec, sizeof(rec), common_len, (uint8_t)i, share, store->writer_priv,
		                &rec_len);
		if (r < 0)
			goto out;
		/* librados copies buffers at submission: rec and enc may change after. */
		io = aio_io_add(set, i, IO_DATA_WRITE);
		op = rados_create_write_op();
		rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
		rados_write_op_write_full(op, (const char *)enc.frags[i], enc.frag_len);
		rados_write_op_setxattr(op, STORE_XATTR_RECORD, (const char *)rec, rec_len);
		aio_submit_write(io, ioctx, oid, op);
		rados_release_write_op(op);

		io = aio_io_add(set, i, IO_INDEX_WRITE);
		op = rados_create_write_op();
		rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 1);
		aio_submit_write(io, ioctx, index_oid, op);
		rados_release_write_op(op);
	}
	sc_wipe(rec, sizeof(rec));
	codec_encoded_release(&enc);
	r = quorum_wait(store, set, IO_DATA_WRITE, deadline, log, "fragment write", exists);
out:
	codec_encoded_release(&enc);
	aio_set_put(set);
	return r;
}

static int write_phase_commit(struct store *store, const char *name, uint64_t version,
                              const uint8_t digest[RECORD_DIGEST_LEN], struct op_log *log,
                              double deadline)
{
	uint8_t commit[COMMIT_MAX_LEN];
	char index_oid[OID_MAX], key[19], pending[19];
	const char *keys[1] = {key}, *vals[1] = {(const char *)commit}, *rm[1] = {pending};
	size_t key_lens[1] = {18}, val_lens[1];
	struct aio_set *set = NULL;
	int r;

	record_index_key(RECORD_KEY_COMMIT, version, key);
	record_index_key(RECORD_KEY_PENDING, version, pending);
	if ((r = record_index_name(name, index_oid, sizeof(index_oid))) < 0 ||
	    (r = commit_encode(name, version, digest, store->writer_priv, store->writer_pub, commit,
	                       sizeof(commit), &val_lens[0])) < 0 ||
	    (r = aio_set_new(store, &set)) < 0)
		return r;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx = store_cluster_ioctx(store, i);
		struct aio_io *io;
		rados_write_op_t op;

		if (!ioctx)
			continue;
		io = aio_io_add(set, i, IO_COMMIT_WRITE);
		op = rados_create_write_op();
		rados_write_op_omap_set2(op, keys, vals, key_lens, val_lens, 1);
		rados_write_op_omap_rm_keys2(op, rm, key_lens, 1);
		aio_submit_write(io, ioctx, index_oid, op);
		rados_release_write_op(op);
	}
	r = quorum_wait(store, set, IO_COMMIT_WRITE, deadline, log, "commit", NULL);
	aio_set_put(set);
	return r;
}

static int unit_write(struct store *store, const char *name, uint64_t version, bool chosen,
                      const void *data, size_t len, struct store_unit_ref *ref)
{
	struct op_log log = {.what = "write"};
	uint8_t digest[RECORD_DIGEST_LEN];
	double deadline = sc_now_monotonic() + store->op_timeout;
	bool exists = false;
	int r;

	if (ref)
		memset(ref, 0, sizeof(*ref));
	if (!record_name_valid(name) || (!data && len > 0))
		return -EINVAL;
	if (!store->can_write)
		return -EROFS;
	if (len > store->max_unit)
		return -EFBIG;
	if (!chosen) {
		struct version_list list = {0};
		r = store_index_fetch(store, name, false, deadline, &log, &list, NULL, NULL);
		if (r < 0)
			return store_op_finish(
			    store, &log, r, "write %s: cannot learn the current version: ", name);
		version = list.count ? list.v[list.count - 1].version + 1 : 1;
		free(list.v);
	}
	if (version == 0 || version == STORE_VERSION_LATEST)
		return -EINVAL;
	r = write_phase_data(store, name, version, data, len, &log, deadline, digest, &exists);
	if (r == 1) {
		r = exists ? -EEXIST : (log.failed ? -ETIMEDOUT : -EIO);
		/* -ETIMEDOUT only when every failure was silence, not a refusal. */
		for (unsigned i = 0; i < store->n && r == -ETIMEDOUT; i++)
			if ((log.failed & (1u << i)) && log.err[i] != -ETIMEDOUT &&
			    log.err[i] != -ENOTCONN)
				r = -EIO;
		return store_op_finish(
		    store, &log, r,
		    "write %s v%llu: fewer than %u of %u clusters stored it: ", name,
		    (unsigned long long)version, store->n - store->f, store->n);
	}
	if (r < 0)
		return store_op_finish(store, &log, r, "write %s v%llu: %s", name,
		                       (unsigned long long)version, strerror(-r));
	r = write_phase_commit(store, name, version, digest, &log, deadline);
	if (r != 0)
		return store_op_finish(
		    store, &log, r < 0 ? r : -ETIMEDOUT,
		    "write %s v%llu: commit reached fewer than %u of %u clusters: ", name,
		    (unsigned long long)version, store->n - store->f, store->n);
	if (ref) {
		ref->version = version;
		memcpy(ref->digest, digest, RECORD_DIGEST_LEN);
	}
	return store_op_finish(store, &log, 0, "write %s v%llu ok", name,
	                       (unsigned long long)version);
}

int store_unit_write(struct store *store, const char *name, const void *data, size_t len,
                     struct store_unit_ref *ref)
{
	return unit_write(store, name, 0, false, data, len, ref);
}

int store_unit_write_version(struct store *store, const char *name, uint64_t version,
                             const void *data, size_t len, struct store_unit_ref *ref)
{
	return unit_write(store, name, version, true, data, len, ref);
}

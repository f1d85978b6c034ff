/*
 * Data units: write, read, list and delete, with the quorum rules of
 * docs/store.md. In short, for n clusters of which f may fail:
 *   write  phase 1: fragment + signed record to every cluster in one atomic
 *                   rados_write_op each, plus a "pending" index entry;
 *                   wait for n-f acknowledgements;
 *          phase 2: the writer-signed commit entry into every cluster's
 *                   index object; wait for n-f. Only then is the version
 *                   visible to readers of "latest".
 *   read   latest: read the index of n-f clusters, take the highest version
 *                  with a verified commit; then fetch records from all and
 *                  fragments from the k fastest, check every byte against
 *                  the committed digest, fall back to the others.
 * Nothing a cluster returns is believed before record.c parsed it and its
 * digest or signature checked out; a cluster that fails a check is marked
 * "bad data" and named in the report.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "store_internal.h"

#define OID_MAX 256
#define INDEX_MAX_ENTRIES 65536

enum io_kind {
	IO_DATA_WRITE = 1,
	IO_INDEX_WRITE,
	IO_COMMIT_WRITE,
	IO_INDEX_READ,
	IO_RECORD_READ,   /* record only */
	IO_FULL_READ,     /* record and fragment */
	IO_DELETE_DATA,
	IO_DELETE_INDEX,
};

/* Per-operation bookkeeping of what each cluster did, for the report. */
struct op_log {
	const char *what;
	char reason[STORE_MAX_CLUSTERS][160];
	uint32_t bad, failed;
};

static void op_fail(struct store *store, struct op_log *log, unsigned i, int condition, int err,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void op_fail(struct store *store, struct op_log *log, unsigned i, int condition, int err,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log->reason[i], sizeof(log->reason[i]), fmt, ap);
	va_end(ap);
	if (condition == STORE_CLUSTER_BAD_DATA)
		log->bad |= 1u << i;
	else
		log->failed |= 1u << i;
	if (condition >= 0)
		store_cluster_fault(store, i, condition, err, "%s", log->reason[i]);
}

static void op_timeouts(struct store *store, struct aio_set *set, struct op_log *log)
{
	for (unsigned j = 0; j < set->count; j++) {
		struct aio_io *io = &set->ios[j];
		bool done;
		pthread_mutex_lock(&set->lock);
		done = io->done;
		pthread_mutex_unlock(&set->lock);
		if (io->submitted && !done && !(log->failed & (1u << io->cluster)) &&
		    !(log->bad & (1u << io->cluster)))
			op_fail(store, log, io->cluster, -1, -ETIMEDOUT, "no answer within %g s",
				store->op_timeout);
	}
}

/* Ends an operation: the report names every cluster that failed and why. */
static int op_finish(struct store *store, struct op_log *log, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int op_finish(struct store *store, struct op_log *log, int r, const char *fmt, ...)
{
	struct store_report rep = {0};
	size_t used;
	va_list ap;

	rep.result = r;
	rep.bad_clusters = log->bad;
	rep.failed_clusters = log->failed;
	va_start(ap, fmt);
	vsnprintf(rep.msg, sizeof(rep.msg), fmt, ap);
	va_end(ap);
	used = strlen(rep.msg);
	for (unsigned i = 0; i < store->n; i++) {
		if (!((log->bad | log->failed) & (1u << i)) || used >= sizeof(rep.msg) - 1)
			continue;
		int n = snprintf(rep.msg + used, sizeof(rep.msg) - used, "%s%s%s: %s",
				 used && rep.msg[used - 1] != ' ' ? "; " : "", log->bad & (1u << i) ? "bad data from " : "",
				 store_cluster_name(store, i), log->reason[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	store_set_report(store, &rep);
	return r;
}

static void unit_aad(const char *name, uint64_t version, uint8_t *aad, size_t *len)
{
	size_t name_len = strlen(name);

	memcpy(aad, "scfs.du1", 8);
	sc_put_be64(aad + 8, version);
	memcpy(aad + 16, name, name_len);
	*len = 16 + name_len;
}

/* ---- the index: pending and committed versions ----------------------- */

struct version_entry {
	uint64_t version;
	bool committed;
	uint32_t clusters; /* bit i: cluster i lists it */
	uint8_t digest[RECORD_DIGEST_LEN];
};

struct version_list {
	struct version_entry *v;
	size_t count, cap;
};

static int version_note(struct version_list *list, uint64_t version, const uint8_t *digest,
			unsigned cluster)
{
	for (size_t i = 0; i < list->count; i++) {
		struct version_entry *e = &list->v[i];
		if (e->version != version)
			continue;
		e->clusters |= 1u << cluster;
		if (digest && !e->committed) {
			e->committed = true;
			memcpy(e->digest, digest, RECORD_DIGEST_LEN);
		}
		return 0;
	}
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct version_entry *v = realloc(list->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		list->v = v;
		list->cap = cap;
	}
	list->v[list->count] = (struct version_entry){.version = version,
						      .clusters = 1u << cluster};
	if (digest) {
		list->v[list->count].committed = true;
		memcpy(list->v[list->count].digest, digest, RECORD_DIGEST_LEN);
	}
	list->count++;
	return 0;
}

static int version_cmp(const void *a, const void *b)
{
	const struct version_entry *x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/* Takes in one cluster's index listing; a bad entry makes the cluster bad. */
static int index_take(struct store *store, struct op_log *log, const char *name,
		      struct aio_io *io, struct version_list *list)
{
	size_t name_len = strlen(name), entries = 0;
	char *key, *val;
	size_t key_len, val_len;
	int r;

	for (;;) {
		uint64_t version;
		struct commit c;
		char kind;
		if (rados_omap_get_next2(io->omap, &key, &val, &key_len, &val_len) < 0 || !key)
			break;
		if (++entries > INDEX_MAX_ENTRIES)
			break;
		if (record_index_key_parse(key, key_len, &kind, &version) < 0) {
			op_fail(store, log, io->cluster, STORE_CLUSTER_BAD_DATA, -EBADMSG,
				"malformed index key");
			continue;
		}
		if (kind == RECORD_KEY_PENDING) {
			r = version_note(list, version, NULL, io->cluster);
		} else if (commit_parse((const uint8_t *)val, val_len, &c) < 0 ||
			   c.version != version || c.name_len != name_len ||
			   memcmp(c.name, name, name_len) != 0 ||
			   commit_verify((const uint8_t *)val, &c, &store->trusted[0][0],
					 store->trusted_count) < 0) {
			op_fail(store, log, io->cluster, STORE_CLUSTER_BAD_DATA, -EBADMSG,
				"commit entry of version %llu does not verify",
				(unsigned long long)version);
			continue;
		} else {
			r = version_note(list, version, c.digest, io->cluster);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Reads the unit's index from every cluster: returns once n-f answered (or,
 * with ALL, once every cluster answered), or at the deadline.
 */
static int index_fetch(struct store *store, const char *name, bool all, double deadline,
		       struct op_log *log, struct version_list *list)
{
	char oid[OID_MAX];
	struct aio_set *set = NULL;
	struct aio_io *io;
	unsigned answered = 0;
	int r;

	r = record_index_name(name, oid, sizeof(oid));
	if (r < 0)
		return r;
	r = aio_set_new(store, &set);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx = store_cluster_ioctx(store, i);
		rados_read_op_t op;
		if (!ioctx) {
			op_fail(store, log, i, -1, -ENOTCONN, "not connected");
			continue;
		}
		io = aio_io_add(set, i, IO_INDEX_READ);
		op = rados_create_read_op();
		rados_read_op_omap_get_vals2(op, "", "", INDEX_MAX_ENTRIES, &io->omap,
					     &io->omap_more, &io->omap_rval);
		aio_submit_read(io, ioctx, oid, op);
		rados_release_read_op(op);
	}
	while ((io = aio_set_next(set, deadline))) {
		if (io->r == -ENOENT) {
			answered++; /* no index yet: no versions */
		} else if (io->r < 0 || io->omap_rval < 0) {
			int e = io->r < 0 ? io->r : io->omap_rval;
			op_fail(store, log, io->cluster, -1, e, "index read failed: %s",
				strerror(-e));
		} else {
			answered++;
			if (io->omap) {
				r = index_take(store, log, name, io, list);
				rados_omap_get_end(io->omap);
				io->omap = NULL;
				if (r < 0)
					goto out;
			}
		}
		if (!all && answered >= store->n - store->f)
			break;
	}
	if (answered < store->n - store->f) {
		op_timeouts(store, set, log);
		r = -ETIMEDOUT;
		goto out;
	}
	qsort(list->v, list->count, sizeof(*list->v), version_cmp);
	r = 0;
out:
	aio_set_put(set);
	return r;
}

int store_unit_versions(struct store *store, const char *name, struct store_version_info **out,
			size_t *count)
{
	struct op_log log = {.what = "versions"};
	struct version_list list = {0};
	struct store_version_info *v = NULL;
	int r;

	*out = NULL;
	*count = 0;
	if (!record_name_valid(name))
		return -EINVAL;
	r = index_fetch(store, name, true, sc_now_monotonic() + store->op_timeout, &log, &list);
	if (r < 0)
		goto out;
	v = calloc(list.count + 1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < list.count; i++) {
		v[i].version = list.v[i].version;
		v[i].committed = list.v[i].committed;
		v[i].clusters = (unsigned)__builtin_popcount(list.v[i].clusters);
		memcpy(v[i].digest, list.v[i].digest, RECORD_DIGEST_LEN);
	}
	*out = v;
	*count = list.count;
out:
	free(list.v);
	return op_finish(store, &log, r, r < 0 ? "list versions of %s failed: " : "list %s", name);
}

/* ---- writing -------------------------------------------------------- */

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
			op_fail(store, log, io->cluster, -1, io->r, "%s failed: %s", phase,
				strerror(-io->r));
		}
	}
	if (ok >= store->n - store->f)
		return 0;
	op_timeouts(store, set, log);
	return 1;
}

static int write_phase_data(struct store *store, const char *name, uint64_t version,
			    const void *data, size_t len, struct op_log *log, double deadline,
			    uint8_t digest[RECORD_DIGEST_LEN], bool *exists)
{
	struct codec_encoded enc;
	struct record_common c = {0};
	uint8_t aad[16 + RECORD_NAME_MAX], rec[RECORD_MAX_LEN];
	char oid[OID_MAX], index_oid[OID_MAX], key[19];
	const char *keys[1] = {key}, *vals[1] = {""};
	size_t aad_len, common_len, rec_len, key_lens[1] = {18}, val_lens[1] = {0};
	struct aio_set *set = NULL;
	int r;

	unit_aad(name, version, aad, &aad_len);
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
		rados_ioctx_t ioctx = store_cluster_ioctx(store, i);
		const uint8_t *share = store->protocol == RECORD_PROTOCOL_CA ? enc.shares[i] : NULL;
		struct aio_io *io;
		rados_write_op_t op;

		if (!ioctx) {
			op_fail(store, log, i, -1, -ENOTCONN, "not connected");
			continue;
		}
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
		r = index_fetch(store, name, false, deadline, &log, &list);
		if (r < 0)
			return op_finish(store, &log, r,
					 "write %s: cannot learn the current version: ", name);
		version = list.count ? list.v[list.count - 1].version + 1 : 1;
		free(list.v);
	}
	if (version == 0 || version == STORE_VERSION_LATEST)
		return -EINVAL;
	r = write_phase_data(store, name, version, data, len, &log, deadline, digest, &exists);
	if (r == 1) {
		r = exists ? -EEXIST : (log.failed ? -ETIMEDOUT : -EIO);
		for (unsigned i = 0; i < store->n && r == -ETIMEDOUT; i++)
			if ((log.failed & (1u << i)) &&
			    !strstr(log.reason[i], "no answer") &&
			    !strstr(log.reason[i], "not connected") &&
			    !strstr(log.reason[i], "timed out"))
				r = -EIO;
		return op_finish(store, &log, r,
				 "write %s v%llu: fewer than %u of %u clusters stored it: ", name,
				 (unsigned long long)version, store->n - store->f, store->n);
	}
	if (r < 0)
		return op_finish(store, &log, r, "write %s v%llu: %s", name,
				 (unsigned long long)version, strerror(-r));
	r = write_phase_commit(store, name, version, digest, &log, deadline);
	if (r != 0)
		return op_finish(store, &log, r < 0 ? r : -ETIMEDOUT,
				 "write %s v%llu: commit reached fewer than %u of %u clusters: ",
				 name, (unsigned long long)version, store->n - store->f, store->n);
	if (ref) {
		ref->version = version;
		memcpy(ref->digest, digest, RECORD_DIGEST_LEN);
	}
	return op_finish(store, &log, 0, "write %s v%llu ok", name, (unsigned long long)version);
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

/* ---- reading -------------------------------------------------------- */

struct read_state {
	const char *name;
	uint64_t version;
	const uint8_t *want; /* the committed digest */
	uint8_t common[RECORD_MAX_LEN]; /* a verified common part, once one arrived */
	struct record_common c;
	bool have_common;
	bool asked_data[STORE_MAX_CLUSTERS], answered[STORE_MAX_CLUSTERS];
	bool share_ok[STORE_MAX_CLUSTERS], frag_ok[STORE_MAX_CLUSTERS];
	uint8_t shares[STORE_MAX_CLUSTERS][RECORD_SHARE_LEN];
	uint8_t *frags[STORE_MAX_CLUSTERS];      /* owned once taken from the io */
	size_t frag_got[STORE_MAX_CLUSTERS];
	bool frag_waiting[STORE_MAX_CLUSTERS];   /* arrived before a verified common part */
	unsigned good_frags, good_shares;
};

static size_t read_frag_max(const struct store *store)
{
	return store->protocol == RECORD_PROTOCOL_A ? store->max_unit
						    : (store->max_unit + store->k - 1) / store->k;
}

static void read_check_frag(struct store *store, struct read_state *rs, struct op_log *log,
			    unsigned i)
{
	uint8_t digest[RECORD_DIGEST_LEN];

	rs->frag_waiting[i] = false;
	if (rs->frag_got[i] != rs->c.frag_len) {
		op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			"fragment of %s v%llu has %zu bytes, record says %llu", rs->name,
			(unsigned long long)rs->version, rs->frag_got[i],
			(unsigned long long)rs->c.frag_len);
		goto bad;
	}
	if (sc_sha256(rs->frags[i], rs->frag_got[i], digest) < 0 ||
	    memcmp(digest, rs->c.digests + (size_t)i * RECORD_DIGEST_LEN, RECORD_DIGEST_LEN) != 0) {
		op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			"fragment digest mismatch for %s v%llu", rs->name,
			(unsigned long long)rs->version);
		goto bad;
	}
	rs->frag_ok[i] = true;
	rs->good_frags++;
	return;
bad:
	free(rs->frags[i]);
	rs->frags[i] = NULL;
}

/* One cluster's record: parse, check it belongs here, verify. */
static void read_take_record(struct store *store, struct read_state *rs, struct op_log *log,
			     struct aio_io *io)
{
	unsigned i = io->cluster;
	const char *xname, *xval;
	size_t xlen;
	struct record rec;
	uint8_t digest[RECORD_DIGEST_LEN], buf[RECORD_MAX_LEN];
	size_t len = 0;
	bool found = false;

	if (rs->share_ok[i])
		return; /* a second answer of the same cluster (fallback read) */
	while (rados_getxattrs_next(io->xattrs, &xname, &xval, &xlen) == 0 && xname) {
		if (strcmp(xname, STORE_XATTR_RECORD) != 0)
			continue;
		found = true;
		len = xlen;
		if (xlen <= sizeof(buf))
			memcpy(buf, xval, xlen);
		break;
	}
	if (!found) {
		op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			"fragment of %s v%llu has no record", rs->name,
			(unsigned long long)rs->version);
		return;
	}
	if (len > sizeof(buf) || record_parse(buf, len, &rec) < 0) {
		op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			"malformed record for %s v%llu (%zu bytes)", rs->name,
			(unsigned long long)rs->version, len);
		return;
	}
	if (rec.index != i || rec.c.version != rs->version ||
	    rec.c.name_len != strlen(rs->name) || memcmp(rec.c.name, rs->name, rec.c.name_len) ||
	    rec.c.protocol != store->protocol || rec.c.n != store->n || rec.c.f != store->f) {
		op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			"record for %s v%llu belongs elsewhere (index %u, version %llu)",
			rs->name, (unsigned long long)rs->version, rec.index,
			(unsigned long long)rec.c.version);
		return;
	}
	if (record_verify(buf, &rec, &store->trusted[0][0], store->trusted_count) < 0) {
		op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			"record signature of %s v%llu does not verify", rs->name,
			(unsigned long long)rs->version);
		return;
	}
	if (sc_sha256(buf, rec.common_len, digest) < 0 ||
	    memcmp(digest, rs->want, RECORD_DIGEST_LEN) != 0) {
		/* Signed by a writer, but not the committed content: not a lie, not usable. */
		op_fail(store, log, i, -1, -ESTALE, "holds another write of %s v%llu", rs->name,
			(unsigned long long)rs->version);
		return;
	}
	if (!rs->have_common) {
		memcpy(rs->common, buf, rec.common_len);
		rs->c = rec.c;
		/* Repoint into our copy: BUF goes away. */
		rs->c.name = (const char *)rs->common + (rec.c.name - (const char *)buf);
		rs->c.digests = rs->common + (rec.c.digests - buf);
		rs->c.iv = rs->common + (rec.c.iv - buf);
		rs->c.tag = rs->common + (rec.c.tag - buf);
		rs->c.writer_key = rs->common + (rec.c.writer_key - buf);
		rs->have_common = true;
		for (unsigned j = 0; j < store->n; j++)
			if (rs->frag_waiting[j])
				read_check_frag(store, rs, log, j);
	}
	if (rec.share) {
		memcpy(rs->shares[i], rec.share, RECORD_SHARE_LEN);
		rs->share_ok[i] = true;
		rs->good_shares++;
	} else if (store->protocol == RECORD_PROTOCOL_A) {
		rs->share_ok[i] = true;
		rs->good_shares++;
	}
	sc_wipe(buf, sizeof(buf));
}

static void read_take(struct store *store, struct read_state *rs, struct op_log *log,
		      struct aio_io *io)
{
	unsigned i = io->cluster;
	int e = io->r;

	if (io->kind == IO_FULL_READ || io->kind == IO_RECORD_READ)
		rs->answered[i] = true;
	if (e == -ENOENT) {
		op_fail(store, log, i, -1, e, "has no %s v%llu", rs->name,
			(unsigned long long)rs->version);
		return;
	}
	if (e < 0 || io->xattrs_rval < 0 ||
	    (io->kind == IO_FULL_READ && io->read_rval < 0)) {
		if (e >= 0)
			e = io->xattrs_rval < 0 ? io->xattrs_rval : io->read_rval;
		if (e == -ERANGE)
			op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
				"fragment of %s v%llu is larger than any unit", rs->name,
				(unsigned long long)rs->version);
		else
			op_fail(store, log, i, -1, e, "read failed: %s", strerror(-e));
		return;
	}
	if (io->xattrs) {
		read_take_record(store, rs, log, io);
		rados_getxattrs_end(io->xattrs);
		io->xattrs = NULL;
	}
	/* Even when its record was bad, its fragment may match the verified digests. */
	if (io->kind == IO_FULL_READ && io->buf && !rs->frags[i] && !rs->frag_ok[i]) {
		rs->frags[i] = io->buf;
		rs->frag_got[i] = io->bytes_read;
		io->buf = NULL;
		if (rs->have_common)
			read_check_frag(store, rs, log, i);
		else
			rs->frag_waiting[i] = true;
	}
}

static int read_submit(struct store *store, struct aio_set *set, struct read_state *rs,
		       unsigned i, bool with_data, const char *oid)
{
	rados_ioctx_t ioctx = store_cluster_ioctx(store, i);
	struct aio_io *io;
	rados_read_op_t op;

	if (!ioctx)
		return -ENOTCONN;
	io = aio_io_add(set, i, with_data ? IO_FULL_READ : IO_RECORD_READ);
	if (!io)
		return -ENOSPC;
	if (with_data) {
		io->buf_len = read_frag_max(store);
		io->buf = malloc(io->buf_len + 1);
		if (!io->buf)
			return -ENOMEM; /* the io stays unsubmitted; freed with the set */
		rs->asked_data[i] = true;
	}
	op = rados_create_read_op();
	rados_read_op_getxattrs(op, &io->xattrs, &io->xattrs_rval);
	if (with_data)
		rados_read_op_read(op, 0, io->buf_len, (char *)io->buf, &io->bytes_read,
				   &io->read_rval);
	aio_submit_read(io, ioctx, oid, op);
	rados_release_read_op(op);
	return 0;
}

/*
 * How long to wait for the preferred clusters before asking the others too:
 * a few times the slowest preferred cluster's usual latency, so a cluster
 * that hangs costs a fraction of the deadline, not all of it.
 */
static double read_hedge_delay(struct store *store, const unsigned *order, unsigned need)
{
	double worst = 0, delay;

	for (unsigned j = 0; j < need && j < store->n; j++) {
		struct store_cluster_state st;
		if (store_cluster_state(store, order[j], &st) == 0 && st.latency_ms > worst)
			worst = st.latency_ms;
	}
	delay = 0.25 + 4 * worst / 1000.0;
	return delay < store->op_timeout / 2 ? delay : store->op_timeout / 2;
}

static bool read_enough(const struct store *store, const struct read_state *rs)
{
	unsigned need = store->protocol == RECORD_PROTOCOL_A ? 1 : store->k;

	return rs->have_common && rs->good_frags >= need && rs->good_shares >= need;
}

static int read_version(struct store *store, const char *name, uint64_t version,
			const uint8_t want[RECORD_DIGEST_LEN], unsigned flags, struct op_log *log,
			void **buf, size_t *len)
{
	struct read_state *rs;
	struct aio_set *set = NULL;
	struct aio_io *io;
	unsigned order[STORE_MAX_CLUSTERS], need, data_asked = 0;
	bool all = flags & STORE_READ_VERIFY_ALL;
	double deadline = sc_now_monotonic() + store->op_timeout, hedge_at;
	char oid[OID_MAX];
	int r;

	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->name = name;
	rs->version = version;
	rs->want = want;
	need = store->protocol == RECORD_PROTOCOL_A ? 1 : store->k;
	if ((r = record_object_name(name, version, oid, sizeof(oid))) < 0 ||
	    (r = aio_set_new(store, &set)) < 0)
		goto out;
	store_cluster_order(store, order);
	hedge_at = sc_now_monotonic() + read_hedge_delay(store, order, need);
	for (unsigned j = 0; j < store->n; j++) {
		unsigned i = order[j];
		bool data = all || data_asked < need;
		if (read_submit(store, set, rs, i, data, oid) < 0) {
			op_fail(store, log, i, -1, -ENOTCONN, "not connected");
			continue;
		}
		data_asked += data;
	}
	for (;;) {
		double now = sc_now_monotonic();
		bool hedge = false;
		unsigned in_flight = 0;

		/* Wait for the next answer, but not past the hedge point. */
		io = aio_set_next(set, hedge_at < deadline ? hedge_at : deadline);
		if (io) {
			read_take(store, rs, log, io);
			if (!all && read_enough(store, rs))
				break;
		} else if (sc_now_monotonic() >= deadline || now >= deadline) {
			break;
		} else if (sc_now_monotonic() >= hedge_at) {
			/* The preferred clusters are slow: ask the others as well, once. */
			hedge = true;
			hedge_at = deadline;
		} else {
			break; /* nothing in flight any more */
		}
		/* Fall back: ask for more fragments while the ones in flight cannot suffice. */
		for (unsigned i = 0; i < store->n && !hedge; i++)
			if (rs->asked_data[i] && !rs->frag_ok[i] && !(log->failed & (1u << i)) &&
			    !(log->bad & (1u << i)))
				in_flight++;
		for (unsigned j = 0; j < store->n && rs->good_frags + in_flight < need; j++) {
			unsigned i = order[j];
			if (rs->asked_data[i] || (log->failed & (1u << i)) || (log->bad & (1u << i)))
				continue;
			if (read_submit(store, set, rs, i, true, oid) == 0)
				in_flight++;
		}
	}
	if (!read_enough(store, rs)) {
		op_timeouts(store, set, log);
		r = -EIO;
		goto out;
	}
	for (unsigned i = 0; i < store->n; i++)
		if (rs->frag_ok[i] && !(log->bad & (1u << i)))
			store_cluster_good(store, i);
	if (store->protocol == RECORD_PROTOCOL_A) {
		for (unsigned i = 0; i < store->n; i++)
			if (rs->frag_ok[i]) {
				uint8_t *p = rs->frags[i];
				rs->frags[i] = NULL;
				if (rs->c.data_len > 0) {
					uint8_t *q = realloc(p, (size_t)rs->c.data_len);
					p = q ? q : p;
				}
				*buf = p;
				*len = (size_t)rs->c.data_len;
				break;
			}
		r = 0;
	} else {
		unsigned share_index[STORE_MAX_CLUSTERS], count = 0;
		uint8_t shares[STORE_MAX_CLUSTERS][RECORD_SHARE_LEN];
		uint8_t *frags[STORE_MAX_CLUSTERS] = {0}, aad[16 + RECORD_NAME_MAX];
		uint8_t *plain = NULL;
		size_t aad_len;

		for (unsigned i = 0; i < store->n && count < store->k; i++)
			if (rs->share_ok[i]) {
				share_index[count] = i;
				memcpy(shares[count++], rs->shares[i], RECORD_SHARE_LEN);
			}
		for (unsigned i = 0, got = 0; i < store->n && got < store->k; i++)
			if (rs->frag_ok[i]) {
				frags[i] = rs->frags[i];
				got++;
			}
		unit_aad(name, version, aad, &aad_len);
		r = codec_decode(store->codec, frags, (size_t)rs->c.frag_len, rs->c.data_len,
				 rs->c.iv, rs->c.tag, share_index, &shares[0][0],
				 count, aad, aad_len, &plain);
		sc_wipe(shares, sizeof(shares));
		if (r < 0) {
			/* Shares and fragments were all signed and checked: the writer erred. */
			r = -EIO;
			goto out;
		}
		*buf = plain;
		*len = (size_t)rs->c.data_len;
	}
out:
	aio_set_put(set);
	for (unsigned i = 0; i < STORE_MAX_CLUSTERS; i++)
		free(rs->frags[i]);
	sc_wipe(rs->shares, sizeof(rs->shares));
	free(rs);
	return r;
}

static int unit_read(struct store *store, const char *name, uint64_t version,
		     const uint8_t *digest, unsigned flags, void **buf, size_t *len,
		     struct store_unit_ref *ref)
{
	struct op_log log = {.what = "read"};
	uint8_t want[RECORD_DIGEST_LEN];
	int r;

	*buf = NULL;
	*len = 0;
	if (!record_name_valid(name))
		return -EINVAL;
	if (digest) {
		memcpy(want, digest, sizeof(want));
	} else {
		struct version_list list = {0};
		struct version_entry *e = NULL;
		r = index_fetch(store, name, false, sc_now_monotonic() + store->op_timeout, &log,
				&list);
		if (r < 0)
			return op_finish(store, &log, r, "read %s: index unavailable: ", name);
		for (size_t i = list.count; i-- > 0;) {
			if (!list.v[i].committed)
				continue;
			if (version == STORE_VERSION_LATEST || list.v[i].version == version) {
				e = &list.v[i];
				break;
			}
		}
		if (e) {
			version = e->version;
			memcpy(want, e->digest, sizeof(want));
		}
		free(list.v);
		if (!e)
			return op_finish(store, &log, -ENOENT, "read %s: no committed version%s",
					 name, version == STORE_VERSION_LATEST ? "" : " of that number");
	}
	r = read_version(store, name, version, want, flags, &log, buf, len);
	if (r < 0)
		return op_finish(store, &log, r, "read %s v%llu: fewer than %u good copies: ", name,
				 (unsigned long long)version,
				 store->protocol == RECORD_PROTOCOL_A ? 1 : store->k);
	if (ref) {
		ref->version = version;
		memcpy(ref->digest, want, sizeof(want));
	}
	return op_finish(store, &log, 0, "read %s v%llu ok%s", name, (unsigned long long)version,
			 (log.bad | log.failed) ? ": " : "");
}

int store_unit_read(struct store *store, const char *name, uint64_t version, unsigned flags,
		    void **buf, size_t *len, struct store_unit_ref *ref)
{
	return unit_read(store, name, version, NULL, flags, buf, len, ref);
}

int store_unit_read_ref(struct store *store, const char *name, const struct store_unit_ref *ref,
			unsigned flags, void **buf, size_t *len)
{
	if (!ref || ref->version == 0 || ref->version == STORE_VERSION_LATEST) {
		*buf = NULL;
		*len = 0;
		return -EINVAL;
	}
	return unit_read(store, name, ref->version, ref->digest, flags, buf, len, NULL);
}

void store_buffer_free(void *buf, size_t len)
{
	(void)len;
	free(buf);
}

/* ---- deleting ------------------------------------------------------- */

int store_unit_delete(struct store *store, const char *name, uint64_t version)
{
	struct op_log log = {.what = "delete"};
	char oid[OID_MAX], index_oid[OID_MAX], key[19], pending[19];
	const char *keys[2] = {key, pending};
	size_t key_lens[2] = {18, 18};
	unsigned removed[STORE_MAX_CLUSTERS] = {0}, confirmed = 0;
	double deadline = sc_now_monotonic() + store->op_timeout;
	struct aio_set *set = NULL;
	struct aio_io *io;
	int r;

	if (!record_name_valid(name) || version == 0 || version == STORE_VERSION_LATEST)
		return -EINVAL;
	if (!store->can_write)
		return -EROFS;
	record_index_key(RECORD_KEY_COMMIT, version, key);
	record_index_key(RECORD_KEY_PENDING, version, pending);
	if ((r = record_object_name(name, version, oid, sizeof(oid))) < 0 ||
	    (r = record_index_name(name, index_oid, sizeof(index_oid))) < 0 ||
	    (r = aio_set_new(store, &set)) < 0)
		return r;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx = store_cluster_ioctx(store, i);
		rados_write_op_t op;
		if (!ioctx) {
			op_fail(store, &log, i, -1, -ENOTCONN, "not connected");
			continue;
		}
		/* The commit goes first in effect: the index op is submitted first. */
		io = aio_io_add(set, i, IO_DELETE_INDEX);
		op = rados_create_write_op();
		rados_write_op_omap_rm_keys2(op, keys, key_lens, 2);
		aio_submit_write(io, ioctx, index_oid, op);
		rados_release_write_op(op);
		io = aio_io_add(set, i, IO_DELETE_DATA);
		op = rados_create_write_op();
		rados_write_op_remove(op);
		aio_submit_write(io, ioctx, oid, op);
		rados_release_write_op(op);
	}
	/* Wait for every cluster (garbage collection wants them all), up to the deadline. */
	while ((io = aio_set_next(set, deadline))) {
		if (io->r == 0 || io->r == -ENOENT) {
			if (++removed[io->cluster] == 2)
				confirmed++;
		} else {
			op_fail(store, &log, io->cluster, -1, io->r, "remove failed: %s",
				strerror(-io->r));
		}
	}
	op_timeouts(store, set, &log);
	aio_set_put(set);
	r = confirmed >= store->n - store->f ? 0 : -ETIMEDOUT;
	return op_finish(store, &log, r, "delete %s v%llu: removed on %u of %u clusters%s", name,
			 (unsigned long long)version, confirmed, store->n,
			 (log.bad | log.failed) ? ": " : "");
}

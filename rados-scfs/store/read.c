/*
 * Reading a data unit (docs/store.md, "Read"): latest = the highest version
 * with a verified commit in the index of n-f clusters; then records from
 * all clusters and fragments from the k fastest, every byte checked against
 * the committed digest, falling back to the others on a mismatch, an error
 * or a slow answer (hedging).
 * Invariants: nothing a cluster returns is believed before record.c parsed
 * it and its signature and digest checked out; a cluster that fails a check
 * is marked "bad data" and named in the report; the caller gets the exact
 * committed bytes or an error, never other bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "unit.h"

struct read_state {
	const char *name;
	uint64_t version;
	const uint8_t *want;            /* the committed digest */
	uint8_t common[RECORD_MAX_LEN]; /* a verified common part, once one arrived */
	struct record_common c;
	bool have_common;
	bool asked_data[STORE_MAX_CLUSTERS], answered[STORE_MAX_CLUSTERS];
	bool share_ok[STORE_MAX_CLUSTERS], frag_ok[STORE_MAX_CLUSTERS];
	uint8_t shares[STORE_MAX_CLUSTERS][RECORD_SHARE_LEN];
	uint8_t *frags[STORE_MAX_CLUSTERS]; /* owned once taken from the io */
	size_t frag_got[STORE_MAX_CLUSTERS];
	bool frag_waiting[STORE_MAX_CLUSTERS]; /* arrived before a verified common part */
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
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "fragment of %s v%llu has %zu bytes, record says %llu", rs->name,
		              (unsigned long long)rs->version, rs->frag_got[i],
		              (unsigned long long)rs->c.frag_len);
		goto bad;
	}
	if (sc_sha256(rs->frags[i], rs->frag_got[i], digest) < 0 ||
	    memcmp(digest, rs->c.digests + (size_t)i * RECORD_DIGEST_LEN, RECORD_DIGEST_LEN) != 0) {
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
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
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "fragment of %s v%llu has no record", rs->name,
		              (unsigned long long)rs->version);
		return;
	}
	if (len > sizeof(buf) || record_parse(buf, len, &rec) < 0) {
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "malformed record for %s v%llu (%zu bytes)", rs->name,
		              (unsigned long long)rs->version, len);
		return;
	}
	if (rec.index != i || rec.c.version != rs->version || rec.c.name_len != strlen(rs->name) ||
	    memcmp(rec.c.name, rs->name, rec.c.name_len) || rec.c.protocol != store->protocol ||
	    rec.c.n != store->n || rec.c.f != store->f) {
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "record for %s v%llu belongs elsewhere (index %u, version %llu)",
		              rs->name, (unsigned long long)rs->version, rec.index,
		              (unsigned long long)rec.c.version);
		return;
	}
	if (record_verify(buf, &rec, &store->trusted[0][0], store->trusted_count) < 0) {
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "record signature of %s v%llu does not verify", rs->name,
		              (unsigned long long)rs->version);
		return;
	}
	if (sc_sha256(buf, rec.common_len, digest) < 0 ||
	    memcmp(digest, rs->want, RECORD_DIGEST_LEN) != 0) {
		/* Signed by a writer, but not the committed content: not a lie, not usable. */
		store_op_fail(store, log, i, -1, -ESTALE, "holds another write of %s v%llu",
		              rs->name, (unsigned long long)rs->version);
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
		store_op_fail(store, log, i, -1, e, "has no %s v%llu", rs->name,
		              (unsigned long long)rs->version);
		return;
	}
	if (e < 0 || io->xattrs_rval < 0 || (io->kind == IO_FULL_READ && io->read_rval < 0)) {
		if (e >= 0)
			e = io->xattrs_rval < 0 ? io->xattrs_rval : io->read_rval;
		if (e == -ERANGE)
			store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			              "fragment of %s v%llu is larger than any unit", rs->name,
			              (unsigned long long)rs->version);
		else
			store_op_fail(store, log, i, -1, e, "read failed: %s", strerror(-e));
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

static int read_submit(struct store *store, struct aio_set *set, struct read_state *rs, unsigned i,
                       bool with_data, const char *oid)
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
			store_op_fail(store, log, i, -1, -ENOTCONN, "not connected");
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
			if (rs->asked_data[i] || (log->failed & (1u << i)) ||
			    (log->bad & (1u << i)))
				continue;
			if (read_submit(store, set, rs, i, true, oid) == 0)
				in_flight++;
		}
	}
	if (!read_enough(store, rs)) {
		store_op_timeouts(store, set, log, store->op_timeout);
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
		uint8_t *frags[STORE_MAX_CLUSTERS] = {0}, aad[UNIT_AAD_MAX];
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
		store_unit_aad(name, version, aad, &aad_len);
		r = codec_decode(store->codec, frags, (size_t)rs->c.frag_len, rs->c.data_len,
		                 rs->c.iv, rs->c.tag, share_index, &shares[0][0], count, aad,
		                 aad_len, &plain);
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

static int unit_read(struct store *store, const char *name, uint64_t version, const uint8_t *digest,
                     unsigned flags, void **buf, size_t *len, struct store_unit_ref *ref)
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
		r = store_index_fetch(store, name, false, sc_now_monotonic() + store->op_timeout,
		                      &log, &list);
		if (r < 0)
			return store_op_finish(store, &log, r,
			                       "read %s: index unavailable: ", name);
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
			return store_op_finish(
			    store, &log, -ENOENT, "read %s: no committed version%s", name,
			    version == STORE_VERSION_LATEST ? "" : " of that number");
	}
	r = read_version(store, name, version, want, flags, &log, buf, len);
	if (r < 0)
		return store_op_finish(store, &log, r,
		                       "read %s v%llu: fewer than %u good copies: ", name,
		                       (unsigned long long)version,
		                       store->protocol == RECORD_PROTOCOL_A ? 1 : store->k);
	if (ref) {
		ref->version = version;
		memcpy(ref->digest, want, sizeof(want));
	}
	return store_op_finish(store, &log, 0, "read %s v%llu ok%s", name,
	                       (unsigned long long)version, (log.bad | log.failed) ? ": " : "");
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

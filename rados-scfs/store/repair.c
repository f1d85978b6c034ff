/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fsck and repair of one unit version (docs/store.md, "Check and repair"):
 * store_unit_check asks every cluster for the record and fragment of the
 * version a ref names and says per cluster whether its copy is good,
 * missing or wrong; store_unit_repair then rewrites exactly the missing and
 * wrong copies from the good ones.
 *
 * A rewritten copy is the writer's own, bit for bit where it can be: the
 * signed common part is taken unchanged from a verified record; a CA
 * fragment is rebuilt by Reed-Solomon from k fragments whose digests match
 * that common part (the code is deterministic, so it gives the writer's
 * bytes, and its digest is checked again before it is sent); the cluster's
 * key share is its own verified one, or else interpolated from k signed
 * shares (common/shamir.h) after those shares and fragments were shown to
 * decrypt the unit; the record's
 * per-cluster part is sealed again with the writer key, which must be the
 * key the common part names. Fragment and record go to the cluster in one
 * RADOS write op, so a cluster holds both or neither.
 *
 * Invariants: nothing a cluster returned is used before record.c parsed it
 * and its signature, placement and digest checked out; a good copy and a
 * cluster that did not answer are never written; a check writes nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/shamir.h"
#include "common/util.h"
#include "unit.h"

/* What the check took in: each cluster's record (parsed in place) and fragment. */
struct check_state {
	const char *name;
	struct store_unit_ref ref;
	size_t frag_len; /* what the ref's length gives */
	struct aio_set *set;
	struct aio_io *io[STORE_MAX_CLUSTERS];
	uint8_t recbuf[STORE_MAX_CLUSTERS][RECORD_MAX_LEN]; /* holds shares: wiped */
	struct record rec[STORE_MAX_CLUSTERS];
	bool rec_ok[STORE_MAX_CLUSTERS], frag_ok[STORE_MAX_CLUSTERS];
	int common; /* a cluster with a verified record, or -1 */
	struct store_unit_health h;
};

static void check_mark(struct check_state *cs, unsigned i, enum store_copy_state state,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void check_mark(struct check_state *cs, unsigned i, enum store_copy_state state,
                       const char *fmt, ...)
{
	va_list ap;

	cs->h.state[i] = state;
	va_start(ap, fmt);
	vsnprintf(cs->h.reason[i], sizeof(cs->h.reason[i]), fmt, ap);
	va_end(ap);
}

/* Cluster I's record: parsed, in its place, signed by a trusted writer, the ref's. */
static bool check_record(struct store *store, struct check_state *cs, unsigned i)
{
	struct aio_io *io = cs->io[i];
	const char *xname, *xval;
	size_t xlen = 0;
	bool found = false;
	struct record *rec = &cs->rec[i];
	uint8_t digest[RECORD_DIGEST_LEN];

	while (rados_getxattrs_next(io->xattrs, &xname, &xval, &xlen) == 0 && xname) {
		if (strcmp(xname, STORE_XATTR_RECORD) != 0)
			continue;
		found = true;
		break;
	}
	if (!found)
		return check_mark(cs, i, STORE_COPY_WRONG, "its fragment has no record"), false;
	if (xlen > sizeof(cs->recbuf[i]))
		return check_mark(cs, i, STORE_COPY_WRONG, "its record has %zu bytes", xlen), false;
	memcpy(cs->recbuf[i], xval, xlen);
	if (store_record_parse(cs->recbuf[i], xlen, rec) < 0)
		return check_mark(cs, i, STORE_COPY_WRONG, "its record is malformed"), false;
	if (rec->index != i || rec->c.version != cs->ref.version ||
	    rec->c.name_len != strlen(cs->name) || memcmp(rec->c.name, cs->name, rec->c.name_len) ||
	    rec->c.protocol != store->protocol || rec->c.n != store->n || rec->c.f != store->f ||
	    (store->protocol == RECORD_PROTOCOL_CA && !rec->share))
		return check_mark(cs, i, STORE_COPY_WRONG, "its record belongs elsewhere"), false;
	if (store_record_verify(&store->id, cs->recbuf[i], rec, &store->trusted[0][0],
	                        store->trusted_count) < 0)
		return check_mark(cs, i, STORE_COPY_WRONG, "its record's signature fails"), false;
	if (store_record_digest(&store->id, cs->recbuf[i], rec->common_len, digest) < 0 ||
	    memcmp(digest, cs->ref.digest, RECORD_DIGEST_LEN) != 0 ||
	    rec->c.data_len != cs->ref.data_len || rec->c.frag_len != cs->frag_len)
		return check_mark(cs, i, STORE_COPY_WRONG, "it holds another write of v%llu",
		                  (unsigned long long)cs->ref.version),
		       false;
	return true;
}

/* Cluster I's fragment against the verified common part of cluster COMMON. */
static bool check_fragment(struct check_state *cs, unsigned i, bool data)
{
	const struct record *c = &cs->rec[cs->common];
	struct aio_io *io = cs->io[i];
	uint8_t d[RECORD_DIGEST_LEN];

	if (!data) {
		if (io->stat_rval < 0)
			return check_mark(cs, i, STORE_COPY_WRONG, "its fragment cannot be stat'd"),
			       false;
		if (io->stat_size != cs->frag_len)
			return check_mark(cs, i, STORE_COPY_WRONG,
			                  "its fragment has %llu bytes, not %zu",
			                  (unsigned long long)io->stat_size, cs->frag_len),
			       false;
		return true;
	}
	if (io->read_rval < 0)
		return check_mark(cs, i, STORE_COPY_WRONG, "its fragment cannot be read: %s",
		                  strerror(-io->read_rval)),
		       false;
	if (io->bytes_read != cs->frag_len)
		return check_mark(cs, i, STORE_COPY_WRONG, "its fragment has %s%zu bytes, not %zu",
		                  io->bytes_read > cs->frag_len ? "over " : "",
		                  io->bytes_read > cs->frag_len ? cs->frag_len : io->bytes_read,
		                  cs->frag_len),
		       false;
	if (sc_sha256(io->buf, cs->frag_len, d) < 0 ||
	    memcmp(d, c->c.digests + (size_t)i * RECORD_DIGEST_LEN, RECORD_DIGEST_LEN) != 0)
		return check_mark(cs, i, STORE_COPY_WRONG, "its fragment's digest does not match"),
		       false;
	return true;
}

/*
 * Asks every cluster, waits for all up to the deadline, then judges: the
 * records first (any verified one gives the common part), then each
 * fragment against it (a fragment may be good beside a bad record).
 */
static int check_gather(struct store *store, struct check_state *cs, bool data, struct op_log *log)
{
	double deadline = sc_now_monotonic() + store->op_timeout;
	char oid[OID_MAX];
	struct aio_io *io;
	int r;

	cs->common = -1;
	if (cs->ref.data_len > store->max_unit)
		return -EINVAL;
	cs->frag_len = store_codec_frag_len(store->codec, (size_t)cs->ref.data_len);
	if ((r = store_record_object_name(cs->name, cs->ref.version, oid, sizeof(oid))) < 0 ||
	    (r = store_aio_set_new(store, &cs->set)) < 0)
		return r;
	for (unsigned i = 0; i < store->n; i++) {
		rados_ioctx_t ioctx = store_op_ioctx(store, log, i);
		rados_read_op_t op;

		check_mark(cs, i, STORE_COPY_UNKNOWN, "not connected");
		if (!ioctx)
			continue;
		io = store_aio_io_add(cs->set, i, IO_CHECK_READ);
		if (data) {
			/* One byte more than it should have: a grown fragment shows. */
			io->buf = malloc(cs->frag_len + 1);
			if (!io->buf)
				return -ENOMEM;
			io->buf_len = cs->frag_len + 1;
			io->bytes = cs->frag_len;
			io->data = true;
		}
		op = rados_create_read_op();
		rados_read_op_getxattrs(op, &io->xattrs, &io->xattrs_rval);
		if (data)
			rados_read_op_read(op, 0, cs->frag_len + 1, (char *)io->buf,
			                   &io->bytes_read, &io->read_rval);
		else
			rados_read_op_stat(op, &io->stat_size, &io->stat_mtime, &io->stat_rval);
		store_aio_submit_read(io, ioctx, oid, op);
		rados_release_read_op(op);
		check_mark(cs, i, STORE_COPY_UNKNOWN, "no answer within %g s", store->op_timeout);
	}
	while ((io = store_aio_set_next(cs->set, deadline))) {
		unsigned i = io->cluster;
		if (io->r == -ENOENT) {
			check_mark(cs, i, STORE_COPY_MISSING, "it holds no fragment of v%llu",
			           (unsigned long long)cs->ref.version);
		} else if (io->r < 0) {
			check_mark(cs, i,
			           store_error_is_transport(io->r) ? STORE_COPY_UNKNOWN
			                                           : STORE_COPY_WRONG,
			           "read failed: %s", strerror(-io->r));
		} else if (io->xattrs_rval < 0 || !io->xattrs) {
			check_mark(cs, i, STORE_COPY_WRONG, "its record cannot be read");
		} else {
			cs->io[i] = io;
			cs->rec_ok[i] = check_record(store, cs, i);
			if (cs->rec_ok[i] && cs->common < 0)
				cs->common = (int)i;
		}
		if (io->xattrs) {
			rados_getxattrs_end(io->xattrs);
			io->xattrs = NULL;
		}
	}
	store_op_timeouts(store, cs->set, log, store->op_timeout);
	for (unsigned i = 0; i < store->n; i++) {
		if (!cs->io[i])
			continue;
		if (cs->common < 0)
			continue; /* its record failed (marked): nothing to check a fragment by */
		cs->frag_ok[i] = check_fragment(cs, i, data);
		if (cs->rec_ok[i] && cs->frag_ok[i])
			check_mark(cs, i, STORE_COPY_GOOD, "good");
	}
	for (unsigned i = 0; i < store->n; i++) {
		enum store_copy_state st = cs->h.state[i];
		if (st == STORE_COPY_WRONG)
			store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG, "%s",
			              cs->h.reason[i]);
		else if (st == STORE_COPY_MISSING)
			store_op_fail(store, log, i, -1, -ENOENT, "%s", cs->h.reason[i]);
		else if (st == STORE_COPY_UNKNOWN && !(log->failed & (1u << i)))
			store_op_fail(store, log, i, -1, -ETIMEDOUT, "%s", cs->h.reason[i]);
	}
	return 0;
}

static void check_free(struct check_state *cs)
{
	if (!cs)
		return;
	store_aio_set_put(cs->set); /* frees the fragment buffers, now or at the last answer */
	sc_wipe(cs->recbuf, sizeof(cs->recbuf));
	free(cs);
}

static int check_new(const char *name, const struct store_unit_ref *ref, struct check_state **out)
{
	struct check_state *cs;

	*out = NULL;
	if (!store_unit_name_valid(name) || !ref || ref->version == 0 ||
	    ref->version == STORE_VERSION_LATEST || ref->data_len > RECORD_MAX_DATA)
		return -EINVAL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->name = name;
	cs->ref = *ref;
	*out = cs;
	return 0;
}

static int unit_check(struct store *store, const char *name, const struct store_unit_ref *ref,
                      unsigned flags, struct store_unit_health *out, struct store_report *rep)
{
	struct op_log log = {.what = "check", .rep = rep};
	struct check_state *cs;
	unsigned good = 0;
	int r = check_new(name, ref, &cs);

	if (r < 0)
		return store_op_finish(store, &log, r, "check: invalid unit name or ref");
	r = check_gather(store, cs, flags & STORE_CHECK_DATA, &log);
	if (r == 0 && out) {
		*out = cs->h;
		for (unsigned i = 0; i < store->n; i++)
			good += cs->h.state[i] == STORE_COPY_GOOD;
	}
	check_free(cs);
	if (r < 0)
		return store_op_finish(store, &log, r, "check %s v%llu: %s", name,
		                       (unsigned long long)ref->version, strerror(-r));
	return store_op_finish(store, &log, 0, "check %s v%llu: %u of %u copies good%s", name,
	                       (unsigned long long)ref->version, good, store->n,
	                       good < store->n ? ": " : "");
}

/*
 * CA: every cluster's fragment rebuilt into FRAGS (in *BUF), after the k
 * good fragments and k good shares used were shown to decrypt the unit;
 * SHARE_INDEX/SHARES the k shares for sc_shamir_share.
 */
static int repair_rebuild_ca(struct store *store, struct check_state *cs, uint8_t **buf,
                             uint8_t **frags, unsigned *share_index, uint8_t *shares)
{
	const struct record *c = &cs->rec[cs->common];
	uint8_t *have[STORE_MAX_CLUSTERS] = {0}, aad[UNIT_AAD_MAX], *plain = NULL;
	unsigned nfrags = 0, nshares = 0;
	size_t aad_len;
	int r;

	for (unsigned i = 0; i < store->n; i++) {
		if (cs->frag_ok[i] && nfrags < store->k) {
			have[i] = cs->io[i]->buf;
			nfrags++;
		}
		if (cs->rec_ok[i] && nshares < store->k) {
			share_index[nshares] = i;
			memcpy(shares + (size_t)nshares++ * RECORD_SHARE_LEN, cs->rec[i].share,
			       RECORD_SHARE_LEN);
		}
	}
	if (nfrags < store->k || nshares < store->k)
		return -EIO;
	store_unit_aad(store, cs->name, cs->ref.version, aad, &aad_len);
	r = store_codec_decode(store->codec, have, cs->frag_len, c->c.data_len, c->c.iv, c->c.tag,
	                       share_index, shares, store->k, aad, aad_len, &plain);
	if (r < 0)
		return -EIO; /* signed shares and matching fragments that do not decrypt */
	sc_wipe(plain, (size_t)c->c.data_len);
	free(plain);
	return store_codec_rebuild(store->codec, have, cs->frag_len, buf, frags);
}

/* Fragment and re-sealed record of cluster I in one write op. */
static int repair_submit(struct store *store, struct check_state *cs, unsigned i,
                         const uint8_t *frag, const uint8_t *share, const char *oid,
                         struct op_log *log)
{
	const struct record *c = &cs->rec[cs->common];
	uint8_t rec[RECORD_MAX_LEN], d[RECORD_DIGEST_LEN];
	rados_ioctx_t ioctx = store_op_ioctx(store, log, i);
	size_t rec_len = 0;
	struct aio_io *io = NULL;
	rados_write_op_t op;
	int r;

	if (!ioctx)
		return -ENOTCONN;
	/* The rebuilt bytes must be the ones the writer signed. */
	if (sc_sha256(frag, cs->frag_len, d) < 0 ||
	    memcmp(d, c->c.digests + (size_t)i * RECORD_DIGEST_LEN, RECORD_DIGEST_LEN) != 0)
		return -EIO;
	memcpy(rec, cs->recbuf[cs->common], c->common_len);
	r = store_record_seal(&store->id, rec, sizeof(rec), c->common_len, (uint8_t)i, share,
	                      store->writer_priv, &rec_len);
	if (r == 0 && !(io = store_aio_io_add(cs->set, i, IO_REPAIR_WRITE)))
		r = -ENOSPC;
	if (r < 0) {
		sc_wipe(rec, sizeof(rec));
		return r;
	}
	io->bytes = cs->frag_len + rec_len;
	op = rados_create_write_op();
	rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
	rados_write_op_write_full(op, (const char *)frag, cs->frag_len);
	rados_write_op_setxattr(op, STORE_XATTR_RECORD, (const char *)rec, rec_len);
	store_aio_submit_write(io, ioctx, oid, op); /* librados copied the buffers */
	rados_release_write_op(op);
	sc_wipe(rec, sizeof(rec));
	return 0;
}

static int repair_write(struct store *store, struct check_state *cs, uint32_t targets,
                        struct op_log *log, uint32_t *repaired)
{
	unsigned share_index[STORE_MAX_CLUSTERS], sent = 0;
	uint8_t shares[STORE_MAX_CLUSTERS * RECORD_SHARE_LEN], share[RECORD_SHARE_LEN];
	uint8_t *buf = NULL, *frags[STORE_MAX_CLUSTERS] = {0};
	const uint8_t *source = NULL;
	double deadline = sc_now_monotonic() + store->op_timeout;
	char oid[OID_MAX];
	struct aio_io *io;
	int r, first = 0;

	if ((r = store_record_object_name(cs->name, cs->ref.version, oid, sizeof(oid))) < 0)
		return r;
	if (store->protocol == RECORD_PROTOCOL_CA) {
		r = repair_rebuild_ca(store, cs, &buf, frags, share_index, shares);
		if (r < 0)
			goto out;
	} else {
		for (unsigned i = 0; i < store->n && !source; i++)
			if (cs->frag_ok[i])
				source = cs->io[i]->buf; /* A: every fragment is the unit */
		if (!source) {
			r = -EIO;
			goto out;
		}
	}
	for (unsigned i = 0; i < store->n; i++) {
		if (!(targets & (1u << i)))
			continue;
		/* A verified record of its own keeps its share; otherwise rebuild it. */
		if (store->protocol == RECORD_PROTOCOL_CA && cs->rec_ok[i])
			memcpy(share, cs->rec[i].share, RECORD_SHARE_LEN);
		else if (store->protocol == RECORD_PROTOCOL_CA &&
		         (r = sc_shamir_share(share_index, shares, store->k, i, share)) < 0)
			goto out;
		r = repair_submit(store, cs, i, source ? source : frags[i],
		                  store->protocol == RECORD_PROTOCOL_CA ? share : NULL, oid, log);
		sc_wipe(share, sizeof(share));
		if (r < 0) {
			store_op_fail(store, log, i, -1, r, "rewrite failed: %s", strerror(-r));
			first = first ? first : r;
			continue;
		}
		sent++;
	}
	while (sent && (io = store_aio_set_next(cs->set, deadline))) {
		if (io->kind != IO_REPAIR_WRITE)
			continue;
		sent--;
		if (io->r == 0) {
			*repaired |= 1u << io->cluster;
			cs->h.state[io->cluster] = STORE_COPY_GOOD;
			continue;
		}
		store_op_fail(store, log, io->cluster, -1, io->r, "rewrite failed: %s",
		              strerror(-io->r));
		first = first ? first : io->r;
	}
	if (sent) {
		store_op_timeouts(store, cs->set, log, store->op_timeout);
		first = first ? first : -ETIMEDOUT;
	}
	r = first;
out:
	sc_wipe(shares, sizeof(shares));
	free(buf);
	return r;
}

static int unit_repair(struct store *store, const char *name, const struct store_unit_ref *ref,
                       uint32_t clusters, struct store_unit_health *found, uint32_t *repaired,
                       struct store_report *rep)
{
	struct op_log log = {.what = "repair", .rep = rep};
	struct check_state *cs;
	uint32_t targets = 0;
	int r = check_new(name, ref, &cs);

	if (r < 0)
		return store_op_finish(store, &log, r, "repair: invalid unit name or ref");
	if (!store->can_write) {
		check_free(cs);
		return store_op_finish(store, &log, -EROFS, "repair %s: no writer key", name);
	}
	r = check_gather(store, cs, true, &log);
	if (r < 0)
		goto out;
	if (found)
		*found = cs->h;
	for (unsigned i = 0; i < store->n; i++)
		if ((!clusters || (clusters & (1u << i))) &&
		    (cs->h.state[i] == STORE_COPY_MISSING || cs->h.state[i] == STORE_COPY_WRONG))
			targets |= 1u << i;
	if (!targets)
		goto out;
	if (cs->common < 0) {
		r = -EIO;
		goto out;
	}
	if (memcmp(cs->rec[cs->common].c.writer_key, store->writer_pub, RECORD_KEY_LEN) != 0) {
		r = -EPERM;
		goto out;
	}
	r = repair_write(store, cs, targets, &log, repaired);
out:
	check_free(cs);
	if (r == -EIO)
		return store_op_finish(
		    store, &log, r,
		    "repair %s v%llu: fewer than %u good copies to rebuild from: ", name,
		    (unsigned long long)ref->version,
		    store->protocol == RECORD_PROTOCOL_A ? 1 : store->k);
	if (r == -EPERM)
		return store_op_finish(store, &log, r,
		                       "repair %s v%llu: written under another writer key", name,
		                       (unsigned long long)ref->version);
	if (r < 0)
		return store_op_finish(store, &log, r, "repair %s v%llu: %s: ", name,
		                       (unsigned long long)ref->version, strerror(-r));
	return store_op_finish(store, &log, 0, "repair %s v%llu: rewrote %d of %d copies%s", name,
	                       (unsigned long long)ref->version, __builtin_popcount(*repaired),
	                       __builtin_popcount(targets), targets ? ": " : "");
}

int store_unit_check(struct store *store, const char *name, const struct store_unit_ref *ref,
                     unsigned flags, struct store_unit_health *out, struct store_report *rep)
{
	int r = store_op_enter(store);

	if (r < 0) {
		struct op_log log = {.what = "check", .rep = rep};
		return store_op_finish(store, &log, r, "check: the store is closing");
	}
	r = unit_check(store, name, ref, flags, out, rep);
	store_op_leave(store);
	return r;
}

int store_unit_repair(struct store *store, const char *name, const struct store_unit_ref *ref,
                      uint32_t clusters, struct store_unit_health *found, uint32_t *repaired,
                      struct store_report *rep)
{
	int r;

	*repaired = 0;
	r = store_op_enter(store);
	if (r < 0) {
		struct op_log log = {.what = "repair", .rep = rep};
		return store_op_finish(store, &log, r, "repair: the store is closing");
	}
	r = unit_repair(store, name, ref, clusters, found, repaired, rep);
	store_op_leave(store);
	return r;
}

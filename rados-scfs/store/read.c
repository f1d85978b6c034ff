/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading a data unit (docs/store.md, "Read"): latest = the highest version
 * with a verified commit in the index of n-f clusters; then record and
 * fragment from the k fastest clusters, every byte checked against the
 * committed digest, falling back to the others on a mismatch, an error or
 * a slow answer (hedging).
 *
 * A fragment is read in READ_PIECES pieces, each its own read op to the
 * same cluster (the first one also fetches the record): the pieces come
 * back one after the other, and each is hashed as soon as it and those
 * before it are in, while the later ones are still on the wire. So the
 * SHA-256 of a fragment costs little more than its last piece, instead of
 * a whole pass after the whole fragment arrived; pieces of two fragments
 * that are ready together are hashed side by side (digest.h).
 *
 * CA reads without STORE_READ_VERIFY_ALL verify fragments lazily: the GCM
 * tag, under a key that no f clusters know, authenticates the whole
 * ciphertext, so a fragment counts once its length is right, and only when
 * the tag fails are the fragments used hashed, to name the cluster that
 * served bad bytes and ask another (read_blame_fragments). Protocol A (no
 * tag) and VERIFY_ALL hash every fragment as it arrives.
 *
 * Invariants: nothing a cluster returns is believed before record.c parsed
 * it and its signature and digest checked out; a cluster that fails a check
 * is marked "bad data" and named in the report; the caller gets the exact
 * committed bytes or an error, never other bytes. A fragment's buffer
 * belongs to the io of its first piece and so to the aio set, which
 * outlives every piece's completion; the read state only borrows it, and
 * takes it (A) only once every piece has answered.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "digest.h"
#include "unit.h"

#define READ_PIECES 4
#ifndef READ_PIECE_MIN               /* the piece fuzzer makes them small */
#define READ_PIECE_MIN (256u << 10)  /* below this a piece is not worth its op */
#define READ_PIECE_ALIGN (64u << 10) /* a multiple of DIGEST_BLOCK */
#endif

struct read_state {
	const char *name;
	uint64_t version;
	uint8_t want[RECORD_DIGEST_LEN]; /* the committed digest */
	uint64_t data_len;               /* the committed length */
	bool len_mismatch;               /* the verified record says another length */
	bool all;                        /* STORE_READ_VERIFY_ALL */
	bool lazy;     /* CA without VERIFY_ALL: fragment digests only when the GCM tag fails */
	unsigned need; /* good fragments and shares needed: 1 (A) or k */
	double deadline, hedge_at;
	unsigned order[STORE_MAX_CLUSTERS]; /* clusters by preference */
	char oid[OID_MAX];
	struct aio_set *set;
	uint8_t common[RECORD_MAX_LEN]; /* a verified common part, once one arrived */
	struct record_common c;
	bool have_common;
	size_t frag_max, piece_len;
	unsigned pieces;
	bool asked_data[STORE_MAX_CLUSTERS];
	bool share_ok[STORE_MAX_CLUSTERS], frag_ok[STORE_MAX_CLUSTERS];
	bool record_seen[STORE_MAX_CLUSTERS]; /* its record came, good or bad */
	uint8_t shares[STORE_MAX_CLUSTERS][RECORD_SHARE_LEN];
	/* Fragment i: borrowed from the io of its first piece, OWNER[i]. */
	uint8_t *frags[STORE_MAX_CLUSTERS];
	struct aio_io *owner[STORE_MAX_CLUSTERS];
	uint32_t arrived[STORE_MAX_CLUSTERS]; /* bit p: piece p answered */
	size_t piece_got[STORE_MAX_CLUSTERS][READ_PIECES];
	unsigned hashed[STORE_MAX_CLUSTERS];   /* pieces hashed, in order */
	bool ended[STORE_MAX_CLUSTERS];        /* a short piece: the fragment ends there */
	bool frag_dead[STORE_MAX_CLUSTERS];    /* failed: no more hashing */
	bool frag_waiting[STORE_MAX_CLUSTERS]; /* hashed before a verified common part */
	size_t frag_got[STORE_MAX_CLUSTERS];
	uint8_t frag_digest[STORE_MAX_CLUSTERS][RECORD_DIGEST_LEN];
	struct digest_multi dm; /* stream i: fragment i */
	unsigned good_frags, good_shares;
	uint32_t absent;   /* bit i: cluster i has no such object */
	uint32_t answered; /* bit i: cluster i answered (anything) */
};

/*
 * The bytes asked of each cluster: the fragment's length by the committed
 * unit length, plus one, so that a fragment grown past its end is seen.
 */
static size_t read_frag_max(const struct store *store, uint64_t data_len)
{
	return (store->protocol == RECORD_PROTOCOL_A
	            ? (size_t)data_len
	            : (size_t)((data_len + store->k - 1) / store->k)) +
	       1;
}

/* READ_PIECES pieces of at least READ_PIECE_MIN bytes, aligned for the hash. */
static void read_pieces_plan(struct read_state *rs, size_t frag_max)
{
	size_t len = (frag_max + READ_PIECES - 1) / READ_PIECES;

	len = (len + READ_PIECE_ALIGN - 1) / READ_PIECE_ALIGN * READ_PIECE_ALIGN;
	if (len < READ_PIECE_MIN)
		len = READ_PIECE_MIN;
	rs->frag_max = frag_max;
	rs->piece_len = len;
	rs->pieces = frag_max == 0 ? 1 : (unsigned)((frag_max + len - 1) / len);
}

static size_t read_piece_size(const struct read_state *rs, unsigned p)
{
	size_t off = (size_t)p * rs->piece_len;

	if (off >= rs->frag_max)
		return 0;
	return rs->frag_max - off < rs->piece_len ? rs->frag_max - off : rs->piece_len;
}

static void read_check_frag(struct store *store, struct read_state *rs, struct op_log *log,
                            unsigned i)
{
	rs->frag_waiting[i] = false;
	if (rs->frag_got[i] != rs->c.frag_len) {
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "fragment of %s v%llu has %zu bytes, record says %llu", rs->name,
		              (unsigned long long)rs->version, rs->frag_got[i],
		              (unsigned long long)rs->c.frag_len);
		rs->frag_dead[i] = true;
		return;
	}
	/* Lazy: the GCM tag checks the fragments; read_result_ca hashes them if it fails. */
	if (!rs->lazy && memcmp(rs->frag_digest[i], rs->c.digests + (size_t)i * RECORD_DIGEST_LEN,
	                        RECORD_DIGEST_LEN) != 0) {
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "fragment digest mismatch for %s v%llu", rs->name,
		              (unsigned long long)rs->version);
		rs->frag_dead[i] = true;
		return;
	}
	rs->frag_ok[i] = true;
	rs->good_frags++;
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
		return;
	rs->record_seen[i] = true;
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
	if (len > sizeof(buf) || store_record_parse(buf, len, &rec) < 0) {
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
	if (store_record_verify(&store->id, buf, &rec, &store->trusted[0][0],
	                        store->trusted_count) < 0) {
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "record signature of %s v%llu does not verify", rs->name,
		              (unsigned long long)rs->version);
		return;
	}
	if (store_record_digest(&store->id, buf, rec.common_len, digest) < 0 ||
	    memcmp(digest, rs->want, RECORD_DIGEST_LEN) != 0) {
		/* Signed by a writer, but not the committed content: not a lie, not usable. */
		store_op_fail(store, log, i, -1, -ESTALE, "holds another write of %s v%llu",
		              rs->name, (unsigned long long)rs->version);
		return;
	}
	if (rec.c.data_len != rs->data_len) {
		/* The writer's own record: the caller's ref names another length. */
		rs->len_mismatch = true;
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

/* Cluster I's fragment cannot be used: stop hashing it; the read asks another. */
static void read_frag_fail(struct store *store, struct read_state *rs, struct op_log *log,
                           unsigned i, int condition, int err, const char *what)
{
	rs->frag_dead[i] = true;
	store_op_fail(store, log, i, condition, err, "%s %s v%llu", what, rs->name,
	              (unsigned long long)rs->version);
}

static void read_take(struct store *store, struct read_state *rs, struct op_log *log,
                      struct aio_io *io)
{
	unsigned i = io->cluster;
	int e = io->r;

	if (!store_error_is_transport(e))
		rs->answered |= 1u << i;
	if (e == -ENOENT) {
		rs->absent |= 1u << i;
		read_frag_fail(store, rs, log, i, -1, e, "has no");
		return;
	}
	if (e < 0 || (io->kind == IO_FULL_READ && io->xattrs_rval < 0) || io->read_rval < 0) {
		if (e >= 0)
			e = io->kind == IO_FULL_READ && io->xattrs_rval < 0 ? io->xattrs_rval
			                                                    : io->read_rval;
		rs->frag_dead[i] = true;
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
	if (io->piece < rs->pieces && !(rs->arrived[i] & (1u << io->piece))) {
		rs->arrived[i] |= 1u << io->piece;
		rs->piece_got[i][io->piece] = io->bytes_read;
	}
}

/* Cluster I's fragment is all in and hashed: check it once the common part is known. */
static void read_frag_complete(struct store *store, struct read_state *rs, struct op_log *log,
                               unsigned i)
{
	if (!rs->lazy && store_digest_multi_end_stream(&rs->dm, i, rs->frag_digest[i]) < 0) {
		read_frag_fail(store, rs, log, i, -1, -EIO, "cannot hash the fragment of");
		return;
	}
	if (rs->have_common)
		read_check_frag(store, rs, log, i);
	else
		rs->frag_waiting[i] = true;
}

/*
 * Hashes every piece that is in and whose predecessors are hashed: whole
 * pieces of several fragments side by side, the short last ones alone.
 */
static void read_hash_ready(struct store *store, struct read_state *rs, struct op_log *log)
{
	for (;;) {
		unsigned streams[STORE_MAX_CLUSTERS], alone[STORE_MAX_CLUSTERS], count = 0,
		                                                                 single = 0;
		const uint8_t *data[STORE_MAX_CLUSTERS];

		for (unsigned i = 0; i < store->n; i++) {
			unsigned p = rs->hashed[i];
			size_t got;
			if (!rs->frags[i] || rs->frag_dead[i] || p >= rs->pieces ||
			    !(rs->arrived[i] & (1u << p)))
				continue;
			got = rs->piece_got[i][p];
			if (got > read_piece_size(rs, p) || (rs->ended[i] && got > 0)) {
				/* Bytes past the end of what came before: not one object. */
				read_frag_fail(store, rs, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
				               "inconsistent fragment pieces of");
				continue;
			}
			if (got == rs->piece_len)
				streams[count++] = i;
			else
				alone[single++] = i;
		}
		if (count + single == 0)
			return;
		for (unsigned j = 0; j < count; j++)
			data[j] =
			    rs->frags[streams[j]] + (size_t)rs->hashed[streams[j]] * rs->piece_len;
		if (count && !rs->lazy &&
		    store_digest_multi_update_streams(&rs->dm, streams, count, data,
		                                      rs->piece_len) < 0)
			for (unsigned j = 0; j < count; j++)
				read_frag_fail(store, rs, log, streams[j], -1, -EIO,
				               "cannot hash the fragment of");
		for (unsigned j = 0; j < single; j++) {
			unsigned i = alone[j];
			size_t got = rs->piece_got[i][rs->hashed[i]];
			const uint8_t *d = rs->frags[i] + (size_t)rs->hashed[i] * rs->piece_len;
			if (got > 0 && !rs->lazy &&
			    store_digest_multi_update_streams(&rs->dm, &i, 1, &d, got) < 0) {
				read_frag_fail(store, rs, log, i, -1, -EIO,
				               "cannot hash the fragment of");
				continue;
			}
			if (got < read_piece_size(rs, rs->hashed[i]))
				rs->ended[i] = true;
			streams[count++] = i;
		}
		for (unsigned j = 0; j < count; j++) {
			unsigned i = streams[j];
			if (rs->frag_dead[i])
				continue;
			rs->frag_got[i] += rs->piece_got[i][rs->hashed[i]];
			if (++rs->hashed[i] == rs->pieces)
				read_frag_complete(store, rs, log, i);
		}
	}
}

static int read_submit(struct store *store, struct aio_set *set, struct read_state *rs, unsigned i,
                       const char *oid)
{
	rados_ioctx_t ioctx = store_cluster_io(store, i);
	struct aio_io *first = NULL;
	uint8_t *buf;

	if (!ioctx)
		return -ENOTCONN;
	buf = malloc(rs->frag_max + 1);
	if (!buf)
		return -ENOMEM;
	for (unsigned p = 0; p < rs->pieces; p++) {
		struct aio_io *io = store_aio_io_add(set, i, p == 0 ? IO_FULL_READ : IO_PIECE_READ);
		size_t off = (size_t)p * rs->piece_len;
		rados_read_op_t op;

		if (!io) {
			if (!first)
				free(buf);
			return -ENOSPC; /* pieces asked so far end as a failed fragment */
		}
		io->piece = p;
		io->bytes = read_piece_size(rs, p);
		io->data = true;
		if (p == 0) {
			io->buf = buf; /* owned by the set from here on */
			io->buf_len = rs->frag_max;
			first = io;
			rs->frags[i] = buf;
			rs->owner[i] = io;
			rs->asked_data[i] = true;
		}
		op = rados_create_read_op();
		if (p == 0)
			rados_read_op_getxattrs(op, &io->xattrs, &io->xattrs_rval);
		rados_read_op_read(op, off, read_piece_size(rs, p), (char *)buf + off,
		                   &io->bytes_read, &io->read_rval);
		store_aio_submit_read(io, ioctx, oid, op);
		rados_release_read_op(op);
	}
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

/*
 * Asks more clusters for record and fragment while those in flight cannot
 * suffice: k good fragments and k good shares (A: one of each) are needed,
 * and a cluster may serve a good fragment beside a bad record, or the
 * reverse. With HEDGE, what is in flight does not count.
 */
static void read_fall_back(struct store *store, struct read_state *rs, struct op_log *log,
                           bool hedge)
{
	unsigned frags = rs->good_frags, shares = rs->good_shares;

	for (unsigned i = 0; i < store->n && !hedge; i++) {
		if (!rs->asked_data[i] || (log->failed & (1u << i)) || (log->bad & (1u << i)))
			continue;
		frags += !rs->frag_ok[i] && !rs->frag_dead[i];
		shares += !rs->share_ok[i] && !rs->record_seen[i];
	}
	for (unsigned j = 0; j < store->n && (frags < rs->need || shares < rs->need); j++) {
		unsigned i = rs->order[j];
		if (rs->asked_data[i] || (log->failed & (1u << i)) || (log->bad & (1u << i)))
			continue;
		if (read_submit(store, rs->set, rs, i, rs->oid) == 0) {
			frags++;
			shares++;
		}
	}
}

/* A: the verified fragment is the unit; hand its buffer over (every piece has answered). */
static int read_result_a(struct store *store, struct read_state *rs, void **buf, size_t *len)
{
	for (unsigned i = 0; i < store->n; i++) {
		if (!rs->frag_ok[i])
			continue;
		uint8_t *p = rs->frags[i];
		rs->owner[i]->buf = NULL;
		rs->frags[i] = NULL;
		if (rs->c.data_len > 0 && rs->c.data_len < rs->frag_max) {
			uint8_t *q = realloc(p, (size_t)rs->c.data_len);
			p = q ? q : p;
		}
		*buf = p;
		*len = (size_t)rs->c.data_len;
		return 0;
	}
	return -EIO;
}

/*
 * The GCM tag refused what the fragments FRAGS (of a lazy read) decode to:
 * now their digests say which cluster served bad bytes. -EAGAIN when one
 * did (it is named, and the read asks another), -EIO when all match (then
 * the writer erred).
 */
static int read_blame_fragments(struct store *store, struct read_state *rs, struct op_log *log,
                                uint8_t *const *frags)
{
	bool blamed = false;

	for (unsigned i = 0; i < store->n; i++) {
		uint8_t d[RECORD_DIGEST_LEN];
		if (!frags[i])
			continue;
		if (sc_sha256(frags[i], (size_t)rs->c.frag_len, d) < 0)
			return -EIO;
		if (memcmp(d, rs->c.digests + (size_t)i * RECORD_DIGEST_LEN, RECORD_DIGEST_LEN) ==
		    0)
			continue;
		store_op_fail(store, log, i, STORE_CLUSTER_BAD_DATA, -EBADMSG,
		              "fragment digest mismatch for %s v%llu", rs->name,
		              (unsigned long long)rs->version);
		rs->frag_ok[i] = false;
		rs->frag_dead[i] = true;
		rs->good_frags--;
		blamed = true;
	}
	return blamed ? -EAGAIN : -EIO;
}

static int read_result_ca(struct store *store, struct read_state *rs, struct op_log *log,
                          const char *name, uint64_t version, void **buf, size_t *len)
{
	unsigned share_index[STORE_MAX_CLUSTERS], count = 0;
	uint8_t shares[STORE_MAX_CLUSTERS][RECORD_SHARE_LEN];
	uint8_t *frags[STORE_MAX_CLUSTERS] = {0}, aad[UNIT_AAD_MAX];
	uint8_t *plain = NULL;
	size_t aad_len;
	int r;

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
	store_unit_aad(store, name, version, aad, &aad_len);
	r = store_codec_decode(store->codec, frags, (size_t)rs->c.frag_len, rs->c.data_len,
	                       rs->c.iv, rs->c.tag, share_index, &shares[0][0], count, aad, aad_len,
	                       &plain);
	sc_wipe(shares, sizeof(shares));
	if (r < 0 && rs->lazy)
		return read_blame_fragments(store, rs, log, frags);
	if (r < 0)
		return -EIO; /* shares and fragments were all signed and checked: the writer erred
		              */
	for (unsigned i = 0; i < store->n; i++)
		if (frags[i] && !(log->bad & (1u << i)))
			store_cluster_good(store, i);
	*buf = plain;
	*len = (size_t)rs->c.data_len;
	return 0;
}

/*
 * Starts reading VERSION, whose common record hashes to WANT (copied): asks
 * the k fastest clusters (all with STORE_READ_VERIFY_ALL) for record and
 * fragment. read_finish waits for the answers; read_abandon drops them.
 */
static int read_begin(struct store *store, const char *name, uint64_t version,
                      const uint8_t want[RECORD_DIGEST_LEN], uint64_t data_len, unsigned flags,
                      double deadline, struct op_log *log, struct read_state **out)
{
	struct read_state *rs;
	unsigned data_asked = 0;
	int r;

	*out = NULL;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->name = name;
	rs->version = version;
	memcpy(rs->want, want, RECORD_DIGEST_LEN);
	rs->data_len = data_len;
	rs->all = flags & STORE_READ_VERIFY_ALL;
	rs->lazy = store->protocol == RECORD_PROTOCOL_CA && !rs->all;
	rs->need = store->protocol == RECORD_PROTOCOL_A ? 1 : store->k;
	rs->deadline = deadline;
	read_pieces_plan(rs, read_frag_max(store, data_len));
	if ((r = store_record_object_name(name, version, rs->oid, sizeof(rs->oid))) < 0 ||
	    (r = store_digest_multi_begin(&rs->dm, store->n, false)) < 0) {
		free(rs);
		return r;
	}
	if ((r = store_aio_set_new(store, &rs->set)) < 0) {
		store_digest_multi_abort(&rs->dm);
		free(rs);
		return r;
	}
	store_cluster_order(store, rs->order);
	rs->hedge_at = sc_now_monotonic() + read_hedge_delay(store, rs->order, rs->need);
	/* Record and fragment from the k fastest; the others only when those fail. */
	for (unsigned j = 0; j < store->n && (rs->all || data_asked < rs->need); j++) {
		unsigned i = rs->order[j];
		if ((r = read_submit(store, rs->set, rs, i, rs->oid)) < 0) {
			store_op_fail(store, log, i, -1, r, "%s",
			              r == -ENOTCONN ? "not connected" : strerror(-r));
			continue;
		}
		data_asked++;
	}
	*out = rs;
	return 0;
}

/* Frees RS; fragments still on their way land in buffers the aio set keeps until they came. */
static void read_abandon(struct read_state *rs)
{
	if (!rs)
		return;
	store_aio_set_put(rs->set);
	store_digest_multi_abort(&rs->dm);
	sc_wipe(rs->shares, sizeof(rs->shares));
	free(rs);
}

/*
 * At the hedge point: every asked cluster whose fragment has not fully come
 * has kept the read waiting this long at least; its fragment-read latency
 * says so at once, not only when (if ever) the answer comes.
 */
static void read_note_stalled(struct store *store, struct read_state *rs, double now)
{
	for (unsigned i = 0; i < store->n; i++) {
		if (!rs->asked_data[i] || rs->frag_ok[i] || rs->frag_dead[i] || !rs->owner[i])
			continue;
		store_cluster_note_data(store, i, now - rs->owner[i]->submitted_at);
	}
}

/* Waits for enough verified answers of RS (then frees it): the unit in *BUF, or an error. */
static int read_finish(struct store *store, struct read_state *rs, struct op_log *log, void **buf,
                       size_t *len)
{
	struct aio_io *io;
	int r;

again:
	for (;;) {
		double now = sc_now_monotonic();
		bool hedge = false;

		/* Wait for the next answer, but not past the hedge point. */
		io = store_aio_set_next(rs->set,
		                        rs->hedge_at < rs->deadline ? rs->hedge_at : rs->deadline);
		if (io) {
			/* Take every answer that is in, then hash: more pieces side by side. */
			do
				read_take(store, rs, log, io);
			while ((io = store_aio_set_next(rs->set, 0)));
			read_hash_ready(store, rs, log);
			if (rs->len_mismatch || (!rs->all && read_enough(store, rs)))
				break;
		} else if (sc_now_monotonic() >= rs->deadline || now >= rs->deadline) {
			break;
		} else if (sc_now_monotonic() >= rs->hedge_at) {
			/* The preferred clusters are slow: ask the others as well, once. */
			hedge = true;
			rs->hedge_at = rs->deadline;
			read_note_stalled(store, rs, now);
		} else {
			break; /* nothing in flight any more */
		}
		read_fall_back(store, rs, log, hedge);
	}
	if (rs->len_mismatch) {
		r = -EINVAL;
		goto out;
	}
	if (!read_enough(store, rs)) {
		store_op_timeouts(store, rs->set, log, store->op_timeout);
		/* n-f clusters say it is gone; fewer than n-f said anything; or bad data. */
		if ((unsigned)__builtin_popcount(rs->absent) >= store->n - store->f)
			r = -ENOENT;
		else if ((unsigned)__builtin_popcount(rs->answered) < store->n - store->f)
			r = -ETIMEDOUT;
		else
			r = -EIO;
		goto out;
	}
	if (store->protocol == RECORD_PROTOCOL_A) {
		for (unsigned i = 0; i < store->n; i++)
			if (rs->frag_ok[i] && !(log->bad & (1u << i)))
				store_cluster_good(store, i);
		r = read_result_a(store, rs, buf, len);
	} else {
		r = read_result_ca(store, rs, log, rs->name, rs->version, buf, len);
		if (r == -EAGAIN) {
			/* A lazily taken fragment was bad: ask another cluster and go on. */
			read_fall_back(store, rs, log, false);
			goto again;
		}
		if (r == 0 && rs->all)
			for (unsigned i = 0; i < store->n; i++)
				if (rs->frag_ok[i] && !(log->bad & (1u << i)))
					store_cluster_good(store, i);
	}
out:
	read_abandon(
	    rs); /* frees the fragment buffers not handed over, now or at the last answer */
	return r;
}

/*
 * Reading the latest version takes the index of n-f clusters, then the
 * data. The first index answer already names a committed version, nearly
 * always the one the quorum will pick: its data is asked for right away
 * (while the other index answers come) and used only if the quorum picks
 * exactly that version and digest; otherwise it is dropped and the
 * quorum's version read. So the index round costs little more than its
 * first answer, and nothing is believed that the quorum rule would not.
 */
struct read_guess {
	struct store *store;
	const char *name;
	unsigned flags;
	double deadline;
	struct op_log *log;
	bool tried;
	struct read_state *rs; /* the speculative read, if one was started */
};

static void read_guess_answer(void *arg, struct version_list *list, unsigned cluster)
{
	struct read_guess *g = arg;
	const struct index_entry *best;

	if (g->tried)
		return;
	g->tried = true;
	best = store_index_top(g->store, list, g->log, g->name, STORE_VERSION_LATEST, (int)cluster);
	if (best)
		read_begin(g->store, g->name, best->version, best->digest, best->data_len, g->flags,
		           g->deadline, g->log, &g->rs);
}

/*
 * Forgets the clusters that only said "not there" (-ENOENT): after a
 * fallback past a version they rightly lack, they did not fail this read.
 */
static void read_forget_absent(struct store *store, struct op_log *log)
{
	for (unsigned i = 0; i < store->n; i++)
		if ((log->failed & (1u << i)) && log->err[i] == -ENOENT) {
			log->failed &= ~(1u << i);
			log->err[i] = 0;
			log->reason[i][0] = '\0';
		}
}

static int unit_read(struct store *store, const char *name, uint64_t version,
                     const struct store_unit_ref *by_ref, unsigned flags, void **buf, size_t *len,
                     struct store_unit_ref *ref, struct store_report *rep)
{
	struct op_log log = {.what = "read", .rep = rep};
	double deadline = sc_now_monotonic() + store->op_timeout;
	struct version_list list = {0};
	struct read_state *rs = NULL;
	uint8_t want[RECORD_DIGEST_LEN];
	uint64_t data_len = 0, below = STORE_VERSION_LATEST, skipped = 0;
	bool latest = version == STORE_VERSION_LATEST;
	int r;

	*buf = NULL;
	*len = 0;
	if (ref)
		memset(ref, 0, sizeof(*ref));
	if (!store_unit_name_valid(name))
		return store_op_finish(store, &log, -EINVAL, "read: invalid unit name");
	if (!by_ref) {
		struct read_guess guess = {.store = store,
		                           .name = name,
		                           .flags = flags,
		                           .deadline = deadline,
		                           .log = &log};
		r = store_index_fetch(store, name, latest ? INDEX_NEWEST : INDEX_VERSION, version,
		                      deadline, &log, &list, read_guess_answer, &guess);
		if (r < 0) {
			read_abandon(guess.rs);
			store_index_list_free(&list);
			return store_op_finish(store, &log, r,
			                       "read %s: index unavailable: ", name);
		}
		rs = guess.rs;
	}
	for (;;) {
		if (by_ref) {
			memcpy(want, by_ref->digest, sizeof(want));
			data_len = by_ref->data_len;
		} else {
			const struct index_entry *e =
			    store_index_top(store, &list, &log, name, below, -1);
			if (!e) {
				read_abandon(rs);
				store_index_list_free(&list);
				if (skipped)
					return store_op_finish(
					    store, &log, r,
					    "read %s: no committed version could be read: ", name);
				return store_op_finish(store, &log, -ENOENT,
				                       "read %s: no committed version%s", name,
				                       latest ? "" : " of that number");
			}
			version = e->version;
			data_len = e->data_len;
			memcpy(want, e->digest, sizeof(want));
			/* The speculative read is used only if it is exactly this one. */
			if (rs &&
			    (rs->version != version || memcmp(rs->want, want, sizeof(want)))) {
				read_abandon(rs);
				rs = NULL;
			}
		}
		if (data_len > RECORD_MAX_DATA || data_len > SIZE_MAX - 1) {
			r = -EINVAL;
			break;
		}
		r = rs ? 0
		       : read_begin(store, name, version, want, data_len, flags, deadline, &log,
		                    &rs);
		if (r == 0)
			r = read_finish(store, rs, &log, buf, len); /* frees rs */
		rs = NULL;
		/*
		 * The newest commit names a version that cannot be read (gone from
		 * n-f clusters, or fewer than k good copies): the next committed
		 * version is the newest readable one, within the same deadline.
		 */
		if (!latest || by_ref || (r != -ENOENT && r != -EIO) ||
		    sc_now_monotonic() >= deadline)
			break;
		if (r == -ENOENT)
			read_forget_absent(store, &log);
		skipped = version;
		below = version;
	}
	store_index_list_free(&list);
	if (r == -EINVAL)
		return store_op_finish(store, &log, r,
		                       "read %s v%llu: the record's length is not the ref's", name,
		                       (unsigned long long)version);
	if (r == -ENOENT)
		return store_op_finish(store, &log, r,
		                       "read %s v%llu: %u of %u clusters do not hold it: ", name,
		                       (unsigned long long)version, store->n - store->f, store->n);
	if (r < 0)
		return store_op_finish(store, &log, r,
		                       "read %s v%llu: fewer than %u good copies: ", name,
		                       (unsigned long long)version,
		                       store->protocol == RECORD_PROTOCOL_A ? 1 : store->k);
	if (ref) {
		ref->version = version;
		ref->data_len = data_len;
		memcpy(ref->digest, want, sizeof(want));
	}
	if (skipped)
		return store_op_finish(store, &log, 0,
		                       "read %s v%llu ok, v%llu above it could not be read: ", name,
		                       (unsigned long long)version, (unsigned long long)skipped);
	return store_op_finish(store, &log, 0, "read %s v%llu ok%s", name,
	                       (unsigned long long)version, (log.bad | log.failed) ? ": " : "");
}

/* unit_read between store_op_enter and store_op_leave. */
static int unit_read_entered(struct store *store, const char *name, uint64_t version,
                             const struct store_unit_ref *by_ref, unsigned flags, void **buf,
                             size_t *len, struct store_unit_ref *ref, struct store_report *rep)
{
	int r = store_op_enter(store);

	if (r < 0) {
		struct op_log log = {.what = "read", .rep = rep};
		*buf = NULL;
		*len = 0;
		return store_op_finish(store, &log, r, "read: the store is closing");
	}
	r = unit_read(store, name, version, by_ref, flags, buf, len, ref, rep);
	store_op_leave(store);
	return r;
}

int store_unit_read(struct store *store, const char *name, uint64_t version, unsigned flags,
                    void **buf, size_t *len, struct store_unit_ref *ref, struct store_report *rep)
{
	return unit_read_entered(store, name, version, NULL, flags, buf, len, ref, rep);
}

int store_unit_read_ref(struct store *store, const char *name, const struct store_unit_ref *ref,
                        unsigned flags, void **buf, size_t *len, struct store_report *rep)
{
	if (!ref || ref->version == 0 || ref->version == STORE_VERSION_LATEST) {
		struct op_log log = {.what = "read", .rep = rep};
		*buf = NULL;
		*len = 0;
		return store_op_finish(store, &log, -EINVAL, "read: invalid ref");
	}
	return unit_read_entered(store, name, ref->version, ref, flags, buf, len, NULL, rep);
}

void store_buffer_free(void *buf, size_t len)
{
	(void)len;
	free(buf);
}

#ifdef STORE_FUZZ_HOOKS
/*
 * qa/fuzz/store/fuzz_store_pieces.c: the piece assembly of one read without
 * clusters. Input: [flags:1][data_len:2] then arrivals
 * [cluster:1][piece:1][got:2][corrupt:1]. Every cluster's fragment buffer
 * starts as its true fragment (a pattern whose digest the fake common part
 * holds); an arrival says how many bytes a piece brought and may corrupt
 * one of them. Whatever arrives in whatever order, a fragment that counts
 * must be whole, of the committed length and, unless lazy, exactly the
 * true bytes.
 */
int store_read_fuzz_pieces(struct store *store, const uint8_t *data, size_t size);
int store_read_fuzz_pieces(struct store *store, const uint8_t *data, size_t size)
{
	static uint8_t digests[STORE_MAX_CLUSTERS][RECORD_DIGEST_LEN];
	struct op_log log = {.what = "fuzz"};
	struct read_state *rs;
	size_t pos = 3, frag_len;
	unsigned good = 0;

	if (size < 3)
		return 0;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		abort();
	rs->name = "fuzz";
	rs->version = 1;
	rs->data_len = ((uint64_t)data[1] << 8 | data[2]) * 7;
	rs->lazy = data[0] & 1;
	rs->all = !rs->lazy;
	rs->need = store->k;
	read_pieces_plan(rs, read_frag_max(store, rs->data_len));
	frag_len = (size_t)((rs->data_len + store->k - 1) / store->k);
	if (store_digest_multi_begin(&rs->dm, store->n, false) < 0)
		abort();
	rs->c.frag_len = frag_len;
	rs->c.digests = &digests[0][0];
	for (unsigned i = 0; i < store->n; i++) {
		rs->frags[i] = malloc(rs->frag_max + 1);
		if (!rs->frags[i])
			abort();
		for (size_t j = 0; j < rs->frag_max; j++)
			rs->frags[i][j] = (uint8_t)(i * 31 + j * 7);
		if (sc_sha256(rs->frags[i], frag_len, digests[i]) < 0)
			abort();
		rs->asked_data[i] = true;
	}
	/* flags bit 1: the record comes only after the fragments (frag_waiting). */
	rs->have_common = !(data[0] & 2);
	while (pos + 5 <= size) {
		unsigned i = data[pos] % store->n, p = data[pos + 1] % (rs->pieces + 1);
		size_t got = (size_t)data[pos + 2] << 8 | data[pos + 3], want;
		uint8_t corrupt = data[pos + 4];
		pos += 5;
		if (p >= rs->pieces || (rs->arrived[i] & (1u << p)))
			continue;
		want = read_piece_size(rs, p);
		got = got % (want + 2); /* librados never reports more than asked; say so anyway */
		if (corrupt && got > 0 && got <= want)
			rs->frags[i][(size_t)p * rs->piece_len + corrupt % got] ^= 0x5a;
		rs->arrived[i] |= 1u << p;
		rs->piece_got[i][p] = got;
		read_hash_ready(store, rs, &log);
	}
	if (!rs->have_common) {
		rs->have_common = true;
		for (unsigned j = 0; j < store->n; j++)
			if (rs->frag_waiting[j])
				read_check_frag(store, rs, &log, j);
	}
	for (unsigned i = 0; i < store->n; i++) {
		uint8_t d[RECORD_DIGEST_LEN];
		if (!rs->frag_ok[i])
			continue;
		good++;
		if (rs->frag_dead[i] || rs->frag_got[i] != frag_len || rs->hashed[i] != rs->pieces)
			abort();
		if (!rs->lazy && (sc_sha256(rs->frags[i], frag_len, d) < 0 ||
		                  memcmp(d, digests[i], RECORD_DIGEST_LEN) != 0))
			abort(); /* a fragment with other bytes counted as good */
	}
	if (good != rs->good_frags)
		abort();
	for (unsigned i = 0; i < store->n; i++)
		free(rs->frags[i]);
	store_digest_multi_abort(&rs->dm);
	free(rs);
	return 0;
}
#endif

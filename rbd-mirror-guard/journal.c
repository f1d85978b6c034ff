/*
 * How far a journal-mode replica is behind, in bytes: the size of the
 * entries in the primary image's journal that the secondary's rbd-mirror has
 * not committed yet. Ceph keeps no such figure; rbd-mirror's status gives
 * entries only. The layout read here is the one of Ceph's journal library
 * (16.2.15), documented in docs/guard.md ("Journal bytes behind"):
 *
 *   journal.ID          omap: splay_width (u8), minimum_set, active_set
 *                       (u64), pool_id (i64, -1: this pool), and one
 *                       client_CLIENTID record a registered client, holding
 *                       its commit position: one (object number, tag tid,
 *                       entry tid) a splay offset, most recent first
 *   journal_data.POOLID.ID.N   entries appended back to back, each a
 *                       29-byte header (preamble, version 1, entry tid, tag
 *                       tid, data length), the data and a 4-byte crc
 *
 * Everything read from the cluster is untrusted: the two decoders below are
 * the one parser of each format, check every length before reading, and
 * are fuzzed (qa/fuzz/guard) and unit-tested (qa/unit/guard/test_journal.c).
 * An entry counts as behind when its (tag tid, entry tid) is after the
 * client's most recent commit; whole objects past a splay offset's commit
 * are counted by their size without being read.
 */
#include "guard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define JOURNAL_PREAMBLE 0x3141592653589793ULL
#define JOURNAL_ENTRY_HEADER 29 /* preamble 8, version 1, entry tid 8, tag tid 8, length 4 */
#define JOURNAL_ENTRY_TAIL 4    /* crc32c */
#define JOURNAL_OBJECT_MAX (64u << 20)
#define JOURNAL_OBJECTS_MAX 4096

struct reader {
	const uint8_t *p;
	size_t left;
};

static int take(struct reader *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return -EBADMSG;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static int u8_get(struct reader *r, uint8_t *v)
{
	const uint8_t *p;
	int e = take(r, 1, &p);

	if (e == 0)
		*v = p[0];
	return e;
}

static uint64_t le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

static int u32_get(struct reader *r, uint32_t *v)
{
	const uint8_t *p;
	int e = take(r, 4, &p);

	if (e == 0)
		*v = (uint32_t)le(p, 4);
	return e;
}

static int u64_get(struct reader *r, uint64_t *v)
{
	const uint8_t *p;
	int e = take(r, 8, &p);

	if (e == 0)
		*v = le(p, 8);
	return e;
}

/* Ceph's ENCODE_START: version, compat, length; R is narrowed to the body. */
static int struct_open(struct reader *r, struct reader *body)
{
	uint8_t version, compat;
	uint32_t len;
	const uint8_t *p;
	int e;

	if ((e = u8_get(r, &version)) < 0 || (e = u8_get(r, &compat)) < 0 ||
	    (e = u32_get(r, &len)) < 0 || (e = take(r, len, &p)) < 0)
		return e;
	if (compat > 1 || version < 1)
		return -EBADMSG;
	body->p = p;
	body->left = len;
	return 0;
}

/* A string or bufferlist: u32 length and bytes, skipped. */
static int blob_skip(struct reader *r)
{
	uint32_t len;
	const uint8_t *p;
	int e = u32_get(r, &len);

	return e < 0 ? e : take(r, len, &p);
}

int guard_journal_client_decode(const uint8_t *buf, size_t len,
                                struct guard_journal_position *positions, size_t max, size_t *count)
{
	struct reader all = {buf, len}, client, set;
	uint32_t n;
	int e;

	*count = 0;
	if ((e = struct_open(&all, &client)) < 0 || (e = blob_skip(&client)) < 0 ||
	    (e = blob_skip(&client)) < 0 || (e = struct_open(&client, &set)) < 0 ||
	    (e = u32_get(&set, &n)) < 0)
		return e;
	if (n > max)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		struct reader pos;
		struct guard_journal_position *p = &positions[i];
		if ((e = struct_open(&set, &pos)) < 0 || (e = u64_get(&pos, &p->object)) < 0 ||
		    (e = u64_get(&pos, &p->tag_tid)) < 0 || (e = u64_get(&pos, &p->entry_tid)) < 0)
			return e;
	}
	*count = n;
	return 0;
}

static bool after(uint64_t tag, uint64_t entry, const struct guard_journal_position *p)
{
	return tag > p->tag_tid || (tag == p->tag_tid && entry > p->entry_tid);
}

int guard_journal_bytes_after(const uint8_t *buf, size_t len,
                              const struct guard_journal_position *committed, uint64_t *bytes)
{
	struct reader r = {buf, len};

	*bytes = 0;
	while (r.left > 0) {
		uint64_t preamble, entry, tag;
		uint8_t version;
		uint32_t data;
		const uint8_t *p;
		int e;

		if ((e = u64_get(&r, &preamble)) < 0 || (e = u8_get(&r, &version)) < 0 ||
		    (e = u64_get(&r, &entry)) < 0 || (e = u64_get(&r, &tag)) < 0 ||
		    (e = u32_get(&r, &data)) < 0)
			return e;
		if (preamble != JOURNAL_PREAMBLE || version != 1)
			return -EBADMSG;
		if ((e = take(&r, (size_t)data + JOURNAL_ENTRY_TAIL, &p)) < 0)
			return e;
		if (!committed || after(tag, entry, committed))
			*bytes += JOURNAL_ENTRY_HEADER + (uint64_t)data + JOURNAL_ENTRY_TAIL;
	}
	return 0;
}

/* ---- reading the journal from the cluster --------------------------------- */
struct header {
	uint8_t splay;
	uint64_t minimum_set, active_set;
	int64_t pool_id;
	struct guard_journal_position pos[256];
	size_t npos;
	bool has_client;
};

static int header_value(struct header *h, const char *key, const char *val, size_t len,
                        const char *client_key)
{
	if (!strcmp(key, "splay_width") && len == 1)
		h->splay = (uint8_t)val[0];
	else if (!strcmp(key, "minimum_set") && len == 8)
		h->minimum_set = le((const uint8_t *)val, 8);
	else if (!strcmp(key, "active_set") && len == 8)
		h->active_set = le((const uint8_t *)val, 8);
	else if (!strcmp(key, "pool_id") && len == 8)
		h->pool_id = (int64_t)le((const uint8_t *)val, 8);
	else if (!strcmp(key, client_key)) {
		h->has_client = true;
		return guard_journal_client_decode((const uint8_t *)val, len, h->pos,
		                                   SC_ARRAY_SIZE(h->pos), &h->npos);
	} else if (!strcmp(key, "splay_width") || !strcmp(key, "minimum_set") ||
	           !strcmp(key, "active_set") || !strcmp(key, "pool_id"))
		return -EBADMSG;
	return 0;
}

static int header_read(rados_ioctx_t io, const char *oid, const char *client_key, struct header *h)
{
	static const char *const keys[] = {"splay_width", "minimum_set", "active_set", "pool_id"};
	const char *want[5] = {keys[0], keys[1], keys[2], keys[3], client_key};
	size_t lens[5];
	rados_read_op_t op = rados_create_read_op();
	rados_omap_iter_t it = NULL;
	int rval = 0, r;

	memset(h, 0, sizeof(*h));
	h->pool_id = -1;
	if (!op)
		return -ENOMEM;
	for (size_t i = 0; i < 5; i++)
		lens[i] = strlen(want[i]);
	rados_read_op_omap_get_vals_by_keys2(op, want, 5, lens, &it, &rval);
	r = rados_read_op_operate(op, io, oid, 0);
	if (r == 0)
		r = rval;
	for (;;) {
		char *key, *val;
		size_t klen, vlen;
		if (r < 0 || rados_omap_get_next2(it, &key, &val, &klen, &vlen) < 0 || !key)
			break;
		char name[256];
		if (klen >= sizeof(name)) {
			r = -EBADMSG;
			break;
		}
		memcpy(name, key, klen);
		name[klen] = '\0';
		r = header_value(h, name, val, vlen, client_key);
	}
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(op);
	if (r == 0 && (h->splay == 0 || h->active_set < h->minimum_set))
		r = -EBADMSG;
	return r;
}

/* Bytes of object OID after COMMITTED (all of them when NULL). */
static int object_behind(rados_ioctx_t io, const char *oid,
                         const struct guard_journal_position *committed, bool read_it,
                         uint64_t *bytes)
{
	uint64_t size;
	time_t mtime;
	uint8_t *buf;
	int r = rados_stat(io, oid, &size, &mtime);

	*bytes = 0;
	if (r == -ENOENT)
		return 0; /* trimmed, or never written */
	if (r < 0)
		return r;
	if (!read_it) {
		*bytes = size;
		return 0;
	}
	if (size > JOURNAL_OBJECT_MAX)
		return -EFBIG;
	if (size == 0)
		return 0;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	r = rados_read(io, oid, (char *)buf, size, 0);
	if (r >= 0)
		r = guard_journal_bytes_after(buf, (size_t)r, committed, bytes);
	free(buf);
	return r;
}

int guard_journal_bytes_behind(rados_ioctx_t io, const char *image_id, const char *client_id,
                               uint64_t *bytes)
{
	char oid[512], client_key[300];
	struct header *h = calloc(1, sizeof(*h));
	rados_ioctx_t data = io;
	int r;

	*bytes = 0;
	if (!h)
		return -ENOMEM;
	snprintf(oid, sizeof(oid), "journal.%s", image_id);
	snprintf(client_key, sizeof(client_key), "client_%s", client_id);
	if ((r = header_read(io, oid, client_key, h)) < 0)
		goto out;
	if (!h->has_client) {
		r = -ENOENT; /* that rbd-mirror never registered with this journal */
		goto out;
	}
	if (h->pool_id >= 0) {
		r = rados_ioctx_create2(rados_ioctx_get_cluster(io), h->pool_id, &data);
		if (r < 0) {
			data = io;
			goto out;
		}
	}
	uint64_t first = h->minimum_set * h->splay, last = (h->active_set + 1) * h->splay;
	if (last - first > JOURNAL_OBJECTS_MAX) {
		r = -E2BIG;
		goto out;
	}
	for (uint64_t n = first; n < last && r == 0; n++) {
		/* The commit of this object's splay offset, and the most recent one. */
		const struct guard_journal_position *same = NULL,
		                                    *latest = h->npos ? &h->pos[0] : NULL;
		for (size_t i = 0; i < h->npos; i++)
			if (h->pos[i].object % h->splay == n % h->splay) {
				same = &h->pos[i];
				break;
			}
		uint64_t b = 0;
		if (same && n < same->object)
			continue; /* wholly committed */
		snprintf(oid, sizeof(oid), "journal_data.%lld.%s.%llu",
		         (long long)rados_ioctx_get_id(data), image_id, (unsigned long long)n);
		/* Past its offset's commit, or nothing committed at all: every byte. */
		bool whole = !latest || (same && n > same->object);
		r = object_behind(data, oid, same ? same : latest, !whole, &b);
		*bytes += b;
	}
out:
	if (data != io)
		rados_ioctx_destroy(data);
	free(h);
	return r;
}

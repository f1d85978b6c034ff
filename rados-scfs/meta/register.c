/*
 * Registers over the clusters (meta.h): the conditional write, the quorum
 * read with write-back, entries and listings. A cluster's answer is believed
 * only after meta_value_open verified it; an answer that fails is that
 * cluster's fault (report->bad) and counts as no answer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "meta_internal.h"

#define INODE_KEY "inode"
#define ENTRY_PREFIX "e."
#define LIST_BATCH 1000

void meta_ino_oid(uint64_t ino, char out[24])
{
	snprintf(out, 24, "i.%016llx", (unsigned long long)ino);
}

uint64_t meta_new_ino(void)
{
	uint64_t v = 0;

	while (v < 3)
		if (sc_random_bytes(&v, sizeof(v)) < 0)
			v = 0;
	return v;
}

uint64_t meta_next_counter(struct meta *m)
{
	uint64_t now = (uint64_t)(sc_now_wall() * 1e9), v;

	pthread_mutex_lock(&m->lock);
	v = now > m->last_counter ? now : m->last_counter + 1;
	m->last_counter = v;
	pthread_mutex_unlock(&m->lock);
	return v;
}

uint64_t meta_new_counter(struct meta *m)
{
	return meta_next_counter(m);
}

void meta_counter_seen(struct meta *m, uint64_t counter)
{
	pthread_mutex_lock(&m->lock);
	if (counter > m->last_counter)
		m->last_counter = counter;
	pthread_mutex_unlock(&m->lock);
}

static double deadline_of(struct meta *m)
{
	return sc_now_monotonic() + m->opts.op_timeout;
}

static unsigned quorum(struct meta *m)
{
	return m->opts.n - m->opts.f;
}

static void entry_key(const uint8_t tag[META_TAG_LEN], char out[3 + 2 * META_TAG_LEN])
{
	memcpy(out, ENTRY_PREFIX, 2);
	sc_hex_encode(tag, META_TAG_LEN, out + 2);
}

/* Sends VALUE under KEY of OID to the clusters in MASK, without waiting. */
static struct round *put_submit(struct meta *m, const char *oid, const char *key,
                                const uint8_t *value, size_t len, uint32_t mask)
{
	struct round *rd = round_new();

	if (!rd)
		return NULL;
	for (unsigned i = 0; i < m->opts.n; i++) {
		struct round_slot *s;
		rados_write_op_t op;
		if (!(mask & (1u << i)) || !m->c[i].io)
			continue;
		s = round_slot_add(rd, i);
		op = rados_create_write_op();
		if (!s || !op) {
			if (op)
				rados_release_write_op(op);
			continue;
		}
		rados_write_op_create(op, LIBRADOS_CREATE_IDEMPOTENT, NULL);
		/* Stored < new: a missing key is the empty value, below any. */
		rados_write_op_omap_cmp(op, key, LIBRADOS_CMPXATTR_OP_LT, (const char *)value, len,
		                        &s->prval);
		rados_write_op_omap_set(op, &key, (const char *const *)&value, &len, 1);
		round_submit_write(s, m, oid, op);
	}
	return rd;
}

/*
 * Replaces a value that failed verification on cluster I, only if the
 * cluster still holds exactly those bytes (omap_cmp EQ): a lying cluster's
 * garbage may compare above any real value, so the ordered write would
 * never replace it. Fire and forget.
 */
static void put_replace_bad(struct meta *m, unsigned i, const char *oid, const char *key,
                            const uint8_t *value, size_t len, const uint8_t *bad, size_t bad_len)
{
	struct round *rd;
	struct round_slot *s;
	rados_write_op_t op;

	if (!m->c[i].io || !(rd = round_new()))
		return;
	s = round_slot_add(rd, i);
	op = rados_create_write_op();
	if (s && op) {
		rados_write_op_omap_cmp(op, key, LIBRADOS_CMPXATTR_OP_EQ, (const char *)bad,
		                        bad_len, &s->prval);
		rados_write_op_omap_set(op, &key, (const char *const *)&value, &len, 1);
		round_submit_write(s, m, oid, op);
	} else if (op) {
		rados_release_write_op(op);
	}
	round_put(rd);
}

/* Waits for NEED stores of a put_submit round (by DEADLINE) and drops it. */
static int put_collect(struct round *rd, unsigned need, double deadline, struct meta_report *rep,
                       bool *cancelled)
{
	unsigned ok = 0;

	if (!rd)
		return -ENOMEM;
	round_wait(rd, need, deadline);
	pthread_mutex_lock(&rd->lock);
	for (unsigned j = 0; j < rd->count; j++) {
		struct round_slot *s = &rd->s[j];
		if (s->done && s->r >= 0)
			ok++;
		else if (s->done && s->r == -ECANCELED && cancelled)
			*cancelled = true;
		else if (rep)
			rep->failed |= 1u << s->cluster;
	}
	pthread_mutex_unlock(&rd->lock);
	round_put(rd);
	return ok >= need ? 0 : -ETIMEDOUT;
}

static int put_value(struct meta *m, const char *oid, const char *key, const uint8_t *value,
                     size_t len, uint32_t mask, unsigned need, struct meta_report *rep,
                     bool *cancelled)
{
	struct round *rd = put_submit(m, oid, key, value, len, mask);

	if (need == 0) {
		round_put(rd);
		return rd ? 0 : -ENOMEM;
	}
	return put_collect(rd, need, deadline_of(m), rep, cancelled);
}

/*
 * Reading a register (get_submit, then get_collect): KEY of OID from every
 * cluster; the first n-f answers decide. *BODY (free())
 * is the opened body of the highest verified value; -ENOENT when none of
 * them holds the key. Clusters that answered with nothing, something older
 * or something false get the best value written back, without waiting.
 */
/* Asks every connected cluster for KEY of OID, without waiting. */
static struct round *get_submit(struct meta *m, const char *oid, const char **keyp,
                                struct meta_report *rep)
{
	struct round *rd = round_new();

	if (!rd)
		return NULL;
	for (unsigned i = 0; i < m->opts.n; i++) {
		struct round_slot *s;
		rados_read_op_t op;
		if (!m->c[i].io) {
			if (rep)
				rep->failed |= 1u << i;
			continue;
		}
		s = round_slot_add(rd, i);
		op = rados_create_read_op();
		if (!s || !op) {
			if (op)
				rados_release_read_op(op);
			continue;
		}
		rados_read_op_omap_get_vals_by_keys(op, keyp, 1, &s->iter, &s->prval);
		round_submit_read(s, m, oid, op);
	}
	return rd;
}

/* One cluster's answer to a register read. */
struct copy {
	unsigned cluster;
	uint8_t *v;
	size_t len;
	struct meta_ts ts; /* the value's prefix: believed only once verified */
	int state;         /* COPY_* */
};

enum { COPY_UNKNOWN, COPY_GOOD, COPY_BAD, COPY_OLDER };

static int copy_cmp(const void *a, const void *b)
{
	const struct copy *x = a, *y = b;

	return -meta_ts_cmp(&x->ts, &y->ts); /* newest first */
}

/*
 * The rest of a read: wait for n-f answers by DEADLINE, pick, write back.
 * Copies are verified newest first (by their unsigned prefix) until one
 * verifies: that is the answer. A copy byte for byte equal to one already
 * verified shares its verdict without a second signature check, and a copy
 * older than the answer is not checked at all (it is written over like any
 * older one) unless every copy must be judged (NEED = n: fsck).
 */
static int get_collect_how(struct meta *m, struct round *rd, const char *oid, const char *key,
                           enum meta_kind kind, uint64_t obj_ino, const uint8_t *tag,
                           double deadline, unsigned need, bool write_back, uint8_t **body,
                           size_t *body_len, struct meta_report *rep)
{
	struct copy copies[META_MAX_CLUSTERS];
	const struct copy *best = NULL;
	uint8_t *best_body = NULL;
	size_t best_body_len = 0;
	bool answered_by[META_MAX_CLUSTERS] = {0}, verify_all = need >= m->opts.n;
	uint32_t behind = 0;
	unsigned answered = 0, ncopies = 0;
	int r = 0;

	*body = NULL;
	if (!rd)
		return -ENOMEM;
	round_wait(rd, need, deadline);
	pthread_mutex_lock(&rd->lock);
	for (unsigned j = 0; j < rd->count; j++) {
		struct round_slot *s = &rd->s[j];
		unsigned c = s->cluster;
		char *k, *v;
		size_t vlen;
		if (!s->done || (s->r < 0 && s->r != -ENOENT) || (s->r >= 0 && s->prval < 0)) {
			if (rep)
				rep->failed |= 1u << c;
			continue;
		}
		answered++;
		answered_by[c] = true;
		while (s->r >= 0 && s->iter && rados_omap_get_next(s->iter, &k, &v, &vlen) == 0 &&
		       k) {
			struct copy *cp = &copies[ncopies];
			if (strcmp(k, key) != 0 || ncopies == META_MAX_CLUSTERS)
				continue;
			cp->cluster = c;
			cp->len = vlen;
			cp->v = malloc(vlen ? vlen : 1);
			if (!cp->v) {
				r = -ENOMEM;
				break;
			}
			memcpy(cp->v, v, vlen);
			cp->state =
			    meta_value_ts(cp->v, vlen, &cp->ts) < 0 ? COPY_BAD : COPY_UNKNOWN;
			if (cp->state == COPY_BAD)
				cp->ts = (struct meta_ts){0, 0};
			ncopies++;
		}
	}
	pthread_mutex_unlock(&rd->lock);
	round_put(rd);
	qsort(copies, ncopies, sizeof(*copies), copy_cmp);
	for (unsigned i = 0; r == 0 && i < ncopies; i++) {
		struct copy *cp = &copies[i];
		struct meta_ts ts;
		uint8_t *b;
		size_t bl;
		if (cp->state == COPY_BAD)
			continue;
		for (unsigned j = 0; j < i && cp->state == COPY_UNKNOWN; j++)
			if ((copies[j].state == COPY_GOOD || copies[j].state == COPY_BAD) &&
			    copies[j].len == cp->len && memcmp(copies[j].v, cp->v, cp->len) == 0)
				cp->state = copies[j].state;
		if (cp->state != COPY_UNKNOWN)
			continue;
		if (best && meta_ts_cmp(&cp->ts, &best->ts) < 0 && !verify_all) {
			cp->state = COPY_OLDER;
			continue;
		}
		if (meta_value_open(&m->keys, cp->v, cp->len, kind, obj_ino, tag, &ts, &b, &bl) <
		    0) {
			cp->state = COPY_BAD;
			continue;
		}
		cp->state = COPY_GOOD;
		if (best) {
			free(b);
			continue;
		}
		best = cp;
		best_body = b;
		best_body_len = bl;
	}
	for (unsigned i = 0; i < ncopies; i++)
		if (copies[i].state == COPY_BAD && rep)
			rep->bad |= 1u << copies[i].cluster;
	if (r < 0 || answered < quorum(m) || !best) {
		free(best_body);
		for (unsigned i = 0; i < ncopies; i++)
			free(copies[i].v);
		return r < 0 ? r : answered < quorum(m) ? -ETIMEDOUT : -ENOENT;
	}
	/* Behind: answered with nothing, something older, or something false. */
	for (unsigned i = 0; i < m->opts.n; i++)
		if (answered_by[i])
			behind |= 1u << i;
	for (unsigned i = 0; i < ncopies; i++) {
		const struct copy *cp = &copies[i];
		if (cp->state == COPY_GOOD && meta_ts_cmp(&cp->ts, &best->ts) >= 0)
			behind &= ~(1u << cp->cluster);
	}
	{
		uint32_t bad = 0, stale;
		for (unsigned i = 0; i < ncopies; i++)
			if (copies[i].state == COPY_BAD)
				bad |= 1u << copies[i].cluster;
		stale = behind & ~bad;
		if (rep)
			rep->stale |= behind;
		if (stale && write_back)
			put_value(m, oid, key, best->v, best->len, stale, 0, NULL, NULL);
		for (unsigned i = 0; i < ncopies; i++)
			if (copies[i].state == COPY_BAD && write_back)
				put_replace_bad(m, copies[i].cluster, oid, key, best->v, best->len,
				                copies[i].v, copies[i].len);
	}
	meta_counter_seen(m, best->ts.counter);
	for (unsigned i = 0; i < ncopies; i++)
		free(copies[i].v);
	*body = best_body;
	*body_len = best_body_len;
	return 0;
}

static int get_collect(struct meta *m, struct round *rd, const char *oid, const char *key,
                       enum meta_kind kind, uint64_t obj_ino, const uint8_t *tag, double deadline,
                       uint8_t **body, size_t *body_len, struct meta_report *rep)
{
	return get_collect_how(m, rd, oid, key, kind, obj_ino, tag, deadline, quorum(m), true, body,
	                       body_len, rep);
}

static int get_value(struct meta *m, const char *oid, const char *key, enum meta_kind kind,
                     uint64_t obj_ino, const uint8_t *tag, uint8_t **body, size_t *body_len,
                     struct meta_report *rep)
{
	struct round *rd = get_submit(m, oid, &key, rep);

	return get_collect(m, rd, oid, key, kind, obj_ino, tag, deadline_of(m), body, body_len,
	                   rep);
}

/*
 * Seals BODY with a fresh timestamp and writes it. A quorum refused because
 * clusters hold something newer (our counter is behind, e.g. a clock step):
 * read what they hold, move the counter past it, and try once more.
 */
static int put_register(struct meta *m, const char *oid, const char *key, enum meta_kind kind,
                        uint64_t obj_ino, const uint8_t *tag, const uint8_t *body, size_t len,
                        struct meta_report *rep)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct meta_ts ts = {meta_next_counter(m), m->keys.writer_id};
		uint8_t *value;
		size_t vlen;
		bool cancelled = false;
		int r =
		    meta_value_seal(&m->keys, kind, &ts, obj_ino, tag, body, len, &value, &vlen);
		if (r < 0)
			return r;
		r = put_value(m, oid, key, value, vlen, ~0u, quorum(m), rep, &cancelled);
		free(value);
		if (r == 0 || !cancelled)
			return r;
		/* Find the newest timestamp any cluster holds, then go past it. */
		{
			uint8_t *b;
			size_t bl;
			if (get_value(m, oid, key, kind, obj_ino, tag, &b, &bl, NULL) == 0)
				free(b);
		}
	}
	return -ETIMEDOUT;
}

int meta_inode_get(struct meta *m, uint64_t ino, struct meta_inode *out, struct meta_report *rep)
{
	char oid[24];
	uint8_t *body;
	size_t len;
	int r;

	meta_ino_oid(ino, oid);
	r = get_value(m, oid, INODE_KEY, META_KIND_INODE, ino, NULL, &body, &len, rep);
	if (r < 0)
		return r;
	r = meta_inode_parse(body, len, out);
	free(body);
	if (r == 0 && out->ino != ino) {
		meta_inode_free(out);
		r = -EBADMSG;
	}
	return r == -EBADMSG ? -EIO : r;
}

int meta_inode_put(struct meta *m, const struct meta_inode *ino, struct meta_report *rep)
{
	char oid[24];
	uint8_t *body;
	size_t len;
	int r = meta_inode_encode(ino, &body, &len);

	if (r < 0)
		return r;
	meta_ino_oid(ino->ino, oid);
	r = put_register(m, oid, INODE_KEY, META_KIND_INODE, ino->ino, NULL, body, len, rep);
	free(body);
	return r;
}

int meta_inode_remove(struct meta *m, uint64_t ino, struct meta_report *rep)
{
	struct round *rd = round_new();
	char oid[24];
	unsigned ok = 0;

	if (!rd)
		return -ENOMEM;
	meta_ino_oid(ino, oid);
	for (unsigned i = 0; i < m->opts.n; i++) {
		struct round_slot *s;
		if (!m->c[i].io)
			continue;
		s = round_slot_add(rd, i);
		if (s)
			round_submit_remove(s, m, oid);
	}
	round_wait(rd, quorum(m), deadline_of(m));
	pthread_mutex_lock(&rd->lock);
	for (unsigned j = 0; j < rd->count; j++) {
		if (rd->s[j].done && (rd->s[j].r >= 0 || rd->s[j].r == -ENOENT))
			ok++;
		else if (rep)
			rep->failed |= 1u << rd->s[j].cluster;
	}
	pthread_mutex_unlock(&rd->lock);
	round_put(rd);
	return ok >= quorum(m) ? 0 : -ETIMEDOUT;
}

int meta_dentry_get(struct meta *m, uint64_t dir, const char *name, size_t len,
                    struct meta_dentry *out, struct meta_report *rep)
{
	uint8_t tag[META_TAG_LEN], *body;
	char oid[24], key[3 + 2 * META_TAG_LEN];
	size_t blen;
	int r = meta_name_tag(&m->keys, dir, name, len, tag);

	if (r < 0)
		return r;
	meta_ino_oid(dir, oid);
	entry_key(tag, key);
	r = get_value(m, oid, key, META_KIND_DENTRY, dir, tag, &body, &blen, rep);
	if (r < 0)
		return r;
	r = meta_dentry_parse(body, blen, out);
	free(body);
	if (r < 0)
		return -EIO;
	if (out->deleted)
		return -ENOENT;
	if (out->name_len != len || memcmp(out->name, name, len) != 0)
		return -EIO;
	return 0;
}

int meta_dentry_put(struct meta *m, uint64_t dir, const struct meta_dentry *d,
                    struct meta_report *rep)
{
	uint8_t tag[META_TAG_LEN], *body;
	char oid[24], key[3 + 2 * META_TAG_LEN];
	size_t blen;
	struct meta_dentry tomb = {.deleted = true};
	int r = meta_name_tag(&m->keys, dir, d->name, d->name_len, tag);

	if (r < 0)
		return r;
	r = meta_dentry_encode(d->deleted ? &tomb : d, &body, &blen);
	if (r < 0)
		return r;
	meta_ino_oid(dir, oid);
	entry_key(tag, key);
	r = put_register(m, oid, key, META_KIND_DENTRY, dir, tag, body, blen, rep);
	free(body);
	return r;
}

/* One listed key, the best verified version so far, and its bytes. */
struct listed {
	char key[3 + 2 * META_TAG_LEN];
	struct meta_ts ts;
	struct meta_dentry d;
	uint8_t *v;
	size_t vlen;
};

/*
 * The keys listed so far: an open-addressing table of indexes into the
 * listing, so that every further copy of a key is compared with the one
 * already verified (equal bytes, or an older prefix: no signature check).
 */
struct seen {
	size_t *slot; /* SIZE_MAX: empty */
	size_t cap, used;
};

static size_t key_hash(const char *key)
{
	uint64_t h = 1469598103934665603ull;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ull;
	return (size_t)h;
}

static size_t *seen_find(struct seen *t, const struct listed *all, const char *key)
{
	size_t i = key_hash(key) & (t->cap - 1);

	while (t->slot[i] != SIZE_MAX && strcmp(all[t->slot[i]].key, key) != 0)
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

static int seen_grow(struct seen *t, const struct listed *all)
{
	struct seen bigger = {.cap = t->cap ? 2 * t->cap : 1024, .used = t->used};
	size_t *old = t->slot, old_cap = t->cap;

	bigger.slot = malloc(bigger.cap * sizeof(*bigger.slot));
	if (!bigger.slot)
		return -ENOMEM;
	for (size_t i = 0; i < bigger.cap; i++)
		bigger.slot[i] = SIZE_MAX;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i] != SIZE_MAX)
			*seen_find(&bigger, all, all[old[i]].key) = old[i];
	free(old);
	*t = bigger;
	return 0;
}

static int listed_cmp(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return -meta_ts_cmp(&x->ts, &y->ts); /* newest first */
}

/*
 * Lists DIR's entries from the first n-f clusters that answer, each paged
 * in batches of LIST_BATCH keys in parallel, and merges them: per key the
 * newest verified record. STOP_AT_LIVE ends after the first page that
 * holds a live entry (rmdir's emptiness check).
 */
static int list_entries(struct meta *m, uint64_t dir, bool stop_at_live, struct listed **out,
                        size_t *count, struct meta_report *rep)
{
	char oid[24], after[META_MAX_CLUSTERS][3 + 2 * META_TAG_LEN] = {{0}};
	bool active[META_MAX_CLUSTERS] = {0}, chosen = false;
	struct seen seen = {0};
	struct listed *all = NULL;
	size_t n_all = 0, cap = 0;
	int r = 0;

	meta_ino_oid(dir, oid);
	for (unsigned i = 0; i < m->opts.n; i++)
		active[i] = m->c[i].io != NULL;
	for (;;) {
		struct round *rd = round_new();
		unsigned answered = 0, more_any = 0;
		bool live = false;
		if (!rd) {
			r = -ENOMEM;
			break;
		}
		for (unsigned i = 0; i < m->opts.n; i++) {
			struct round_slot *s;
			rados_read_op_t op;
			if (!active[i])
				continue;
			s = round_slot_add(rd, i);
			op = rados_create_read_op();
			if (!s || !op) {
				if (op)
					rados_release_read_op(op);
				continue;
			}
			rados_read_op_omap_get_vals2(op, after[i], ENTRY_PREFIX, LIST_BATCH,
			                             &s->iter, &s->more, &s->prval);
			round_submit_read(s, m, oid, op);
		}
		/* The first page picks the clusters; later pages wait for all of them. */
		round_wait(rd, chosen ? rd->count : quorum(m), deadline_of(m));
		pthread_mutex_lock(&rd->lock);
		for (unsigned j = 0; j < rd->count; j++) {
			struct round_slot *s = &rd->s[j];
			unsigned c = s->cluster;
			char *k, *v;
			size_t vlen;
			bool ok = s->done && (s->r == -ENOENT || (s->r >= 0 && s->prval >= 0));
			if (!ok) {
				active[c] = false;
				if (rep)
					rep->failed |= 1u << c;
				continue;
			}
			answered++;
			if (s->r == -ENOENT) {
				active[c] = false;
				continue;
			}
			while (s->iter && rados_omap_get_next(s->iter, &k, &v, &vlen) == 0 && k) {
				uint8_t tag[META_TAG_LEN], *b;
				size_t bl, *at = NULL;
				struct listed e = {0}, *known = NULL;
				struct meta_ts prefix;
				snprintf(after[c], sizeof(after[c]), "%s", k);
				if (strlen(k) != 2 + 2 * META_TAG_LEN ||
				    sc_hex_decode(k + 2, tag, META_TAG_LEN) < 0 ||
				    meta_value_ts((const uint8_t *)v, vlen, &prefix) < 0) {
					if (rep)
						rep->bad |= 1u << c;
					continue;
				}
				if (seen.used * 2 >= seen.cap && seen_grow(&seen, all) < 0) {
					r = -ENOMEM;
					break;
				}
				at = seen_find(&seen, all, k);
				if (*at != SIZE_MAX) {
					known = &all[*at];
					/* A copy of what we believe, or older: nothing to check. */
					if (meta_ts_cmp(&prefix, &known->ts) < 0 ||
					    (known->vlen == vlen && memcmp(known->v, v, vlen) == 0))
						continue;
				}
				if (meta_value_open(&m->keys, (const uint8_t *)v, vlen,
				                    META_KIND_DENTRY, dir, tag, &e.ts, &b,
				                    &bl) < 0) {
					if (rep)
						rep->bad |= 1u << c;
					continue;
				}
				if (meta_dentry_parse(b, bl, &e.d) < 0) {
					free(b);
					if (rep)
						rep->bad |= 1u << c;
					continue;
				}
				free(b);
				if (known && meta_ts_cmp(&e.ts, &known->ts) <= 0)
					continue;
				snprintf(e.key, sizeof(e.key), "%s", k);
				e.v = malloc(vlen ? vlen : 1);
				if (!e.v) {
					r = -ENOMEM;
					break;
				}
				memcpy(e.v, v, vlen);
				e.vlen = vlen;
				if (!e.d.deleted)
					live = true;
				if (known) {
					free(known->v);
					*known = e;
					continue;
				}
				if (n_all == cap) {
					size_t nc = cap ? 2 * cap : 256;
					struct listed *na = realloc(all, nc * sizeof(*all));
					if (!na) {
						free(e.v);
						r = -ENOMEM;
						break;
					}
					all = na;
					cap = nc;
				}
				*at = n_all;
				seen.used++;
				all[n_all++] = e;
			}
			if (!s->more)
				active[c] = false;
			else
				more_any++;
		}
		pthread_mutex_unlock(&rd->lock);
		round_put(rd);
		if (r < 0)
			break;
		if (!chosen) {
			if (answered < quorum(m)) {
				r = -ETIMEDOUT;
				break;
			}
			/* Keep paging only the clusters that answered first. */
			chosen = true;
		}
		if (!more_any || (stop_at_live && live))
			break;
	}
	free(seen.slot);
	for (size_t i = 0; i < n_all; i++) {
		free(all[i].v);
		all[i].v = NULL;
	}
	if (r < 0) {
		free(all);
		return r;
	}
	qsort(all, n_all, sizeof(*all), listed_cmp);
	*out = all;
	*count = n_all;
	return 0;
}

int meta_dir_list(struct meta *m, uint64_t dir, struct meta_dentry **out, size_t *count,
                  struct meta_report *rep)
{
	struct listed *all;
	size_t n, live = 0;
	int r = list_entries(m, dir, false, &all, &n, rep);

	*out = NULL;
	*count = 0;
	if (r < 0)
		return r;
	*out = malloc((n ? n : 1) * sizeof(**out));
	if (!*out) {
		free(all);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (!all[i].d.deleted)
			(*out)[live++] = all[i].d;
	free(all);
	*count = live;
	return 0;
}

int meta_dir_nonempty(struct meta *m, uint64_t dir, bool *nonempty, struct meta_report *rep)
{
	struct listed *all;
	size_t n;
	int r = list_entries(m, dir, true, &all, &n, rep);

	*nonempty = false;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (!all[i].d.deleted)
			*nonempty = true;
	free(all);
	return 0;
}

int meta_put_parallel(struct meta *m, const struct meta_inode *const *inodes, unsigned count,
                      uint64_t dir, const struct meta_dentry *d, struct meta_report *rep)
{
	struct round *rd[META_PARALLEL_MAX + 1] = {NULL};
	bool cancelled[META_PARALLEL_MAX + 1] = {false};
	double deadline = deadline_of(m);
	unsigned total = count + (d ? 1 : 0);
	int r = 0, res[META_PARALLEL_MAX + 1];

	if (count > META_PARALLEL_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < total; i++) {
		struct meta_ts ts = {meta_next_counter(m), m->keys.writer_id};
		uint8_t *body, *value, tag[META_TAG_LEN];
		size_t blen, vlen;
		char oid[24], key[3 + 2 * META_TAG_LEN];
		bool is_entry = i == count;
		struct meta_dentry tomb = {.deleted = true};
		if (is_entry) {
			r = meta_name_tag(&m->keys, dir, d->name, d->name_len, tag);
			if (r == 0)
				r = meta_dentry_encode(d->deleted ? &tomb : d, &body, &blen);
			meta_ino_oid(dir, oid);
			entry_key(tag, key);
		} else {
			r = meta_inode_encode(inodes[i], &body, &blen);
			meta_ino_oid(inodes[i]->ino, oid);
			snprintf(key, sizeof(key), "%s", INODE_KEY);
		}
		if (r < 0)
			break;
		r = meta_value_seal(&m->keys, is_entry ? META_KIND_DENTRY : META_KIND_INODE, &ts,
		                    is_entry ? dir : inodes[i]->ino, is_entry ? tag : NULL, body,
		                    blen, &value, &vlen);
		free(body);
		if (r < 0)
			break;
		rd[i] = put_submit(m, oid, key, value, vlen, ~0u);
		free(value);
	}
	for (unsigned i = 0; i < total; i++)
		res[i] =
		    rd[i] ? put_collect(rd[i], quorum(m), deadline, rep, &cancelled[i]) : -ENOMEM;
	if (r < 0)
		return r;
	/* Anything refused as older, or short of a quorum: once more, one at a time. */
	for (unsigned i = 0; i < total; i++) {
		if (res[i] == 0)
			continue;
		if (!cancelled[i])
			return res[i];
		r = i == count ? meta_dentry_put(m, dir, d, rep)
		               : meta_inode_put(m, inodes[i], rep);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The collecting half of meta_inode_get_many: reads FROM..TO-1 of a batch. */
struct get_many {
	struct meta *m;
	struct round **rd;
	const uint64_t *inos;
	struct meta_inode *out;
	int *results;
	struct meta_report rep;
	double deadline;
	unsigned from, to;
};

static void *get_many_collect(void *arg)
{
	struct get_many *g = arg;

	for (unsigned i = g->from; i < g->to; i++) {
		char oid[24];
		uint8_t *body;
		size_t len;
		int r;
		meta_ino_oid(g->inos[i], oid);
		r = get_collect(g->m, g->rd[i], oid, INODE_KEY, META_KIND_INODE, g->inos[i], NULL,
		                g->deadline, &body, &len, &g->rep);
		if (r == 0) {
			r = meta_inode_parse(body, len, &g->out[i]);
			free(body);
			if (r == 0 && g->out[i].ino != g->inos[i]) {
				meta_inode_free(&g->out[i]);
				r = -EBADMSG;
			}
			if (r == -EBADMSG)
				r = -EIO;
		}
		g->results[i] = r;
	}
	return NULL;
}

/*
 * All requests go out at once; the answers are verified by two threads
 * (this one and a helper, for batches worth it): the signature checks, not
 * the round trip, are most of a large batch's time.
 */
int meta_inode_get_many(struct meta *m, const uint64_t *inos, unsigned count,
                        struct meta_inode *out, int *results, struct meta_report *rep)
{
	static const char *key = INODE_KEY;
	struct get_many halves[2];
	struct round **rd;
	pthread_t helper;
	bool helped = false;
	unsigned mid = count >= 32 ? count / 2 : count;

	rd = calloc(count ? count : 1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	for (unsigned i = 0; i < count; i++) {
		char oid[24];
		meta_ino_oid(inos[i], oid);
		rd[i] = get_submit(m, oid, &key, rep);
	}
	for (unsigned h = 0; h < 2; h++)
		halves[h] = (struct get_many){.m = m,
		                              .rd = rd,
		                              .inos = inos,
		                              .out = out,
		                              .results = results,
		                              .deadline = deadline_of(m),
		                              .from = h ? mid : 0,
		                              .to = h ? count : mid};
	if (mid < count)
		helped = pthread_create(&helper, NULL, get_many_collect, &halves[1]) == 0;
	get_many_collect(&halves[0]);
	if (helped)
		pthread_join(helper, NULL);
	else if (mid < count)
		get_many_collect(&halves[1]);
	if (rep)
		for (unsigned h = 0; h < 2; h++) {
			rep->failed |= halves[h].rep.failed;
			rep->bad |= halves[h].rep.bad;
			rep->stale |= halves[h].rep.stale;
		}
	free(rd);
	return 0;
}

int meta_audit(struct meta *m, uint64_t ino, const char *name, bool repair, struct meta_report *rep)
{
	char oid[24], key[3 + 2 * META_TAG_LEN];
	const char *kp = key;
	uint8_t tag[META_TAG_LEN], *body;
	size_t len;
	int r;

	meta_ino_oid(ino, oid);
	if (name) {
		r = meta_name_tag(&m->keys, ino, name, strlen(name), tag);
		if (r < 0)
			return r;
		entry_key(tag, key);
	} else {
		snprintf(key, sizeof(key), "%s", INODE_KEY);
	}
	r = get_collect_how(m, get_submit(m, oid, &kp, rep), oid, key,
	                    name ? META_KIND_DENTRY : META_KIND_INODE, ino, name ? tag : NULL,
	                    deadline_of(m), m->opts.n, repair, &body, &len, rep);
	if (r == 0)
		free(body);
	return r;
}

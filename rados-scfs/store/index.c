/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The unit's index object (docs/store-format.md): one omap key per version,
 * "p.V" when a write began and "v.V" holding the writer-signed commit, keys
 * sorted newest first. This file reads it from the clusters and merges their
 * listings (unit.h).
 *
 * Invariants, against a cluster that lies (docs/store.md, "Index"):
 * - a listing is bounded by the store, not by the OSD: at most
 *   INDEX_PAGE_COMMITS commit and INDEX_PAGE_PENDING pending keys per round
 *   trip, the newest, so latest is never cut off by an OSD limit;
 * - a cluster whose listing holds one malformed key or entry, or a commit of
 *   another unit or version, or one whose signature fails, is dropped as a
 *   whole (marked bad data): none of its keys counts;
 * - signatures are checked lazily, newest first, and once per distinct
 *   entry: a read of latest costs one Ed25519 verification plus at most one
 *   per lying cluster, whatever the listings hold;
 * - merging is a sort, O(E log E) for E keys listed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "unit.h"

void store_index_list_free(struct version_list *list)
{
	free(list->e);
	*list = (struct version_list){0};
}

static struct index_entry *entry_add(struct version_list *list)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		struct index_entry *e = realloc(list->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		list->e = e;
		list->cap = cap;
	}
	return &list->e[list->count++];
}

void store_index_drop(struct store *store, struct op_log *log, struct version_list *list,
                      unsigned cluster, const char *what, unsigned long long version)
{
	size_t j = 0;

	for (size_t i = 0; i < list->count; i++)
		if (list->e[i].cluster != cluster)
			list->e[j++] = list->e[i];
	list->count = j;
	list->dropped |= 1u << cluster;
	store_op_fail(store, log, cluster, STORE_CLUSTER_BAD_DATA, -EBADMSG,
	              "%s (version %llu); its whole index listing is dropped", what, version);
}

int store_index_take_entry(const char *name, const char *key, size_t key_len, const char *val,
                           size_t val_len, struct version_list *list, unsigned cluster,
                           char expect_kind, uint64_t *version_out)
{
	size_t name_len = strlen(name);
	struct index_entry *e;
	struct commit c;
	uint64_t version;
	char kind;

	*version_out = 0;
	if (store_record_index_key_parse(key, key_len, &kind, &version) < 0 ||
	    (expect_kind && kind != expect_kind))
		return -EBADMSG;
	*version_out = version;
	if (kind == RECORD_KEY_PENDING && val_len != 0)
		return -EBADMSG;
	if (kind == RECORD_KEY_COMMIT &&
	    (store_commit_parse((const uint8_t *)val, val_len, &c) < 0 || c.version != version ||
	     c.name_len != name_len || memcmp(c.name, name, name_len) != 0))
		return -EBADMSG;
	e = entry_add(list);
	if (!e)
		return -ENOMEM;
	memset(e, 0, offsetof(struct index_entry, commit));
	e->version = version;
	e->cluster = (uint8_t)cluster;
	e->kind = kind;
	if (kind == RECORD_KEY_COMMIT) {
		if (sc_sha256(val, val_len, e->hash) < 0) {
			list->count--;
			return -ENOMEM;
		}
		e->data_len = c.data_len;
		memcpy(e->digest, c.digest, RECORD_DIGEST_LEN);
		memcpy(e->commit, val, val_len);
		e->commit_len = (uint16_t)val_len;
	}
	return 0;
}

/*
 * Takes in one iterator of a cluster's listing. Returns the number of keys
 * taken, -EBADMSG when the cluster must be dropped, -ENOMEM. *LAST gets the
 * last key (for the next page).
 */
static int index_take(struct store *store, const char *name, rados_omap_iter_t it,
                      struct version_list *list, unsigned cluster, char expect_kind, unsigned max,
                      char last[19], uint64_t *bad_version)
{
	char *key, *val;
	size_t key_len, val_len;
	unsigned taken = 0;

	(void)store;
	for (;;) {
		int r;
		if (rados_omap_get_next2(it, &key, &val, &key_len, &val_len) < 0 || !key)
			break;
		/* More than asked for is not what an OSD returns. */
		if (++taken > max)
			return -EBADMSG;
		r = store_index_take_entry(name, key, key_len, val, val_len, list, cluster,
		                           expect_kind, bad_version);
		if (r < 0)
			return r;
		memcpy(last, key, 18);
		last[18] = '\0';
	}
	return (int)taken;
}

/* Newest first; within a version commits before pending keys, then by entry bytes. */
static int entry_cmp(const void *a, const void *b)
{
	const struct index_entry *x = a, *y = b;

	if (x->version != y->version)
		return x->version > y->version ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind == RECORD_KEY_COMMIT ? -1 : 1;
	if (x->kind == RECORD_KEY_COMMIT) {
		int c = memcmp(x->hash, y->hash, RECORD_DIGEST_LEN);
		if (c)
			return c;
	}
	return (int)x->cluster - (int)y->cluster;
}

void store_index_sort(struct version_list *list)
{
	if (list->count > 1)
		qsort(list->e, list->count, sizeof(*list->e), entry_cmp);
}

/* Whether entry E's commit verifies; a cluster whose commit does not is dropped. */
static bool entry_verify(struct store *store, struct version_list *list, struct op_log *log,
                         size_t i)
{
	struct index_entry *e = &list->e[i];
	struct commit c;

	if (e->verified)
		return true;
	/* The same bytes from another cluster were verified already: the same answer. */
	for (size_t j = 0; j < list->count; j++)
		if (list->e[j].verified && list->e[j].version == e->version &&
		    memcmp(list->e[j].hash, e->hash, RECORD_DIGEST_LEN) == 0) {
			e->verified = true;
			return true;
		}
	if (store_commit_parse(e->commit, e->commit_len, &c) == 0 &&
	    store_commit_verify(&store->id, e->commit, &c, &store->trusted[0][0],
	                        store->trusted_count) == 0) {
		e->verified = true;
		return true;
	}
	return false;
}

const struct index_entry *store_index_top(struct store *store, struct version_list *list,
                                          struct op_log *log, const char *name, uint64_t below,
                                          int only)
{
	(void)name;
	for (;;) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < list->count; i++) {
			const struct index_entry *e = &list->e[i];
			if (e->kind != RECORD_KEY_COMMIT || e->version >= below ||
			    (only >= 0 && e->cluster != (unsigned)only))
				continue;
			if (best == SIZE_MAX || e->version > list->e[best].version ||
			    (e->version == list->e[best].version && e->verified &&
			     !list->e[best].verified))
				best = i;
		}
		if (best == SIZE_MAX)
			return NULL;
		if (entry_verify(store, list, log, best))
			return &list->e[best];
		store_index_drop(store, log, list, list->e[best].cluster,
		                 "commit entry does not verify",
		                 (unsigned long long)list->e[best].version);
	}
}

/* One cluster's page request: what to ask after which key. */
struct index_cursor {
	bool want_commits, want_pending, done;
	char after_v[19], after_p[19];
	unsigned keys;
};

static void index_submit(struct store *store, struct aio_set *set, struct op_log *log,
                         const char *oid, unsigned i, enum index_mode mode, uint64_t version,
                         struct index_cursor *cur)
{
	rados_ioctx_t ioctx = store_op_ioctx(store, log, i);
	struct aio_io *io;
	rados_read_op_t op;

	if (!ioctx) {
		cur->done = true;
		return;
	}
	io = store_aio_io_add(set, i, IO_INDEX_READ);
	if (!io)
		return;
	op = rados_create_read_op();
	if (mode == INDEX_VERSION) {
		char kv[19], kp[19];
		const char *keys[2] = {kv, kp};
		size_t lens[2] = {18, 18};
		store_record_index_key(RECORD_KEY_COMMIT, version, kv);
		store_record_index_key(RECORD_KEY_PENDING, version, kp);
		rados_read_op_omap_get_vals_by_keys2(op, keys, 2, lens, &io->omap, &io->omap_rval);
	} else {
		if (cur->want_commits)
			rados_read_op_omap_get_vals2(op, cur->after_v, "v.", INDEX_PAGE_COMMITS,
			                             &io->omap, &io->omap_more, &io->omap_rval);
		if (cur->want_pending)
			rados_read_op_omap_get_vals2(op, cur->after_p, "p.", INDEX_PAGE_PENDING,
			                             &io->omap2, &io->omap2_more, &io->omap2_rval);
	}
	store_aio_submit_read(io, ioctx, oid, op);
	rados_release_read_op(op);
}

/*
 * Takes one cluster's index answer into LIST and sets up CUR for its next
 * page (INDEX_ALL). Returns 0, or -ENOMEM. A lying cluster is dropped here.
 */
static int index_answer(struct store *store, const char *name, struct op_log *log,
                        struct version_list *list, struct aio_io *io, enum index_mode mode,
                        uint64_t version, struct index_cursor *cur)
{
	uint64_t bad = 0;
	int nv = 0, np = 0;

	cur->done = true;
	if (mode == INDEX_VERSION) {
		char last[19];
		nv = io->omap
		         ? index_take(store, name, io->omap, list, io->cluster, 0, 2, last, &bad)
		         : 0;
		for (size_t i = 0; nv > 0 && i < list->count; i++)
			if (list->e[i].cluster == io->cluster && list->e[i].version != version)
				nv = -EBADMSG; /* a key not asked for */
	} else {
		if (io->omap)
			nv = index_take(store, name, io->omap, list, io->cluster, RECORD_KEY_COMMIT,
			                INDEX_PAGE_COMMITS, cur->after_v, &bad);
		if (nv >= 0 && io->omap2)
			np = index_take(store, name, io->omap2, list, io->cluster,
			                RECORD_KEY_PENDING, INDEX_PAGE_PENDING, cur->after_p, &bad);
	}
	if (nv == -ENOMEM || np == -ENOMEM)
		return -ENOMEM;
	if (nv < 0 || np < 0) {
		store_index_drop(store, log, list, io->cluster,
		                 "malformed or misplaced index entry", (unsigned long long)bad);
		return 0;
	}
	cur->keys += (unsigned)(nv + np);
	cur->want_commits = cur->want_commits && io->omap_more && nv > 0;
	cur->want_pending = cur->want_pending && io->omap2_more && np > 0;
	if (mode == INDEX_ALL && (cur->want_commits || cur->want_pending)) {
		if (cur->keys >= INDEX_MAX_ENTRIES)
			list->truncated = true;
		else
			cur->done = false;
	} else if (mode == INDEX_NEWEST && (cur->want_commits || cur->want_pending)) {
		/* Newest first: what was not listed is older than all that was. */
	}
	return 0;
}

int store_index_fetch(struct store *store, const char *name, enum index_mode mode, uint64_t version,
                      double deadline, struct op_log *log, struct version_list *list,
                      store_index_answered_fn *on_answer, void *arg)
{
	struct index_cursor cur[STORE_MAX_CLUSTERS];
	char oid[OID_MAX];
	struct aio_set *set = NULL;
	struct aio_io *io;
	unsigned answered = 0;
	bool more;
	int r;

	*list = (struct version_list){0};
	r = store_record_index_name(name, oid, sizeof(oid));
	if (r < 0)
		return r;
	for (unsigned i = 0; i < store->n; i++)
		cur[i] = (struct index_cursor){.want_commits = true, .want_pending = true};
	do {
		/* One round: every cluster that has (more) to say is asked at once. */
		bool got[STORE_MAX_CLUSTERS] = {false};
		r = store_aio_set_new(store, &set);
		if (r < 0)
			goto out;
		for (unsigned i = 0; i < store->n; i++)
			if (!cur[i].done)
				index_submit(store, set, log, oid, i, mode, version, &cur[i]);
		while ((io = store_aio_set_next(set, deadline))) {
			int e = io->r < 0            ? io->r
			        : io->omap_rval < 0  ? io->omap_rval
			        : io->omap2_rval < 0 ? io->omap2_rval
			                             : 0;
			got[io->cluster] = true;
			if (e == 0) {
				r = index_answer(store, name, log, list, io, mode, version,
				                 &cur[io->cluster]);
				if (r < 0)
					goto out;
			} else {
				cur[io->cluster].done = true;
				if (e != -ENOENT) /* -ENOENT: no index object yet, no versions */
					store_op_fail(store, log, io->cluster, -1, e,
					              "index read failed: %s", strerror(-e));
			}
			if (cur[io->cluster].done && (e == 0 || e == -ENOENT)) {
				list->answered |= 1u << io->cluster;
				answered++;
				if (on_answer && !(list->dropped & (1u << io->cluster)))
					on_answer(arg, list, io->cluster);
			}
			if (mode != INDEX_ALL && answered >= store->n - store->f)
				break;
		}
		more = false;
		for (unsigned i = 0; i < store->n; i++) {
			if (!got[i])
				cur[i].done = true; /* silent this round: named below */
			more = more || !cur[i].done;
		}
		if (answered < store->n - store->f || mode == INDEX_ALL)
			store_op_timeouts(store, set, log, store->op_timeout);
		store_aio_set_put(set);
		set = NULL;
	} while (more && sc_now_monotonic() < deadline);
	if (answered < store->n - store->f) {
		r = -ETIMEDOUT;
		goto out;
	}
	store_index_sort(list);
	r = 0;
out:
	store_aio_set_put(set);
	return r;
}

int store_index_next_version(struct store *store, const char *name, double deadline,
                             struct op_log *log, uint64_t *version)
{
	struct version_list list;
	const struct index_entry *top;
	uint64_t high = 0;
	int r = store_index_fetch(store, name, INDEX_NEWEST, 0, deadline, log, &list, NULL, NULL);

	if (r < 0)
		return r;
	top = store_index_top(store, &list, log, name, STORE_VERSION_LATEST, -1);
	if (top)
		high = top->version;
	/* Pending keys count only where f+1 clusters list them: one of them is correct. */
	for (size_t i = 0; i < list.count;) {
		size_t j = i;
		uint32_t clusters = 0;
		while (j < list.count && list.e[j].version == list.e[i].version) {
			if (list.e[j].kind == RECORD_KEY_PENDING)
				clusters |= 1u << list.e[j].cluster;
			j++;
		}
		if ((unsigned)__builtin_popcount(clusters) > store->f && list.e[i].version > high)
			high = list.e[i].version;
		i = j;
	}
	store_index_list_free(&list);
	if (high >= STORE_VERSION_LATEST - 1)
		return -EOVERFLOW; /* only the writer's own signed commits get here */
	*version = high + 1;
	return 0;
}

static int unit_versions(struct store *store, const char *name, struct store_version_info **out,
                         size_t *count, struct store_report *rep)
{
	struct op_log log = {.what = "versions", .rep = rep};
	struct version_list list = {0};
	struct store_version_info *v = NULL;
	double deadline = sc_now_monotonic() + store->op_timeout;
	size_t n = 0;
	int r;

	*out = NULL;
	*count = 0;
	if (!store_unit_name_valid(name))
		return store_op_finish(store, &log, -EINVAL, "versions: invalid unit name");
	r = store_index_fetch(store, name, INDEX_ALL, 0, deadline, &log, &list, NULL, NULL);
	if (r < 0)
		goto out;
	if (list.truncated) {
		r = -EOVERFLOW;
		goto out;
	}
	/* Every commit is verified here (the listing wants them all), within the deadline. */
	for (size_t i = 0; i < list.count; i++) {
		if (list.e[i].kind != RECORD_KEY_COMMIT || list.e[i].verified)
			continue;
		if (sc_now_monotonic() > deadline) {
			r = -ETIMEDOUT;
			goto out;
		}
		if (!entry_verify(store, &list, &log, i)) {
			store_index_drop(store, &log, &list, list.e[i].cluster,
			                 "commit entry does not verify",
			                 (unsigned long long)list.e[i].version);
			i = (size_t)-1; /* the list changed: start over (verified stay verified) */
		}
	}
	v = calloc(list.count + 1, sizeof(*v));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	/* Ascending for the caller: walk the newest-first list backwards. */
	for (size_t i = list.count; i-- > 0;) {
		const struct index_entry *e = &list.e[i];
		uint32_t clusters = 0;
		size_t first = i;
		while (first > 0 && list.e[first - 1].version == e->version)
			first--;
		v[n].version = e->version;
		for (size_t j = first; j <= i; j++) {
			clusters |= 1u << list.e[j].cluster;
			if (list.e[j].kind == RECORD_KEY_COMMIT && !v[n].committed) {
				v[n].committed = true;
				memcpy(v[n].digest, list.e[j].digest, RECORD_DIGEST_LEN);
			}
		}
		v[n].clusters = (unsigned)__builtin_popcount(clusters);
		n++;
		i = first;
	}
	*out = v;
	*count = n;
	v = NULL;
out:
	free(v);
	store_index_list_free(&list);
	if (r == -EOVERFLOW)
		return store_op_finish(store, &log, r,
		                       "list versions of %s: more than %u keys on a cluster", name,
		                       INDEX_MAX_ENTRIES);
	return store_op_finish(store, &log, r, r < 0 ? "list versions of %s failed: " : "list %s",
	                       name);
}

int store_unit_versions(struct store *store, const char *name, struct store_version_info **out,
                        size_t *count, struct store_report *rep)
{
	int r = store_op_enter(store);

	if (r < 0) {
		struct op_log log = {.what = "versions", .rep = rep};
		*out = NULL;
		*count = 0;
		return store_op_finish(store, &log, r, "versions: the store is closing");
	}
	r = unit_versions(store, name, out, count, rep);
	store_op_leave(store);
	return r;
}

/*
 * The unit's index object (docs/store-format.md): one omap key per version,
 * "p.V" when a write began and "v.V" holding the writer-signed commit. This
 * file reads it from the clusters and merges their listings (unit.h).
 * Invariants: a version counts as committed only when a commit entry parsed,
 * names this unit and version, and carries a trusted signature; any other
 * entry makes its cluster "bad data" and is skipped; at most
 * INDEX_MAX_ENTRIES keys are taken from one cluster.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "unit.h"

static struct version_entry *version_find(struct version_list *list, uint64_t version)
{
	for (size_t i = 0; i < list->count; i++)
		if (list->v[i].version == version)
			return &list->v[i];
	return NULL;
}

/* DIGEST and COMMIT_HASH (NULL for a pending key): of a verified commit entry. */
static int version_note(struct version_list *list, uint64_t version, const struct commit *c,
                        const uint8_t *commit_hash, unsigned cluster)
{
	struct version_entry *e = version_find(list, version);
	const uint8_t *digest = c ? c->digest : NULL;

	if (e) {
		e->clusters |= 1u << cluster;
		if (digest && !e->committed) {
			e->committed = true;
			e->data_len = c->data_len;
			memcpy(e->digest, digest, RECORD_DIGEST_LEN);
			memcpy(e->commit_hash, commit_hash, RECORD_DIGEST_LEN);
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
	list->v[list->count] =
	    (struct version_entry){.version = version, .clusters = 1u << cluster};
	if (digest) {
		list->v[list->count].committed = true;
		list->v[list->count].data_len = c->data_len;
		memcpy(list->v[list->count].digest, digest, RECORD_DIGEST_LEN);
		memcpy(list->v[list->count].commit_hash, commit_hash, RECORD_DIGEST_LEN);
	}
	list->count++;
	return 0;
}

static int version_cmp(const void *a, const void *b)
{
	const struct version_entry *x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/*
 * Whether the parsed commit entry VAL (its SHA-256 HASH) carries a trusted
 * signature. The n-f listings of a fetch hold the same entry for every
 * version: bytes already verified from another cluster (same SHA-256) are
 * not verified again, which saves an Ed25519 verification per cluster and
 * version; a cluster that serves other bytes gets its own verification.
 */
static bool commit_verified(struct version_list *list, uint64_t version, const uint8_t *hash,
                            const uint8_t *val, const struct commit *c, struct store *store)
{
	const struct version_entry *e = version_find(list, version);

	if (e && e->committed && memcmp(e->commit_hash, hash, RECORD_DIGEST_LEN) == 0)
		return true;
	return commit_verify(&store->id, val, c, &store->trusted[0][0], store->trusted_count) == 0;
}

/* Takes in one cluster's index listing; a bad entry makes the cluster bad. */
static int index_take(struct store *store, struct op_log *log, const char *name, struct aio_io *io,
                      struct version_list *list)
{
	size_t name_len = strlen(name), entries = 0;
	char *key, *val;
	size_t key_len, val_len;
	uint8_t hash[RECORD_DIGEST_LEN];
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
			store_op_fail(store, log, io->cluster, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			              "malformed index key");
			continue;
		}
		if (kind == RECORD_KEY_PENDING) {
			r = version_note(list, version, NULL, NULL, io->cluster);
		} else if (commit_parse((const uint8_t *)val, val_len, &c) < 0 ||
		           c.version != version || c.name_len != name_len ||
		           memcmp(c.name, name, name_len) != 0 ||
		           sc_sha256(val, val_len, hash) < 0 ||
		           !commit_verified(list, version, hash, (const uint8_t *)val, &c, store)) {
			store_op_fail(store, log, io->cluster, STORE_CLUSTER_BAD_DATA, -EBADMSG,
			              "commit entry of version %llu does not verify",
			              (unsigned long long)version);
			continue;
		} else {
			r = version_note(list, version, &c, hash, io->cluster);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int store_index_fetch(struct store *store, const char *name, bool all, double deadline,
                      struct op_log *log, struct version_list *list,
                      store_index_answered_fn *on_answer, void *arg)
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
		rados_ioctx_t ioctx = store_op_ioctx(store, log, i);
		rados_read_op_t op;
		if (!ioctx)
			continue;
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
			store_op_fail(store, log, io->cluster, -1, e, "index read failed: %s",
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
			if (on_answer)
				on_answer(arg, list, io->cluster);
		}
		if (!all && answered >= store->n - store->f)
			break;
	}
	if (answered < store->n - store->f) {
		store_op_timeouts(store, set, log, store->op_timeout);
		r = -ETIMEDOUT;
		goto out;
	}
	qsort(list->v, list->count, sizeof(*list->v), version_cmp);
	r = 0;
out:
	aio_set_put(set);
	return r;
}

int store_index_next_version(struct store *store, const char *name, double deadline,
                             struct op_log *log, uint64_t *version)
{
	struct version_list list = {0};
	uint64_t top = 0;
	int r = store_index_fetch(store, name, false, deadline, log, &list, NULL, NULL);

	if (r < 0)
		return r;
	for (size_t i = 0; i < list.count; i++) {
		const struct version_entry *e = &list.v[i];
		if (e->committed || (unsigned)__builtin_popcount(e->clusters) > store->f)
			top = e->version > top ? e->version : top;
	}
	free(list.v);
	if (top >= STORE_VERSION_LATEST - 1)
		return -EOVERFLOW; /* only a writer's own commits get here */
	*version = top + 1;
	return 0;
}

int store_unit_versions(struct store *store, const char *name, struct store_version_info **out,
                        size_t *count, struct store_report *rep)
{
	struct op_log log = {.what = "versions", .rep = rep};
	struct version_list list = {0};
	struct store_version_info *v = NULL;
	int r;

	*out = NULL;
	*count = 0;
	if (!store_unit_name_valid(name))
		return store_op_finish(store, &log, -EINVAL, "versions: invalid unit name");
	r = store_index_fetch(store, name, true, sc_now_monotonic() + store->op_timeout, &log,
	                      &list, NULL, NULL);
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
	return store_op_finish(store, &log, r, r < 0 ? "list versions of %s failed: " : "list %s",
	                       name);
}

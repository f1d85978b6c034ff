/*
 * fs_chunk_* over the store (chunk.h). A chunk write is the store's
 * anchored write: one round trip, no commit entry; the inode record is the
 * commit, and readers ask only for the version and digest it names. The
 * store's identity is the fs id followed by "data", so a unit of one file
 * system cannot be passed off in another.
 */
#include "chunk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "store.h"

struct fs_chunks {
	struct store *store; /* the current one; read with an atomic load */
	uint32_t chunk_size;
	/* What fs_chunks_reopen opens again (the strings live as long as the mount). */
	struct store_opts opts;
	struct store_cluster_spec specs[STORE_MAX_CLUSTERS];
	uint8_t id[META_FSID_LEN + 4];
	/* Stores replaced by a reopen: threads may still use them; closed last. */
	struct store *retired[8];
	unsigned retired_count;
};

static struct store *current(struct fs_chunks *c)
{
	return __atomic_load_n(&c->store, __ATOMIC_ACQUIRE);
}

static void unit_name(uint64_t ino, uint32_t index, char out[32])
{
	snprintf(out, 32, "c.%016llx.%08x", (unsigned long long)ino, index);
}

int fs_chunks_open(const struct fs_chunks_opts *o, struct fs_chunks **out, char *err,
                   size_t err_len)
{
	struct store_cluster_spec specs[STORE_MAX_CLUSTERS];
	struct store_opts so = {0};
	struct sc_err serr = {""};
	struct fs_chunks *c;
	int r;

	*out = NULL;
	if (o->n > STORE_MAX_CLUSTERS)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < o->n; i++)
		specs[i] = (struct store_cluster_spec){.cluster = o->clusters[i],
		                                       .pool = o->pool,
		                                       .rados_ns = o->rados_ns,
		                                       .conf_dir = o->conf_dir,
		                                       .client_id = o->client_id};
	so.n = o->n;
	so.f = o->f;
	so.protocol = o->protocol == 1 ? STORE_PROTOCOL_A : STORE_PROTOCOL_CA;
	so.writer_key = o->priv;
	so.trusted_keys = o->trusted;
	so.trusted_count = o->trusted_count;
	so.max_unit_size = o->chunk_size;
	so.op_timeout = o->timeout;
	so.connect_timeout = o->timeout;
	memcpy(c->id, o->fs_id, META_FSID_LEN);
	memcpy(c->id + META_FSID_LEN, "data", 4);
	so.store_id = c->id;
	so.store_id_len = sizeof(c->id);
	c->chunk_size = o->chunk_size;
	c->opts = so;
	memcpy(c->specs, specs, sizeof(specs[0]) * o->n);
	r = store_open(&so, specs, &c->store, &serr);
	if (r < 0) {
		snprintf(err, err_len, "%s", serr.msg);
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

void fs_chunks_close(struct fs_chunks *c)
{
	if (!c)
		return;
	store_close(c->store);
	for (unsigned i = 0; i < c->retired_count; i++)
		store_close(c->retired[i]);
	free(c);
}

int fs_chunks_reopen(struct fs_chunks *c)
{
	struct store *fresh, *old;
	struct sc_err serr = {""};
	int r;

	if (c->retired_count == SC_ARRAY_SIZE(c->retired))
		return -ENOSPC;
	r = store_open(&c->opts, c->specs, &fresh, &serr);
	if (r < 0)
		return r;
	old = current(c);
	c->retired[c->retired_count++] = old;
	__atomic_store_n(&c->store, fresh, __ATOMIC_RELEASE);
	return 0;
}

int fs_chunk_write(struct fs_chunks *c, uint64_t ino, uint32_t index, uint64_t version,
                   const void *data, size_t len, struct meta_chunk_ref *ref)
{
	struct store_unit_ref sref;
	char name[32];
	int r;

	unit_name(ino, index, name);
	r = store_unit_write_anchored(current(c), name, version, data, len, &sref, NULL);
	if (r < 0)
		return r;
	ref->index = index;
	ref->version = sref.version;
	ref->data_len = len;
	memcpy(ref->digest, sref.digest, META_DIGEST_LEN);
	return 0;
}

int fs_chunk_read(struct fs_chunks *c, uint64_t ino, const struct meta_chunk_ref *ref, void *buf,
                  size_t *len)
{
	struct store_unit_ref sref = {.version = ref->version, .data_len = ref->data_len};
	struct store_report rep = {0};
	char name[32];
	void *data;
	size_t dlen;
	int r;

	memcpy(sref.digest, ref->digest, META_DIGEST_LEN);
	unit_name(ino, ref->index, name);
	r = store_unit_read_ref(current(c), name, &sref, 0, &data, &dlen, &rep);
	/* A cluster that served bad data is named in the log, even when the read worked. */
	if (rep.bad_clusters && rep.msg[0])
		sc_log_warn("chunk %s: %s", name, rep.msg);
	if (r < 0)
		return r;
	if (dlen != ref->data_len || dlen > c->chunk_size) {
		store_buffer_free(data, dlen);
		return -EIO;
	}
	memcpy(buf, data, dlen);
	*len = dlen;
	store_buffer_free(data, dlen);
	return 0;
}

int fs_chunk_delete(struct fs_chunks *c, uint64_t ino, const struct meta_chunk_ref *ref)
{
	char name[32];

	unit_name(ino, ref->index, name);
	return store_unit_delete(current(c), name, ref->version, NULL);
}

int fs_chunk_check(struct fs_chunks *c, uint64_t ino, const struct meta_chunk_ref *ref,
                   enum fs_chunk_check_mode mode, struct store_unit_health *health,
                   uint32_t *repaired, char *msg, size_t msg_len)
{
	struct store_unit_ref sref = {.version = ref->version, .data_len = ref->data_len};
	struct store_report rep = {0};
	char name[32];
	int r;

	memcpy(sref.digest, ref->digest, META_DIGEST_LEN);
	unit_name(ino, ref->index, name);
	*repaired = 0;
	if (mode == FS_CHUNK_REPAIR)
		r = store_unit_repair(current(c), name, &sref, 0, health, repaired, &rep);
	else
		r = store_unit_check(current(c), name, &sref,
		                     mode == FS_CHUNK_VERIFY_ALL ? STORE_CHECK_DATA : 0, health,
		                     &rep);
	snprintf(msg, msg_len, "%s", rep.msg);
	return r;
}

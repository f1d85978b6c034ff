/*
 * fs_chunk_* over the store (chunk.h). A chunk write is the store's
 * anchored write: one round trip, no commit entry; the inode record is the
 * commit, and readers ask only for the version and digest it names. The
 * store's identity is the fs id followed by "data", so a unit of one file
 * system cannot be passed off in another.
 *
 * Deletes (an old version after the record that replaced it, the chunks of
 * an unlinked file) may be handed to a thread of their own
 * (fs_chunks_opts.background_delete): the store's delete waits for every
 * cluster up to the deadline, so with one cluster frozen each one would
 * cost the caller the whole deadline. The thread runs up to DELETE_BATCH
 * at once; a delete it cannot queue or finish by close is left to gc
 * (versions nothing names are its job). fs_chunks.lock guards the queue.
 */
#include "chunk.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "store.h"

#define DELETE_QUEUE 4096
#define DELETE_BATCH 8

struct delete_job {
	struct fs_chunks *c;
	uint64_t ino;
	struct meta_chunk_ref ref;
};

struct fs_chunks {
	struct store *store;
	uint32_t chunk_size;
	double timeout;
	uint8_t id[META_FSID_LEN + 4];
	/* Background deletes: a ring of queued ones, the thread that runs them. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct delete_job queue[DELETE_QUEUE];
	size_t head, count;
	bool deleter_started, closing;
	double close_by; /* monotonic time after which queued deletes are dropped */
	pthread_t deleter;
	unsigned long dropped;
};

/* The store connects clusters that were down at open by itself. */
static struct store *current(struct fs_chunks *c)
{
	return c->store;
}

static void unit_name(uint64_t ino, uint32_t index, char out[32])
{
	snprintf(out, 32, "c.%016llx.%08x", (unsigned long long)ino, index);
}

static void *delete_one(void *arg)
{
	struct delete_job *j = arg;
	char name[32];

	unit_name(j->ino, j->ref.index, name);
	store_unit_delete(j->c->store, name, j->ref.version, NULL);
	return NULL;
}

static void *delete_loop(void *arg)
{
	struct fs_chunks *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		struct delete_job batch[DELETE_BATCH];
		pthread_t t[DELETE_BATCH];
		size_t k = 0;
		while (!c->count && !c->closing)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->closing && (!c->count || sc_now_monotonic() > c->close_by))
			break;
		while (k < DELETE_BATCH && c->count) {
			batch[k++] = c->queue[c->head];
			c->head = (c->head + 1) % DELETE_QUEUE;
			c->count--;
		}
		pthread_mutex_unlock(&c->lock);
		for (size_t i = 0; i < k; i++)
			if (pthread_create(&t[i], NULL, delete_one, &batch[i]) != 0) {
				delete_one(&batch[i]);
				t[i] = 0;
			}
		for (size_t i = 0; i < k; i++)
			if (t[i])
				pthread_join(t[i], NULL);
		pthread_mutex_lock(&c->lock);
	}
	c->dropped += c->count;
	c->count = 0;
	pthread_mutex_unlock(&c->lock);
	return NULL;
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
	c->timeout = o->timeout > 0 ? o->timeout : 10;
	r = store_open(&so, specs, &c->store, &serr);
	if (r < 0) {
		snprintf(err, err_len, "%s", serr.msg);
		free(c);
		return r;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	if (o->background_delete && pthread_create(&c->deleter, NULL, delete_loop, c) == 0)
		c->deleter_started = true;
	*out = c;
	return 0;
}

void fs_chunks_close(struct fs_chunks *c)
{
	if (!c)
		return;
	if (c->deleter_started) {
		/* Queued deletes get one more deadline; what is left then is gc's. */
		pthread_mutex_lock(&c->lock);
		c->closing = true;
		c->close_by = sc_now_monotonic() + c->timeout;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->deleter, NULL);
		if (c->dropped)
			sc_log_warn(
			    "%lu old chunk versions not deleted (scfs-admin gc removes them)",
			    c->dropped);
	}
	store_close(c->store);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

int fs_chunks_probe(struct fs_chunks *c)
{
	/* A short wait: the answers only refresh the store's view of the clusters. */
	return store_cluster_probe(current(c), 1.0, NULL);
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

	if (c->deleter_started) {
		pthread_mutex_lock(&c->lock);
		if (c->count < DELETE_QUEUE && !c->closing) {
			c->queue[(c->head + c->count) % DELETE_QUEUE] =
			    (struct delete_job){.c = c, .ino = ino, .ref = *ref};
			c->count++;
			pthread_cond_signal(&c->cond);
		} else {
			c->dropped++;
		}
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
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

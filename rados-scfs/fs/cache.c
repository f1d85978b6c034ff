/*
 * The chunk cache (cache.h). A list of entries, searched linearly: a mount
 * holds at most cache_size / chunk_size of them (256 for 1 GiB of 4 MiB).
 * c.lock guards the list, used, clock and every entry's pins, lru and (as
 * eviction reads it) dirty; it is taken by every function here and held
 * only for list work and the unlink/close of a dropped file.
 */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fs_cache {
	char dir[4096];
	int dirfd;
	uint64_t limit, used, clock;
	uint32_t chunk_size;
	pthread_mutex_t lock;
	struct fs_centry *head;
};

static void entry_name(uint64_t ino, uint32_t index, char out[32])
{
	snprintf(out, 32, "%016llx.%08x", (unsigned long long)ino, index);
}

int fs_cache_open(const char *dir, uint64_t limit, uint32_t chunk_size, struct fs_cache **out)
{
	struct fs_cache *c;
	DIR *d;
	struct dirent *de;
	int r;

	*out = NULL;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	c->limit = limit;
	c->chunk_size = chunk_size;
	pthread_mutex_init(&c->lock, NULL);
	c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0) {
		r = -errno;
		pthread_mutex_destroy(&c->lock);
		free(c);
		return r;
	}
	/* Leftovers of an earlier mount: never trusted, removed. */
	d = fdopendir(dup(c->dirfd));
	if (d) {
		while ((de = readdir(d)))
			if (strlen(de->d_name) == 25 && de->d_name[16] == '.')
				unlinkat(c->dirfd, de->d_name, 0);
		closedir(d);
	}
	*out = c;
	return 0;
}

static void entry_remove(struct fs_cache *c, struct fs_centry *e)
{
	char name[32];

	for (struct fs_centry **p = &c->head; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			break;
		}
	}
	entry_name(e->ino, e->index, name);
	unlinkat(c->dirfd, name, 0);
	close(e->fd);
	c->used -= c->chunk_size;
	free(e);
}

void fs_cache_close(struct fs_cache *c)
{
	if (!c)
		return;
	while (c->head)
		entry_remove(c, c->head);
	close(c->dirfd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static struct fs_centry *find_locked(struct fs_cache *c, uint64_t ino, uint32_t index)
{
	for (struct fs_centry *e = c->head; e; e = e->next)
		if (e->ino == ino && e->index == index)
			return e;
	return NULL;
}

bool fs_cache_has(struct fs_cache *c, uint64_t ino, uint32_t index)
{
	bool has;

	pthread_mutex_lock(&c->lock);
	has = find_locked(c, ino, index) != NULL;
	pthread_mutex_unlock(&c->lock);
	return has;
}

struct fs_centry *fs_cache_get(struct fs_cache *c, uint64_t ino, uint32_t index)
{
	struct fs_centry *e;

	pthread_mutex_lock(&c->lock);
	e = find_locked(c, ino, index);
	if (e) {
		e->pins++;
		e->lru = ++c->clock;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

void fs_cache_pin(struct fs_cache *c, struct fs_centry *e)
{
	pthread_mutex_lock(&c->lock);
	e->pins++;
	pthread_mutex_unlock(&c->lock);
}

void fs_cache_put(struct fs_cache *c, struct fs_centry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&c->lock);
	if (e->pins)
		e->pins--;
	pthread_mutex_unlock(&c->lock);
}

static bool evict_one(struct fs_cache *c)
{
	struct fs_centry *victim = NULL;

	for (struct fs_centry *e = c->head; e; e = e->next)
		if (!e->dirty && !e->pins && (!victim || e->lru < victim->lru))
			victim = e;
	if (!victim)
		return false;
	entry_remove(c, victim);
	return true;
}

int fs_cache_add(struct fs_cache *c, uint64_t ino, uint32_t index, struct fs_centry **out)
{
	struct fs_centry *e;
	char name[32];
	int r = 0;

	*out = NULL;
	pthread_mutex_lock(&c->lock);
	while (c->used + c->chunk_size > c->limit)
		if (!evict_one(c)) {
			r = -ENOSPC;
			goto out;
		}
	e = calloc(1, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	entry_name(ino, index, name);
	e->fd = openat(c->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (e->fd < 0) {
		r = -errno;
		free(e);
		goto out;
	}
	e->ino = ino;
	e->index = index;
	e->lru = ++c->clock;
	e->pins = 1;
	e->next = c->head;
	c->head = e;
	c->used += c->chunk_size;
	*out = e;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

void fs_cache_mark(struct fs_cache *c, struct fs_centry *e, bool dirty, uint64_t version)
{
	pthread_mutex_lock(&c->lock);
	e->dirty = dirty;
	e->version = version;
	pthread_mutex_unlock(&c->lock);
}

void fs_cache_drop(struct fs_cache *c, struct fs_centry *e)
{
	pthread_mutex_lock(&c->lock);
	entry_remove(c, e);
	pthread_mutex_unlock(&c->lock);
}

void fs_cache_drop_from(struct fs_cache *c, uint64_t ino, uint32_t first)
{
	struct fs_centry *e, *next;

	pthread_mutex_lock(&c->lock);
	for (e = c->head; e; e = next) {
		next = e->next;
		if (e->ino == ino && e->index >= first)
			entry_remove(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

void fs_cache_drop_ino(struct fs_cache *c, uint64_t ino)
{
	fs_cache_drop_from(c, ino, 0);
}

size_t fs_cache_dirty_of(struct fs_cache *c, uint64_t ino, struct fs_centry **out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (struct fs_centry *e = c->head; e; e = e->next) {
		if (e->ino != ino || !e->dirty)
			continue;
		if (n < max) {
			e->pins++;
			out[n] = e;
		}
		n++;
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

void fs_cache_usage(struct fs_cache *c, uint64_t *used, uint64_t *dirty, uint64_t *limit)
{
	pthread_mutex_lock(&c->lock);
	*used = c->used;
	*limit = c->limit;
	*dirty = 0;
	for (const struct fs_centry *e = c->head; e; e = e->next)
		if (e->dirty)
			*dirty += c->chunk_size;
	pthread_mutex_unlock(&c->lock);
}

/*
 * The chunk cache (cache.h). A list of entries, searched linearly: a mount
 * holds at most cache_size / chunk_size of them (256 for 1 GiB of 4 MiB).
 */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
	c->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0) {
		r = -errno;
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

void fs_cache_close(struct fs_cache *c)
{
	if (!c)
		return;
	while (c->head)
		fs_cache_drop(c, c->head);
	close(c->dirfd);
	free(c);
}

struct fs_centry *fs_cache_find(struct fs_cache *c, uint64_t ino, uint32_t index)
{
	for (struct fs_centry *e = c->head; e; e = e->next)
		if (e->ino == ino && e->index == index)
			return e;
	return NULL;
}

static bool evict_one(struct fs_cache *c)
{
	struct fs_centry *victim = NULL;

	for (struct fs_centry *e = c->head; e; e = e->next)
		if (!e->dirty && (!victim || e->lru < victim->lru))
			victim = e;
	if (!victim)
		return false;
	fs_cache_drop(c, victim);
	return true;
}

int fs_cache_add(struct fs_cache *c, uint64_t ino, uint32_t index, struct fs_centry **out)
{
	struct fs_centry *e;
	char name[32];
	int r;

	*out = NULL;
	while (c->used + c->chunk_size > c->limit)
		if (!evict_one(c))
			return -ENOSPC;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	entry_name(ino, index, name);
	e->fd = openat(c->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (e->fd < 0) {
		r = -errno;
		free(e);
		return r;
	}
	e->ino = ino;
	e->index = index;
	e->lru = ++c->clock;
	e->next = c->head;
	c->head = e;
	c->used += c->chunk_size;
	*out = e;
	return 0;
}

void fs_cache_touch(struct fs_cache *c, struct fs_centry *e)
{
	e->lru = ++c->clock;
}

void fs_cache_drop(struct fs_cache *c, struct fs_centry *e)
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

void fs_cache_drop_from(struct fs_cache *c, uint64_t ino, uint32_t first)
{
	struct fs_centry *e = c->head, *next;

	for (; e; e = next) {
		next = e->next;
		if (e->ino == ino && e->index >= first)
			fs_cache_drop(c, e);
	}
}

void fs_cache_drop_ino(struct fs_cache *c, uint64_t ino)
{
	struct fs_centry *e = c->head, *next;

	for (; e; e = next) {
		next = e->next;
		if (e->ino == ino)
			fs_cache_drop(c, e);
	}
}

size_t fs_cache_dirty_of(struct fs_cache *c, uint64_t ino, struct fs_centry **out, size_t max)
{
	size_t n = 0;

	for (struct fs_centry *e = c->head; e; e = e->next) {
		if (e->ino != ino || !e->dirty)
			continue;
		if (n < max)
			out[n] = e;
		n++;
	}
	return n;
}

void fs_cache_usage(const struct fs_cache *c, uint64_t *used, uint64_t *dirty, uint64_t *limit)
{
	*used = c->used;
	*limit = c->limit;
	*dirty = 0;
	for (const struct fs_centry *e = c->head; e; e = e->next)
		if (e->dirty)
			*dirty += c->chunk_size;
}

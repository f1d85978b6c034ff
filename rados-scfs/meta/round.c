/*
 * The quorum round (meta_internal.h): one RADOS op per connected cluster,
 * submitted asynchronously, waited for until enough answered or the
 * deadline passed. Every slot's ops and iterators are released only when
 * the round's last reference goes, which may be a late completion.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "common/util.h"
#include "meta_internal.h"

struct round *round_new(void)
{
	struct round *rd = calloc(1, sizeof(*rd));
	pthread_condattr_t attr;

	if (!rd)
		return NULL;
	rd->refs = 1;
	pthread_mutex_init(&rd->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rd->cond, &attr);
	pthread_condattr_destroy(&attr);
	return rd;
}

static void round_free(struct round *rd)
{
	for (unsigned i = 0; i < rd->count; i++) {
		struct round_slot *s = &rd->s[i];
		if (s->iter)
			rados_omap_get_end(s->iter);
		if (s->wop)
			rados_release_write_op(s->wop);
		if (s->rop)
			rados_release_read_op(s->rop);
	}
	pthread_mutex_destroy(&rd->lock);
	pthread_cond_destroy(&rd->cond);
	free(rd);
}

void round_put(struct round *rd)
{
	bool last;

	if (!rd)
		return;
	pthread_mutex_lock(&rd->lock);
	last = --rd->refs == 0;
	pthread_mutex_unlock(&rd->lock);
	if (last)
		round_free(rd);
}

static void round_complete(rados_completion_t c, void *arg)
{
	struct round_slot *s = arg;
	struct round *rd = s->round;
	int r = rados_aio_get_return_value(c);
	bool last;

	rados_aio_release(c);
	pthread_mutex_lock(&rd->lock);
	s->r = r;
	s->done = true;
	pthread_cond_broadcast(&rd->cond);
	last = --rd->refs == 0;
	pthread_mutex_unlock(&rd->lock);
	if (last)
		round_free(rd);
}

struct round_slot *round_slot_add(struct round *rd, unsigned i)
{
	struct round_slot *s;

	if (rd->count == META_MAX_CLUSTERS)
		return NULL;
	s = &rd->s[rd->count++];
	s->round = rd;
	s->cluster = i;
	s->done = true; /* until submitted */
	s->r = -ENOTCONN;
	return s;
}

static int slot_begin(struct round_slot *s, rados_completion_t *c)
{
	struct round *rd = s->round;
	int r = rados_aio_create_completion2(s, round_complete, c);

	if (r < 0) {
		s->r = r;
		return r;
	}
	pthread_mutex_lock(&rd->lock);
	rd->refs++;
	s->submitted = true;
	s->done = false;
	pthread_mutex_unlock(&rd->lock);
	return 0;
}

static void slot_failed(struct round_slot *s, rados_completion_t c, int r)
{
	struct round *rd = s->round;

	rados_aio_release(c);
	pthread_mutex_lock(&rd->lock);
	s->r = r;
	s->done = true;
	rd->refs--;
	pthread_mutex_unlock(&rd->lock);
}

int round_submit_write(struct round_slot *s, struct meta *m, const char *oid, rados_write_op_t op)
{
	rados_completion_t c;
	int r;

	s->wop = op;
	r = slot_begin(s, &c);
	if (r < 0)
		return r;
	r = rados_aio_write_op_operate(op, m->c[s->cluster].io, c, oid, NULL, 0);
	if (r < 0)
		slot_failed(s, c, r);
	return r;
}

int round_submit_read(struct round_slot *s, struct meta *m, const char *oid, rados_read_op_t op)
{
	rados_completion_t c;
	int r;

	s->rop = op;
	r = slot_begin(s, &c);
	if (r < 0)
		return r;
	r = rados_aio_read_op_operate(op, m->c[s->cluster].io, c, oid, 0);
	if (r < 0)
		slot_failed(s, c, r);
	return r;
}

int round_submit_remove(struct round_slot *s, struct meta *m, const char *oid)
{
	rados_completion_t c;
	int r = slot_begin(s, &c);

	if (r < 0)
		return r;
	r = rados_aio_remove(m->c[s->cluster].io, oid, c);
	if (r < 0)
		slot_failed(s, c, r);
	return r;
}

void round_wait(struct round *rd, unsigned need, double deadline)
{
	struct timespec ts;

	ts.tv_sec = (time_t)deadline;
	ts.tv_nsec = (long)((deadline - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&rd->lock);
	for (;;) {
		unsigned ok = 0, done = 0;
		for (unsigned i = 0; i < rd->count; i++) {
			if (rd->s[i].done) {
				done++;
				if (rd->s[i].r >= 0)
					ok++;
			}
		}
		if (ok >= need || done == rd->count)
			break;
		if (pthread_cond_timedwait(&rd->cond, &rd->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&rd->lock);
}

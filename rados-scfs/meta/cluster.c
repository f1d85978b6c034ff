/*
 * The metadata layer's clusters (meta.h): connecting all n in parallel, the
 * superblock objects, the mount lease and the clusters' space. The lease is
 * a RADOS exclusive lock with a duration on scfs.lease, taken on n-f
 * clusters; a mount that dies leaves it to expire (META_LEASE_SECONDS).
 *
 * The lease's cookie is random per acquisition, so a lock carrying our
 * cookie is ours whatever client instance holds it: an attempt that timed
 * out on our side but was applied, then tried again; our own client after
 * it got a new global id from a restarted or re-hunted monitor; a replaced
 * connection. Such a lock is broken and taken afresh, never taken for a
 * foreign mount's.
 *
 * meta.lock guards the list of retired connections (meta_reconnect runs
 * one thread per cluster); a connection slot's io is published with an
 * atomic store after its rados handle, and read with an atomic load.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/cluster.h"
#include "common/crypto.h"
#include "common/util.h"
#include "meta_internal.h"

struct connect_job {
	struct meta *m;
	const struct meta_cluster_spec *spec;
	unsigned index;
	int r;
	struct sc_err err;
};

static void *connect_one(void *arg)
{
	struct connect_job *j = arg;
	struct meta *m = j->m;
	struct meta_conn *c = &m->c[j->index];
	char name[80] = "client.admin";
	rados_t rados;
	rados_ioctx_t io;
	struct sc_cluster_opts o = {
	    .cluster = j->spec->cluster,
	    .conf_dir = j->spec->conf_dir,
	    .connect_timeout = m->opts.connect_timeout,
	    .op_timeout = m->opts.op_timeout,
	};

	if (j->spec->client_id &&
	    sc_cluster_name_from_id(j->spec->client_id, name, sizeof(name)) < 0) {
		sc_err_set(&j->err, "cluster %s: invalid --id '%s'", j->spec->cluster,
		           j->spec->client_id);
		j->r = -EINVAL;
		return NULL;
	}
	o.name = name;
	j->r = sc_cluster_connect(&o, &rados, &j->err);
	if (j->r < 0)
		return NULL;
	j->r = rados_ioctx_create(rados, m->pool, &io);
	if (j->r < 0) {
		sc_err_set(&j->err, "cluster %s: pool %s: %s", j->spec->cluster, m->pool,
		           strerror(-j->r));
		rados_shutdown(rados);
		return NULL;
	}
	rados_ioctx_set_namespace(io, m->ns);
	/* Published last: a thread that sees the ioctx sees it ready. A
	 * connection this replaces is kept until meta_close (other threads may
	 * still be using it); with no room left to keep it, it stays. */
	pthread_mutex_lock(&m->lock);
	if (c->io && m->retired_count == SC_ARRAY_SIZE(m->retired)) {
		pthread_mutex_unlock(&m->lock);
		rados_ioctx_destroy(io);
		rados_shutdown(rados);
		j->r = -ENOSPC;
		return NULL;
	}
	if (c->io)
		m->retired[m->retired_count++] = *c;
	__atomic_store_n(&c->rados, rados, __ATOMIC_RELEASE);
	__atomic_store_n(&c->io, io, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* Stats scfs.sb on every connected cluster; bit i set when cluster i did not answer. */
static uint32_t probe_failed(struct meta *m)
{
	struct round *rd = round_new();
	uint32_t failed = 0;

	if (!rd)
		return 0;
	for (unsigned i = 0; i < m->opts.n; i++) {
		struct round_slot *s;
		rados_read_op_t op;
		if (!m->c[i].io)
			continue;
		s = round_slot_add(rd, i);
		op = rados_create_read_op();
		if (!s || !op) {
			if (op)
				rados_release_read_op(op);
			continue;
		}
		/* No size or time asked for: nothing of ours for a late answer to write. */
		rados_read_op_stat(op, NULL, NULL, &s->prval);
		round_submit_read(s, m, META_SB_OBJECT, op);
	}
	round_wait(rd, rd->count, sc_now_monotonic() + m->opts.op_timeout);
	pthread_mutex_lock(&rd->lock);
	for (unsigned j = 0; j < rd->count; j++)
		if (!rd->s[j].done || (rd->s[j].r < 0 && rd->s[j].r != -ENOENT))
			failed |= 1u << rd->s[j].cluster;
	pthread_mutex_unlock(&rd->lock);
	round_put(rd);
	return failed;
}

int meta_reconnect(struct meta *m, const struct meta_cluster_spec *specs)
{
	struct connect_job jobs[META_MAX_CLUSTERS];
	pthread_t threads[META_MAX_CLUSTERS];
	uint32_t failed = probe_failed(m);
	int connected = 0;

	for (unsigned i = 0; i < m->opts.n; i++) {
		bool missing = !__atomic_load_n(&m->c[i].io, __ATOMIC_ACQUIRE);
		threads[i] = 0;
		m->probe_failures[i] = (failed & (1u << i)) ? m->probe_failures[i] + 1 : 0;
		/* Not connected, or two probes in a row unanswered: a fresh
		 * connection, in parallel (each may wait the connect timeout). */
		if (!missing && m->probe_failures[i] < 2)
			continue;
		jobs[i] = (struct connect_job){.m = m, .spec = &specs[i], .index = i, .r = -EAGAIN};
		if (pthread_create(&threads[i], NULL, connect_one, &jobs[i]) != 0)
			threads[i] = 0;
	}
	for (unsigned i = 0; i < m->opts.n; i++) {
		if (!threads[i])
			continue;
		pthread_join(threads[i], NULL);
		if (jobs[i].r == 0) {
			connected++;
			m->probe_failures[i] = 0;
		}
	}
	return connected;
}

int meta_open(const struct meta_opts *opts, const struct meta_cluster_spec *specs,
              struct meta **out, struct sc_err *err)
{
	struct connect_job jobs[META_MAX_CLUSTERS];
	pthread_t threads[META_MAX_CLUSTERS];
	struct meta *m;
	unsigned up = 0;
	char failed[1024] = "";
	size_t fl = 0;

	*out = NULL;
	if (opts->n == 0 || opts->n > META_MAX_CLUSTERS || opts->n <= 2 * opts->f) {
		sc_err_set(err, "%u clusters cannot tolerate %u faults", opts->n, opts->f);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->opts = *opts;
	if (m->opts.op_timeout <= 0)
		m->opts.op_timeout = 10;
	if (m->opts.connect_timeout <= 0)
		m->opts.connect_timeout = 10;
	snprintf(m->pool, sizeof(m->pool), "%s", opts->pool ? opts->pool : "scfs");
	snprintf(m->ns, sizeof(m->ns), "%s", opts->rados_ns ? opts->rados_ns : "");
	pthread_mutex_init(&m->lock, NULL);
	for (unsigned i = 0; i < opts->n; i++) {
		snprintf(m->c[i].name, sizeof(m->c[i].name), "%s", specs[i].cluster);
		jobs[i] = (struct connect_job){.m = m, .spec = &specs[i], .index = i};
		if (pthread_create(&threads[i], NULL, connect_one, &jobs[i]) != 0) {
			jobs[i].r = -EAGAIN;
			threads[i] = 0;
		}
	}
	for (unsigned i = 0; i < opts->n; i++) {
		if (threads[i])
			pthread_join(threads[i], NULL);
		if (jobs[i].r == 0) {
			up++;
		} else if (fl < sizeof(failed)) {
			fl += (size_t)snprintf(failed + fl, sizeof(failed) - fl, "%s%s",
			                       fl ? "; " : "", jobs[i].err.msg);
		}
	}
	if (up < opts->n - opts->f) {
		sc_err_set(err, "only %u of %u clusters reachable, need %u: %s", up, opts->n,
		           opts->n - opts->f, failed);
		meta_close(m);
		return -EHOSTUNREACH;
	}
	if (failed[0])
		sc_err_set(err, "%s", failed);
	else
		sc_err_set(err, "%s", "");
	*out = m;
	return 0;
}

void meta_close(struct meta *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->opts.n; i++) {
		if (m->c[i].io) {
			rados_aio_flush(m->c[i].io);
			rados_ioctx_destroy(m->c[i].io);
		}
		if (m->c[i].rados)
			rados_shutdown(m->c[i].rados);
	}
	for (unsigned i = 0; i < m->retired_count; i++) {
		rados_ioctx_destroy(m->retired[i].io);
		rados_shutdown(m->retired[i].rados);
	}
	pthread_mutex_destroy(&m->lock);
	sc_wipe(&m->keys, sizeof(m->keys));
	free(m);
}

unsigned meta_n(const struct meta *m)
{
	return m->opts.n;
}

const char *meta_cluster_name(const struct meta *m, unsigned i)
{
	return m->c[i].name;
}

bool meta_cluster_connected(const struct meta *m, unsigned i)
{
	return m->c[i].io != NULL;
}

rados_t meta_cluster_rados(struct meta *m, unsigned i)
{
	return m->c[i].rados;
}

int meta_cluster_fsid(struct meta *m, unsigned i, char *buf, size_t len)
{
	int r;

	if (i >= m->opts.n || !m->c[i].rados)
		return -ENOTCONN;
	r = rados_cluster_fsid(m->c[i].rados, buf, len);
	return r < 0 ? r : 0;
}

int meta_cluster_space(struct meta *m, unsigned i, uint64_t *avail_kb, uint64_t *total_kb)
{
	struct rados_cluster_stat_t st;
	int r;

	if (i >= m->opts.n || !m->c[i].rados)
		return -ENOTCONN;
	r = rados_cluster_stat(m->c[i].rados, &st);
	if (r < 0)
		return r;
	*avail_kb = st.kb_avail;
	*total_kb = st.kb;
	return 0;
}

void meta_set_faults(struct meta *m, unsigned f)
{
	if (m->opts.n > 2 * f)
		m->opts.f = f;
}

void meta_set_keys(struct meta *m, const struct meta_keys *keys)
{
	m->keys = *keys;
}

int meta_sb_write(struct meta *m, unsigned i, const uint8_t *buf, size_t len)
{
	rados_write_op_t op;
	int r;

	if (!m->c[i].io)
		return -ENOTCONN;
	op = rados_create_write_op();
	if (!op)
		return -ENOMEM;
	rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	rados_write_op_write_full(op, (const char *)buf, len);
	r = rados_write_op_operate(op, m->c[i].io, META_SB_OBJECT, NULL, 0);
	rados_release_write_op(op);
	return r;
}

int meta_sb_read(struct meta *m, unsigned i, uint8_t **buf, size_t *len)
{
	const size_t max = 8192;
	uint8_t *b;
	int r;

	*buf = NULL;
	if (!m->c[i].io)
		return -ENOTCONN;
	b = malloc(max);
	if (!b)
		return -ENOMEM;
	r = rados_read(m->c[i].io, META_SB_OBJECT, (char *)b, max, 0);
	if (r < 0) {
		free(b);
		return r;
	}
	*buf = b;
	*len = (size_t)r;
	return 0;
}

/* ---- the mount lease ---- */
struct lease_job {
	struct meta *m;
	unsigned i;
	int op; /* 0 acquire, 1 renew, 2 release, 3 break */
	int r;
	char holder[256];
};

/* The lockers of the lease on C: how many (or -errno), names and cookies NUL-separated. */
struct lockers {
	char clients[1024], cookies[1024];
};

static ssize_t lease_lockers(struct meta_conn *c, struct lockers *l)
{
	char tag[64], addrs[1024];
	size_t tl = sizeof(tag), cl = sizeof(l->clients), kl = sizeof(l->cookies),
	       al = sizeof(addrs);
	int excl;
	ssize_t n = rados_list_lockers(c->io, META_LEASE_OBJECT, META_LEASE_NAME, &excl, tag, &tl,
	                               l->clients, &cl, l->cookies, &kl, addrs, &al);

	return n == -ENOENT ? 0 : n;
}

/*
 * Breaks every lock on C that carries our cookie (held by an earlier client
 * instance of ours). Returns how many it broke, -EBUSY when some other
 * cookie holds it, or -errno.
 */
static int lease_break_ours(struct meta_conn *c)
{
	struct lockers l;
	ssize_t n = lease_lockers(c, &l);
	int broken = 0;

	if (n < 0)
		return (int)n;
	for (ssize_t k = 0, cp = 0, kp = 0; k < n; k++) {
		if (strcmp(l.cookies + kp, c->lease_cookie) != 0)
			return -EBUSY;
		cp += (ssize_t)strlen(l.clients + cp) + 1;
		kp += (ssize_t)strlen(l.cookies + kp) + 1;
	}
	for (ssize_t k = 0, cp = 0, kp = 0; k < n; k++) {
		int r = rados_break_lock(c->io, META_LEASE_OBJECT, META_LEASE_NAME, l.clients + cp,
		                         l.cookies + kp);
		if (r == 0 || r == -ENOENT)
			broken++;
		cp += (ssize_t)strlen(l.clients + cp) + 1;
		kp += (ssize_t)strlen(l.cookies + kp) + 1;
	}
	return broken;
}

/*
 * Names whoever holds the lease on cluster J->i: the description kept in
 * the xattr "holder" ("COOKIE host H pid P") when its cookie is the
 * holder's, else the client and address librados lists.
 */
static void lease_holder(struct lease_job *j)
{
	struct meta_conn *c = &j->m->c[j->i];
	char tag[64], clients[256], cookies[256], addrs[256], desc[256] = "";
	size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies), al = sizeof(addrs);
	int excl, dl;
	ssize_t n = rados_list_lockers(c->io, META_LEASE_OBJECT, META_LEASE_NAME, &excl, tag, &tl,
	                               clients, &cl, cookies, &kl, addrs, &al);
	size_t ck;

	if (n <= 0)
		return;
	dl = rados_getxattr(c->io, META_LEASE_OBJECT, "holder", desc, sizeof(desc) - 1);
	desc[dl > 0 ? dl : 0] = 0;
	ck = strlen(cookies);
	if (ck && strncmp(desc, cookies, ck) == 0 && desc[ck] == ' ')
		snprintf(j->holder, sizeof(j->holder), "%s", desc + ck + 1);
	else
		snprintf(j->holder, sizeof(j->holder), "%.120s at %.120s", clients, addrs);
}

/* Takes or renews the lease on C with our cookie; 0, -EBUSY (another holds it) or -errno. */
static int lease_take(struct lease_job *j, struct meta_conn *c)
{
	struct timeval dur = {META_LEASE_SECONDS, 0};
	char host[64] = "?", desc[200], xattr[256];
	int r;

	gethostname(host, sizeof(host) - 1);
	snprintf(desc, sizeof(desc), "host %s pid %d", host, (int)getpid());
	/* RENEW: renews a lock of this client and cookie, takes a free one. */
	r = rados_lock_exclusive(c->io, META_LEASE_OBJECT, META_LEASE_NAME, c->lease_cookie, desc,
	                         &dur, LIBRADOS_LOCK_FLAG_RENEW);
	if (r == -EEXIST)
		r = 0;
	if (r == -EBUSY && lease_break_ours(c) > 0) {
		r = rados_lock_exclusive(c->io, META_LEASE_OBJECT, META_LEASE_NAME, c->lease_cookie,
		                         desc, &dur, LIBRADOS_LOCK_FLAG_RENEW);
		if (r == -EEXIST)
			r = 0;
	}
	if (r == 0 && (j->op == 0 || !c->leased)) {
		snprintf(xattr, sizeof(xattr), "%s %s", c->lease_cookie, desc);
		rados_setxattr(c->io, META_LEASE_OBJECT, "holder", xattr, strlen(xattr));
	}
	return r;
}

static void *lease_one(void *arg)
{
	struct lease_job *j = arg;
	struct meta_conn *c = &j->m->c[j->i];
	struct lockers l;
	ssize_t n;

	switch (j->op) {
	case 0:
	case 1:
		j->r = lease_take(j, c);
		if (j->r == -EBUSY)
			lease_holder(j);
		break;
	case 2:
		/* Also where our attempt timed out: it may have been applied. */
		j->r = rados_unlock(c->io, META_LEASE_OBJECT, META_LEASE_NAME, c->lease_cookie);
		if (j->r == -ENOENT) {
			int b = lease_break_ours(c);
			j->r = b < 0 ? b : 0;
		}
		break;
	case 3:
		lease_holder(j);
		n = lease_lockers(c, &l);
		j->r = n < 0 ? (int)n : 0;
		/* Lists are NUL-separated, one entry per locker. */
		for (ssize_t k = 0, cp = 0, kp = 0; k < n; k++) {
			int r = rados_break_lock(c->io, META_LEASE_OBJECT, META_LEASE_NAME,
			                         l.clients + cp, l.cookies + kp);
			if (r == 0)
				j->r++;
			cp += (ssize_t)strlen(l.clients + cp) + 1;
			kp += (ssize_t)strlen(l.cookies + kp) + 1;
		}
		break;
	}
	return NULL;
}

static unsigned lease_round(struct meta *m, int op, struct lease_job *jobs)
{
	pthread_t t[META_MAX_CLUSTERS];
	unsigned ok = 0;

	for (unsigned i = 0; i < m->opts.n; i++) {
		jobs[i] = (struct lease_job){.m = m, .i = i, .op = op, .r = -ENOTCONN};
		t[i] = 0;
		if (__atomic_load_n(&m->c[i].io, __ATOMIC_ACQUIRE) &&
		    (op == 3 || m->c[i].lease_cookie[0]) &&
		    pthread_create(&t[i], NULL, lease_one, &jobs[i]) != 0)
			t[i] = 0;
	}
	for (unsigned i = 0; i < m->opts.n; i++) {
		if (t[i])
			pthread_join(t[i], NULL);
		if (jobs[i].r >= 0 && t[i])
			ok++;
	}
	return ok;
}

/*
 * The lease is ours once n-f clusters granted it: two mounts cannot both
 * hold n-f of n. A cluster still held by someone else (a lock a dead mount
 * left, whose release failed) is taken by a later renewal once it expires.
 */
int meta_lease_acquire(struct meta *m, char *holder, size_t holder_len)
{
	struct lease_job jobs[META_MAX_CLUSTERS];
	uint8_t rnd[16];
	unsigned ok;

	sc_random_bytes(rnd, sizeof(rnd));
	for (unsigned i = 0; i < m->opts.n; i++)
		sc_hex_encode(rnd, sizeof(rnd), m->c[i].lease_cookie);
	ok = lease_round(m, 0, jobs);
	for (unsigned i = 0; i < m->opts.n; i++)
		m->c[i].leased = jobs[i].r == 0;
	if (ok >= m->opts.n - m->opts.f)
		return 0;
	for (unsigned i = 0; i < m->opts.n; i++) {
		if (jobs[i].r == -EBUSY) {
			snprintf(holder, holder_len, "%s (lease on cluster %s)",
			         jobs[i].holder[0] ? jobs[i].holder : "another mount",
			         m->c[i].name);
			meta_lease_release(m);
			return -EBUSY;
		}
	}
	meta_lease_release(m);
	snprintf(holder, holder_len, "lease taken on %u clusters only", ok);
	return -ETIMEDOUT;
}

int meta_lease_renew(struct meta *m)
{
	struct lease_job jobs[META_MAX_CLUSTERS];
	unsigned ok = lease_round(m, 1, jobs), busy = 0;

	for (unsigned i = 0; i < m->opts.n; i++) {
		if (jobs[i].r == 0)
			m->c[i].leased = true;
		if (jobs[i].r == -EBUSY) {
			m->c[i].leased = false;
			busy++;
		}
	}
	if (ok >= m->opts.n - m->opts.f)
		return 0;
	return busy > m->opts.f ? -EBUSY : -ETIMEDOUT; /* someone broke it and took it */
}

void meta_lease_release(struct meta *m)
{
	struct lease_job jobs[META_MAX_CLUSTERS];

	lease_round(m, 2, jobs);
	for (unsigned i = 0; i < m->opts.n; i++) {
		m->c[i].leased = false;
		m->c[i].lease_cookie[0] = 0;
	}
}

int meta_lease_break(struct meta *m, char *holder, size_t holder_len)
{
	struct lease_job jobs[META_MAX_CLUSTERS];
	int broken = 0;

	holder[0] = 0;
	lease_round(m, 3, jobs);
	for (unsigned i = 0; i < m->opts.n; i++) {
		if (jobs[i].r > 0)
			broken += jobs[i].r;
		if (!holder[0] && jobs[i].holder[0])
			snprintf(holder, holder_len, "%s", jobs[i].holder);
	}
	return broken;
}

int meta_list_objects(struct meta *m, unsigned i, void (*fn)(const char *oid, void *arg), void *arg)
{
	rados_list_ctx_t ctx;
	const char *oid;
	int r;

	if (i >= m->opts.n || !m->c[i].io)
		return -ENOTCONN;
	r = rados_nobjects_list_open(m->c[i].io, &ctx);
	if (r < 0)
		return r;
	while ((r = rados_nobjects_list_next(ctx, &oid, NULL, NULL)) == 0)
		fn(oid, arg);
	rados_nobjects_list_close(ctx);
	return r == -ENOENT ? 0 : r;
}

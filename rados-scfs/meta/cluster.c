/*
 * The metadata layer's clusters (meta.h): connecting all n in parallel, the
 * superblock objects, the mount lease and the clusters' space. The lease is
 * a RADOS exclusive lock with a duration on scfs.lease, taken on n-f
 * clusters; a mount that dies leaves it to expire (META_LEASE_SECONDS).
 */
#include <errno.h>
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
	j->r = sc_cluster_connect(&o, &c->rados, &j->err);
	if (j->r < 0)
		return NULL;
	j->r = rados_ioctx_create(c->rados, m->pool, &c->io);
	if (j->r < 0) {
		sc_err_set(&j->err, "cluster %s: pool %s: %s", j->spec->cluster, m->pool,
		           strerror(-j->r));
		c->io = NULL;
		rados_shutdown(c->rados);
		c->rados = NULL;
		return NULL;
	}
	rados_ioctx_set_namespace(c->io, m->ns);
	return NULL;
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

/* Names whoever holds the lease on cluster J->i (the description they gave). */
static void lease_holder(struct lease_job *j)
{
	struct meta_conn *c = &j->m->c[j->i];
	char tag[64], clients[256], cookies[256], addrs[256];
	size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies), al = sizeof(addrs);
	int excl;
	ssize_t n = rados_list_lockers(c->io, META_LEASE_OBJECT, META_LEASE_NAME, &excl, tag, &tl,
	                               clients, &cl, cookies, &kl, addrs, &al);

	if (n > 0) {
		/* The description is not in list_lockers; we keep it in an xattr too. */
		char desc[200] = "";
		if (rados_getxattr(c->io, META_LEASE_OBJECT, "holder", desc, sizeof(desc) - 1) > 0)
			snprintf(j->holder, sizeof(j->holder), "%s", desc);
		else
			snprintf(j->holder, sizeof(j->holder), "%.120s at %.120s", clients, addrs);
	}
}

static void *lease_one(void *arg)
{
	struct lease_job *j = arg;
	struct meta_conn *c = &j->m->c[j->i];
	struct timeval dur = {META_LEASE_SECONDS, 0};
	char host[64] = "?", desc[200];
	ssize_t n;

	switch (j->op) {
	case 0:
	case 1:
		gethostname(host, sizeof(host) - 1);
		snprintf(desc, sizeof(desc), "host %s pid %d", host, (int)getpid());
		j->r =
		    rados_lock_exclusive(c->io, META_LEASE_OBJECT, META_LEASE_NAME, c->lease_cookie,
		                         desc, &dur, j->op == 1 ? LIBRADOS_LOCK_FLAG_RENEW : 0);
		if (j->r == -EEXIST) /* ours already */
			j->r = 0;
		if (j->r == 0 && j->op == 0)
			rados_setxattr(c->io, META_LEASE_OBJECT, "holder", desc, strlen(desc));
		if (j->r == -EBUSY)
			lease_holder(j);
		break;
	case 2:
		j->r = rados_unlock(c->io, META_LEASE_OBJECT, META_LEASE_NAME, c->lease_cookie);
		break;
	case 3: {
		char tag[64], clients[1024], cookies[1024], addrs[1024];
		size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies),
		       al = sizeof(addrs);
		int excl;
		lease_holder(j);
		n = rados_list_lockers(c->io, META_LEASE_OBJECT, META_LEASE_NAME, &excl, tag, &tl,
		                       clients, &cl, cookies, &kl, addrs, &al);
		j->r = n < 0 ? (int)n : 0;
		if (n == -ENOENT)
			j->r = 0;
		/* Lists are NUL-separated, one entry per locker. */
		for (ssize_t k = 0, cp = 0, kp = 0; k < n; k++) {
			int r = rados_break_lock(c->io, META_LEASE_OBJECT, META_LEASE_NAME,
			                         clients + cp, cookies + kp);
			if (r == 0)
				j->r++;
			cp += (ssize_t)strlen(clients + cp) + 1;
			kp += (ssize_t)strlen(cookies + kp) + 1;
		}
		break;
	}
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
		if (m->c[i].io && (op != 2 || m->c[i].leased) &&
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
	for (unsigned i = 0; i < m->opts.n; i++) {
		if (jobs[i].r == -EBUSY) {
			snprintf(holder, holder_len, "%s (lease on cluster %s)",
			         jobs[i].holder[0] ? jobs[i].holder : "another mount",
			         m->c[i].name);
			meta_lease_release(m);
			return -EBUSY;
		}
	}
	if (ok < m->opts.n - m->opts.f) {
		meta_lease_release(m);
		snprintf(holder, holder_len, "lease taken on %u clusters only", ok);
		return -ETIMEDOUT;
	}
	return 0;
}

int meta_lease_renew(struct meta *m)
{
	struct lease_job jobs[META_MAX_CLUSTERS];
	unsigned ok = lease_round(m, 1, jobs);

	for (unsigned i = 0; i < m->opts.n; i++)
		if (jobs[i].r == 0)
			m->c[i].leased = true;
	for (unsigned i = 0; i < m->opts.n; i++)
		if (jobs[i].r == -EBUSY)
			return -EBUSY; /* someone broke it and took it */
	return ok >= m->opts.n - m->opts.f ? 0 : -ETIMEDOUT;
}

void meta_lease_release(struct meta *m)
{
	struct lease_job jobs[META_MAX_CLUSTERS];

	lease_round(m, 2, jobs);
	for (unsigned i = 0; i < m->opts.n; i++)
		m->c[i].leased = false;
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

/*
 * Connect to a Ceph cluster by name, as ceph-fuse and rbd-mirror do, with the
 * timeouts set before rados_connect so that a dead cluster costs at most
 * client_mount_timeout. Every failure is turned into one line naming the
 * cluster and what is wrong; librados's own chatter on stderr is switched off.
 *
 * A librados client only asks the monitor for a newer OSD map when an op has
 * waited longer than objecter_timeout (10 s by default, looked at every
 * objecter_tick_interval, 5 s). With an op timeout shorter than that, every
 * op is cancelled before it counts as late: a client that missed the map of
 * a restarted OSD (a new address) keeps sending to the dead one for ever.
 * Both are set below a third of the op timeout.
 */
#include "common/cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CONNECT_TIMEOUT 10.0
#define DEFAULT_OP_TIMEOUT 30.0

int sc_cluster_name_valid(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > SC_CLUSTER_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return -EINVAL;
	}
	return 0;
}

int sc_cluster_name_from_id(const char *id, char *buf, size_t len)
{
	int n;

	if (!id || !id[0] || strchr(id, '/'))
		return -EINVAL;
	n = snprintf(buf, len, "client.%s", id);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

/* Does the keyring at PATH hold a section "[ENTITY]"? 0, -ENOENT (no such key) or -errno. */
static int keyring_has_entity(const char *path, const char *entity)
{
	char line[512], want[300];
	FILE *f = fopen(path, "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "[%s]", entity);
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, "\r\n");
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		if (strcmp(p, want) == 0) {
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

static int set_option(rados_t rados, const char *option, const char *value, const char *cluster,
                      struct sc_err *err)
{
	int r = rados_conf_set(rados, option, value);

	if (r < 0)
		sc_err_set(err, "cluster %s: cannot set %s=%s: %s", cluster, option, value,
		           strerror(-r));
	return r;
}

static int set_timeout(rados_t rados, const char *option, double seconds, const char *cluster,
                       struct sc_err *err)
{
	char value[32];

	snprintf(value, sizeof(value), "%g", seconds);
	return set_option(rados, option, value, cluster, err);
}

int sc_cluster_connect(const struct sc_cluster_opts *opts, rados_t *out, struct sc_err *err)
{
	const char *cluster = opts->cluster ? opts->cluster : "ceph";
	const char *entity = opts->name ? opts->name : "client.admin";
	const char *dir = opts->conf_dir ? opts->conf_dir : SC_CEPH_CONF_DIR;
	double connect_timeout =
	    opts->connect_timeout > 0 ? opts->connect_timeout : DEFAULT_CONNECT_TIMEOUT;
	double op_timeout = opts->op_timeout > 0 ? opts->op_timeout : DEFAULT_OP_TIMEOUT;
	double lag = op_timeout / 3 < 10 ? op_timeout / 3 : 10;
	char conf[4096], keyring[4096];
	rados_t rados = NULL;
	int r;

	*out = NULL;
	if (lag < 0.5)
		lag = 0.5;
	if (sc_cluster_name_valid(cluster) < 0) {
		sc_err_set(err, "invalid cluster name '%s'", cluster);
		return -EINVAL;
	}
	if (strncmp(entity, "client.", 7) != 0 || !entity[7]) {
		sc_err_set(err, "cluster %s: invalid client name '%s' (want client.ID)", cluster,
		           entity);
		return -EINVAL;
	}
	if (opts->conf_path)
		snprintf(conf, sizeof(conf), "%s", opts->conf_path);
	else
		snprintf(conf, sizeof(conf), "%s/%s.conf", dir, cluster);
	if (opts->keyring)
		snprintf(keyring, sizeof(keyring), "%s", opts->keyring);
	else
		snprintf(keyring, sizeof(keyring), "%s/%s.%s.keyring", dir, cluster, entity);

	if (access(conf, R_OK) < 0) {
		r = -errno;
		sc_err_set(err, "cluster %s: %s: %s%s", cluster, conf, strerror(-r),
		           r == -ENOENT ? " (unknown cluster name?)" : "");
		return r;
	}
	r = keyring_has_entity(keyring, entity);
	if (r == -ENOENT && access(keyring, F_OK) == 0) {
		sc_err_set(err, "cluster %s: keyring %s has no key for %s", cluster, keyring,
		           entity);
		return -ENOKEY;
	}
	if (r < 0) {
		sc_err_set(err, "cluster %s: keyring %s: %s", cluster, keyring, strerror(-r));
		return r;
	}

	r = rados_create2(&rados, cluster, entity, 0);
	if (r < 0) {
		sc_err_set(err, "cluster %s: cannot create a client handle: %s", cluster,
		           strerror(-r));
		return r;
	}
	r = rados_conf_read_file(rados, conf);
	if (r < 0) {
		sc_err_set(err, "cluster %s: cannot read %s: %s", cluster, conf, strerror(-r));
		goto fail;
	}
	/* Our errors say what went wrong; librados's stderr lines would only repeat it. */
	if ((r = set_option(rados, "log_to_stderr", "false", cluster, err)) < 0 ||
	    (r = set_option(rados, "err_to_stderr", "false", cluster, err)) < 0 ||
	    (r = set_option(rados, "keyring", keyring, cluster, err)) < 0 ||
	    (r = set_timeout(rados, "client_mount_timeout", connect_timeout, cluster, err)) < 0 ||
	    (r = set_timeout(rados, "rados_mon_op_timeout", op_timeout, cluster, err)) < 0 ||
	    (r = set_timeout(rados, "rados_osd_op_timeout", op_timeout, cluster, err)) < 0 ||
	    (r = set_timeout(rados, "objecter_timeout", lag, cluster, err)) < 0 ||
	    (r = set_timeout(rados, "objecter_tick_interval", lag / 2, cluster, err)) < 0)
		goto fail;

	r = rados_connect(rados);
	if (r < 0) {
		switch (r) {
		case -ETIMEDOUT:
			sc_err_set(err, "cluster %s: connection timed out after %g s", cluster,
			           connect_timeout);
			break;
		case -EACCES:
		case -EPERM:
			sc_err_set(err, "cluster %s: authentication failed for %s (keyring %s)",
			           cluster, entity, keyring);
			break;
		default:
			sc_err_set(err, "cluster %s: cannot connect: %s", cluster, strerror(-r));
		}
		goto fail;
	}
	*out = rados;
	return 0;
fail:
	rados_shutdown(rados);
	return r;
}

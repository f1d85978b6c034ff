/*
 * Connecting to a Ceph cluster as Ceph's own tools do. A cluster is named
 * (--cluster NAME): its configuration is CONF_DIR/NAME.conf and the client's
 * key CONF_DIR/NAME.client.ID.keyring, CONF_DIR being /etc/ceph unless given;
 * -c and -k override both paths. Timeouts are set before connecting so that an
 * unreachable cluster fails within them, never hangs.
 */
#ifndef SC_CLUSTER_H
#define SC_CLUSTER_H

#include <rados/librados.h>

#include "common/err.h"

#define SC_CEPH_CONF_DIR "/etc/ceph"
#define SC_CLUSTER_NAME_MAX 64

struct sc_cluster_opts {
	const char *cluster;    /* cluster name; NULL means "ceph" */
	const char *name;       /* entity, "client.ID"; NULL means "client.admin" */
	const char *conf_dir;   /* NULL means /etc/ceph */
	const char *conf_path;  /* -c: overrides CONF_DIR/CLUSTER.conf */
	const char *keyring;    /* -k: overrides CONF_DIR/CLUSTER.NAME.keyring */
	double connect_timeout; /* client_mount_timeout, seconds; 0 means 10 */
	double op_timeout;      /* rados_mon_op_timeout and rados_osd_op_timeout; 0 means 30 */
};

/*
 * Turns a Ceph-style --id ID into the entity name "client.ID" (into BUF).
 * Returns 0, or -EINVAL for an empty or over-long id.
 */
int sc_cluster_name_from_id(const char *id, char *buf, size_t len);

/* Checks a cluster name as Ceph does: letters, digits, '-', '_' and '.', at most 64. */
int sc_cluster_name_valid(const char *name);

/*
 * Connects. On success *out is a connected handle the caller shuts down with
 * rados_shutdown(). On failure returns -errno and ERR holds one line naming
 * the cluster: "cluster dc2: connection timed out after 10 s",
 * "cluster dc2: authentication failed for client.scfs (keyring ...)",
 * "cluster dc2: /etc/ceph/dc2.conf: No such file or directory".
 */
int sc_cluster_connect(const struct sc_cluster_opts *opts, rados_t *out, struct sc_err *err);

#endif

/*
 * scfs-dump CONF POOL: writes everything a cluster's pool holds, raw, to
 * stdout: for every object of every namespace its namespace and name, its
 * data, each xattr's name and value, each omap key and value. The
 * plaintext search of test-mount-round-trips.sh greps it once per cluster
 * (the rados tool prints omap values as hex dumps, which a grep would miss).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

static void put(const char *p, size_t len)
{
	fwrite(p, 1, len, stdout);
	fputc('\n', stdout);
}

int main(int argc, char **argv)
{
	rados_t c;
	rados_ioctx_t io;
	rados_list_ctx_t ls;
	const char *oid, *ns;
	char *buf;
	const size_t max = 64u << 20;

	if (argc != 3)
		return 2;
	if (rados_create(&c, NULL) < 0 || rados_conf_read_file(c, argv[1]) < 0 ||
	    rados_connect(c) < 0 || rados_ioctx_create(c, argv[2], &io) < 0) {
		fprintf(stderr, "scfs-dump: cannot connect to %s pool %s\n", argv[1], argv[2]);
		return 1;
	}
	buf = malloc(max);
	rados_ioctx_set_namespace(io, LIBRADOS_ALL_NSPACES);
	if (!buf || rados_nobjects_list_open(io, &ls) < 0)
		return 1;
	while (rados_nobjects_list_next(ls, &oid, NULL, &ns) == 0) {
		rados_ioctx_t o;
		rados_xattrs_iter_t xi;
		rados_omap_iter_t oi;
		rados_read_op_t op;
		const char *name, *val;
		char *k, *v;
		size_t len, vl;
		int r, prval;
		unsigned char more;

		rados_ioctx_create(c, argv[2], &o);
		rados_ioctx_set_namespace(o, ns);
		printf("%s/%s\n", ns, oid);
		r = rados_read(o, oid, buf, max, 0);
		if (r > 0)
			put(buf, (size_t)r);
		if (rados_getxattrs(o, oid, &xi) == 0) {
			while (rados_getxattrs_next(xi, &name, &val, &len) == 0 && name) {
				put(name, strlen(name));
				put(val, len);
			}
			rados_getxattrs_end(xi);
		}
		op = rados_create_read_op();
		rados_read_op_omap_get_vals2(op, "", "", 1000000, &oi, &more, &prval);
		if (rados_read_op_operate(op, o, oid, 0) == 0 && prval == 0) {
			while (rados_omap_get_next(oi, &k, &v, &vl) == 0 && k) {
				put(k, strlen(k));
				put(v, vl);
			}
			rados_omap_get_end(oi);
		}
		rados_release_read_op(op);
		rados_ioctx_destroy(o);
	}
	rados_nobjects_list_close(ls);
	rados_ioctx_destroy(io);
	rados_shutdown(c);
	free(buf);
	return 0;
}

/*
 * rbd-mirror-guard.conf (libconfig; docs/guard.md, "Configuration"): a group
 * "serve" for the primary's side and a group "connect" for the secondary's,
 * either or both. The settings are data (one table a group, with offsetof),
 * every one checked before anything starts, and every error names the file
 * and line. Relative paths are relative to the config file's directory.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/util.h"

enum opt_type { OPT_STRING, OPT_PATH, OPT_INT, OPT_SIZE };

struct opt {
	const char *name;
	enum opt_type type;
	size_t offset;
	bool required;
	long long min, max; /* OPT_INT */
};

#define S(field) offsetof(struct guard_serve_config, field)
static const struct opt serve_opts[] = {
    {"listen", OPT_STRING, S(listen), true, 0, 0},
    {"port", OPT_INT, S(port), false, 1, 65535},
    {"cluster", OPT_STRING, S(cluster), false, 0, 0},
    {"conf_dir", OPT_PATH, S(conf_dir), false, 0, 0},
    {"conf", OPT_PATH, S(conf), false, 0, 0},
    {"keyring", OPT_PATH, S(keyring), false, 0, 0},
    {"id", OPT_STRING, S(id), false, 0, 0},
    {"certificate", OPT_PATH, S(certificate), true, 0, 0},
    {"key", OPT_PATH, S(key), true, 0, 0},
    {"ca", OPT_PATH, S(ca), true, 0, 0},
    {"crl", OPT_PATH, S(crl), false, 0, 0},
    {"user", OPT_STRING, S(user), false, 0, 0},
    {"allow", OPT_STRING, S(allow), false, 0, 0},
    {"refresh_seconds", OPT_INT, S(refresh_seconds), false, 1, 3600},
    {"max_flows", OPT_INT, S(max_flows), false, 1, 65536},
    {"handshake_seconds", OPT_INT, S(handshake_seconds), false, 1, 600},
    {"status_socket", OPT_PATH, S(status_socket), false, 0, 0},
    {"log_file", OPT_PATH, S(log_file), false, 0, 0},
    {"log_level", OPT_STRING, S(log_level), false, 0, 0},
};
#undef S

#define C(field) offsetof(struct guard_connect_config, field)
static const struct opt connect_opts[] = {
    {"server", OPT_STRING, C(server), true, 0, 0},
    {"port", OPT_INT, C(port), false, 1, 65535},
    {"listen_port", OPT_INT, C(listen_port), false, 1, 65535},
    {"certificate", OPT_PATH, C(certificate), true, 0, 0},
    {"key", OPT_PATH, C(key), true, 0, 0},
    {"ca", OPT_PATH, C(ca), true, 0, 0},
    {"crl", OPT_PATH, C(crl), false, 0, 0},
    {"knock_server_key", OPT_PATH, C(knock_server_key), false, 0, 0},
    {"knock_config", OPT_PATH, C(knock_config), false, 0, 0},
    {"knock_refresh_seconds", OPT_INT, C(knock_refresh_seconds), false, 1, 3600},
    {"table", OPT_STRING, C(table), false, 0, 0},
    {"mark", OPT_INT, C(mark), false, 1, 0xffffffffLL},
    {"max_rate", OPT_SIZE, C(max_rate), false, 0, 0},
    {"refresh_seconds", OPT_INT, C(refresh_seconds), false, 1, 3600},
    {"connect_seconds", OPT_INT, C(connect_seconds), false, 1, 600},
    {"status_socket", OPT_PATH, C(status_socket), false, 0, 0},
    {"log_file", OPT_PATH, C(log_file), false, 0, 0},
    {"log_level", OPT_STRING, C(log_level), false, 0, 0},
};
#undef C

static int opts_read(struct sc_config *sc, const config_setting_t *group, const struct opt *opts,
                     size_t count, void *base, struct sc_err *err)
{
	const char *names[32];
	int r;

	for (size_t i = 0; i < count; i++)
		names[i] = opts[i].name;
	names[count] = NULL;
	if ((r = sc_config_check_names(sc, group, names, err)) < 0)
		return r;
	for (size_t i = 0; i < count; i++) {
		const struct opt *o = &opts[i];
		void *field = (char *)base + o->offset;
		const char *text = NULL;
		long long v;

		switch (o->type) {
		case OPT_STRING:
		case OPT_PATH:
		case OPT_SIZE:
			r = sc_config_string(sc, group, o->name, o->required, NULL, &text, err);
			if (r < 0)
				return r;
			if (!text)
				break;
			if (!text[0]) {
				sc_err_set(err, "%s:%d: setting '%s' is empty", sc_config_path(sc),
				           sc_config_line(sc_config_child(group, o->name)),
				           o->name);
				return -EINVAL;
			}
			if (o->type == OPT_SIZE) {
				uint64_t size;
				if (sc_size_parse(text, &size) < 0) {
					sc_err_set(err, "%s:%d: '%s' is not a size like \"100M\"",
					           sc_config_path(sc),
					           sc_config_line(sc_config_child(group, o->name)),
					           text);
					return -EINVAL;
				}
				*(uint64_t *)field = size;
				break;
			}
			char **dst = field;
			free(*dst);
			*dst = NULL;
			r = o->type == OPT_PATH ? sc_config_path_resolve(sc, text, dst)
			                        : ((*dst = strdup(text)) ? 0 : -ENOMEM);
			if (r < 0)
				return r;
			break;
		case OPT_INT:
			r = sc_config_int(sc, group, o->name, o->required, *(long long *)field,
			                  o->min, o->max, &v, err);
			if (r < 0)
				return r;
			*(long long *)field = v;
			break;
		}
	}
	return 0;
}

static int set_default(char **field, const char *value)
{
	if (*field)
		return 0;
	*field = strdup(value);
	return *field ? 0 : -ENOMEM;
}

static void serve_defaults(struct guard_serve_config *s)
{
	s->port = GUARD_DEFAULT_PORT;
	s->refresh_seconds = 5;
	s->max_flows = 1024;
	s->handshake_seconds = 10;
}

static void connect_defaults(struct guard_connect_config *c)
{
	c->port = GUARD_DEFAULT_PORT;
	c->listen_port = GUARD_DEFAULT_LISTEN_PORT;
	c->knock_refresh_seconds = 20;
	c->mark = GUARD_DEFAULT_MARK;
	c->refresh_seconds = 10;
	c->connect_seconds = 10;
}

int guard_config_load(const char *path, struct guard_config **out, struct sc_err *err)
{
	static const char *const top[] = {"serve", "connect", NULL};
	struct guard_config *c = calloc(1, sizeof(*c));
	struct sc_config *sc = NULL;
	const config_setting_t *g;
	int r = -ENOMEM;

	*out = NULL;
	if (!c)
		goto out;
	serve_defaults(&c->serve);
	connect_defaults(&c->connect);
	if ((r = sc_config_open(path, &sc, err)) < 0)
		goto out;
	if ((r = sc_config_check_names(sc, sc_config_root(sc), top, err)) < 0)
		goto out;
	if ((g = sc_config_child(sc_config_root(sc), "serve"))) {
		c->has_serve = true;
		r = opts_read(sc, g, serve_opts, SC_ARRAY_SIZE(serve_opts), &c->serve, err);
		if (r == 0)
			r = set_default(&c->serve.cluster, "ceph");
		if (r < 0)
			goto out;
	}
	if ((g = sc_config_child(sc_config_root(sc), "connect"))) {
		c->has_connect = true;
		r = opts_read(sc, g, connect_opts, SC_ARRAY_SIZE(connect_opts), &c->connect, err);
		if (r == 0)
			r = set_default(&c->connect.table, "rbd_mirror_guard");
		if (r < 0)
			goto out;
	}
	if (!c->has_serve && !c->has_connect) {
		sc_err_set(err, "%s:1: neither a 'serve' nor a 'connect' group", path);
		r = -EINVAL;
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	if (r == -ENOMEM)
		sc_err_set(err, "%s: out of memory", path);
	sc_config_close(sc);
	guard_config_free(c);
	return r;
}

static void strings_free(const struct opt *opts, size_t count, void *base)
{
	for (size_t i = 0; i < count; i++)
		if (opts[i].type == OPT_STRING || opts[i].type == OPT_PATH)
			free(*(char **)((char *)base + opts[i].offset));
}

void guard_config_free(struct guard_config *c)
{
	if (!c)
		return;
	strings_free(serve_opts, SC_ARRAY_SIZE(serve_opts), &c->serve);
	strings_free(connect_opts, SC_ARRAY_SIZE(connect_opts), &c->connect);
	free(c);
}

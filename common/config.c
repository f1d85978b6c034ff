/*
 * libconfig behind lookups that report "FILE:LINE: message". libconfig knows
 * the line of every setting; we keep the file's name for the messages.
 */
#include "common/config.h"

#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sc_config {
	config_t cfg;
	char *path;
};

static int config_new(const char *name, struct sc_config **out)
{
	struct sc_config *config = calloc(1, sizeof(*config));

	if (!config)
		return -ENOMEM;
	config->path = strdup(name);
	if (!config->path) {
		free(config);
		return -ENOMEM;
	}
	config_init(&config->cfg);
	*out = config;
	return 0;
}

static int config_failed(struct sc_config *config, const char *name, struct sc_err *err)
{
	sc_err_set(err, "%s:%d: %s", name, config_error_line(&config->cfg),
	           config_error_text(&config->cfg));
	sc_config_close(config);
	return -EINVAL;
}

int sc_config_open(const char *path, struct sc_config **out, struct sc_err *err)
{
	struct sc_config *config;
	FILE *f;
	int r;

	*out = NULL;
	/* Open it ourselves: libconfig's error for a missing file says only "file I/O error". */
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		sc_err_set(err, "%s: %s", path, strerror(-r));
		return r;
	}
	r = config_new(path, &config);
	if (r < 0) {
		fclose(f);
		sc_err_set(err, "%s: %s", path, strerror(-r));
		return r;
	}
	if (config_read(&config->cfg, f) != CONFIG_TRUE) {
		fclose(f);
		return config_failed(config, path, err);
	}
	fclose(f);
	*out = config;
	return 0;
}

int sc_config_open_string(const char *name, const char *text, struct sc_config **out,
                          struct sc_err *err)
{
	struct sc_config *config;
	int r;

	*out = NULL;
	r = config_new(name, &config);
	if (r < 0) {
		sc_err_set(err, "%s: %s", name, strerror(-r));
		return r;
	}
	if (config_read_string(&config->cfg, text) != CONFIG_TRUE)
		return config_failed(config, name, err);
	*out = config;
	return 0;
}

void sc_config_close(struct sc_config *config)
{
	if (!config)
		return;
	config_destroy(&config->cfg);
	free(config->path);
	free(config);
}

const char *sc_config_path(const struct sc_config *config)
{
	return config->path;
}

const config_setting_t *sc_config_root(const struct sc_config *config)
{
	return config_root_setting(&config->cfg);
}

const config_setting_t *sc_config_child(const config_setting_t *parent, const char *name)
{
	return parent ? config_setting_get_member(parent, name) : NULL;
}

int sc_config_line(const config_setting_t *setting)
{
	return setting ? (int)config_setting_source_line(setting) : 0;
}

/* Finds NAME under PARENT; -ENOENT (with a message if REQUIRED) when absent. */
static int lookup(const struct sc_config *config, const config_setting_t *parent, const char *name,
                  bool required, const config_setting_t **out, struct sc_err *err)
{
	*out = parent ? config_setting_get_member(parent, name) : NULL;
	if (*out)
		return 0;
	if (required) {
		const char *group = parent ? config_setting_name(parent) : NULL;
		if (group)
			sc_err_set(err, "%s:%d: missing setting '%s' in '%s'", config->path,
			           sc_config_line(parent), name, group);
		else
			sc_err_set(err, "%s: missing setting '%s'", config->path, name);
	}
	return -ENOENT;
}

static int wrong_type(const struct sc_config *config, const config_setting_t *s, const char *want,
                      struct sc_err *err)
{
	sc_err_set(err, "%s:%d: setting '%s' must be %s", config->path, sc_config_line(s),
	           config_setting_name(s), want);
	return -EINVAL;
}

int sc_config_string(const struct sc_config *config, const config_setting_t *parent,
                     const char *name, bool required, const char *def, const char **out,
                     struct sc_err *err)
{
	const config_setting_t *s;
	int r = lookup(config, parent, name, required, &s, err);

	if (r < 0) {
		*out = def;
		return required ? r : 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return wrong_type(config, s, "a string", err);
	*out = config_setting_get_string(s);
	return 0;
}

int sc_config_int(const struct sc_config *config, const config_setting_t *parent, const char *name,
                  bool required, long long def, long long min, long long max, long long *out,
                  struct sc_err *err)
{
	const config_setting_t *s;
	long long v;
	int r = lookup(config, parent, name, required, &s, err);

	if (r < 0) {
		*out = def;
		return required ? r : 0;
	}
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
		v = config_setting_get_int(s);
		break;
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(s);
		break;
	default:
		return wrong_type(config, s, "an integer", err);
	}
	if (v < min || v > max) {
		sc_err_set(err, "%s:%d: setting '%s' is %lld, outside %lld..%lld", config->path,
		           sc_config_line(s), name, v, min, max);
		return -ERANGE;
	}
	*out = v;
	return 0;
}

int sc_config_double(const struct sc_config *config, const config_setting_t *parent,
                     const char *name, bool required, double def, double min, double max,
                     double *out, struct sc_err *err)
{
	const config_setting_t *s;
	double v;
	int r = lookup(config, parent, name, required, &s, err);

	if (r < 0) {
		*out = def;
		return required ? r : 0;
	}
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		break;
	case CONFIG_TYPE_INT:
		v = config_setting_get_int(s);
		break;
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(s);
		break;
	default:
		return wrong_type(config, s, "a number", err);
	}
	if (!(v >= min && v <= max)) {
		sc_err_set(err, "%s:%d: setting '%s' is %g, outside %g..%g", config->path,
		           sc_config_line(s), name, v, min, max);
		return -ERANGE;
	}
	*out = v;
	return 0;
}

int sc_config_bool(const struct sc_config *config, const config_setting_t *parent, const char *name,
                   bool required, bool def, bool *out, struct sc_err *err)
{
	const config_setting_t *s;
	int r = lookup(config, parent, name, required, &s, err);

	if (r < 0) {
		*out = def;
		return required ? r : 0;
	}
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return wrong_type(config, s, "true or false", err);
	*out = config_setting_get_bool(s) != 0;
	return 0;
}

int sc_config_check_names(const struct sc_config *config, const config_setting_t *group,
                          const char *const *allowed, struct sc_err *err)
{
	int count = group ? config_setting_length(group) : 0;

	for (int i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		bool known = false;

		if (!name)
			continue; /* list elements have no names */
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, name) == 0;
		if (!known) {
			sc_err_set(err, "%s:%d: unknown setting '%s'", config->path,
			           sc_config_line(s), name);
			return -EINVAL;
		}
	}
	return 0;
}

int sc_config_path_resolve(const struct sc_config *config, const char *path, char **out)
{
	char *copy, *dir;
	size_t len;

	*out = NULL;
	if (!path)
		return 0;
	if (path[0] == '/' || strcmp(path, "-") == 0) {
		*out = strdup(path);
		return *out ? 0 : -ENOMEM;
	}
	copy = strdup(sc_config_path(config));
	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	len = strlen(dir) + 1 + strlen(path) + 1;
	*out = malloc(len);
	if (*out)
		snprintf(*out, len, "%s/%s", dir, path);
	free(copy);
	return *out ? 0 : -ENOMEM;
}

/*
 * knockd.conf (libconfig), documented in docs/knockd.md. Everything is read
 * and checked before knockd touches the firewall, and every error names the
 * file and line. Relative paths are taken relative to the config file's
 * directory. The table name goes into nftables commands, so it is limited to
 * [A-Za-z0-9_-].
 */
#include "knockd/knockd_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/log.h"

static const char *const top_names[] = {"knockd", NULL};
static const char *const knockd_names[] = {
    "knock_port",
    "nflog_group",
    "table",
    "server_key",
    "ca",
    "crl",
    "log_file",
    "log_level",
    "status_file",
    "state_file",
    "open_seconds",
    "time_window",
    "replay_capacity",
    "log_rejects_per_second",
    "rcvbuf_mb",
    "open_other_address",
    "allow_source_address",
    "public_addresses",
    "trusted",
    "ca_partial_chain",
    "verify_per_second",
    "verify_per_source",
    "knocks_per_certificate",
    "user",
    "protect",
    "access",
    NULL,
};
static const char *const access_names[] = {"subject", "allow", NULL};

static int path_setting(struct sc_config *sc, const config_setting_t *group, const char *name,
                        bool required, char **out, int *line, struct sc_err *err)
{
	const char *value;
	int r = sc_config_string(sc, group, name, required, NULL, &value, err);

	if (r < 0)
		return r;
	if (line)
		*line = sc_config_line(sc_config_child(group, name));
	if (value && !value[0]) {
		sc_err_set(err, "%s:%d: setting '%s' is empty", sc_config_path(sc),
		           sc_config_line(sc_config_child(group, name)), name);
		return -EINVAL;
	}
	return sc_config_path_resolve(sc, value, out);
}

/*
 * crl: a file, or "none" to run without revocation. Leaving it out is an
 * error, so that running without a CRL is a choice somebody wrote down.
 */
static int crl_setting(struct sc_config *sc, const config_setting_t *g, struct knockd_config *c,
                       struct sc_err *err)
{
	const config_setting_t *s = sc_config_child(g, "crl");

	if (!s) {
		sc_err_set(err,
		           "%s:%d: missing setting 'crl' (the CA's revocation list; write crl = "
		           "\"none\"; to run without one)",
		           sc_config_path(sc), sc_config_line(g));
		return -EINVAL;
	}
	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    strcmp(config_setting_get_string(s), "none") == 0) {
		c->crl_line = sc_config_line(s);
		return 0;
	}
	return path_setting(sc, g, "crl", true, &c->crl, &c->crl_line, err);
}

/* A port list: one string "tcp/22, tcp/3300" or an array of such strings. */
static int ports_setting(struct sc_config *sc, const config_setting_t *s, struct knock_ports *ports,
                         struct sc_err *err)
{
	int type = config_setting_type(s), count;

	if (type == CONFIG_TYPE_STRING) {
		if (knock_ports_parse(config_setting_get_string(s), ports) < 0)
			goto bad;
		return 0;
	}
	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
		goto bad;
	count = config_setting_length(s);
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    knock_ports_parse(config_setting_get_string(e), ports) < 0)
			goto bad;
	}
	return 0;
bad:
	sc_err_set(err,
	           "%s:%d: setting '%s' must list ports as \"tcp/22\", \"udp/51820\" or "
	           "\"tcp/6800-7300\"",
	           sc_config_path(sc), sc_config_line(s),
	           config_setting_name(s) ? config_setting_name(s) : "allow");
	return -EINVAL;
}

static int access_parse(struct sc_config *sc, const config_setting_t *list, struct knockd_config *c,
                        struct sc_err *err)
{
	int count, r;

	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		sc_err_set(err, "%s:%d: setting 'access' must be a list of ( { subject; allow; } )",
		           sc_config_path(sc), sc_config_line(list));
		return -EINVAL;
	}
	count = config_setting_length(list);
	c->access = calloc((size_t)count + 1, sizeof(*c->access));
	if (!c->access)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
		struct knock_access_rule *rule = &c->access[c->access_count];
		const config_setting_t *allow;
		const char *subject;

		if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
			sc_err_set(err,
			           "%s:%d: each access rule must be a group { subject; allow; }",
			           sc_config_path(sc), sc_config_line(e));
			return -EINVAL;
		}
		r = sc_config_check_names(sc, e, access_names, err);
		if (r < 0)
			return r;
		r = sc_config_string(sc, e, "subject", false, NULL, &subject, err);
		if (r < 0)
			return r;
		if (!subject || !subject[0]) {
			sc_err_set(err, "%s:%d: missing setting 'subject' in an access rule",
			           sc_config_path(sc), sc_config_line(e));
			return -EINVAL;
		}
		rule->subject = strdup(subject);
		if (!rule->subject)
			return -ENOMEM;
		c->access_count++;
		allow = sc_config_child(e, "allow");
		if (!allow) {
			sc_err_set(err, "%s:%d: access rule for '%s' has no 'allow'",
			           sc_config_path(sc), sc_config_line(e), subject);
			return -EINVAL;
		}
		r = ports_setting(sc, allow, &rule->ports, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* public_addresses: a list of IPv4 or IPv6 addresses (no prefixes). */
static int addresses_setting(struct sc_config *sc, const config_setting_t *s,
                             struct knock_address_list *list, struct sc_err *err)
{
	int count = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		goto bad;
	list->addresses = calloc((size_t)count + 1, sizeof(*list->addresses));
	if (!list->addresses)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		uint8_t *a = list->addresses[list->count];
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    knock_address_parse(config_setting_get_string(e), &a[0], a + 1) < 0)
			goto bad;
		list->count++;
	}
	return 0;
bad:
	sc_err_set(err, "%s:%d: setting '%s' must list IPv4 or IPv6 addresses as strings",
	           sc_config_path(sc), sc_config_line(s), config_setting_name(s));
	return -EINVAL;
}

/* "10.0.0.0/24", "fd00::/64" or a bare address (a /32 or /128). */
static int prefix_parse(const char *text, struct knock_prefix *out)
{
	char addr[64], *slash, *end;
	unsigned long length;
	int max;

	if (strlen(text) >= sizeof(addr))
		return -EINVAL;
	strcpy(addr, text);
	slash = strchr(addr, '/');
	if (slash)
		*slash = '\0';
	if (knock_address_parse(addr, &out->family, out->bytes) < 0)
		return -EINVAL;
	max = out->family == KNOCK_ADDRESS_IPV4 ? 32 : 128;
	length = (unsigned long)max;
	if (slash) {
		errno = 0;
		length = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || length > (unsigned long)max)
			return -EINVAL;
	}
	out->length = (uint8_t)length;
	/* Host bits must be zero: "10.0.0.1/24" is a typo for something. */
	for (int bit = (int)length; bit < max; bit++)
		if (out->bytes[bit / 8] & (0x80 >> (bit % 8)))
			return -EINVAL;
	return 0;
}

static int trusted_setting(struct sc_config *sc, const config_setting_t *s, struct knockd_config *c,
                           struct sc_err *err)
{
	int count = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		goto bad;
	c->trusted = calloc((size_t)count + 1, sizeof(*c->trusted));
	if (!c->trusted)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    prefix_parse(config_setting_get_string(e), &c->trusted[c->trusted_count]) < 0)
			goto bad;
		c->trusted_count++;
	}
	return 0;
bad:
	sc_err_set(err,
	           "%s:%d: setting 'trusted' must list networks as \"10.0.0.0/24\" or "
	           "\"fd00::/64\" (host bits zero)",
	           sc_config_path(sc), sc_config_line(s));
	return -EINVAL;
}

static int table_check(struct sc_config *sc, const config_setting_t *group, const char *table,
                       struct sc_err *err)
{
	size_t len = strlen(table);
	bool ok = len > 0 && len < 32 && isalpha((unsigned char)table[0]);

	for (size_t i = 0; ok && i < len; i++)
		ok = isalnum((unsigned char)table[i]) || table[i] == '_' || table[i] == '-';
	if (!ok) {
		sc_err_set(err, "%s:%d: table name '%s' must be 1-31 letters, digits, '_' or '-'",
		           sc_config_path(sc), sc_config_line(sc_config_child(group, "table")),
		           table);
		return -EINVAL;
	}
	/* Tables other programs make by these names: knockd would replace them. */
	static const char *const taken[] = {"filter",   "nat",       "mangle", "raw",
	                                    "security", "firewalld", "fw4",    NULL};
	for (size_t i = 0; taken[i]; i++)
		if (strcasecmp(table, taken[i]) == 0) {
			sc_err_set(
			    err,
			    "%s:%d: table name '%s' belongs to other programs (nftables.conf, "
			    "firewalld): give knockd its own",
			    sc_config_path(sc), sc_config_line(sc_config_child(group, "table")),
			    table);
			return -EINVAL;
		}
	return 0;
}

static int numbers_read(struct sc_config *sc, const config_setting_t *g, struct knockd_config *c,
                        struct sc_err *err)
{
	long long v;
	int r;

#define READ_INT(name, def, min, max, field)                                                       \
	do {                                                                                       \
		r = sc_config_int(sc, g, name, false, def, min, max, &v, err);                     \
		if (r < 0)                                                                         \
			return r;                                                                  \
		c->field = (__typeof__(c->field))v;                                                \
	} while (0)
	READ_INT("knock_port", KNOCK_DEFAULT_PORT, 1, 65535, knock_port);
	READ_INT("nflog_group", 2201, 1, 65535, nflog_group);
	READ_INT("open_seconds", 30, 1, 86400, open_seconds);
	READ_INT("time_window", 30, 1, KNOCK_MAX_TIME_WINDOW, time_window);
	READ_INT("replay_capacity", 100000, 16, 1 << 24, replay_capacity);
	READ_INT("log_rejects_per_second", 50, 0, 1000000, log_rejects_per_second);
	READ_INT("rcvbuf_mb", 32, 1, 1024, rcvbuf_mb);
	READ_INT("verify_per_second", 2000, 1, 1000000, verify_per_second);
	READ_INT("verify_per_source", 10, 1, 1000000, verify_per_source);
	READ_INT("knocks_per_certificate", 60, 1, 1000000, knocks_per_certificate);
#undef READ_INT
	return 0;
}

static int knockd_group_read(struct sc_config *sc, struct knockd_config *c, struct sc_err *err)
{
	const config_setting_t *g = sc_config_child(sc_config_root(sc), "knockd"), *s;
	const char *text;
	int r;

	if (!g || config_setting_type(g) != CONFIG_TYPE_GROUP) {
		sc_err_set(err, "%s:%d: missing group 'knockd = { ... };'", sc_config_path(sc),
		           g ? sc_config_line(g) : 1);
		return -EINVAL;
	}
	r = sc_config_check_names(sc, g, knockd_names, err);
	if (r < 0)
		return r;
	r = numbers_read(sc, g, c, err);
	if (r < 0)
		return r;
	r = sc_config_string(sc, g, "table", false, "knockd", &text, err);
	if (r < 0 || (r = table_check(sc, g, text, err)) < 0)
		return r;
	snprintf(c->table, sizeof(c->table), "%s", text);
	r = sc_config_string(sc, g, "user", false, "nobody", &text, err);
	if (r < 0)
		return r;
	c->user = strdup(text);
	if (!c->user)
		return -ENOMEM;
	r = sc_config_string(sc, g, "log_level", false, "info", &text, err);
	if (r < 0)
		return r;
	c->log_level = sc_log_level_parse(text);
	if (c->log_level < 0) {
		sc_err_set(err, "%s:%d: log_level must be error, warn, info or debug",
		           sc_config_path(sc), sc_config_line(sc_config_child(g, "log_level")));
		return -EINVAL;
	}
	r = sc_config_bool(sc, g, "open_other_address", false, true, &c->open_other_address, err);
	if (r < 0)
		return r;
	r = sc_config_bool(sc, g, "ca_partial_chain", false, false, &c->ca_partial_chain, err);
	if (r < 0)
		return r;
	r = sc_config_bool(sc, g, "allow_source_address", false, false, &c->allow_source_address,
	                   err);
	if (r < 0)
		return r;
	s = sc_config_child(g, "public_addresses");
	if (s && (r = addresses_setting(sc, s, &c->destinations, err)) < 0)
		return r;
	if ((r = path_setting(sc, g, "server_key", true, &c->server_key, &c->server_key_line,
	                      err)) < 0 ||
	    (r = path_setting(sc, g, "ca", true, &c->ca, &c->ca_line, err)) < 0 ||
	    (r = crl_setting(sc, g, c, err)) < 0 ||
	    (r = path_setting(sc, g, "log_file", false, &c->log_file, NULL, err)) < 0 ||
	    (r = path_setting(sc, g, "status_file", false, &c->status_file, NULL, err)) < 0 ||
	    (r = path_setting(sc, g, "state_file", false, &c->state_file, &c->state_file_line,
	                      err)) < 0)
		return r;
	if (!c->state_file) {
		c->state_file_line = 0;
		c->state_file = strdup(KNOCK_DEFAULT_STATE_FILE);
		if (!c->state_file)
			return -ENOMEM;
	} else if (strcmp(c->state_file, "-") == 0) {
		sc_err_set(err, "%s:%d: state_file must name a file", sc_config_path(sc),
		           c->state_file_line);
		return -EINVAL;
	}
	s = sc_config_child(g, "protect");
	if (!s) {
		sc_err_set(err, "%s:%d: missing setting 'protect' (the ports knockd keeps closed)",
		           sc_config_path(sc), sc_config_line(g));
		return -EINVAL;
	}
	r = ports_setting(sc, s, &c->protect, err);
	if (r < 0)
		return r;
	if (c->protect.count == 0) {
		sc_err_set(err, "%s:%d: 'protect' lists no port", sc_config_path(sc),
		           sc_config_line(s));
		return -EINVAL;
	}
	if (knock_ports_contain(&c->protect, 17, c->knock_port) ||
	    knock_ports_contain(&c->protect, 6, c->knock_port)) {
		sc_err_set(err, "%s:%d: the knock port %u cannot be protected too",
		           sc_config_path(sc), sc_config_line(s), c->knock_port);
		return -EINVAL;
	}
	s = sc_config_child(g, "trusted");
	if (s && (r = trusted_setting(sc, s, c, err)) < 0)
		return r;
	s = sc_config_child(g, "access");
	if (s)
		return access_parse(sc, s, c, err);
	return 0;
}

static int config_build(struct sc_config *sc, struct knockd_config **out, struct sc_err *err)
{
	struct knockd_config *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->path = strdup(sc_config_path(sc));
	if (!c->path) {
		r = -ENOMEM;
		goto out;
	}
	r = sc_config_check_names(sc, sc_config_root(sc), top_names, err);
	if (r < 0)
		goto out;
	r = knockd_group_read(sc, c, err);
out:
	if (r == -ENOMEM)
		sc_err_set(err, "%s: out of memory", sc_config_path(sc));
	if (r < 0) {
		knockd_config_free(c);
		return r;
	}
	*out = c;
	return 0;
}

int knockd_config_load(const char *path, struct knockd_config **out, struct sc_err *err)
{
	struct sc_config *sc;
	int r;

	*out = NULL;
	r = sc_config_open(path, &sc, err);
	if (r < 0)
		return r;
	r = config_build(sc, out, err);
	sc_config_close(sc);
	return r;
}

int knockd_config_parse(const char *name, const char *text, struct knockd_config **out,
                        struct sc_err *err)
{
	struct sc_config *sc;
	int r;

	*out = NULL;
	r = sc_config_open_string(name, text, &sc, err);
	if (r < 0)
		return r;
	r = config_build(sc, out, err);
	sc_config_close(sc);
	return r;
}

void knockd_config_free(struct knockd_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->access_count; i++) {
		free(c->access[i].subject);
		knock_ports_free(&c->access[i].ports);
	}
	free(c->access);
	free(c->destinations.addresses);
	free(c->trusted);
	knock_ports_free(&c->protect);
	free(c->path);
	free(c->server_key);
	free(c->ca);
	free(c->crl);
	free(c->log_file);
	free(c->status_file);
	free(c->state_file);
	free(c->user);
	free(c);
}

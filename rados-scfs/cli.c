/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The shared parts of the programs' command lines (cli.h). Every check
 * gives the same words in each program, so an admin sees one message for
 * one mistake whichever program it made it in.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_fail(const char *program, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", program, line);
	return 1;
}

int cli_names_split(const char *list, const char *sep, char **storage, const char **names,
                    unsigned max, unsigned *n)
{
	char *save = NULL, *name;

	free(*storage);
	*storage = strdup(list);
	*n = 0;
	if (!*storage)
		return -ENOMEM;
	for (name = strtok_r(*storage, sep, &save); name; name = strtok_r(NULL, sep, &save)) {
		if (*n == max)
			return -E2BIG;
		names[(*n)++] = name;
	}
	return *n ? 0 : -EINVAL;
}

int cli_timeout_parse(const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v > 0 && v <= 3600))
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_faults_parse(const char *arg, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > 5)
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_protocol_parse(const char *arg, unsigned *out)
{
	if (strcasecmp(arg, "CA") == 0)
		*out = 2;
	else if (strcasecmp(arg, "A") == 0)
		*out = 1;
	else
		return -EINVAL;
	return 0;
}

bool cli_fs_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= CLI_FSNAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	           len;
}

int cli_common_option(const char *program, struct cli_common *c, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_CLUSTERS:
		if (cli_names_split(arg, ",", &c->cluster_list, c->clusters, CLI_MAX_CLUSTERS,
		                    &c->n) < 0)
			return cli_fail(program, "--clusters: give 1-%d names like dc1,dc2,dc3,dc4",
			                CLI_MAX_CLUSTERS),
			       -1;
		return 1;
	case 'k':
		c->key = arg;
		return 1;
	case CLI_OPT_ID:
		c->id = arg;
		return 1;
	case CLI_OPT_CONF_DIR:
		c->conf_dir = arg;
		return 1;
	case CLI_OPT_POOL:
		c->pool = arg;
		return 1;
	case CLI_OPT_TIMEOUT:
		if (cli_timeout_parse(arg, &c->timeout) < 0)
			return cli_fail(program, "--timeout: '%s' is not a number of seconds", arg),
			       -1;
		return 1;
	}
	return 0;
}

void cli_common_free(struct cli_common *c)
{
	free(c->cluster_list);
	c->cluster_list = NULL;
	c->n = 0;
}

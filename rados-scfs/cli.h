/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the command lines of rados-scfs, scfs-admin and its file system
 * commands share: the common options (--clusters, -k, --id, --conf-dir,
 * --pool, --timeout) as one getopt_long table fragment and one handler,
 * the checks of their values, and the one-line error of a program. No
 * state of its own: each program keeps its options in its own struct.
 */
#ifndef SCFS_CLI_H
#define SCFS_CLI_H

#include <getopt.h>
#include <stdbool.h>

#define CLI_MAX_CLUSTERS 16
#define CLI_FSNAME_MAX 64

/* getopt_long codes of the common options; a program's own start at CLI_OPT_FREE. */
enum {
	CLI_OPT_CLUSTERS = 256,
	CLI_OPT_ID,
	CLI_OPT_CONF_DIR,
	CLI_OPT_POOL,
	CLI_OPT_TIMEOUT,
	CLI_OPT_FREE,
};

/* The common entries of a struct option table ('k' for -k/--key). */
#define CLI_COMMON_OPTIONS                                                                         \
	{"clusters", required_argument, NULL, CLI_OPT_CLUSTERS},                                   \
	    {"key", required_argument, NULL, 'k'}, {"id", required_argument, NULL, CLI_OPT_ID},    \
	    {"conf-dir", required_argument, NULL, CLI_OPT_CONF_DIR},                               \
	    {"pool", required_argument, NULL, CLI_OPT_POOL},                                       \
	{                                                                                          \
		"timeout", required_argument, NULL, CLI_OPT_TIMEOUT                                \
	}

/* The common options' values; strings point into argv, CLUSTER_LIST is owned. */
struct cli_common {
	char *cluster_list; /* strdup'd --clusters, cut in place into CLUSTERS */
	const char *clusters[CLI_MAX_CLUSTERS];
	unsigned n;
	const char *key, *id, *conf_dir, *pool;
	double timeout;
};

/* Prints "PROGRAM: message" as one line on stderr; returns 1 (the exit code). */
int cli_fail(const char *program, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Splits LIST at any of SEP into at most MAX names: *STORAGE (freed and
 * replaced; free() it) holds them, NAMES[0..*N) point into it. -EINVAL for
 * no name, -E2BIG for more than MAX, -ENOMEM.
 */
int cli_names_split(const char *list, const char *sep, char **storage, const char **names,
                    unsigned max, unsigned *n);
/* A --timeout: seconds in (0, 3600]; -EINVAL otherwise. */
int cli_timeout_parse(const char *arg, double *out);
/* A -f/--faults: 0 to 5; -EINVAL otherwise. */
int cli_faults_parse(const char *arg, long *out);
/* A --protocol: CA (2) or A (1), any case; -EINVAL otherwise. */
int cli_protocol_parse(const char *arg, unsigned *out);
/* A --fs: 1 to CLI_FSNAME_MAX of A-Z a-z 0-9 _ . - */
bool cli_fs_name_valid(const char *name);

/*
 * Takes getopt_long's OPT with ARG into C when it is a common option:
 * 1 taken, 0 not a common option, -1 a bad value (one line printed).
 */
int cli_common_option(const char *program, struct cli_common *c, int opt, const char *arg);
void cli_common_free(struct cli_common *c);

#endif

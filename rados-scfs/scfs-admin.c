/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * scfs-admin: the admin's tool for a rados-scfs store spread over n Ceph
 * clusters. For now it works on data units directly (put, get, versions, rm),
 * shows each cluster's state, and makes writer keys; mkfs, fsck, repair, gc
 * and df arrive with the file system.
 *
 * Every failure ends in one line on stderr naming the cluster, file or unit,
 * and a non-zero exit. Nothing is written unless the whole command line is
 * valid and the key loads. Commands are dispatched from one table
 * (COMMANDS below: name, handler, arguments, help), from which --help is
 * printed too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin-fs.h"
#include "cli.h"
#include "common/crypto.h"
#include "common/keyfile.h"
#include "common/util.h"
#include "store.h"

#define PROGRAM "scfs-admin"
#define ADMIN_MAX_INPUT (64u << 20)
#define STORE_MAX_TRUSTED 16

struct admin {
	struct cli_common c; /* --clusters, -k, --id, --conf-dir, --pool, --timeout */
	struct store_cluster_spec specs[STORE_MAX_CLUSTERS];
	long f;
	const char *rados_ns, *store_id;
	unsigned protocol; /* enum store_protocol */
	uint64_t version;
	bool json;
	uint8_t key[STORE_KEY_LEN];
	uint8_t trusted[STORE_MAX_TRUSTED][STORE_KEY_LEN];
	unsigned trusted_count;
};

#define fail(...) cli_fail(PROGRAM, __VA_ARGS__)

static int store_connect(struct admin *a, bool need_key, struct store **out)
{
	struct sc_err err = {{0}};
	/* Without --store-id: the namespace, as one file system per namespace. */
	const char *id = a->store_id ? a->store_id : a->rados_ns ? a->rados_ns : "default";
	struct store_opts opts = {
	    .n = a->c.n,
	    .f = a->f < 0 ? (a->c.n - 1) / 3 : (unsigned)a->f,
	    .protocol = (enum store_protocol)a->protocol,
	    .op_timeout = a->c.timeout,
	    .connect_timeout = a->c.timeout,
	    .store_id = id,
	    .store_id_len = strlen(id),
	};
	int r;

	if (a->c.n == 0)
		return fail("--clusters is required (e.g. --clusters dc1,dc2,dc3,dc4)"), -EINVAL;
	if (need_key && !a->c.key)
		return fail("this command writes: give the writer key with -k FILE"), -EINVAL;
	if (a->c.key) {
		r = sc_keyfile_private_load(a->c.key, SC_KEY_ED25519, a->key);
		if (r < 0)
			return fail("%s: %s", a->c.key,
			            r == -EINVAL ? "not an Ed25519 private key in PEM"
			                         : strerror(-r)),
			       r;
		opts.writer_key = a->key;
	}
	if (!a->c.key && a->trusted_count == 0)
		return fail("reading needs a writer to trust: give -k FILE or --trust PUBKEY"),
		       -EINVAL;
	opts.trusted_keys = (const uint8_t(*)[STORE_KEY_LEN])a->trusted;
	opts.trusted_count = a->trusted_count;
	for (unsigned i = 0; i < a->c.n; i++) {
		a->specs[i] = (struct store_cluster_spec){
		    .cluster = a->c.clusters[i],
		    .pool = a->c.pool,
		    .rados_ns = a->rados_ns,
		    .conf_dir = a->c.conf_dir,
		    .client_id = a->c.id,
		};
	}
	r = store_open(&opts, a->specs, out, &err);
	if (r < 0)
		fail("%s", err.msg[0] ? err.msg : strerror(-r));
	return r;
}

static const char *condition_name(enum store_cluster_condition c)
{
	switch (c) {
	case STORE_CLUSTER_UP:
		return "up";
	case STORE_CLUSTER_SLOW:
		return "slow";
	case STORE_CLUSTER_DOWN:
		return "down";
	case STORE_CLUSTER_BAD_DATA:
		return "bad-data";
	}
	return "unknown";
}

/* Prints every cluster's state; returns how many are not up. */
static unsigned print_states(struct admin *a, struct store *store)
{
	unsigned not_up = 0;

	for (unsigned i = 0; i < store_cluster_count(store); i++) {
		struct store_cluster_state s;
		if (store_cluster_state(store, i, &s) < 0)
			continue;
		if (s.condition != STORE_CLUSTER_UP)
			not_up++;
		if (a->json)
			printf("%s{\"cluster\":\"%s\",\"state\":\"%s\",\"latency_ms\":%.2f,"
			       "\"ops_ok\":%llu,\"ops_failed\":%llu,\"bad_data\":%llu}",
			       i ? "," : "[", s.name, condition_name(s.condition), s.latency_ms,
			       (unsigned long long)s.ops_ok, (unsigned long long)s.ops_failed,
			       (unsigned long long)s.bad_data);
		else
			printf("%-12s %-9s %8.2f ms  %s\n", s.name, condition_name(s.condition),
			       s.latency_ms, s.reason);
	}
	if (a->json)
		printf("]\n");
	return not_up;
}

/*
 * After an operation: on success, name the clusters that failed or lied (on
 * stderr); on failure, one line with the report's account, and 1.
 */
static int report_outcome(const struct store_report *rep, int r, const char *what, const char *unit)
{
	if (r < 0)
		return fail("%s %s: %s", what, unit, rep->msg[0] ? rep->msg : strerror(-r));
	if ((rep->bad_clusters || rep->failed_clusters) && rep->msg[0])
		fprintf(stderr, PROGRAM ": note: %s\n", rep->msg);
	return 0;
}

static int read_input(const char *path, uint8_t **buf, size_t *len)
{
	return sc_file_read(path ? path : "/dev/stdin", ADMIN_MAX_INPUT, buf, len);
}

static int cmd_keygen(struct admin *a, struct store *store, char **argv, int argc)
{
	uint8_t seed[STORE_KEY_LEN], pub[STORE_KEY_LEN];
	char hex[2 * STORE_KEY_LEN + 1];
	const char *path = argv[0];
	int r;

	(void)a, (void)store, (void)argc;
	if (sc_ed25519_keygen(seed, pub) < 0)
		return fail("cannot make a key");
	r = sc_keyfile_private_save(path, SC_KEY_ED25519, seed);
	sc_wipe(seed, sizeof(seed));
	if (r < 0)
		return fail("%s: %s", path,
		            r == -EEXIST ? "exists already (a key is never replaced)"
		                         : strerror(-r));
	sc_hex_encode(pub, sizeof(pub), hex);
	printf("%s: Ed25519 writer key, public key %s\n", path, hex);
	return 0;
}

static int cmd_status(struct admin *a, struct store *store, char **argv, int argc)
{
	(void)argv, (void)argc;
	/* One stat per cluster, so latency and condition are measured now. */
	store_cluster_probe(store, 0, NULL);
	/* As a health check: 0 only when every cluster is up. */
	return print_states(a, store) ? 1 : 0;
}

static int cmd_put(struct admin *a, struct store *store, char **argv, int argc)
{
	const char *unit = argv[0], *path = argc > 1 ? argv[1] : NULL;
	struct store_report rep = {0};
	struct store_unit_ref ref;
	uint8_t *data;
	size_t len;
	char hex[2 * STORE_DIGEST_LEN + 1];
	int r = read_input(path, &data, &len);

	if (r < 0)
		return fail("%s: %s", path ? path : "stdin", strerror(-r));
	r = store_unit_write(store, unit, data, len, &ref, &rep);
	free(data);
	if (report_outcome(&rep, r, "put", unit))
		return 1;
	sc_hex_encode(ref.digest, sizeof(ref.digest), hex);
	printf("%s: version %llu, %zu bytes, %s, digest %s\n", unit,
	       (unsigned long long)ref.version, len, store_protocol_name(a->protocol), hex);
	return 0;
}

static int cmd_get(struct admin *a, struct store *store, char **argv, int argc)
{
	const char *unit = argv[0], *path = argc > 1 ? argv[1] : NULL;
	struct store_report rep = {0};
	void *data;
	size_t len;
	int fd = 1, r;

	r = store_unit_read(store, unit, a->version, 0, &data, &len, NULL, &rep);
	if (report_outcome(&rep, r, "get", unit))
		return 1;
	if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			r = -errno;
			store_buffer_free(data, len);
			return fail("%s: %s", path, strerror(-r));
		}
	}
	r = sc_write_all(fd, data, len);
	store_buffer_free(data, len);
	if (path && close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		return fail("%s: %s", path ? path : "stdout", strerror(-r));
	return 0;
}

static int cmd_versions(struct admin *a, struct store *store, char **argv, int argc)
{
	const char *unit = argv[0];
	struct store_report rep = {0};
	struct store_version_info *v;
	size_t count;
	int r = store_unit_versions(store, unit, &v, &count, &rep);

	(void)argc;
	if (report_outcome(&rep, r, "versions", unit))
		return 1;
	for (size_t i = 0; i < count; i++) {
		if (a->json)
			printf("%s{\"version\":%llu,\"committed\":%s,\"clusters\":%u}",
			       i ? "," : "[", (unsigned long long)v[i].version,
			       v[i].committed ? "true" : "false", v[i].clusters);
		else
			printf("%llu\t%s\ton %u clusters\n", (unsigned long long)v[i].version,
			       v[i].committed ? "committed" : "incomplete", v[i].clusters);
	}
	if (a->json)
		printf("%s]\n", count ? "" : "[");
	free(v);
	return 0;
}

static int cmd_rm(struct admin *a, struct store *store, char **argv, int argc)
{
	const char *unit = argv[0], *version = argv[1];
	struct store_report rep = {0};
	char *end;
	unsigned long long v;
	int r;

	(void)a, (void)argc;
	errno = 0;
	v = strtoull(version, &end, 10);
	if (errno || *end || version[0] == '-' || !version[0])
		return fail("rm: '%s' is not a version number", version);
	r = store_unit_delete(store, unit, v, &rep);
	if (r < 0)
		return fail("rm %s version %llu: %s", unit, v, rep.msg[0] ? rep.msg : strerror(-r));
	return report_outcome(&rep, r, "rm", unit);
}

/* What a command needs before it runs. */
enum {
	CMD_CONNECTS = 1, /* opens the store */
	CMD_WRITES = 2,   /* needs the writer key */
	CMD_UNIT = 4,     /* its first argument is a unit name */
};

static const struct command {
	const char *name;
	int (*fn)(struct admin *a, struct store *store, char **argv, int argc);
	int min_args, max_args;
	unsigned needs;
	const char *args, *help;
} commands[] = {
    {"keygen", cmd_keygen, 1, 1, 0, "FILE", "write a new Ed25519 writer key (PEM, mode 0600)"},
    {"status", cmd_status, 0, 0, CMD_CONNECTS, "",
     "connect to every cluster and show its state;\n"
     "exits 1 unless all are up"},
    {"put", cmd_put, 1, 2, CMD_CONNECTS | CMD_WRITES | CMD_UNIT, "UNIT [FILE]",
     "store FILE (or stdin) as a new version of UNIT"},
    {"get", cmd_get, 1, 2, CMD_CONNECTS | CMD_UNIT, "UNIT [FILE]",
     "read the newest (or --version) version of UNIT"},
    {"versions", cmd_versions, 1, 1, CMD_CONNECTS | CMD_UNIT, "UNIT",
     "list the versions the clusters know of UNIT"},
    {"rm", cmd_rm, 2, 2, CMD_CONNECTS | CMD_WRITES | CMD_UNIT, "UNIT VERSION",
     "delete one version of UNIT from every cluster"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: " PROGRAM " [options] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		char left[64];
		const char *h = c->help, *nl;
		snprintf(left, sizeof(left), "%s %s", c->name, c->args);
		/* Help lines after the first are indented under the first. */
		for (bool first = true; h; first = false, h = nl ? nl + 1 : NULL) {
			nl = strchr(h, '\n');
			fprintf(out, "  %-22s  %.*s\n", first ? left : "",
			        nl ? (int)(nl - h) : (int)strlen(h), h);
		}
	}
	admin_fs_usage(out);
	fprintf(
	    out,
	    "\n"
	    "Options:\n"
	    "  --clusters A,B,C,D      Ceph cluster names, in a fixed order (required)\n"
	    "  -f, --faults F          clusters that may fail or lie (default (n-1)/3)\n"
	    "  --protocol CA|A         CA: encrypted, erasure coded, key secret-shared\n"
	    "                          (default); A: whole copies\n"
	    "  --pool POOL             RADOS pool on every cluster (default scfs)\n"
	    "  --namespace NS          RADOS namespace (default none)\n"
	    "  --store-id ID           the store's identity, bound into every record\n"
	    "                          (default: the namespace, or 'default')\n"
	    "  --id ID                 cephx client id (default admin)\n"
	    "  --conf-dir DIR          where CLUSTER.conf and keyrings are (default /etc/ceph)\n"
	    "  -k, --key FILE          writer key (PEM); needed by put and rm, and\n"
	    "                          trusted for reading\n"
	    "  --trust PUBKEY          also believe records signed by this writer\n"
	    "                          (64 hex digits, as keygen prints; repeatable)\n"
	    "  --version V             with get: that version instead of the newest\n"
	    "  --timeout SECONDS       deadline of each operation (default 10)\n"
	    "  --format json           machine-readable status and versions\n"
	    "  -h, --help              this text\n"
	    "  -V                      version\n");
}

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	enum {
		OPT_PROTOCOL = CLI_OPT_FREE,
		OPT_NS,
		OPT_VERSION,
		OPT_FORMAT,
		OPT_TRUST,
		OPT_STORE_ID
	};
	static const struct option options[] = {
	    CLI_COMMON_OPTIONS,
	    {"faults", required_argument, NULL, 'f'},
	    {"protocol", required_argument, NULL, OPT_PROTOCOL},
	    {"namespace", required_argument, NULL, OPT_NS},
	    {"store-id", required_argument, NULL, OPT_STORE_ID},
	    {"trust", required_argument, NULL, OPT_TRUST},
	    {"version", required_argument, NULL, OPT_VERSION},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct admin a = {
	    .f = -1,
	    .c = {.pool = "scfs", .timeout = 10},
	    .protocol = STORE_PROTOCOL_CA,
	    .version = STORE_VERSION_LATEST,
	};
	const struct command *cmd;
	struct store *store = NULL;
	char *end;
	int c, rc = 1, nargs, taken;

	/* mkfs, df and unlock: the file system's commands parse their own options. */
	if (admin_fs_is_command(argc, argv))
		return admin_fs_main(argc, argv);
	while ((c = getopt_long(argc, argv, "f:k:hV", options, NULL)) != -1) {
		if ((taken = cli_common_option(PROGRAM, &a.c, c, optarg)) != 0) {
			if (taken < 0)
				return 1;
			continue;
		}
		switch (c) {
		case 'f':
			if (cli_faults_parse(optarg, &a.f) < 0)
				return fail("--faults: '%s' is not a number from 0 to 5", optarg);
			break;
		case OPT_PROTOCOL:
			if (cli_protocol_parse(optarg, &a.protocol) < 0)
				return fail("--protocol: '%s' is neither CA nor A", optarg);
			break;
		case OPT_NS:
			a.rados_ns = optarg;
			break;
		case OPT_STORE_ID:
			if (!optarg[0] || strlen(optarg) > STORE_ID_MAX)
				return fail("--store-id: 1 to %d bytes", STORE_ID_MAX);
			a.store_id = optarg;
			break;
		case OPT_TRUST:
			if (a.trusted_count == STORE_MAX_TRUSTED)
				return fail("--trust: at most %d keys", STORE_MAX_TRUSTED);
			if (sc_hex_decode(optarg, a.trusted[a.trusted_count], STORE_KEY_LEN) < 0)
				return fail("--trust: '%s' is not a public key of 64 hex digits",
				            optarg);
			a.trusted_count++;
			break;
		case OPT_VERSION:
			errno = 0;
			a.version = strtoull(optarg, &end, 10);
			if (errno || *end || optarg[0] == '-' || !optarg[0])
				return fail("--version: '%s' is not a version number", optarg);
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "plain") != 0)
				return fail("--format: '%s' is neither json nor plain", optarg);
			a.json = strcmp(optarg, "json") == 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROGRAM " " SC_VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = command_find(argv[optind]);
	if (!cmd)
		return fail("unknown command '%s' (see --help)", argv[optind]), 2;
	optind++;
	nargs = argc - optind;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return fail("%s: wrong number of arguments (see --help)", cmd->name), 2;
	if ((cmd->needs & CMD_UNIT) && !store_unit_name_valid(argv[optind]))
		return fail("'%s' is not a unit name (1-%d of A-Z a-z 0-9 . _ - : +)", argv[optind],
		            STORE_NAME_MAX),
		       2;
	if ((cmd->needs & CMD_CONNECTS) && store_connect(&a, cmd->needs & CMD_WRITES, &store) < 0)
		goto out;
	rc = cmd->fn(&a, store, argv + optind, nargs);
out:
	store_close(store);
	sc_wipe(a.key, sizeof(a.key));
	cli_common_free(&a.c);
	return rc;
}

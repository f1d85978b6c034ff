/*
 * knockd: opens a port in nftables for a client that sent one valid knock
 * (docs/knockd.md). Single-threaded: one poll loop over the NFLOG socket and
 * a signalfd. The order of startup is the order of trust: read and check the
 * whole configuration, keys, CA and CRL first, then bind the NFLOG group, and
 * only then create the nftables table, so a bad config never changes the
 * firewall. The table is deleted on SIGTERM/SIGINT; the set elements expire
 * in the kernel whatever happens to this process.
 *
 * Signals: SIGHUP reloads CA, CRL, access rules, time window and open time
 * (the replay cache is kept) and reopens the log; SIGUSR1 logs a JSON status
 * line (and writes status_file).
 *
 * The replay cache outlives a restart in state_file: loaded at start, saved
 * after every accepted knock (before the port opens) and at stop. The rule is
 * that a knock opens a port only once its nonce is on disk, or once no file
 * is left that a restart would trust; a start without a valid file refuses
 * knocks older than itself (the cache's floor, replay.c).
 */
#include "knockd/capture.h"
#include "knockd/firewall.h"
#include "knockd/knockd_config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"

#define DEFAULT_CONFIG "/etc/knockd/knockd.conf"

struct knockd {
	const char *config_path;
	const char *log_file; /* --log-file, overrides the config */
	bool debug;
	struct knockd_config *config;
	struct knock_server_key *key;
	struct knock_authority *authority;
	struct knock_replay *replay;
	struct knock_verifier verifier;
	struct knock_capture *capture;
	struct knock_firewall *firewall;
	int signal_fd;
	bool stop;
	double started;
	uint64_t received, accepted;
	uint64_t rejected[KNOCK_REASON_COUNT];
	uint64_t log_second; /* wall second the budget below counts */
	unsigned logged;     /* reject lines logged in log_second */
	uint64_t suppressed; /* reject lines not logged since the last note */
	struct knock_verdict verdict;
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: knockd [-c CONFIG] [-f] [--log-file FILE] [--debug] [--check]\n"
	        "\n"
	        "Opens ports in nftables for clients that send one valid, certificate-signed\n"
	        "knock (see knockd(8), docs/knockd.md). Runs in the foreground.\n"
	        "\n"
	        "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
	        "  -f, --foreground    stay in the foreground (always; for systemd)\n"
	        "      --log-file FILE log here instead of log_file (\"-\": stderr)\n"
	        "  -d, --debug         log at debug level\n"
	        "      --check         check the configuration, keys, CA and CRL, then exit\n"
	        "  -h, --help          this help\n"
	        "  -V, --version       print the version\n"
	        "\n"
	        "Signals: SIGHUP reloads CA, CRL and access rules; SIGUSR1 logs a JSON status;\n"
	        "SIGTERM and SIGINT remove knockd's nftables table and exit.\n");
}

/* Loads what a reload may change: CA and CRL. The config is already parsed. */
static int trust_load(const struct knockd_config *config, struct knock_authority **authority)
{
	struct sc_err err = {{0}};
	int r = knock_authority_new(config->ca, config->crl, authority, &err);

	bool crl_failed;

	if (r < 0) {
		/* ERR starts with the file that failed: name the setting's line. */
		crl_failed = config->crl && strncmp(err.msg, config->crl, strlen(config->crl)) == 0;
		sc_log_error("%s:%d: %s", config->path,
		             crl_failed ? config->crl_line : config->ca_line, err.msg);
	}
	return r;
}

static void policy_apply(struct knockd *k)
{
	k->verifier.key = k->key;
	k->verifier.authority = k->authority;
	k->verifier.replay = k->replay;
	k->verifier.policy = (struct knock_policy){
	    .time_window = k->config->time_window,
	    .open_other_address = k->config->open_other_address,
	    .allow_source_address = k->config->allow_source_address,
	    .destinations = &k->config->destinations,
	    .protect = &k->config->protect,
	    .access = k->config->access,
	    .access_count = k->config->access_count,
	};
}

static int startup_load(struct knockd *k)
{
	uint8_t priv[KNOCK_KEY_LEN];
	struct sc_err err = {{0}};
	int r;

	r = knockd_config_load(k->config_path, &k->config, &err);
	if (r < 0) {
		sc_log_error("%s", err.msg);
		return r;
	}
	r = sc_log_open("knockd", k->log_file ? k->log_file : k->config->log_file,
	                k->debug ? SC_LOG_DEBUG : k->config->log_level);
	if (r < 0) {
		sc_log_error("%s: cannot open the log: %s",
		             k->log_file ? k->log_file : k->config->log_file, strerror(-r));
		return r;
	}
	r = knock_x25519_private_load(k->config->server_key, priv);
	if (r == 0)
		r = knock_server_key_new(priv, &k->key);
	sc_wipe(priv, sizeof(priv));
	if (r < 0) {
		sc_log_error("%s:%d: server_key %s: not an X25519 private key in PEM (%s)",
		             k->config->path, k->config->server_key_line, k->config->server_key,
		             strerror(-r));
		return r;
	}
	r = trust_load(k->config, &k->authority);
	if (r < 0)
		return r;
	r = knock_replay_new(k->config->replay_capacity, &k->replay);
	if (r < 0) {
		sc_log_error("replay cache: %s", strerror(-r));
		return r;
	}
	policy_apply(k);
	return 0;
}

/*
 * Loads the saved replay cache. Whatever goes wrong (no file, a corrupt or
 * unreadable one), knockd runs on with an empty cache whose floor is now:
 * knocks older than this start are refused, since a lost cache cannot say
 * whether they were used.
 */
static void state_load(struct knockd *k)
{
	const struct knockd_config *c = k->config;
	uint64_t now = (uint64_t)sc_now_wall();
	struct knock_state_info info;
	char *aside = NULL;
	int r;

	r = knock_state_dir_make(c->state_file);
	if (r < 0)
		sc_log_error("%s:%d: state_file %s: cannot create its directory: %s", c->path,
		             c->state_file_line, c->state_file, strerror(-r));
	r = knock_state_load(c->state_file, c->time_window, now, k->replay, &info);
	if (r == 0) {
		sc_log_warn("replay cache: %zu nonces loaded from %s (%zu expired; saved %" PRId64
		            " s ago, time_window then %" PRIu64 " s)",
		            info.live, c->state_file, info.nonces - info.live,
		            (int64_t)(now - info.saved), info.window);
		return;
	}
	knock_replay_floor_raise(k->replay, now, KNOCK_FLOOR_START);
	if (r == -ENOENT) {
		sc_log_warn("replay cache: no state file %s (first start?): knocks with a "
		            "timestamp before now are refused",
		            c->state_file);
		return;
	}
	if (r == -EBADMSG && asprintf(&aside, "%s.corrupt", c->state_file) >= 0 &&
	    rename(c->state_file, aside) == 0)
		sc_log_error("replay cache: %s is corrupt (%s), moved to %s: knocks with a "
		             "timestamp before now are refused",
		             c->state_file, info.problem, aside);
	else if (r == -EBADMSG)
		sc_log_error("replay cache: %s is corrupt (%s), ignored: knocks with a timestamp "
		             "before now are refused",
		             c->state_file, info.problem);
	else
		sc_log_error("replay cache: cannot load %s: %s: knocks with a timestamp before "
		             "now are refused",
		             c->state_file,
		             r == -ENOSPC || r == -EFBIG ? "more nonces than replay_capacity"
		                                         : strerror(-r));
	free(aside);
}

/*
 * Saves the replay cache. When that fails the old file goes, so that no
 * restart trusts a cache that lacks a nonce. False when neither worked: then
 * a restart could believe a stale file, and the caller must not open a port.
 */
static bool state_save(struct knockd *k)
{
	const char *path = k->config->state_file;
	int r = knock_state_save(path, k->replay, k->config->time_window, (uint64_t)sc_now_wall());

	if (r == 0)
		return true;
	/* ENOTDIR: no directory, so no file a restart could load either. */
	if (unlink(path) == 0 || errno == ENOENT || errno == ENOTDIR) {
		sc_log_error("replay cache: cannot save %s: %s; removed it, so a restart will "
		             "refuse knocks older than itself",
		             path, strerror(-r));
		return true;
	}
	sc_log_error("replay cache: cannot save %s (%s) nor remove it (%s)", path, strerror(-r),
	             strerror(errno));
	return false;
}

static bool same_ports(const struct knock_ports *a, const struct knock_ports *b)
{
	if (a->count != b->count)
		return false;
	/* Field by field: the structs have padding. */
	for (size_t i = 0; i < a->count; i++)
		if (a->ranges[i].protocol != b->ranges[i].protocol ||
		    a->ranges[i].first != b->ranges[i].first ||
		    a->ranges[i].last != b->ranges[i].last)
			return false;
	return true;
}

static void reload(struct knockd *k)
{
	struct knockd_config *config = NULL;
	struct knock_authority *authority = NULL;
	struct sc_err err = {{0}};

	sc_log_reopen();
	if (knockd_config_load(k->config_path, &config, &err) < 0) {
		sc_log_error("reload failed, keeping the running configuration: %s", err.msg);
		return;
	}
	if (config->knock_port != k->config->knock_port ||
	    config->nflog_group != k->config->nflog_group ||
	    strcmp(config->table, k->config->table) != 0 ||
	    strcmp(config->state_file, k->config->state_file) != 0 ||
	    !same_ports(&config->protect, &k->config->protect)) {
		sc_log_error("reload refused: knock_port, nflog_group, table, protect and "
		             "state_file change only with a restart; keeping the running "
		             "configuration");
		knockd_config_free(config);
		return;
	}
	if (trust_load(config, &authority) < 0) {
		sc_log_error("reload failed, keeping the running CA and CRL");
		knockd_config_free(config);
		return;
	}
	/* A longer window must not outlive the nonces kept for the shorter one. */
	knock_replay_window_change(k->replay, k->config->time_window, config->time_window,
	                           (uint64_t)sc_now_wall());
	knock_authority_free(k->authority);
	knockd_config_free(k->config);
	k->authority = authority;
	k->config = config;
	sc_log_set_level(k->debug ? SC_LOG_DEBUG : config->log_level);
	policy_apply(k);
	state_save(k);
	sc_log_warn("reloaded: ca=%s crl=%s access_rules=%zu time_window=%u open_seconds=%u; "
	            "replay cache kept (%zu nonces)",
	            config->ca, config->crl ? config->crl : "none", config->access_count,
	            config->time_window, config->open_seconds, knock_replay_count(k->replay));
}

static void status_report(struct knockd *k)
{
	char json[2048];
	size_t used;
	int n;

	n = snprintf(json, sizeof(json),
	             "{\"version\":\"%s\",\"uptime\":%.0f,\"knock_port\":%u,\"table\":\"%s\","
	             "\"received\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"overruns\":%" PRIu64
	             ",\"replay_cache\":%zu,\"cert_cache\":%zu,\"rejected\":{",
	             SC_VERSION, sc_now_monotonic() - k->started, k->config->knock_port,
	             k->config->table, k->received, k->accepted, knock_capture_overruns(k->capture),
	             knock_replay_count(k->replay), knock_authority_cached(k->authority));
	used = n > 0 ? (size_t)n : 0;
	for (int i = 1; i < KNOCK_REASON_COUNT && used < sizeof(json); i++) {
		n = snprintf(json + used, sizeof(json) - used, "%s\"%s\":%" PRIu64,
		             i > 1 ? "," : "", knock_reason_name((enum knock_reason)i),
		             k->rejected[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	if (used < sizeof(json))
		snprintf(json + used, sizeof(json) - used, "}}");
	sc_log_warn("status %s", json);
	if (k->config->status_file) {
		char tmp[4200];
		FILE *f;
		snprintf(tmp, sizeof(tmp), "%s.tmp", k->config->status_file);
		f = fopen(tmp, "we");
		if (f) {
			fprintf(f, "%s\n", json);
			if (fclose(f) == 0 && rename(tmp, k->config->status_file) == 0)
				return;
		}
		sc_log_error("%s: cannot write the status: %s", k->config->status_file,
		             strerror(errno));
	}
}

/* Rejects are logged up to log_rejects_per_second; the rest are counted. */
static void reject_note(struct knockd *k, const char *src)
{
	const struct knock_verdict *v = &k->verdict;
	uint64_t second = (uint64_t)sc_now_wall();
	unsigned limit = k->config->log_rejects_per_second;

	k->rejected[v->reason]++;
	if (second != k->log_second) {
		if (k->suppressed)
			sc_log_warn("suppressed %" PRIu64
			            " reject lines (log_rejects_per_second %u)",
			            k->suppressed, limit);
		k->suppressed = 0;
		k->logged = 0;
		k->log_second = second;
	}
	if (limit && k->logged >= limit) {
		k->suppressed++;
		return;
	}
	k->logged++;
	sc_log_warn("reject src=%s subject=\"%s\" reason=%s detail=\"%s\"", src,
	            v->subject[0] ? v->subject : "-", knock_reason_name(v->reason), v->detail);
}

static void knock_accept(struct knockd *k, const struct knock_datagram *d, const char *src)
{
	const struct knock_request *req = &k->verdict.request;
	struct sc_err err = {{0}};
	char target[64];
	const uint8_t *address = k->verdict.open_address;
	int family = k->verdict.open_family;
	int r;

	knock_address_format(family, address, target, sizeof(target));
	if (!state_save(k)) {
		k->rejected[KNOCK_INTERNAL]++;
		sc_log_error("reject src=%s subject=\"%s\" reason=%s detail=\"replay cache "
		             "cannot be saved\"",
		             src, k->verdict.subject, knock_reason_name(KNOCK_INTERNAL));
		return;
	}
	r = knock_firewall_allow(k->firewall, family, address, req->protocol, req->port,
	                         k->config->open_seconds, &err);
	if (r < 0) {
		k->rejected[KNOCK_INTERNAL]++;
		sc_log_error("reject src=%s subject=\"%s\" reason=firewall detail=\"%s\"", src,
		             k->verdict.subject, err.msg);
		return;
	}
	k->accepted++;
	sc_log_info("accept src=%s subject=\"%s\" open=%s %s/%u seconds=%u skew=%" PRId64, src,
	            k->verdict.subject, target, knock_protocol_name(req->protocol), req->port,
	            k->config->open_seconds, k->verdict.skew);
}

static void on_datagram(void *arg, const struct knock_datagram *d)
{
	struct knockd *k = arg;
	struct knock_verdict *v = &k->verdict;
	struct knock_origin origin = {.family = d->family};
	char src[64];

	memcpy(origin.source, d->source, 16);
	memcpy(origin.destination, d->destination, 16);
	k->received++;
	knock_address_format(d->family == AF_INET6 ? 6 : 4, d->source, src, sizeof(src));
	if (d->wire_len > KNOCK_MAX_LEN || d->len < d->wire_len) {
		v->reason = d->wire_len > KNOCK_MAX_LEN ? KNOCK_OVERSIZED : KNOCK_TRUNCATED;
		v->subject[0] = '\0';
		snprintf(v->detail, sizeof(v->detail), "%zu bytes", d->wire_len);
	} else if (knock_verify(&k->verifier, d->payload, d->len, &origin, (uint64_t)sc_now_wall(),
	                        v) == KNOCK_OK) {
		knock_accept(k, d, src);
		return;
	}
	reject_note(k, src);
}

static int signals_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static void on_signal(struct knockd *k)
{
	struct signalfd_siginfo si;

	while (read(k->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(k);
			break;
		case SIGUSR1:
			status_report(k);
			break;
		default:
			sc_log_warn("signal %u: stopping", si.ssi_signo);
			k->stop = true;
		}
	}
}

static int loop(struct knockd *k)
{
	struct pollfd fds[2] = {
	    {.fd = knock_capture_fd(k->capture), .events = POLLIN},
	    {.fd = k->signal_fd, .events = POLLIN},
	};
	uint64_t overruns_seen = 0;

	while (!k->stop) {
		int n = poll(fds, 2, 1000);
		if (n < 0 && errno != EINTR) {
			sc_log_error("poll: %s", strerror(errno));
			return -errno;
		}
		if (fds[1].revents & POLLIN)
			on_signal(k);
		if (fds[0].revents & POLLIN) {
			int r = knock_capture_read(k->capture, on_datagram, k);
			if (r < 0) {
				sc_log_error("nflog: %s", strerror(-r));
				return r;
			}
		}
		if (knock_capture_overruns(k->capture) != overruns_seen) {
			overruns_seen = knock_capture_overruns(k->capture);
			sc_log_warn("nflog socket overran (%" PRIu64
			            " times so far): datagrams lost "
			            "under load",
			            overruns_seen);
		}
	}
	return 0;
}

static int options_parse(struct knockd *k, int argc, char **argv, bool *check)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},   {"foreground", no_argument, NULL, 'f'},
	    {"log-file", required_argument, NULL, 'L'}, {"debug", no_argument, NULL, 'd'},
	    {"check", no_argument, NULL, 'C'},          {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},        {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:fdhV", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			k->config_path = optarg;
			break;
		case 'f':
			break;
		case 'L':
			k->log_file = optarg;
			break;
		case 'd':
			k->debug = true;
			break;
		case 'C':
			*check = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("knockd %s\n", SC_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "knockd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static void knockd_free(struct knockd *k)
{
	knock_firewall_close(k->firewall); /* deletes the table */
	knock_capture_close(k->capture);
	knock_replay_free(k->replay);
	knock_authority_free(k->authority);
	knock_server_key_free(k->key);
	knockd_config_free(k->config);
	if (k->signal_fd >= 0)
		close(k->signal_fd);
	free(k);
}

int main(int argc, char **argv)
{
	struct knockd *k = calloc(1, sizeof(*k));
	struct sc_err err = {{0}};
	bool check = false;
	int r;

	if (!k)
		return 1;
	k->signal_fd = -1;
	k->config_path = DEFAULT_CONFIG;
	k->started = sc_now_monotonic();
	sc_log_open("knockd", NULL, SC_LOG_INFO);
	r = options_parse(k, argc, argv, &check);
	if (r < 0 || (r = startup_load(k)) < 0)
		goto out;
	if (check) {
		printf("%s: configuration, keys, CA and CRL are valid\n", k->config_path);
		goto out;
	}
	state_load(k);
	state_save(k);
	k->signal_fd = signals_open();
	if (k->signal_fd < 0) {
		r = k->signal_fd;
		sc_log_error("signals: %s", strerror(-r));
		goto out;
	}
	r = knock_capture_open(k->config->nflog_group, k->config->rcvbuf_mb, &k->capture);
	if (r < 0) {
		sc_log_error("cannot read NFLOG group %u: %s%s", k->config->nflog_group,
		             strerror(-r), r == -EBUSY ? " (another program holds it)" : "");
		goto out;
	}
	r = knock_firewall_open(k->config, &k->firewall, &err);
	if (r < 0) {
		sc_log_error("cannot create table inet %s: %s", k->config->table, err.msg);
		goto out;
	}
	sc_log_warn("started: knock port udp/%u, nflog group %u, table inet %s, open %u s, "
	            "window %u s",
	            k->config->knock_port, k->config->nflog_group, k->config->table,
	            k->config->open_seconds, k->config->time_window);
	r = loop(k);
	knock_firewall_close(k->firewall);
	k->firewall = NULL;
	sc_log_warn("stopped: table inet %s removed; replay cache %s (%zu nonces)",
	            k->config->table, state_save(k) ? "saved" : "NOT saved",
	            knock_replay_count(k->replay));
out:
	knockd_free(k);
	return r < 0 ? 1 : 0;
}

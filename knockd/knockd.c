/*
 * knockd: opens a port in nftables for a client that sent one valid knock
 * (docs/knockd.md). Privilege separation, as OpenBSD daemons do it: this
 * parent keeps CAP_NET_ADMIN and never looks at the network's bytes; a
 * child, the engine (engine.c), reads the knocks from NFLOG and verifies
 * them with no capability, as an unprivileged user, under seccomp. The
 * parent checks each ACCEPT message the engine sends for its exact length
 * and content (message.c), puts the nonce on disk, and adds one set
 * element. Single-threaded: one poll loop over a signalfd and the engine's
 * socket.
 *
 * The order of startup is the order of trust: read and check the whole
 * configuration, keys, CA and CRL first, then load the replay cache, bind
 * the NFLOG group, create the nftables table, and only then start the
 * engine, so a bad config never changes the firewall. Stopping (SIGTERM,
 * SIGINT, a fatal error, the engine's death) flushes only the allow sets:
 * the table with its drop rules stays, so the ports stay closed while knockd
 * is not running. knockd --remove deletes the table on purpose. The set
 * elements expire in the kernel whatever happens to this process.
 *
 * Signals: SIGHUP reloads every setting that can change without a restart
 * (by starting a new engine with it) and refuses, naming them, those that
 * cannot; it reopens the log. SIGUSR1 logs a JSON status line (and writes
 * status_file).
 *
 * The replay cache outlives a restart in state_file: loaded at start, each
 * accepted knock's nonce appended (and synced) before its port opens, the
 * whole cache rewritten when that journal grows long and at stop. The rule
 * is that a knock opens a port only once its nonce is on disk, or once no
 * file is left that a restart would trust; a start without a valid file
 * refuses knocks older than itself (the cache's floor, replay.c).
 */
#include "knockd/capture.h"
#include "knockd/engine.h"
#include "knockd/message.h"
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
#include <sys/wait.h>
#include <time.h>
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
	struct knock_server_key *key;      /* for the engines; wiped when freed */
	struct knock_authority *authority; /* for the engines */
	struct knock_replay *replay;       /* what is on disk: each engine starts from it */
	struct knock_journal *journal;     /* the replay cache's file, open for appending */
	struct knock_capture *capture;     /* the NFLOG socket, read only by the engine */
	struct knock_firewall *firewall;
	int signal_fd;
	pid_t engine;  /* the engine's pid, 0 when none */
	int engine_fd; /* the parent's end of the socketpair, -1 when none */
	bool stop;
	bool status_pending; /* SIGUSR1 asked the engine for its counters */
	double started;
	uint64_t accepted, refused; /* ACCEPTs that opened a port, and those that did not */
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: knockd [-c CONFIG] [-f] [--log-file FILE] [--debug] [--check|--remove]\n"
	        "\n"
	        "Opens ports in nftables for clients that send one valid, certificate-signed\n"
	        "knock (see knockd(8), docs/knockd.md). Runs in the foreground.\n"
	        "\n"
	        "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
	        "  -f, --foreground    stay in the foreground (always; for systemd)\n"
	        "      --log-file FILE log here instead of log_file (\"-\": stderr)\n"
	        "  -d, --debug         log at debug level\n"
	        "      --check         check the configuration, keys, CA and CRL, then exit\n"
	        "      --remove        delete knockd's nftables table (opening the protected\n"
	        "                      ports to anyone) and exit\n"
	        "  -h, --help          this help\n"
	        "  -V, --version       print the version\n"
	        "\n"
	        "Signals: SIGHUP reloads the configuration (refusing, by name, settings that\n"
	        "need a restart); SIGUSR1 logs a JSON status;\n"
	        "SIGTERM and SIGINT close what knockd opened and exit, keeping its table and\n"
	        "its drop rules: the ports stay closed until knockd runs again.\n");
}

/* Loads what a reload may change: CA and CRL. The config is already parsed. */
static int trust_load(const struct knockd_config *config, struct knock_authority **authority)
{
	struct sc_err err = {{0}};
	struct knock_trust trust = {
	    .ca = config->ca,
	    .crl = config->crl,
	    .partial_chain = config->ca_partial_chain,
	    .verify_per_second = config->verify_per_second,
	    .verify_per_source = config->verify_per_source,
	};
	int r = knock_authority_new(&trust, authority, &err);

	bool crl_failed;

	if (r < 0) {
		/* ERR starts with the file that failed: name the setting's line. */
		crl_failed = config->crl && strncmp(err.msg, config->crl, strlen(config->crl)) == 0;
		sc_log_error("%s:%d: %s", config->path,
		             crl_failed ? config->crl_line : config->ca_line, err.msg);
	}
	return r;
}

static const char *level_name(int level)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	return level >= 0 && level < 4 ? names[level] : "?";
}

static struct knock_policy policy_of(const struct knockd_config *c)
{
	return (struct knock_policy){
	    .time_window = c->time_window,
	    .open_other_address = c->open_other_address,
	    .allow_source_address = c->allow_source_address,
	    .destinations = &c->destinations,
	    .knocks_per_certificate = c->knocks_per_certificate,
	    .protect = &c->protect,
	    .access = c->access,
	    .access_count = c->access_count,
	};
}

/* Reads CONFIG's server key into *KEY: 0 or -errno, logged. */
static int server_key_load(const struct knockd_config *config, struct knock_server_key **key)
{
	uint8_t priv[KNOCK_KEY_LEN];
	int r = knock_x25519_private_load(config->server_key, priv);

	if (r == 0)
		r = knock_server_key_new(priv, key);
	sc_wipe(priv, sizeof(priv));
	if (r < 0)
		sc_log_error("%s:%d: server_key %s: not an X25519 private key in PEM (%s)",
		             config->path, config->server_key_line, config->server_key,
		             strerror(-r));
	return r;
}

static int startup_load(struct knockd *k)
{
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
	r = server_key_load(k->config, &k->key);
	if (r < 0)
		return r;
	r = trust_load(k->config, &k->authority);
	if (r < 0)
		return r;
	r = knock_replay_new(k->config->replay_capacity, &k->replay);
	if (r < 0) {
		sc_log_error("replay cache: %s", strerror(-r));
		return r;
	}
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
		            " s ago, time_window then %" PRIu64 " s; %zu journal records%s)",
		            info.live, c->state_file, info.nonces + info.records - info.live,
		            (int64_t)(now - info.saved), info.window, info.records,
		            info.torn ? ", a torn last one ignored" : "");
		if (knock_replay_high_water(k->replay) > now)
			sc_log_error(
			    "replay cache: the clock is %" PRIu64
			    " s behind the state file's latest time: knocks older than that "
			    "minus time_window are refused as replays",
			    knock_replay_high_water(k->replay) - now);
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
 * Saves the whole replay cache (a new snapshot, the journal emptied). When
 * that fails the old file goes, so that no restart trusts a cache that lacks
 * a nonce. False when neither worked: then a restart could believe a stale
 * file, and the caller must not open a port.
 */
static bool state_save(struct knockd *k)
{
	const char *path = k->config->state_file;
	uint64_t now = knock_replay_high_water(k->replay);
	int r;

	if (now < (uint64_t)sc_now_wall())
		now = (uint64_t)sc_now_wall();
	if (k->journal)
		r = knock_journal_compact(k->journal, k->replay, k->config->time_window, now);
	else
		r = knock_journal_open(path, k->replay, k->config->time_window, now, &k->journal);
	if (r == 0) {
		sc_log_debug("replay cache: %zu nonces saved in %s", knock_replay_count(k->replay),
		             path);
		return true;
	}
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

/*
 * Puts the nonce of the knock just accepted on disk before its port opens:
 * one record appended and synced; the whole cache rewritten only when the
 * journal is long (or the append failed). False as state_save.
 */
static bool state_record(struct knockd *k, const uint8_t nonce[KNOCK_NONCE_LEN], uint64_t expires)
{
	int r = k->journal ? knock_journal_append(k->journal, nonce, expires,
	                                          knock_replay_high_water(k->replay))
	                   : -EBADF;

	if (r == 0)
		sc_log_debug("replay cache: nonce saved in %s (journal record %zu)",
		             k->config->state_file, knock_journal_records(k->journal));
	if (r == 0 && knock_journal_records(k->journal) <
	                  knock_journal_limit(knock_replay_capacity(k->replay)))
		return true;
	if (r < 0 && k->journal)
		sc_log_warn("replay cache: cannot append to %s (%s): rewriting it whole",
		            k->config->state_file, strerror(-r));
	return state_save(k);
}

/* Closes the engine's socket and ends it; the NFLOG socket stays with the parent. */
static void engine_stop(struct knockd *k)
{
	if (k->engine_fd >= 0)
		close(k->engine_fd);
	k->engine_fd = -1;
	if (k->engine > 0) {
		kill(k->engine, SIGKILL);
		waitpid(k->engine, NULL, 0);
	}
	k->engine = 0;
	k->status_pending = false;
}

/*
 * Forks an engine with the current configuration, keys, CA and CRL and a
 * copy of the replay cache. The child keeps only the NFLOG socket, its end
 * of the socketpair and the log; the firewall's netlink socket, the state
 * file and the signalfd are the parent's alone.
 */
static int engine_start(struct knockd *k)
{
	struct knock_engine *e;
	int pair[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pair[0]);
		close(pair[1]);
		return -errno;
	}
	if (pid == 0) {
		close(pair[0]);
		close(k->signal_fd);
		knock_journal_close(k->journal);
		knock_firewall_forget(k->firewall);
		e = calloc(1, sizeof(*e));
		if (!e)
			_exit(1);
		e->verifier = (struct knock_verifier){
		    .key = k->key,
		    .authority = k->authority,
		    .replay = k->replay,
		    .policy = policy_of(k->config),
		};
		e->capture = k->capture;
		e->fd = pair[1];
		e->user = k->config->user;
		e->log_rejects_per_second = k->config->log_rejects_per_second;
		knock_engine_run(e);
	}
	close(pair[1]);
	k->engine = pid;
	k->engine_fd = pair[0];
	return 0;
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

static bool same_prefixes(const struct knockd_config *a, const struct knockd_config *b)
{
	if (a->trusted_count != b->trusted_count)
		return false;
	for (size_t i = 0; i < a->trusted_count; i++)
		if (a->trusted[i].family != b->trusted[i].family ||
		    a->trusted[i].length != b->trusted[i].length ||
		    memcmp(a->trusted[i].bytes, b->trusted[i].bytes, 16) != 0)
			return false;
	return true;
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The settings that need a restart and differ between OLD and NEW, as a list. */
static void restart_settings(const struct knockd_config *old, const struct knockd_config *new,
                             char *out, size_t size)
{
	struct {
		const char *name;
		bool same;
	} checks[] = {
	    {"knock_port", old->knock_port == new->knock_port},
	    {"nflog_group", old->nflog_group == new->nflog_group},
	    {"table", strcmp(old->table, new->table) == 0},
	    {"protect", same_ports(&old->protect, &new->protect)},
	    {"trusted", same_prefixes(old, new)},
	    {"state_file", strcmp(old->state_file, new->state_file) == 0},
	    {"replay_capacity", old->replay_capacity == new->replay_capacity},
	    {"rcvbuf_mb", old->rcvbuf_mb == new->rcvbuf_mb},
	    {"user", same_text(old->user, new->user)},
	};
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!checks[i].same && used < size)
			used += (size_t)snprintf(out + used, size - used, "%s%s", used ? ", " : "",
			                         checks[i].name);
}

/*
 * SIGHUP: everything or nothing. The new configuration, server key, CA and
 * CRL are all loaded and checked first; if any fails, or a setting that
 * needs a restart changed, the running configuration stays and the log
 * says why. Otherwise a new engine starts with all of it.
 */
static void reload(struct knockd *k)
{
	struct knockd_config *config = NULL;
	struct knock_authority *authority = NULL;
	struct knock_server_key *key = NULL;
	struct sc_err err = {{0}};
	char changed[256];
	int r;

	sc_log_reopen();
	if (knockd_config_load(k->config_path, &config, &err) < 0) {
		sc_log_error("reload refused, keeping the running configuration: %s", err.msg);
		return;
	}
	restart_settings(k->config, config, changed, sizeof(changed));
	if (changed[0]) {
		sc_log_error(
		    "reload refused: %s changed, which needs a restart; keeping the running "
		    "configuration",
		    changed);
		goto out;
	}
	if (server_key_load(config, &key) < 0 || trust_load(config, &authority) < 0) {
		sc_log_error("reload refused: keeping the running configuration, server key, CA "
		             "and CRL");
		goto out;
	}
	engine_stop(k);
	/* A longer window must not outlive the nonces kept for the shorter one. */
	knock_replay_window_change(k->replay, k->config->time_window, config->time_window,
	                           (uint64_t)sc_now_wall());
	sc_log_warn("reloaded: server_key=%s%s ca=%s crl=%s access_rules=%zu time_window=%u "
	            "open_seconds=%u open_other_address=%s allow_source_address=%s "
	            "public_addresses=%zu knocks_per_certificate=%u verify_per_source=%u "
	            "verify_per_second=%u log_level=%s; replay cache kept (%zu nonces)",
	            config->server_key,
	            memcmp(knock_server_key_public(key), knock_server_key_public(k->key),
	                   KNOCK_KEY_LEN) != 0
	                ? " (a new key)"
	                : "",
	            config->ca, config->crl ? config->crl : "none", config->access_count,
	            config->time_window, config->open_seconds,
	            config->open_other_address ? "true" : "false",
	            config->allow_source_address ? "true" : "false", config->destinations.count,
	            config->knocks_per_certificate, config->verify_per_source,
	            config->verify_per_second, level_name(config->log_level),
	            knock_replay_count(k->replay));
	knock_server_key_free(k->key);
	knock_authority_free(k->authority);
	knockd_config_free(k->config);
	k->key = key;
	k->authority = authority;
	k->config = config;
	key = NULL;
	authority = NULL;
	config = NULL;
	sc_log_set_level(k->debug ? SC_LOG_DEBUG : k->config->log_level);
	state_save(k);
	r = engine_start(k);
	if (r < 0) {
		sc_log_error("reload: cannot start the engine: %s; stopping", strerror(-r));
		k->stop = true;
	}
out:
	knock_server_key_free(key);
	knock_authority_free(authority);
	knockd_config_free(config);
}

static void status_write(struct knockd *k, const struct knock_msg_status *m)
{
	char json[2048];
	size_t used;
	int n;

	n = snprintf(
	    json, sizeof(json),
	    "{\"version\":\"%s\",\"uptime\":%.0f,\"knock_port\":%u,\"table\":\"%s\","
	    "\"engine\":%d,\"received\":%" PRIu64 ",\"accepted\":%" PRIu64 ",\"overruns\":%" PRIu64
	    ",\"replay_cache\":%zu,\"cert_cache\":%" PRIu64 ",\"cert_refused_cache\":%" PRIu64
	    ",\"cert_verified\":%" PRIu64 ",\"cert_rate_limited\":%" PRIu64 ",\"rejected\":{",
	    SC_VERSION, sc_now_monotonic() - k->started, k->config->knock_port, k->config->table,
	    (int)k->engine, m->received, k->accepted, m->overruns, knock_replay_count(k->replay),
	    m->cert_cache, m->cert_refused_cache, m->cert_verified, m->cert_rate_limited);
	used = n > 0 ? (size_t)n : 0;
	for (int i = 1; i < KNOCK_REASON_COUNT && used < sizeof(json); i++) {
		uint64_t count = m->rejected[i] + (i == KNOCK_INTERNAL ? k->refused : 0);
		n = snprintf(json + used, sizeof(json) - used, "%s\"%s\":%" PRIu64,
		             i > 1 ? "," : "", knock_reason_name((enum knock_reason)i), count);
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

/* An ACCEPT from the engine: checked, then the nonce saved, then the port opened. */
static void on_accept(struct knockd *k, const void *buf, size_t len)
{
	uint64_t now = (uint64_t)sc_now_wall();
	struct knock_msg_accept m;
	struct sc_err err = {{0}};
	char target[64];
	int r;

	r = knock_message_accept_check(buf, len, &k->config->protect, now, k->config->time_window,
	                               &m);
	if (r < 0) {
		k->refused++;
		sc_log_error("engine sent a malformed message (%zu bytes): ignored", len);
		return;
	}
	knock_address_format(m.family, m.address, target, sizeof(target));
	knock_replay_clock(k->replay, m.clock);
	if (knock_replay_check(k->replay, m.nonce, now) < 0) {
		k->refused++;
		sc_log_error("engine asked twice for one nonce (src=%s): ignored", m.source);
		return;
	}
	if (knock_replay_insert(k->replay, m.nonce, m.expires, now) < 0 ||
	    !state_record(k, m.nonce, m.expires)) {
		k->refused++;
		sc_log_error("reject src=%s subject=\"%s\" reason=%s detail=\"replay cache "
		             "cannot be saved\"",
		             m.source, m.subject, knock_reason_name(KNOCK_INTERNAL));
		return;
	}
	r = knock_firewall_allow(k->firewall, m.family, m.address, m.protocol, m.port,
	                         k->config->open_seconds, &err);
	if (r < 0) {
		k->refused++;
		sc_log_error("reject src=%s subject=\"%s\" reason=firewall detail=\"%s\"", m.source,
		             m.subject, err.msg);
		return;
	}
	k->accepted++;
	sc_log_info("accept src=%s subject=\"%s\" open=%s %s/%u seconds=%u skew=%" PRId64, m.source,
	            m.subject, target, knock_protocol_name(m.protocol), m.port,
	            k->config->open_seconds, m.skew);
}

/* A message from the engine; -EPIPE when it is gone. */
static int on_engine(struct knockd *k)
{
	union {
		struct knock_msg_accept accept;
		struct knock_msg_status status;
		uint8_t bytes[4096];
	} buf;
	struct knock_msg_status status;
	ssize_t n = recv(k->engine_fd, &buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -EPIPE;
	if ((size_t)n > sizeof(buf)) {
		k->refused++;
		sc_log_error("engine sent a malformed message (%zd bytes): ignored", n);
		return 0;
	}
	if (buf.bytes[0] == KNOCK_MSG_ACCEPT)
		on_accept(k, &buf, (size_t)n);
	else if (k->status_pending && knock_message_status_check(&buf, (size_t)n, &status) == 0) {
		k->status_pending = false;
		status_write(k, &status);
	} else {
		k->refused++;
		sc_log_error("engine sent a malformed message (%zd bytes): ignored", n);
	}
	return 0;
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
	char request = KNOCK_MSG_STATUS;

	while (read(k->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(k);
			break;
		case SIGUSR1:
			if (send(k->engine_fd, &request, 1, MSG_NOSIGNAL) == 1)
				k->status_pending = true;
			break;
		default:
			sc_log_warn("signal %u: stopping", si.ssi_signo);
			k->stop = true;
		}
	}
}

static int loop(struct knockd *k)
{
	while (!k->stop) {
		struct pollfd fds[2] = {
		    {.fd = k->signal_fd, .events = POLLIN},
		    {.fd = k->engine_fd, .events = POLLIN},
		};
		int n = poll(fds, 2, 1000);
		if (n < 0 && errno != EINTR) {
			sc_log_error("poll: %s", strerror(errno));
			return -errno;
		}
		if (fds[0].revents & POLLIN)
			on_signal(k);
		if (k->stop)
			break;
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR) && on_engine(k) < 0) {
			sc_log_error("the engine (pid %d) is gone: stopping, ports closed",
			             (int)k->engine);
			return -EPIPE;
		}
	}
	return 0;
}

enum knockd_mode { MODE_RUN, MODE_CHECK, MODE_REMOVE };

static int options_parse(struct knockd *k, int argc, char **argv, enum knockd_mode *mode)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"log-file", required_argument, NULL, 'L'},
	    {"debug", no_argument, NULL, 'd'},
	    {"check", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"remove", no_argument, NULL, 'R'},
	    {NULL, 0, NULL, 0},
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
			*mode = MODE_CHECK;
			break;
		case 'R':
			*mode = MODE_REMOVE;
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

/* knockd --remove: only the config's table name is needed, and it is checked. */
static int knockd_remove(struct knockd *k)
{
	struct sc_err err = {{0}};
	int r = knockd_config_load(k->config_path, &k->config, &err);

	if (r < 0) {
		sc_log_error("%s", err.msg);
		return r;
	}
	r = knock_firewall_remove(k->config->table, &err);
	if (r < 0) {
		sc_log_error("cannot remove table inet %s: %s", k->config->table, err.msg);
		return r;
	}
	printf("table inet %s removed: the protected ports are open to anyone now\n",
	       k->config->table);
	return 0;
}

static void knockd_free(struct knockd *k)
{
	engine_stop(k);
	knock_firewall_close(k->firewall); /* flushes the allow sets, keeps the drops */
	knock_capture_close(k->capture);
	knock_journal_close(k->journal);
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
	enum knockd_mode mode = MODE_RUN;
	int r;

	if (!k)
		return 1;
	k->signal_fd = -1;
	k->engine_fd = -1;
	k->config_path = DEFAULT_CONFIG;
	k->started = sc_now_monotonic();
	sc_log_open("knockd", NULL, SC_LOG_INFO);
	r = options_parse(k, argc, argv, &mode);
	if (r < 0)
		goto out;
	if (mode == MODE_REMOVE) {
		r = knockd_remove(k);
		goto out;
	}
	if ((r = startup_load(k)) < 0)
		goto out;
	if (mode == MODE_CHECK) {
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
	/* An engine of a knockd just killed may hold the group for a moment more. */
	for (int tries = 0; tries < 40; tries++) {
		r = knock_capture_open(k->config->nflog_group, k->config->rcvbuf_mb, &k->capture);
		if (r != -EBUSY)
			break;
		nanosleep(&(struct timespec){0, 50000000}, NULL);
	}
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
	r = engine_start(k);
	if (r < 0) {
		sc_log_error("cannot start the engine: %s", strerror(-r));
		goto out;
	}
	sc_log_warn("started: knock port udp/%u, nflog group %u, table inet %s, open %u s, "
	            "window %u s, engine pid %d",
	            k->config->knock_port, k->config->nflog_group, k->config->table,
	            k->config->open_seconds, k->config->time_window, (int)k->engine);
	r = loop(k);
	engine_stop(k);
	knock_firewall_close(k->firewall);
	k->firewall = NULL;
	sc_log_warn("stopped: opened ports closed, table inet %s kept with its drop rules "
	            "(knockd --remove deletes it); replay cache %s (%zu nonces)",
	            k->config->table, state_save(k) ? "saved" : "NOT saved",
	            knock_replay_count(k->replay));
out:
	knockd_free(k);
	return r < 0 ? 1 : 0;
}

/*
 * rbd-mirror-guard.conf in memory (config.c reads it). Strings are owned by
 * the config and freed by guard_config_free; integers are long long so that
 * one table of offsets describes every setting.
 */
#ifndef GUARD_CONFIG_H
#define GUARD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define GUARD_DEFAULT_PORT 7443
#define GUARD_DEFAULT_LISTEN_PORT 7444
#define GUARD_DEFAULT_MARK 0x5347

struct guard_serve_config {
	char *listen, *cluster, *conf_dir, *conf, *keyring, *id;
	char *certificate, *key, *ca, *crl, *user;
	char *status_socket, *log_file, *log_level, *allow;
	long long port, refresh_seconds, max_flows, handshake_seconds;
};

struct guard_connect_config {
	char *server, *certificate, *key, *ca, *crl, *knock_server_key, *table;
	char *status_socket, *log_file, *log_level;
	char *knock_config;
	long long port, listen_port, knock_refresh_seconds, mark;
	long long refresh_seconds, connect_seconds;
	uint64_t max_rate; /* bytes per second, 0: no limit */
};

struct guard_config {
	bool has_serve, has_connect;
	struct guard_serve_config serve;
	struct guard_connect_config connect;
};

int guard_config_load(const char *path, struct guard_config **out, struct sc_err *err);
void guard_config_free(struct guard_config *config);

#endif

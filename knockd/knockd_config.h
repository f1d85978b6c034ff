/*
 * knockd.conf (config.c), private to knockd.
 */
#ifndef KNOCKD_CONFIG_H
#define KNOCKD_CONFIG_H

#include "common/err.h"
#include "knockd/verify.h"

/* config.c */
struct knockd_config {
	char *path;
	uint16_t knock_port;
	uint16_t nflog_group;
	char table[64];
	char *server_key;
	char *ca;
	char *crl;                              /* NULL: no revocation list */
	char *log_file;                         /* NULL: stderr */
	char *status_file;                      /* NULL: none */
	char *state_file;                       /* the replay cache on disk */
	int server_key_line, ca_line, crl_line; /* for messages about those files */
	int state_file_line;                    /* 0: the default */
	int log_level;
	unsigned open_seconds;
	unsigned time_window;
	unsigned replay_capacity;
	unsigned log_rejects_per_second;
	unsigned rcvbuf_mb;
	bool open_other_address;
	bool allow_source_address;
	struct knock_address_list destinations; /* public_addresses */
	struct knock_ports protect;
	struct knock_access_rule *access;
	size_t access_count;
};
int knockd_config_load(const char *path, struct knockd_config **out, struct sc_err *err);
int knockd_config_parse(const char *name, const char *text, struct knockd_config **out,
                        struct sc_err *err);
void knockd_config_free(struct knockd_config *config);

#endif

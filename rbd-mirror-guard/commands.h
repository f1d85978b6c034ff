/*
 * The commands of rbd-mirror-guard (main.c's table). Each takes the
 * arguments after its name and returns the process's exit status.
 */
#ifndef GUARD_COMMANDS_H
#define GUARD_COMMANDS_H

#include <stdatomic.h>

int guard_cmd_serve(int argc, char **argv);
int guard_cmd_connect(int argc, char **argv);
int guard_cmd_pool(int argc, char **argv);
int guard_cmd_status(int argc, char **argv);
int guard_cmd_check(int argc, char **argv);

/* Shared by serve and connect: "rbd-mirror-guard: WHAT" on stderr, status 1. */
int guard_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Connects a TCP socket to A within SECONDS, with MARK set first (0: none). */
int guard_tcp_connect(const struct guard_addr *a, unsigned mark, double seconds);
/*
 * The start shared by serve and connect: options (-c, -l, -d, -h; and
 * --max-rate when MAX_RATE is non-NULL, for connect), the configuration
 * (its path made absolute first: the daemons may chdir), the presence of
 * GROUP ("serve" or "connect"), the log level and the log file. Returns -1
 * when the daemon goes on with *CONFIG (its to free), otherwise the exit
 * status (usage, --help or an error already printed).
 */
struct guard_config;
int guard_daemon_start(int argc, char **argv, const char *usage, const char *group,
                       const char **max_rate, struct guard_config **config);
/* Counts a flow in *ACTIVE and runs FN(ARG) for it on a detached thread;
 * when no thread can be made, undoes that: closes FD and frees ARG. */
void guard_flow_start(void *(*fn)(void *), void *arg, int fd, _Atomic long *active);
/* After stop: waits up to 3 s for the flow threads counted by *COUNT to end. */
void guard_flows_wait(const _Atomic long *count);
/* Self-pipe for signals: guard_signals_open installs the handlers. */
int guard_signals_open(int pipe_fds[2]);

#endif

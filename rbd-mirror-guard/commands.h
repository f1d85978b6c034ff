/*
 * The commands of rbd-mirror-guard (main.c's table). Each takes the
 * arguments after its name and returns the process's exit status.
 */
#ifndef GUARD_COMMANDS_H
#define GUARD_COMMANDS_H

int guard_cmd_serve(int argc, char **argv);
int guard_cmd_connect(int argc, char **argv);
int guard_cmd_pool(int argc, char **argv);
int guard_cmd_status(int argc, char **argv);
int guard_cmd_check(int argc, char **argv);

/* Shared by serve and connect: "rbd-mirror-guard: WHAT" on stderr, status 1. */
int guard_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Connects a TCP socket to A within SECONDS, with MARK set first (0: none). */
int guard_tcp_connect(const struct guard_addr *a, unsigned mark, double seconds);
/* Self-pipe for signals: guard_signals_open installs the handlers. */
int guard_signals_open(int pipe_fds[2]);

#endif

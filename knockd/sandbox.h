/*
 * The sandbox of knockd's engine (sandbox.c), private to knockd: the child
 * that parses untrusted bytes gives up its user, its capabilities and every
 * system call it does not need before it reads a single datagram.
 */
#ifndef KNOCK_SANDBOX_H
#define KNOCK_SANDBOX_H

#include "common/err.h"

/*
 * Enters the sandbox, for good: when running as root, switches to USER
 * (its uid and gid, no supplementary groups); in any case drops every
 * capability (effective, permitted, inheritable, ambient), sets
 * no_new_privs, and installs a seccomp filter under which only reading and
 * writing already open descriptors, poll, memory, time, randomness and exit
 * remain: open, socket, connect, bind, execve, ptrace and the rest fail
 * with EPERM. 0 or -errno (ERR says which step failed).
 */
int knock_sandbox_enter(const char *user, struct sc_err *err);

#endif

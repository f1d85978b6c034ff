/*
 * What `serve` may still do once it has bound its port, read its key and
 * connected to its cluster: the seccomp allow-list it enters (through
 * common/sandbox.c) together with dropping to its user. The list covers
 * exactly the running relay: accepting TLS streams and relaying them
 * (sockets of the inet families only, poll, read, write), librados' own
 * threads (the filter is applied to every thread: epoll, futex, sockets to
 * the cluster), new threads (clone with CLONE_THREAD only; clone3 gets
 * ENOSYS so that glibc falls back to clone), and opening files read-only
 * (SIGHUP re-reads the CA and the CRL). Anything else fails with EPERM:
 * serve cannot run a program, create or write a file, open a netlink or
 * unix socket, trace, mount, or change its identity.
 *
 * SIGHUP's reopening of the log needs write access and so fails under the
 * filter; the log stays open (rotate it with copytruncate).
 */
#include "guard.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "common/sandbox.h"
#include "common/util.h"

static const int serve_allowed[] = {
    /* the relay and the status socket */
    SCMP_SYS(read),
    SCMP_SYS(readv),
    SCMP_SYS(pread64),
    SCMP_SYS(write),
    SCMP_SYS(writev),
    SCMP_SYS(recvfrom),
    SCMP_SYS(recvmsg),
    SCMP_SYS(recvmmsg),
    SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),
    SCMP_SYS(sendmmsg),
    SCMP_SYS(accept),
    SCMP_SYS(accept4),
    SCMP_SYS(connect),
    SCMP_SYS(shutdown),
    SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt),
    SCMP_SYS(getsockname),
    SCMP_SYS(getpeername),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(select),
    SCMP_SYS(pselect6),
    SCMP_SYS(fcntl),
    SCMP_SYS(pipe2),
    SCMP_SYS(dup),
    SCMP_SYS(dup3),
    /* librados' messenger and timers */
    SCMP_SYS(epoll_create1),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(eventfd2),
    /* files already open, and read-only ones (below) */
    SCMP_SYS(statx),
    SCMP_SYS(getdents64),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    /* memory, threads, time, randomness */
    SCMP_SYS(set_robust_list),
    SCMP_SYS(get_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(membarrier),
    /* who am I, signals, the end */
    SCMP_SYS(getuid),
    SCMP_SYS(geteuid),
    SCMP_SYS(getgid),
    SCMP_SYS(getegid),
    SCMP_SYS(uname),
    SCMP_SYS(sysinfo),
    SCMP_SYS(getrusage),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(tgkill),
};

#define ACCESS_AND_CREATE (O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND)

static const struct sc_sandbox_rule serve_rules[] = {
    /* Read-only opens: the CA and CRL on SIGHUP, /proc and /sys for libc. */
    {SCMP_SYS(openat), 2, ACCESS_AND_CREATE, O_RDONLY},
    {SCMP_SYS(open), 1, ACCESS_AND_CREATE, O_RDONLY},
    /* Sockets of the tunnel and the cluster only (type flags aside). */
    {SCMP_SYS(socket), 0, 0xffffffff, AF_INET},
    {SCMP_SYS(socket), 0, 0xffffffff, AF_INET6},
    /* Threads, never processes. */
    {SCMP_SYS(clone), 0, CLONE_THREAD, CLONE_THREAD},
    /* Thread names (librados names its threads) and limits, read only. */
    {SCMP_SYS(prctl), 0, 0xffffffff, PR_SET_NAME},
    {SCMP_SYS(prctl), 0, 0xffffffff, PR_GET_NAME},
    {SCMP_SYS(prlimit64), 2, ~0ULL, 0},
    {SCMP_SYS(ioctl), 1, 0xffffffff, FIONREAD},
    {SCMP_SYS(ioctl), 1, 0xffffffff, FIONBIO},
};

static const int serve_enosys[] = {SCMP_SYS(clone3)};

int guard_serve_sandbox_enter(const char *user, struct sc_err *err)
{
	const struct sc_sandbox box = {
	    .user = user,
	    .allow = serve_allowed,
	    .allow_count = SC_ARRAY_SIZE(serve_allowed),
	    .rules = serve_rules,
	    .rule_count = SC_ARRAY_SIZE(serve_rules),
	    .enosys = serve_enosys,
	    .enosys_count = SC_ARRAY_SIZE(serve_enosys),
	    .all_threads = true,
	};

	return sc_sandbox_enter(&box, err);
}

/*
 * fs-posix: a POSIX conformance suite for any mounted file system (written
 * for rados-scfs, proven on ext4 and tmpfs). Every case is a function named
 * after the behaviour it proves; it runs in its own forked process, with its
 * own empty directory as the working directory, and returns CASE_OK,
 * CASE_FAIL (after check_fail() said what it expected and what it got) or
 * CASE_SKIP (with a reason, e.g. "needs root" when the suite runs as a user).
 *
 * Invariants: a case never touches anything outside its directory except
 * through the paths it is given; the message buffer is shared memory, so a
 * case's child processes (as_user) can report a failure too.
 */
#ifndef FS_POSIX_CHECK_H
#define FS_POSIX_CHECK_H

#include <errno.h>
#include <stdbool.h>
#include <sys/types.h>

enum { CASE_OK = 0, CASE_FAIL = 1, CASE_SKIP = 77 };

/* The unprivileged user the permission cases act as (nobody:nogroup). */
#define NOBODY_UID 65534
#define NOBODY_GID 65534

#define NEEDS_ROOT 1u /* the case creates files as root or for another user */

struct posix_case {
	const char *name;
	int (*run)(void);
	unsigned flags;
};

/* Records why the case failed (printf format); returns CASE_FAIL. */
int check_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records why the case is skipped; returns CASE_SKIP. */
int check_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "ENOENT" for ENOENT. */
const char *errno_name(int err);

/*
 * Runs FN(ARG) in a forked child as UID:GID with no supplementary groups and
 * returns its result (CASE_*). A child that dies of a signal is a failure.
 */
int as_user(uid_t uid, gid_t gid, int (*fn)(void *), void *arg);
/*
 * as_user(NOBODY_UID, NOBODY_GID, ...) when the suite runs as root; as the
 * suite's own (unprivileged) user, in a child, otherwise.
 */
int as_nobody(int (*fn)(void *), void *arg);
/* Whether the suite runs as root (cases may create files for other users). */
bool check_is_root(void);

/*
 * Waits until a timestamp taken now would differ from one taken before:
 * 20 ms on file systems with sub-second timestamps, 1.1 s otherwise.
 */
void tick(void);
/* Writes LEN bytes of a pattern that depends on each byte's offset. */
int pattern_fill(unsigned char *buf, size_t len, off_t offset, unsigned seed);
/* Creates PATH with CONTENT (a string); returns 0 or -1 with errno. */
int file_put(const char *path, const char *content);
/* Reads up to CAP-1 bytes of PATH into BUF, NUL-ended; returns the length or -1. */
ssize_t file_get(const char *path, char *buf, size_t cap);
/* Runs a shell command; returns its exit status (or -1). */
int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The absolute path of the case's directory. */
const char *case_dir(void);

/* Fails unless COND holds; the rest is the printf-style message. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return check_fail(__LINE__, __VA_ARGS__);                                  \
	} while (0)

/* CALL must not return -1 (its value is kept: `OK(fd = open(...))`). */
#define OK(call)                                                                                   \
	do {                                                                                       \
		errno = 0;                                                                         \
		if ((long)(call) == -1)                                                            \
			return check_fail(__LINE__, "%s: expected success, got %s", #call,         \
			                  errno_name(errno));                                      \
	} while (0)

/* CALL must fail with errno E. */
#define ERR(call, e)                                                                               \
	do {                                                                                       \
		errno = 0;                                                                         \
		long r_ = (long)(call);                                                            \
		if (r_ != -1 || errno != (e))                                                      \
			return check_fail(__LINE__, "%s: expected %s, got %s", #call,              \
			                  errno_name(e),                                           \
			                  r_ == -1 ? errno_name(errno) : "success");               \
	} while (0)

/* A must equal B (integers). */
#define EQ(a, b)                                                                                   \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			return check_fail(__LINE__, "%s: expected %lld, got %lld", #a, b_, a_);    \
	} while (0)

/* A must equal B (octal modes). */
#define EQ_MODE(a, b)                                                                              \
	do {                                                                                       \
		unsigned a_ = (unsigned)(a), b_ = (unsigned)(b);                                   \
		if (a_ != b_)                                                                      \
			return check_fail(__LINE__, "%s: expected 0%o, got 0%o", #a, b_, a_);      \
	} while (0)

/* Runs a sub-check (returns CASE_*) and passes on anything but CASE_OK. */
#define SUB(call)                                                                                  \
	do {                                                                                       \
		int s_ = (call);                                                                   \
		if (s_ != CASE_OK)                                                                 \
			return s_;                                                                 \
	} while (0)

/* Timestamps: A must be later than B (struct timespec). */
#define LATER(a, b)                                                                                \
	CHECK((a).tv_sec > (b).tv_sec || ((a).tv_sec == (b).tv_sec && (a).tv_nsec > (b).tv_nsec),  \
	      "%s: expected later than %lld.%09ld, got %lld.%09ld", #a, (long long)(b).tv_sec,     \
	      (b).tv_nsec, (long long)(a).tv_sec, (a).tv_nsec)
/* Timestamps: A must equal B. */
#define SAME_TIME(a, b)                                                                            \
	CHECK((a).tv_sec == (b).tv_sec && (a).tv_nsec == (b).tv_nsec,                              \
	      "%s: expected unchanged %lld.%09ld, got %lld.%09ld", #a, (long long)(b).tv_sec,      \
	      (b).tv_nsec, (long long)(a).tv_sec, (a).tv_nsec)

/* The case tables, one per area (each ends with a {NULL} entry). */
extern const struct posix_case errors_cases[];
extern const struct posix_case perms_cases[];
extern const struct posix_case links_cases[];
extern const struct posix_case rename_cases[];
extern const struct posix_case times_cases[];
extern const struct posix_case nodes_cases[];
extern const struct posix_case data_cases[];
extern const struct posix_case xattr_cases[];
extern const struct posix_case scale_cases[];

#endif

/*
 * knockd's engine (engine.c), private to knockd: the child process that
 * reads knock datagrams from NFLOG, runs the verify pipeline on them, logs
 * the rejects, and tells the parent, one ACCEPT message each (message.h),
 * which knocks passed. It runs sandboxed (sandbox.h): no capabilities, no
 * way to open anything.
 */
#ifndef KNOCK_ENGINE_H
#define KNOCK_ENGINE_H

#include "knockd/capture.h"
#include "knockd/message.h"
#include "knockd/verify.h"

struct knock_engine {
	struct knock_verifier verifier; /* the engine's own copies, made by fork */
	struct knock_capture *capture;
	int fd;           /* its end of the socketpair to the parent */
	const char *user; /* whom to become when started as root */
	unsigned log_rejects_per_second;
	/* Counters, reported in STATUS messages. */
	uint64_t received;
	uint64_t rejected[KNOCK_REASON_COUNT];
	uint64_t log_second; /* wall second the budget below counts */
	unsigned logged;     /* reject lines logged in log_second */
	uint64_t suppressed; /* reject lines not logged since the last note */
	struct knock_verdict verdict;
};

/*
 * Enters the sandbox and serves until the parent's end of the socket closes
 * (then exits 0) or something fails (exits 1). Never returns.
 */
_Noreturn void knock_engine_run(struct knock_engine *engine);

#endif

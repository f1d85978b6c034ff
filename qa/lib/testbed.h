/*
 * Integration tests' access to real micro Ceph clusters (qa/cluster/micro-ceph).
 * A suite starts its clusters once (cmocka group setup) and stops them in the
 * group teardown; an atexit handler and a signal handler stop them too, so a
 * failing or crashing test leaves no daemon behind.
 */
#ifndef SC_TESTBED_H
#define SC_TESTBED_H

#include <stdbool.h>

#define TESTBED_MAX_CLUSTERS 8

struct testbed {
	char dir[256]; /* DIR given to micro-ceph */
	int count;
	char names[TESTBED_MAX_CLUSTERS][32];    /* cluster names, e.g. "dc1" */
	char conf[TESTBED_MAX_CLUSTERS][320];    /* DIR/NAME.conf */
	char keyring[TESTBED_MAX_CLUSTERS][320]; /* DIR/NAME.client.admin.keyring */
};

/*
 * Starts COUNT clusters named PREFIX1..PREFIXCOUNT (e.g. "dc" -> dc1..dc4) in a
 * fresh directory under $TMPDIR (or /tmp), each with the pools in POOLS
 * (NULL-ended list, may be NULL). Returns 0, or -1 after printing micro-ceph's
 * output.
 */
int testbed_start(struct testbed *tb, const char *prefix, int count, const char *const *pools);
/*
 * Outages. kill stops cluster INDEX's daemons cleanly (connections are refused;
 * memstore saves its data) and revive starts them again with that data. freeze
 * stops them with SIGSTOP (a hung cluster: requests go unanswered) and thaw
 * resumes them. Each returns 0 or -1.
 */
int testbed_kill(struct testbed *tb, int index);
int testbed_revive(struct testbed *tb, int index);
int testbed_freeze(struct testbed *tb, int index);
int testbed_thaw(struct testbed *tb, int index);
/* Stops every cluster and removes the directory. Safe to call twice. */
void testbed_stop(struct testbed *tb);

/*
 * Runs a Ceph tool against cluster INDEX through the shell: the first word of
 * the command ("rados", "ceph", "rbd") gets "-c DIR/NAME.conf" after it.
 * Returns the exit status.
 */
int testbed_run(const struct testbed *tb, int index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The path of qa/cluster/micro-ceph in the source tree (set by meson as MICRO_CEPH). */
const char *testbed_micro_ceph(void);

#endif

/*
 * A message buffer for errors that want more than an errno: library code
 * returns -errno and, where a caller asked for it, says in ERR what failed and
 * where ("cluster dc2: keyring ...: no such file"). Kept apart from config.h
 * so that a header user does not pull in libconfig.
 */
#ifndef SC_ERR_H
#define SC_ERR_H

struct sc_err {
	char msg[512];
};

/* Formats into ERR; ERR may be NULL (the caller did not ask). */
void sc_err_set(struct sc_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

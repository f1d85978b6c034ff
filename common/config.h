/*
 * Configuration files in libconfig format. Every error names the file and the
 * line: "FILE:LINE: message", as a compiler does, so an admin can go straight
 * to it. Lookups take a default or fail with -ENOENT (missing), -EINVAL (wrong
 * type) or -ERANGE (out of bounds), and leave a message in ERR.
 */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct sc_config;

/* Parses PATH. On error *out is NULL and ERR says "PATH:LINE: what". */
int sc_config_open(const char *path, struct sc_config **out, struct sc_err *err);
/* The same for text held in memory (tests, fuzzing); NAME stands for the file. */
int sc_config_open_string(const char *name, const char *text, struct sc_config **out,
                          struct sc_err *err);
void sc_config_close(struct sc_config *config);

const char *sc_config_path(const struct sc_config *config);
/*
 * PATH as written when absolute or "-", else relative to the config file's
 * directory, in *OUT (malloc'd; NULL for a NULL PATH). 0 or -ENOMEM.
 */
int sc_config_path_resolve(const struct sc_config *config, const char *path, char **out);
const config_setting_t *sc_config_root(const struct sc_config *config);
/* The group or list NAME under PARENT, or NULL when it is absent. */
const config_setting_t *sc_config_child(const config_setting_t *parent, const char *name);
/* The line a setting was read from, for messages. */
int sc_config_line(const config_setting_t *setting);

/*
 * Typed lookups under PARENT. DEF is used when the setting is absent; pass
 * REQUIRED true to make absence an error instead. Strings stay owned by the
 * config and live until sc_config_close.
 */
int sc_config_string(const struct sc_config *config, const config_setting_t *parent,
                     const char *name, bool required, const char *def, const char **out,
                     struct sc_err *err);
int sc_config_int(const struct sc_config *config, const config_setting_t *parent, const char *name,
                  bool required, long long def, long long min, long long max, long long *out,
                  struct sc_err *err);
int sc_config_double(const struct sc_config *config, const config_setting_t *parent,
                     const char *name, bool required, double def, double min, double max,
                     double *out, struct sc_err *err);
int sc_config_bool(const struct sc_config *config, const config_setting_t *parent, const char *name,
                   bool required, bool def, bool *out, struct sc_err *err);

/* Fails with "FILE:LINE: unknown setting 'x'" on a name outside ALLOWED (NULL-ended). */
int sc_config_check_names(const struct sc_config *config, const config_setting_t *group,
                          const char *const *allowed, struct sc_err *err);

#endif

/*
 * The replay cache (replay.c) and its file on disk (state.c), private to
 * knockd.
 */
#ifndef KNOCK_REPLAY_H
#define KNOCK_REPLAY_H

#include "knockd/wire.h"

/* replay.c */
struct knock_replay;
/* Holds up to CAPACITY nonces (rounded up to a power of two, doubled). */
int knock_replay_new(size_t capacity, struct knock_replay **out);
void knock_replay_free(struct knock_replay *replay);
/* -EALREADY when NONCE was seen and has not expired by NOW, 0 otherwise. */
int knock_replay_check(const struct knock_replay *replay, const uint8_t nonce[KNOCK_NONCE_LEN],
                       uint64_t now);
/* Remembers NONCE until EXPIRES; -ENOSPC when full of live nonces. */
int knock_replay_insert(struct knock_replay *replay, const uint8_t nonce[KNOCK_NONCE_LEN],
                        uint64_t expires, uint64_t now);
size_t knock_replay_count(const struct knock_replay *replay);
size_t knock_replay_capacity(const struct knock_replay *replay);
/* Calls FN for every nonce still live at NOW, in no particular order. */
typedef void knock_replay_fn(void *arg, const uint8_t nonce[KNOCK_NONCE_LEN], uint64_t expires);
void knock_replay_foreach(const struct knock_replay *replay, uint64_t now, knock_replay_fn *fn,
                          void *arg);

/*
 * The floor: the cache vouches only for knocks whose timestamp is at least
 * this. An older knock may have been accepted while the cache was not looking
 * (before a start that found no saved cache, or before time_window grew and
 * outlived its nonces), so knock_verify refuses it as a replay. The floor
 * only rises; a new cache has none (0).
 */
enum knock_floor_cause {
	KNOCK_FLOOR_NONE = 0,
	KNOCK_FLOOR_START = 1,  /* knockd started without a saved cache */
	KNOCK_FLOOR_WINDOW = 2, /* time_window grew beyond what the nonces were kept for */
};
void knock_replay_floor_raise(struct knock_replay *replay, uint64_t floor,
                              enum knock_floor_cause cause);
uint64_t knock_replay_floor(const struct knock_replay *replay, enum knock_floor_cause *cause);
/*
 * time_window changes from OLD to NEW seconds at NOW. When it grows, every
 * live nonce is kept NEW - OLD seconds longer, and the floor rises to
 * NOW - OLD (nonces of older knocks may already be gone); a smaller window
 * changes nothing.
 */
void knock_replay_window_change(struct knock_replay *replay, uint64_t old_window,
                                uint64_t new_window, uint64_t now);

/* state.c: the replay cache on disk (docs/knockd.md, "REPLAY CACHE AND STATE FILE"). */
#define KNOCK_STATE_MAGIC "SCKNRPLY"
#define KNOCK_STATE_VERSION 1
#define KNOCK_STATE_HEADER_LEN 40
#define KNOCK_STATE_ENTRY_LEN 24 /* nonce, expiry */
#define KNOCK_STATE_SUM_LEN 32   /* SHA-256 of everything before it */
struct knock_state_info {
	uint64_t saved;      /* when the file was written (Unix seconds) */
	uint64_t window;     /* time_window then */
	size_t nonces;       /* entries in the file */
	size_t live;         /* of those, still live at load: now in the cache */
	const char *problem; /* why a file is corrupt (static text), else NULL */
};
/* The file's bytes for REPLAY's nonces live at NOW (caller frees *OUT). */
int knock_state_encode(const struct knock_replay *replay, uint64_t window, uint64_t now,
                       uint8_t **out, size_t *len);
/*
 * Checks DATA whole -- length, magic, version, fields, checksum -- before it
 * loads anything into REPLAY, which must be empty (-EINVAL otherwise): its
 * live nonces, its floor, and the window change from the file's time_window
 * to WINDOW. Returns 0; -EBADMSG for a corrupt file (INFO->problem says
 * why); -ENOSPC when its live nonces outnumber REPLAY's capacity. On any
 * error REPLAY is left untouched.
 */
int knock_state_decode(const uint8_t *data, size_t len, uint64_t window, uint64_t now,
                       struct knock_replay *replay, struct knock_state_info *info);
/*
 * Writes the file atomically: PATH.tmp (mode 0600) written and fsync'd,
 * renamed over PATH, the directory fsync'd. 0 or -errno.
 */
int knock_state_save(const char *path, const struct knock_replay *replay, uint64_t window,
                     uint64_t now);
/*
 * knock_state_decode of PATH, a regular file no larger than REPLAY's capacity
 * allows (-EFBIG otherwise). -ENOENT when there is none.
 */
int knock_state_load(const char *path, uint64_t window, uint64_t now, struct knock_replay *replay,
                     struct knock_state_info *info);
/* Creates PATH's directory, mode 0700, when it is missing: 0 or -errno. */
int knock_state_dir_make(const char *path);

#endif

/*
 * The replay cache on disk, so that a restart does not forget which knocks
 * were used: without it, a knock captured on the wire could be replayed
 * within its time window right after knockd restarts. The format is in
 * docs/knockd.md ("REPLAY CACHE AND STATE FILE"):
 *
 *   magic "SCKNRPLY", version, floor cause, 2 zero bytes, count N (be32),
 *   saved, floor, time_window (be64 each), N x (nonce[16], expiry be64),
 *   SHA-256 of everything before it
 *
 * Saving is atomic -- PATH.tmp written and fsync'd, renamed over PATH, the
 * directory fsync'd -- so a crash leaves the old file or the new one, never
 * part of either. Loading treats the file as untrusted bytes: it is checked
 * whole (length against the count, magic, version, fields, checksum) before
 * one nonce enters the cache, and anything that fails a check is "corrupt".
 */
#include "knockd/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"

struct encoder {
	uint8_t *next;
	size_t count, room;
};

static void entry_put(void *arg, const uint8_t nonce[KNOCK_NONCE_LEN], uint64_t expires)
{
	struct encoder *e = arg;

	if (e->count == e->room)
		return;
	memcpy(e->next, nonce, KNOCK_NONCE_LEN);
	sc_put_be64(e->next + KNOCK_NONCE_LEN, expires);
	e->next += KNOCK_STATE_ENTRY_LEN;
	e->count++;
}

int knock_state_encode(const struct knock_replay *replay, uint64_t window, uint64_t now,
                       uint8_t **out, size_t *len)
{
	/* Occupied slots bound the live ones, and never exceed the capacity. */
	size_t room = knock_replay_count(replay), body;
	enum knock_floor_cause cause;
	uint64_t floor = knock_replay_floor(replay, &cause);
	struct encoder e;
	uint8_t *buf;
	int r;

	*out = NULL;
	*len = 0;
	if (room > UINT32_MAX)
		return -EOVERFLOW;
	buf =
	    calloc(1, KNOCK_STATE_HEADER_LEN + room * KNOCK_STATE_ENTRY_LEN + KNOCK_STATE_SUM_LEN);
	if (!buf)
		return -ENOMEM;
	e = (struct encoder){.next = buf + KNOCK_STATE_HEADER_LEN, .room = room};
	knock_replay_foreach(replay, now, entry_put, &e);
	memcpy(buf, KNOCK_STATE_MAGIC, 8);
	buf[8] = KNOCK_STATE_VERSION;
	buf[9] = (uint8_t)cause;
	sc_put_be32(buf + 12, (uint32_t)e.count);
	sc_put_be64(buf + 16, now);
	sc_put_be64(buf + 24, floor);
	sc_put_be64(buf + 32, window);
	body = KNOCK_STATE_HEADER_LEN + e.count * KNOCK_STATE_ENTRY_LEN;
	r = sc_sha256(buf, body, buf + body);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*len = body + KNOCK_STATE_SUM_LEN;
	return 0;
}

static int corrupt(struct knock_state_info *info, const char *problem)
{
	info->problem = problem;
	return -EBADMSG;
}

int knock_state_decode(const uint8_t *data, size_t len, uint64_t window, uint64_t now,
                       struct knock_replay *replay, struct knock_state_info *info)
{
	uint8_t sum[KNOCK_STATE_SUM_LEN];
	uint64_t floor;
	size_t count, live = 0;
	const uint8_t *entry;
	uint8_t cause;

	memset(info, 0, sizeof(*info));
	if (knock_replay_count(replay) != 0 || knock_replay_floor(replay, NULL) != 0)
		return -EINVAL;
	if (len < KNOCK_STATE_HEADER_LEN + KNOCK_STATE_SUM_LEN)
		return corrupt(info, "shorter than a header");
	if (memcmp(data, KNOCK_STATE_MAGIC, 8) != 0)
		return corrupt(info, "not a knockd state file");
	if (data[8] != KNOCK_STATE_VERSION)
		return corrupt(info, "unknown version");
	count = sc_get_be32(data + 12);
	if (count > (len - KNOCK_STATE_HEADER_LEN - KNOCK_STATE_SUM_LEN) / KNOCK_STATE_ENTRY_LEN ||
	    KNOCK_STATE_HEADER_LEN + count * KNOCK_STATE_ENTRY_LEN + KNOCK_STATE_SUM_LEN != len)
		return corrupt(info, "length does not match the count of nonces");
	if (sc_sha256(data, len - KNOCK_STATE_SUM_LEN, sum) < 0)
		return -ENOMEM;
	if (memcmp(sum, data + len - KNOCK_STATE_SUM_LEN, KNOCK_STATE_SUM_LEN) != 0)
		return corrupt(info, "checksum mismatch");
	/* Checksummed, but still checked: the writer may have been another version's bug. */
	cause = data[9];
	floor = sc_get_be64(data + 24);
	if (cause > KNOCK_FLOOR_WINDOW || data[10] != 0 || data[11] != 0 ||
	    (cause == KNOCK_FLOOR_NONE) != (floor == 0))
		return corrupt(info, "invalid header fields");
	info->saved = sc_get_be64(data + 16);
	info->window = sc_get_be64(data + 32);
	info->nonces = count;
	if (info->window == 0 || info->window > KNOCK_MAX_TIME_WINDOW)
		return corrupt(info, "invalid time_window");
	entry = data + KNOCK_STATE_HEADER_LEN;
	for (size_t i = 0; i < count; i++, entry += KNOCK_STATE_ENTRY_LEN) {
		uint64_t expires = sc_get_be64(entry + KNOCK_NONCE_LEN);
		if (expires == 0)
			return corrupt(info, "nonce without an expiry");
		live += expires >= now;
	}
	if (live > knock_replay_capacity(replay))
		return -ENOSPC;

	/* Valid: now load it. An empty cache takes CAPACITY inserts without failing. */
	entry = data + KNOCK_STATE_HEADER_LEN;
	for (size_t i = 0; i < count; i++, entry += KNOCK_STATE_ENTRY_LEN) {
		uint64_t expires = sc_get_be64(entry + KNOCK_NONCE_LEN);
		if (expires >= now && knock_replay_insert(replay, entry, expires, now) < 0)
			return -ENOSPC; /* unreachable: counted above */
	}
	info->live = knock_replay_count(replay);
	knock_replay_floor_raise(replay, floor, (enum knock_floor_cause)cause);
	knock_replay_window_change(replay, info->window, window, now);
	return 0;
}

/* PATH's directory, opened to fsync a rename in it (or to check it exists). */
static int dir_open(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	free(copy);
	return fd;
}

int knock_state_save(const char *path, const struct knock_replay *replay, uint64_t window,
                     uint64_t now)
{
	char *tmp = NULL;
	uint8_t *data = NULL;
	size_t len;
	int fd, dir, r;

	r = knock_state_encode(replay, window, now, &data, &len);
	if (r < 0)
		goto out;
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		r = -ENOMEM;
		goto out;
	}
	/* A leftover of a crash is replaced, never followed if it is a link. */
	if (unlink(tmp) < 0 && errno != ENOENT) {
		r = -errno;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = sc_write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		goto out;
	}
	dir = dir_open(path);
	if (dir < 0) {
		r = dir;
		goto out;
	}
	if (fsync(dir) < 0)
		r = -errno;
	close(dir);
out:
	free(data);
	free(tmp);
	return r;
}

int knock_state_load(const char *path, uint64_t window, uint64_t now, struct knock_replay *replay,
                     struct knock_state_info *info)
{
	size_t max = KNOCK_STATE_HEADER_LEN +
	             knock_replay_capacity(replay) * KNOCK_STATE_ENTRY_LEN + KNOCK_STATE_SUM_LEN;
	uint8_t *data = NULL;
	struct stat st;
	size_t len = 0;
	int fd, r;

	memset(info, 0, sizeof(*info));
	/* O_NONBLOCK: a FIFO put there must not hang the start. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = corrupt(info, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		r = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break; /* shrank under us: the decoder sees a short file */
		len += (size_t)n;
	}
	r = knock_state_decode(data, len, window, now, replay, info);
out:
	free(data);
	close(fd);
	return r;
}

int knock_state_dir_make(const char *path)
{
	char *copy = strdup(path);
	const char *dir;
	struct stat st;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (mkdir(dir, 0700) < 0) {
		if (errno != EEXIST)
			r = -errno;
		else if (stat(dir, &st) < 0)
			r = -errno;
		else if (!S_ISDIR(st.st_mode))
			r = -ENOTDIR;
	}
	free(copy);
	return r;
}

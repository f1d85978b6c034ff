/*
 * The allow-list of `serve`: every address a Ceph client of the primary may
 * legitimately dial -- each MON's and each OSD's public address vector and
 * the active MGR's -- read from the primary's own `mon dump`, `osd dump` and
 * `mgr dump` (JSON, through rados_mon_command) and refreshed. A flow to
 * anything else is refused: serve is never an open proxy.
 *
 * guard_allow_parse is the one reader of that JSON. It does not build a
 * tree: it finds each "KEY": {"addrvec": [ ... ]} and reads the "addr"
 * strings of the entries, checking bounds before every byte. Text it does
 * not understand makes it fail, never guess.
 *
 * Lock: guard_maps.lock guards list (swapped whole on a successful refresh);
 * the rados handle is thread-safe by itself.
 */
#include "guard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>

#include "common/cluster.h"

#define ADDR_TEXT_MAX 64

void guard_allow_free(struct guard_allow_list *list)
{
	free(list->addrs);
	memset(list, 0, sizeof(*list));
}

bool guard_allow_contains(const struct guard_allow_list *list, const struct guard_addr *a)
{
	for (size_t i = 0; i < list->count; i++)
		if (guard_addr_equal(&list->addrs[i], a))
			return true;
	return false;
}

int guard_allow_add(struct guard_allow_list *list, const struct guard_addr *a)
{
	if (guard_allow_contains(list, a))
		return 0;
	if (list->count >= GUARD_LIST_MAX)
		return -E2BIG;
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct guard_addr *n = realloc(list->addrs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		list->addrs = n;
		list->cap = cap;
	}
	list->addrs[list->count++] = *a;
	return 0;
}

/* ---- a bounded scanner over JSON text ---------------------------------- */
struct scan {
	const char *p, *end;
};

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\t' || *s->p == '\r'))
		s->p++;
}

static bool eat(struct scan *s, char c)
{
	skip_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* A string without escapes (Ceph writes none in these fields) into OUT. */
static int read_string(struct scan *s, char *out, size_t size)
{
	size_t n = 0;

	if (!eat(s, '"'))
		return -EBADMSG;
	while (s->p < s->end && *s->p != '"') {
		if (*s->p == '\\' || (unsigned char)*s->p < 0x20)
			return -EBADMSG;
		if (n + 1 >= size)
			return -EBADMSG;
		out[n++] = *s->p++;
	}
	if (s->p >= s->end)
		return -EBADMSG;
	s->p++;
	out[n] = '\0';
	return 0;
}

/* A number or a literal: what the entries hold besides strings. */
static int skip_scalar(struct scan *s)
{
	const char *start;

	skip_ws(s);
	start = s->p;
	while (s->p < s->end &&
	       (strchr("-+.eE0123456789", *s->p) || (*s->p >= 'a' && *s->p <= 'z')))
		s->p++;
	return s->p > start ? 0 : -EBADMSG;
}

/* {"type":"v2","addr":"10.0.0.1:3300","nonce":0} */
static int read_entry(struct scan *s, struct guard_allow_list *list)
{
	char key[32], value[ADDR_TEXT_MAX], addr[ADDR_TEXT_MAX] = "", type[16] = "";
	struct guard_addr a;
	int r;

	if (!eat(s, '{'))
		return -EBADMSG;
	if (eat(s, '}'))
		return 0;
	do {
		if ((r = read_string(s, key, sizeof(key))) < 0 || !eat(s, ':'))
			return -EBADMSG;
		skip_ws(s);
		if (s->p < s->end && *s->p == '"') {
			if ((r = read_string(s, value, sizeof(value))) < 0)
				return r;
			if (strcmp(key, "addr") == 0)
				memcpy(addr, value, sizeof(addr));
			else if (strcmp(key, "type") == 0 && strlen(value) < sizeof(type))
				memcpy(type, value, strlen(value) + 1);
		} else if ((r = skip_scalar(s)) < 0) {
			return r;
		}
	} while (eat(s, ','));
	if (!eat(s, '}'))
		return -EBADMSG;
	/* "none" entries carry no address; any other type must parse. */
	if (strcmp(type, "none") == 0 || !addr[0])
		return 0;
	if (guard_addr_parse(addr, &a) < 0)
		return -EBADMSG;
	return guard_allow_add(list, &a);
}

/* After the key: : {"addrvec": [ entry, ... ] } */
static int read_addrvec(struct scan *s, struct guard_allow_list *list)
{
	char key[16];
	int r;

	if (!eat(s, ':') || !eat(s, '{'))
		return -EBADMSG;
	if (read_string(s, key, sizeof(key)) < 0 || strcmp(key, "addrvec") != 0 || !eat(s, ':') ||
	    !eat(s, '['))
		return -EBADMSG;
	if (eat(s, ']'))
		return eat(s, '}') ? 0 : -EBADMSG;
	do {
		if ((r = read_entry(s, list)) < 0)
			return r;
	} while (eat(s, ','));
	if (!eat(s, ']') || !eat(s, '}'))
		return -EBADMSG;
	return 0;
}

int guard_allow_parse(const char *json, size_t len, const char *key, struct guard_allow_list *list)
{
	char pattern[48];
	size_t plen = (size_t)snprintf(pattern, sizeof(pattern), "\"%s\"", key);
	struct scan s = {json, json + len};
	int r;

	if (plen >= sizeof(pattern))
		return -EINVAL;
	while ((size_t)(s.end - s.p) >= plen) {
		const char *hit = memmem(s.p, (size_t)(s.end - s.p), pattern, plen);
		if (!hit)
			break;
		s.p = hit + plen;
		/* Inside a string the quote would be escaped: not a key. */
		if (hit > json && hit[-1] == '\\')
			continue;
		if ((r = read_addrvec(&s, list)) < 0)
			return r;
	}
	return 0;
}

/* ---- the primary's maps -------------------------------------------------- */
struct guard_maps {
	rados_t rados;
	pthread_mutex_t lock; /* guards list */
	struct guard_allow_list list;
	struct guard_allow_list extra; /* fixed at open */
};

int guard_allow_parse_text(const char *text, struct guard_allow_list *list)
{
	char item[80];
	const char *p = text;
	int r;

	while (*p) {
		size_t n = strcspn(p, ", ");
		if (n >= sizeof(item))
			return -EINVAL;
		if (n > 0) {
			struct guard_addr a;
			memcpy(item, p, n);
			item[n] = '\0';
			if (guard_addr_parse(item, &a) < 0)
				return -EINVAL;
			if ((r = guard_allow_add(list, &a)) < 0)
				return r;
		}
		p += n;
		p += strspn(p, ", ");
	}
	return 0;
}

static const struct {
	const char *name, *command, *key;
} map_sources[] = {
    {"mon dump", "{\"prefix\":\"mon dump\",\"format\":\"json\"}", "public_addrs"},
    {"osd dump", "{\"prefix\":\"osd dump\",\"format\":\"json\"}", "public_addrs"},
    {"mgr dump", "{\"prefix\":\"mgr dump\",\"format\":\"json\"}", "active_addrs"},
};

int guard_maps_open(const struct sc_cluster_opts *opts, const struct guard_allow_list *extra,
                    struct guard_maps **out, struct sc_err *err)
{
	struct guard_maps *m = calloc(1, sizeof(*m));
	int r = 0;

	*out = NULL;
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	for (size_t i = 0; extra && i < extra->count && r == 0; i++)
		r = guard_allow_add(&m->extra, &extra->addrs[i]);
	if (r < 0)
		goto fail;
	r = sc_cluster_connect(opts, &m->rados, err);
	if (r < 0)
		goto fail;
	r = guard_maps_refresh(m, err);
	if (r < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	guard_maps_close(m);
	return r;
}

int guard_maps_refresh(struct guard_maps *m, struct sc_err *err)
{
	struct guard_allow_list fresh = {0};
	int r = 0;

	for (size_t i = 0; i < sizeof(map_sources) / sizeof(map_sources[0]); i++) {
		const char *cmd[] = {map_sources[i].command};
		char *outbuf = NULL, *outs = NULL;
		size_t outlen = 0, outslen = 0;

		r = rados_mon_command(m->rados, cmd, 1, "", 0, &outbuf, &outlen, &outs, &outslen);
		if (r < 0) {
			sc_err_set(err, "%s: %s", map_sources[i].name, strerror(-r));
		} else {
			r = guard_allow_parse(outbuf, outlen, map_sources[i].key, &fresh);
			if (r < 0)
				sc_err_set(err, "%s: cannot read its JSON", map_sources[i].name);
		}
		rados_buffer_free(outbuf);
		rados_buffer_free(outs);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < m->extra.count && r == 0; i++)
		r = guard_allow_add(&fresh, &m->extra.addrs[i]);
	if (r < 0)
		goto out;
	pthread_mutex_lock(&m->lock);
	struct guard_allow_list old = m->list;
	m->list = fresh;
	fresh = old;
	pthread_mutex_unlock(&m->lock);
out:
	guard_allow_free(&fresh);
	return r;
}

bool guard_maps_allows(struct guard_maps *m, const struct guard_addr *a)
{
	bool ok;

	pthread_mutex_lock(&m->lock);
	ok = guard_allow_contains(&m->list, a);
	pthread_mutex_unlock(&m->lock);
	return ok;
}

int guard_maps_snapshot(struct guard_maps *m, struct guard_allow_list *out)
{
	int r = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->list.count && r == 0; i++)
		r = guard_allow_add(out, &m->list.addrs[i]);
	pthread_mutex_unlock(&m->lock);
	if (r < 0)
		guard_allow_free(out);
	return r;
}

void guard_maps_close(struct guard_maps *m)
{
	if (!m)
		return;
	if (m->rados)
		rados_shutdown(m->rados);
	guard_allow_free(&m->list);
	guard_allow_free(&m->extra);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

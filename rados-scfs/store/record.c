/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit records and commit entries (docs/store-format.md). Everything a
 * cluster returns comes through store_record_parse or store_commit_parse first: each
 * field is read only after the bytes for it were counted, lengths are
 * bounded before use, and reserved bytes must be zero so that a format
 * change is seen, not misread.
 */
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"

bool store_unit_name_valid(const char *name)
{
	size_t len = name ? strnlen(name, RECORD_NAME_MAX + 1) : 0;

	if (len == 0 || len > RECORD_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == ':' || c == '+'))
			return false;
	}
	return true;
}

static bool name_bytes_valid(const char *name, size_t len)
{
	char tmp[RECORD_NAME_MAX + 1];

	if (len == 0 || len > RECORD_NAME_MAX)
		return false;
	memcpy(tmp, name, len);
	tmp[len] = '\0';
	return strlen(tmp) == len && store_unit_name_valid(tmp);
}

static uint64_t frag_len_for(uint8_t protocol, uint8_t f, uint64_t data_len)
{
	uint64_t k = (uint64_t)f + 1;

	return protocol == RECORD_PROTOCOL_A ? data_len : (data_len + k - 1) / k;
}

static bool common_fields_valid(const struct record_common *c)
{
	if (c->protocol != RECORD_PROTOCOL_A && c->protocol != RECORD_PROTOCOL_CA)
		return false;
	if (c->n < 1 || c->n > RECORD_MAX_N || c->f >= c->n)
		return false;
	if (c->data_len > RECORD_MAX_DATA ||
	    c->frag_len != frag_len_for(c->protocol, c->f, c->data_len))
		return false;
	return name_bytes_valid(c->name, c->name_len);
}

size_t store_record_common_len(const struct record_common *c)
{
	if (!common_fields_valid(c))
		return 0;
	return RECORD_HEADER_LEN + c->name_len + (size_t)c->n * RECORD_DIGEST_LEN;
}

int store_record_common_encode(const struct record_common *c, uint8_t *out, size_t out_len)
{
	size_t len = store_record_common_len(c);
	uint8_t *p = out;

	if (len == 0)
		return -EINVAL;
	if (out_len < len)
		return -ENOBUFS;
	memset(out, 0, RECORD_HEADER_LEN);
	memcpy(p, RECORD_MAGIC, 4);
	sc_put_be16(p + 4, RECORD_FORMAT);
	p[6] = c->protocol;
	p[7] = c->n;
	p[8] = c->f;
	p[9] = (uint8_t)c->name_len;
	/* 10..11 reserved, zero */
	sc_put_be64(p + 12, c->version);
	sc_put_be64(p + 20, c->data_len);
	sc_put_be64(p + 28, c->frag_len);
	memcpy(p + 36, c->writer_key, RECORD_KEY_LEN);
	if (c->iv)
		memcpy(p + 68, c->iv, RECORD_IV_LEN);
	if (c->tag)
		memcpy(p + 80, c->tag, RECORD_TAG_LEN);
	p += RECORD_HEADER_LEN;
	memcpy(p, c->name, c->name_len);
	p += c->name_len;
	memcpy(p, c->digests, (size_t)c->n * RECORD_DIGEST_LEN);
	return 0;
}

/* Writes the store id prefix into OUT; its length, or 0 for an invalid id. */
static size_t id_prefix(const struct record_id *id, uint8_t out[RECORD_ID_PREFIX_MAX])
{
	if (!id || !id->bytes || id->len < 1 || id->len > RECORD_ID_MAX)
		return 0;
	memcpy(out, "scfs.sid", 8);
	out[8] = (uint8_t)id->len;
	memcpy(out + 9, id->bytes, id->len);
	return 9 + id->len;
}

/* ID's prefix and MSG, back to back in OUT: what is signed and hashed. */
static int id_bound(const struct record_id *id, const uint8_t *msg, size_t len, uint8_t *out,
                    size_t out_len, size_t *bound_len)
{
	size_t p = id_prefix(id, out);

	if (p == 0)
		return -EINVAL;
	if (len > out_len - p)
		return -ENOBUFS;
	memcpy(out + p, msg, len);
	*bound_len = p + len;
	return 0;
}

#define BOUND_MAX (RECORD_ID_PREFIX_MAX + RECORD_MAX_LEN)

static int sign_bound(const struct record_id *id, const uint8_t priv[RECORD_KEY_LEN],
                      const uint8_t *msg, size_t len, uint8_t *sig)
{
	uint8_t buf[BOUND_MAX];
	size_t blen;
	int r = id_bound(id, msg, len, buf, sizeof(buf), &blen);

	if (r == 0)
		r = sc_ed25519_sign(priv, buf, blen, sig);
	sc_wipe(buf, sizeof(buf)); /* holds a key share */
	return r;
}

static int verify_bound(const struct record_id *id, const uint8_t *pub, const uint8_t *msg,
                        size_t len, const uint8_t *sig)
{
	uint8_t buf[BOUND_MAX];
	size_t blen;
	int r = id_bound(id, msg, len, buf, sizeof(buf), &blen);

	if (r == 0)
		r = sc_ed25519_verify(pub, buf, blen, sig);
	sc_wipe(buf, sizeof(buf));
	return r < 0 ? -EBADMSG : 0;
}

int store_record_digest(const struct record_id *id, const uint8_t *common, size_t common_len,
                        uint8_t out[RECORD_DIGEST_LEN])
{
	uint8_t buf[BOUND_MAX];
	size_t blen;
	int r = id_bound(id, common, common_len, buf, sizeof(buf), &blen);

	return r < 0 ? r : sc_sha256(buf, blen, out);
}

int store_record_seal(const struct record_id *id, uint8_t *buf, size_t buf_len, size_t common_len,
                      uint8_t index, const uint8_t *share, const uint8_t priv[RECORD_KEY_LEN],
                      size_t *out_len)
{
	size_t share_len = share ? RECORD_SHARE_LEN : 0;
	size_t len = common_len + 2 + share_len + RECORD_SIG_LEN;
	int r;

	if (buf_len < len)
		return -ENOBUFS;
	buf[common_len] = index;
	buf[common_len + 1] = (uint8_t)share_len;
	if (share)
		memcpy(buf + common_len + 2, share, share_len);
	r = sign_bound(id, priv, buf, common_len + 2 + share_len, buf + common_len + 2 + share_len);
	if (r < 0)
		return r;
	*out_len = len;
	return 0;
}

int store_record_parse(const uint8_t *buf, size_t len, struct record *out)
{
	struct record_common *c = &out->c;
	size_t common_len, pos, share_len;

	memset(out, 0, sizeof(*out));
	if (len < RECORD_HEADER_LEN || len > RECORD_MAX_LEN)
		return -EBADMSG;
	if (memcmp(buf, RECORD_MAGIC, 4) != 0 || sc_get_be16(buf + 4) != RECORD_FORMAT)
		return -EBADMSG;
	if (buf[10] != 0 || buf[11] != 0)
		return -EBADMSG;
	c->protocol = buf[6];
	c->n = buf[7];
	c->f = buf[8];
	c->name_len = buf[9];
	c->version = sc_get_be64(buf + 12);
	c->data_len = sc_get_be64(buf + 20);
	c->frag_len = sc_get_be64(buf + 28);
	c->writer_key = buf + 36;
	c->iv = buf + 68;
	c->tag = buf + 80;
	/* Bound n and the name before any length is computed from them. */
	if (c->n < 1 || c->n > RECORD_MAX_N || c->name_len < 1 || c->name_len > RECORD_NAME_MAX)
		return -EBADMSG;
	common_len = RECORD_HEADER_LEN + c->name_len + (size_t)c->n * RECORD_DIGEST_LEN;
	if (len < common_len + 2)
		return -EBADMSG;
	c->name = (const char *)buf + RECORD_HEADER_LEN;
	c->digests = buf + RECORD_HEADER_LEN + c->name_len;
	if (!common_fields_valid(c))
		return -EBADMSG;
	if (c->protocol == RECORD_PROTOCOL_A) {
		static const uint8_t zero[RECORD_IV_LEN + RECORD_TAG_LEN];
		if (memcmp(buf + 68, zero, sizeof(zero)) != 0)
			return -EBADMSG;
	}
	pos = common_len;
	out->index = buf[pos];
	share_len = buf[pos + 1];
	pos += 2;
	if (out->index >= c->n)
		return -EBADMSG;
	if (share_len != (c->protocol == RECORD_PROTOCOL_CA ? RECORD_SHARE_LEN : 0))
		return -EBADMSG;
	if (len != pos + share_len + RECORD_SIG_LEN)
		return -EBADMSG;
	out->share = share_len ? buf + pos : NULL;
	pos += share_len;
	out->common = buf;
	out->common_len = common_len;
	out->signed_len = pos;
	out->sig = buf + pos;
	return 0;
}

static int key_trusted(const uint8_t *key, const uint8_t *trusted, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if (memcmp(trusted + (size_t)i * 32, key, 32) == 0)
			return 0;
	return -EKEYREJECTED;
}

int store_record_verify(const struct record_id *id, const uint8_t *buf, const struct record *rec,
                        const uint8_t *trusted, unsigned trusted_count)
{
	int r = key_trusted(rec->c.writer_key, trusted, trusted_count);

	if (r < 0)
		return r;
	return verify_bound(id, rec->c.writer_key, buf, rec->signed_len, rec->sig);
}

int store_commit_encode(const struct record_id *id, const char *name, uint64_t version,
                        uint64_t data_len, const uint8_t digest[32],
                        const uint8_t priv[RECORD_KEY_LEN], const uint8_t pub[RECORD_KEY_LEN],
                        uint8_t *out, size_t out_len, size_t *written)
{
	size_t name_len = name ? strlen(name) : 0;
	size_t len = COMMIT_HEADER_LEN + name_len + RECORD_SIG_LEN;
	int r;

	if (!store_unit_name_valid(name) || data_len > RECORD_MAX_DATA)
		return -EINVAL;
	if (out_len < len)
		return -ENOBUFS;
	memcpy(out, COMMIT_MAGIC, 4);
	sc_put_be16(out + 4, RECORD_FORMAT);
	out[6] = 0;
	out[7] = 0;
	sc_put_be64(out + 8, version);
	sc_put_be64(out + 16, data_len);
	memcpy(out + 24, digest, RECORD_DIGEST_LEN);
	memcpy(out + 56, pub, RECORD_KEY_LEN);
	out[88] = (uint8_t)name_len;
	memcpy(out + COMMIT_HEADER_LEN, name, name_len);
	r = sign_bound(id, priv, out, COMMIT_HEADER_LEN + name_len,
	               out + COMMIT_HEADER_LEN + name_len);
	if (r < 0)
		return r;
	*written = len;
	return 0;
}

int store_commit_parse(const uint8_t *buf, size_t len, struct commit *out)
{
	size_t name_len;

	memset(out, 0, sizeof(*out));
	if (len < COMMIT_HEADER_LEN || len > COMMIT_MAX_LEN)
		return -EBADMSG;
	if (memcmp(buf, COMMIT_MAGIC, 4) != 0 || sc_get_be16(buf + 4) != RECORD_FORMAT ||
	    buf[6] != 0 || buf[7] != 0)
		return -EBADMSG;
	name_len = buf[88];
	if (len != COMMIT_HEADER_LEN + name_len + RECORD_SIG_LEN)
		return -EBADMSG;
	if (!name_bytes_valid((const char *)buf + COMMIT_HEADER_LEN, name_len))
		return -EBADMSG;
	out->version = sc_get_be64(buf + 8);
	out->data_len = sc_get_be64(buf + 16);
	if (out->data_len > RECORD_MAX_DATA)
		return -EBADMSG;
	out->digest = buf + 24;
	out->writer_key = buf + 56;
	out->name = (const char *)buf + COMMIT_HEADER_LEN;
	out->name_len = name_len;
	out->signed_len = COMMIT_HEADER_LEN + name_len;
	out->sig = buf + out->signed_len;
	return 0;
}

int store_commit_verify(const struct record_id *id, const uint8_t *buf, const struct commit *c,
                        const uint8_t *trusted, unsigned trusted_count)
{
	int r = key_trusted(c->writer_key, trusted, trusted_count);

	if (r < 0)
		return r;
	return verify_bound(id, c->writer_key, buf, c->signed_len, c->sig);
}

int store_record_object_name(const char *name, uint64_t version, char *out, size_t len)
{
	int n = snprintf(out, len, "scfs.du1.%s.%016llx", name, (unsigned long long)version);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int store_record_index_name(const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "scfs.ui1.%s", name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The version is stored inverted, so that a listing returns the newest first. */
void store_record_index_key(char kind, uint64_t version, char out[19])
{
	snprintf(out, 19, "%c.%016llx", kind, (unsigned long long)~version);
}

int store_record_index_key_parse(const char *key, size_t len, char *kind, uint64_t *version)
{
	uint64_t v = 0;

	if (len != 18 || (key[0] != RECORD_KEY_COMMIT && key[0] != RECORD_KEY_PENDING) ||
	    key[1] != '.')
		return -EBADMSG;
	for (size_t i = 2; i < 18; i++) {
		char c = key[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -EBADMSG;
		v = v << 4 | (uint64_t)d;
	}
	*kind = key[0];
	*version = ~v;
	return 0;
}

/*
 * Codecs of the metadata formats (metarecord.h, docs/fs-format.md). Every read
 * of untrusted bytes goes through struct rd, which checks the length before
 * it moves; every write through struct wr into a buffer sized beforehand.
 * A parse either fills its output completely or returns -EBADMSG and leaves
 * nothing allocated.
 */
#include "metarecord.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"

#define REC_MAGIC "SCFR"
#define REC_VERSION 1
#define REC_FLAG_ENCRYPTED 1u
#define SB_MAGIC "SCFS"
#define SB_VERSION 1
#define SIG_CONTEXT_META "scfs-meta-v1"
#define SIG_CONTEXT_SB "scfs-superblock-v1"
#define SB_MAX_BODY 4096
#define CHUNK_REF_LEN 52

/* ---- bounded reader and writer ---- */
struct rd {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || n > r->left) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);
	return p ? p[0] : 0;
}

static uint16_t rd_u16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);
	return p ? sc_get_be16(p) : 0;
}

static uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);
	return p ? sc_get_be32(p) : 0;
}

static uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);
	return p ? sc_get_be64(p) : 0;
}

static void rd_bytes(struct rd *r, void *out, size_t n)
{
	const uint8_t *p = rd_take(r, n);
	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

struct wr {
	uint8_t *p;
};

static void wr_u8(struct wr *w, uint8_t v)
{
	*w->p++ = v;
}
static void wr_u16(struct wr *w, uint16_t v)
{
	sc_put_be16(w->p, v);
	w->p += 2;
}
static void wr_u32(struct wr *w, uint32_t v)
{
	sc_put_be32(w->p, v);
	w->p += 4;
}
static void wr_u64(struct wr *w, uint64_t v)
{
	sc_put_be64(w->p, v);
	w->p += 8;
}
static void wr_bytes(struct wr *w, const void *b, size_t n)
{
	if (n)
		memcpy(w->p, b, n);
	w->p += n;
}

/* ---- timestamps and keys ---- */
int meta_ts_cmp(const struct meta_ts *a, const struct meta_ts *b)
{
	if (a->counter != b->counter)
		return a->counter < b->counter ? -1 : 1;
	if (a->writer != b->writer)
		return a->writer < b->writer ? -1 : 1;
	return 0;
}

void meta_ts_hex(const struct meta_ts *ts, char out[META_TS_HEX_LEN + 1])
{
	snprintf(out, META_TS_HEX_LEN + 1, "%016llx%016llx", (unsigned long long)ts->counter,
	         (unsigned long long)ts->writer);
}

int meta_writer_id(const uint8_t pub[META_KEY_LEN], uint64_t *out)
{
	uint8_t d[SC_SHA256_LEN];
	int r = sc_sha256(pub, META_KEY_LEN, d);

	if (r < 0)
		return r;
	*out = sc_get_be64(d);
	return 0;
}

int meta_keys_derive(struct meta_keys *keys, const uint8_t *mkey)
{
	static const char aead_info[] = "scfs meta aead v1", tag_info[] = "scfs name tag v1";
	static const uint8_t public_ikm[META_KEY_LEN]; /* protocol A: nothing secret */
	const uint8_t *ikm = mkey ? mkey : public_ikm;
	int r;

	keys->encrypt = mkey != NULL;
	r = sc_hkdf_sha256(keys->fs_id, META_FSID_LEN, ikm, META_KEY_LEN,
	                   (const uint8_t *)aead_info, sizeof(aead_info) - 1, keys->aead,
	                   META_KEY_LEN);
	if (r == 0)
		r = sc_hkdf_sha256(keys->fs_id, META_FSID_LEN, ikm, META_KEY_LEN,
		                   (const uint8_t *)tag_info, sizeof(tag_info) - 1, keys->tag,
		                   META_KEY_LEN);
	return r;
}

int meta_name_tag(const struct meta_keys *keys, uint64_t dir, const char *name, size_t len,
                  uint8_t out[META_TAG_LEN])
{
	uint8_t msg[8 + META_NAME_MAX];

	if (len == 0 || len > META_NAME_MAX)
		return -ENAMETOOLONG;
	sc_put_be64(msg, dir);
	memcpy(msg + 8, name, len);
	return sc_hmac_sha256(keys->tag, META_KEY_LEN, msg, 8 + len, out);
}

/* ---- inode body ---- */
static void wr_time(struct wr *w, const struct meta_time *t)
{
	wr_u64(w, (uint64_t)t->sec);
	wr_u32(w, t->nsec);
}

static void rd_time(struct rd *r, struct meta_time *t)
{
	t->sec = (int64_t)rd_u64(r);
	t->nsec = rd_u32(r);
	if (t->nsec >= 1000000000u)
		r->bad = true;
}

int meta_inode_encode(const struct meta_inode *ino, uint8_t **out, size_t *len)
{
	size_t slen = ino->symlink ? strlen(ino->symlink) : 0, n = 90 + slen + 2 + 4, xtotal = 0;
	struct wr w;

	*out = NULL;
	if (slen > META_SYMLINK_MAX || ino->xattr_count > 0xffff)
		return -EINVAL;
	for (uint32_t i = 0; i < ino->xattr_count; i++) {
		size_t nl = strlen(ino->xattrs[i].name);
		if (nl == 0 || nl > META_XATTR_NAME_MAX ||
		    ino->xattrs[i].value_len > META_XATTR_VALUE_MAX)
			return -EINVAL;
		xtotal += 1 + nl + 2 + ino->xattrs[i].value_len;
	}
	if (xtotal > META_XATTR_TOTAL_MAX)
		return -ENOSPC;
	n += xtotal + (size_t)ino->chunk_count * CHUNK_REF_LEN;
	if (n > META_MAX_BODY)
		return -EFBIG;
	*out = malloc(n);
	if (!*out)
		return -ENOMEM;
	w.p = *out;
	wr_u64(&w, ino->ino);
	wr_u32(&w, ino->mode);
	wr_u32(&w, ino->uid);
	wr_u32(&w, ino->gid);
	wr_u32(&w, ino->nlink);
	wr_u64(&w, ino->size);
	wr_u64(&w, ino->rdev);
	wr_u64(&w, ino->parent);
	wr_time(&w, &ino->atime);
	wr_time(&w, &ino->mtime);
	wr_time(&w, &ino->ctime);
	wr_u32(&w, ino->chunk_size);
	wr_u16(&w, (uint16_t)slen);
	wr_bytes(&w, ino->symlink, slen);
	wr_u16(&w, (uint16_t)ino->xattr_count);
	for (uint32_t i = 0; i < ino->xattr_count; i++) {
		size_t nl = strlen(ino->xattrs[i].name);
		wr_u8(&w, (uint8_t)nl);
		wr_bytes(&w, ino->xattrs[i].name, nl);
		wr_u16(&w, (uint16_t)ino->xattrs[i].value_len);
		wr_bytes(&w, ino->xattrs[i].value, ino->xattrs[i].value_len);
	}
	wr_u32(&w, ino->chunk_count);
	for (uint32_t i = 0; i < ino->chunk_count; i++) {
		const struct meta_chunk_ref *c = &ino->chunks[i];
		wr_u32(&w, c->index);
		wr_u64(&w, c->version);
		wr_u64(&w, c->data_len);
		wr_bytes(&w, c->digest, META_DIGEST_LEN);
	}
	*len = (size_t)(w.p - *out);
	return 0;
}

void meta_inode_free(struct meta_inode *ino)
{
	if (!ino)
		return;
	free(ino->symlink);
	for (uint32_t i = 0; i < ino->xattr_count; i++) {
		free(ino->xattrs[i].name);
		free(ino->xattrs[i].value);
	}
	free(ino->xattrs);
	free(ino->chunks);
	ino->symlink = NULL;
	ino->xattrs = NULL;
	ino->chunks = NULL;
	ino->xattr_count = ino->chunk_count = 0;
}

int meta_inode_parse(const uint8_t *buf, size_t len, struct meta_inode *out)
{
	struct rd r = {buf, len, false};
	struct meta_inode ino = {0};
	uint16_t slen, xcount;
	uint32_t ccount;
	size_t xtotal = 0;

	memset(out, 0, sizeof(*out));
	ino.ino = rd_u64(&r);
	ino.mode = rd_u32(&r);
	ino.uid = rd_u32(&r);
	ino.gid = rd_u32(&r);
	ino.nlink = rd_u32(&r);
	ino.size = rd_u64(&r);
	ino.rdev = rd_u64(&r);
	ino.parent = rd_u64(&r);
	rd_time(&r, &ino.atime);
	rd_time(&r, &ino.mtime);
	rd_time(&r, &ino.ctime);
	ino.chunk_size = rd_u32(&r);
	slen = rd_u16(&r);
	if (r.bad || slen > META_SYMLINK_MAX || ino.chunk_size == 0)
		goto bad;
	if (slen) {
		const uint8_t *s = rd_take(&r, slen);
		if (!s || memchr(s, 0, slen))
			goto bad;
		ino.symlink = malloc(slen + 1u);
		if (!ino.symlink)
			goto nomem;
		memcpy(ino.symlink, s, slen);
		ino.symlink[slen] = 0;
	}
	xcount = rd_u16(&r);
	if (r.bad || xcount > r.left / 3)
		goto bad;
	if (xcount) {
		ino.xattrs = calloc(xcount, sizeof(*ino.xattrs));
		if (!ino.xattrs)
			goto nomem;
	}
	for (uint16_t i = 0; i < xcount; i++) {
		struct meta_xattr *x = &ino.xattrs[i];
		uint8_t nl = rd_u8(&r);
		const uint8_t *name = rd_take(&r, nl);
		uint16_t vl;
		const uint8_t *v;
		if (!name || nl == 0 || memchr(name, 0, nl))
			goto bad;
		vl = rd_u16(&r);
		v = rd_take(&r, vl);
		if (!v)
			goto bad;
		xtotal += 1u + nl + 2u + vl;
		x->name = malloc(nl + 1u);
		x->value = vl ? malloc(vl) : NULL;
		ino.xattr_count = i + 1u;
		if (!x->name || (vl && !x->value))
			goto nomem;
		memcpy(x->name, name, nl);
		x->name[nl] = 0;
		if (vl)
			memcpy(x->value, v, vl);
		x->value_len = vl;
		for (uint16_t j = 0; j < i; j++)
			if (strcmp(ino.xattrs[j].name, x->name) == 0)
				goto bad;
	}
	if (xtotal > META_XATTR_TOTAL_MAX)
		goto bad;
	ccount = rd_u32(&r);
	if (r.bad || ccount > r.left / CHUNK_REF_LEN || r.left != (size_t)ccount * CHUNK_REF_LEN)
		goto bad;
	if (ccount) {
		ino.chunks = calloc(ccount, sizeof(*ino.chunks));
		if (!ino.chunks)
			goto nomem;
	}
	for (uint32_t i = 0; i < ccount; i++) {
		struct meta_chunk_ref *c = &ino.chunks[i];
		c->index = rd_u32(&r);
		c->version = rd_u64(&r);
		c->data_len = rd_u64(&r);
		rd_bytes(&r, c->digest, META_DIGEST_LEN);
		if (c->data_len > ino.chunk_size || (i && c->index <= ino.chunks[i - 1].index))
			goto bad;
	}
	ino.chunk_count = ccount;
	if (r.bad || r.left)
		goto bad;
	*out = ino;
	return 0;
bad:
	meta_inode_free(&ino);
	return -EBADMSG;
nomem:
	meta_inode_free(&ino);
	return -ENOMEM;
}

int meta_inode_copy(struct meta_inode *dst, const struct meta_inode *src)
{
	uint8_t *buf;
	size_t len;
	int r = meta_inode_encode(src, &buf, &len);

	if (r < 0)
		return r;
	r = meta_inode_parse(buf, len, dst);
	free(buf);
	return r;
}

/* ---- directory entry body ---- */
int meta_dentry_encode(const struct meta_dentry *d, uint8_t **out, size_t *len)
{
	size_t nl = d->deleted ? 0 : d->name_len;
	struct wr w;

	if ((!d->deleted && (nl == 0 || nl > META_NAME_MAX)))
		return -EINVAL;
	*out = malloc(12 + nl);
	if (!*out)
		return -ENOMEM;
	w.p = *out;
	wr_u8(&w, d->deleted ? 1 : 0);
	wr_u8(&w, d->deleted ? 0 : d->type);
	wr_u64(&w, d->deleted ? 0 : d->ino);
	wr_u16(&w, (uint16_t)nl);
	wr_bytes(&w, d->name, nl);
	*len = 12 + nl;
	return 0;
}

int meta_dentry_parse(const uint8_t *buf, size_t len, struct meta_dentry *out)
{
	struct rd r = {buf, len, false};
	uint8_t del;
	const uint8_t *name;

	memset(out, 0, sizeof(*out));
	del = rd_u8(&r);
	out->type = rd_u8(&r);
	out->ino = rd_u64(&r);
	out->name_len = rd_u16(&r);
	if (r.bad || del > 1 || out->name_len > META_NAME_MAX)
		goto bad;
	out->deleted = del;
	if (del ? (out->name_len || out->ino || out->type) : (!out->name_len || !out->ino))
		goto bad;
	name = rd_take(&r, out->name_len);
	if (r.bad || r.left ||
	    (out->name_len && (memchr(name, 0, out->name_len) || memchr(name, '/', out->name_len))))
		goto bad;
	if (out->name_len)
		memcpy(out->name, name, out->name_len);
	out->name[out->name_len] = 0;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EBADMSG;
}

/* ---- sealed register values ---- */
static int sig_message(const uint8_t *fs_id, const char *context, const uint8_t *data, size_t len,
                       uint8_t **out, size_t *out_len)
{
	size_t cl = strlen(context);

	*out = malloc(cl + META_FSID_LEN + len);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, context, cl);
	if (fs_id)
		memcpy(*out + cl, fs_id, META_FSID_LEN);
	memcpy(*out + cl + (fs_id ? META_FSID_LEN : 0), data, len);
	*out_len = cl + (fs_id ? META_FSID_LEN : 0) + len;
	return 0;
}

static int aad_of(const struct meta_keys *keys, const uint8_t *hdr, uint8_t aad[])
{
	memcpy(aad, keys->fs_id, META_FSID_LEN);
	memcpy(aad + META_FSID_LEN, hdr, META_HDR_LEN);
	return 0;
}

int meta_value_seal(const struct meta_keys *keys, enum meta_kind kind, const struct meta_ts *ts,
                    uint64_t obj_ino, const uint8_t *tag, const uint8_t *body, size_t body_len,
                    uint8_t **out, size_t *out_len)
{
	size_t sealed = body_len + (keys->encrypt ? SC_GCM_IV_LEN + SC_GCM_TAG_LEN : 0);
	size_t total = META_TS_HEX_LEN + META_HDR_LEN + sealed + META_SIG_LEN, msg_len;
	uint8_t *v, *rec, *msg = NULL, aad[META_FSID_LEN + META_HDR_LEN];
	char hex[META_TS_HEX_LEN + 1];
	struct wr w;
	int r;

	*out = NULL;
	if (!keys->has_priv)
		return -EROFS;
	if (body_len > META_MAX_BODY)
		return -EFBIG;
	v = malloc(total);
	if (!v)
		return -ENOMEM;
	meta_ts_hex(ts, hex);
	memcpy(v, hex, META_TS_HEX_LEN);
	rec = v + META_TS_HEX_LEN;
	w.p = rec;
	wr_bytes(&w, REC_MAGIC, 4);
	wr_u8(&w, REC_VERSION);
	wr_u8(&w, (uint8_t)kind);
	wr_u8(&w, keys->encrypt ? REC_FLAG_ENCRYPTED : 0);
	wr_u8(&w, 0);
	wr_u64(&w, ts->counter);
	wr_u64(&w, ts->writer);
	wr_u64(&w, obj_ino);
	if (tag)
		wr_bytes(&w, tag, META_TAG_LEN);
	else {
		memset(w.p, 0, META_TAG_LEN);
		w.p += META_TAG_LEN;
	}
	wr_u32(&w, (uint32_t)sealed);
	if (keys->encrypt) {
		uint8_t *iv = w.p, *ct = w.p + SC_GCM_IV_LEN;
		r = sc_random_bytes(iv, SC_GCM_IV_LEN);
		if (r < 0)
			goto out;
		aad_of(keys, rec, aad);
		r = sc_aes256gcm_seal(keys->aead, iv, aad, sizeof(aad), body, body_len, ct,
		                      ct + body_len);
		if (r < 0)
			goto out;
	} else {
		memcpy(w.p, body, body_len);
	}
	w.p += sealed;
	r = sig_message(keys->fs_id, SIG_CONTEXT_META, rec, META_HDR_LEN + sealed, &msg, &msg_len);
	if (r < 0)
		goto out;
	r = sc_ed25519_sign(keys->priv, msg, msg_len, w.p);
	if (r < 0)
		goto out;
	*out = v;
	*out_len = total;
	v = NULL;
out:
	free(msg);
	free(v);
	return r;
}

int meta_value_ts(const uint8_t *value, size_t len, struct meta_ts *ts)
{
	char hex[17];
	uint8_t b[8];

	if (len < META_TS_HEX_LEN)
		return -EBADMSG;
	for (int half = 0; half < 2; half++) {
		memcpy(hex, value + 16 * half, 16);
		hex[16] = 0;
		if (sc_hex_decode(hex, b, 8) < 0)
			return -EBADMSG;
		if (half == 0)
			ts->counter = sc_get_be64(b);
		else
			ts->writer = sc_get_be64(b);
	}
	return 0;
}

int meta_value_open(const struct meta_keys *keys, const uint8_t *value, size_t len,
                    enum meta_kind kind, uint64_t obj_ino, const uint8_t *tag, struct meta_ts *ts,
                    uint8_t **body, size_t *body_len)
{
	static const uint8_t zero_tag[META_TAG_LEN];
	struct meta_ts prefix, signed_ts;
	struct rd r;
	const uint8_t *rec, *hdr_tag, *sealed, *sig, *pub = NULL;
	uint8_t flags, *msg = NULL, *plain = NULL, aad[META_FSID_LEN + META_HDR_LEN];
	uint32_t sealed_len;
	size_t msg_len, plain_len;
	int rc = -EBADMSG;

	*body = NULL;
	if (meta_value_ts(value, len, &prefix) < 0)
		return -EBADMSG;
	rec = value + META_TS_HEX_LEN;
	r = (struct rd){rec, len - META_TS_HEX_LEN, false};
	if (!rd_take(&r, 4) || memcmp(rec, REC_MAGIC, 4) != 0)
		return -EBADMSG;
	if (rd_u8(&r) != REC_VERSION || rd_u8(&r) != (uint8_t)kind)
		return -EBADMSG;
	flags = rd_u8(&r);
	(void)rd_u8(&r);
	signed_ts.counter = rd_u64(&r);
	signed_ts.writer = rd_u64(&r);
	if (rd_u64(&r) != obj_ino)
		return -EBADMSG;
	hdr_tag = rd_take(&r, META_TAG_LEN);
	sealed_len = rd_u32(&r);
	if (r.bad || sealed_len > META_MAX_BODY + SC_GCM_IV_LEN + SC_GCM_TAG_LEN ||
	    r.left != (size_t)sealed_len + META_SIG_LEN)
		return -EBADMSG;
	if (flags != (keys->encrypt ? REC_FLAG_ENCRYPTED : 0))
		return -EBADMSG;
	if (memcmp(hdr_tag, tag ? tag : zero_tag, META_TAG_LEN) != 0)
		return -EBADMSG;
	if (meta_ts_cmp(&prefix, &signed_ts) != 0)
		return -EBADMSG;
	sealed = rd_take(&r, sealed_len);
	sig = rd_take(&r, META_SIG_LEN);
	for (unsigned i = 0; i < keys->writer_count; i++) {
		uint64_t id;
		if (meta_writer_id(keys->writers[i], &id) == 0 && id == signed_ts.writer) {
			pub = keys->writers[i];
			break;
		}
	}
	if (!pub)
		return -EBADMSG;
	if (sig_message(keys->fs_id, SIG_CONTEXT_META, rec, META_HDR_LEN + sealed_len, &msg,
	                &msg_len) < 0)
		return -ENOMEM;
	if (sc_ed25519_verify(pub, msg, msg_len, sig) != 0)
		goto out;
	if (keys->encrypt) {
		if (sealed_len < SC_GCM_IV_LEN + SC_GCM_TAG_LEN)
			goto out;
		plain_len = sealed_len - SC_GCM_IV_LEN - SC_GCM_TAG_LEN;
		plain = malloc(plain_len ? plain_len : 1);
		if (!plain) {
			rc = -ENOMEM;
			goto out;
		}
		aad_of(keys, rec, aad);
		if (sc_aes256gcm_open(keys->aead, sealed, aad, sizeof(aad), sealed + SC_GCM_IV_LEN,
		                      plain_len, sealed + SC_GCM_IV_LEN + plain_len, plain) != 0)
			goto out;
	} else {
		plain_len = sealed_len;
		plain = malloc(plain_len ? plain_len : 1);
		if (!plain) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(plain, sealed, plain_len);
	}
	*ts = signed_ts;
	*body = plain;
	*body_len = plain_len;
	plain = NULL;
	rc = 0;
out:
	free(plain);
	free(msg);
	return rc;
}

/* ---- superblock ---- */
static size_t sb_body_len(const struct meta_superblock *sb)
{
	size_t n = META_FSID_LEN + 1 + strlen(sb->name) + 4 + 4 + 8 + 8 + 1;

	for (unsigned i = 0; i < sb->n; i++)
		n += 2 + strlen(sb->clusters[i].name) + strlen(sb->clusters[i].fsid);
	n += (size_t)sb->writer_count * META_KEY_LEN;
	if (sb->protocol == 2)
		n += (size_t)sb->n * META_DIGEST_LEN;
	return n;
}

int meta_sb_encode(const struct meta_superblock *sb, const uint8_t priv[META_KEY_LEN],
                   uint8_t **out, size_t *len)
{
	size_t body = sb_body_len(sb), total = 12 + body + META_SIG_LEN + 3 + sb->share_len,
	       msg_len;
	uint8_t *buf, *msg = NULL;
	struct wr w;
	int r;

	*out = NULL;
	if (sb->n == 0 || sb->n > META_MAX_CLUSTERS || sb->writer_count == 0 ||
	    sb->writer_count > META_MAX_WRITERS || sb->share_len > META_KEY_LEN ||
	    strlen(sb->name) == 0 || strlen(sb->name) > META_FSNAME_MAX || body > SB_MAX_BODY)
		return -EINVAL;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	w.p = buf;
	wr_bytes(&w, SB_MAGIC, 4);
	wr_u16(&w, SB_VERSION);
	wr_u16(&w, 0);
	wr_u32(&w, (uint32_t)body);
	wr_bytes(&w, sb->fs_id, META_FSID_LEN);
	wr_u8(&w, (uint8_t)strlen(sb->name));
	wr_bytes(&w, sb->name, strlen(sb->name));
	wr_u8(&w, sb->n);
	wr_u8(&w, sb->f);
	wr_u8(&w, sb->protocol);
	wr_u8(&w, sb->crash_only);
	wr_u32(&w, sb->chunk_size);
	wr_u64(&w, sb->root_ino);
	wr_u64(&w, sb->created_ns);
	for (unsigned i = 0; i < sb->n; i++) {
		size_t a = strlen(sb->clusters[i].name), b = strlen(sb->clusters[i].fsid);
		wr_u8(&w, (uint8_t)a);
		wr_bytes(&w, sb->clusters[i].name, a);
		wr_u8(&w, (uint8_t)b);
		wr_bytes(&w, sb->clusters[i].fsid, b);
	}
	wr_u8(&w, sb->writer_count);
	for (unsigned i = 0; i < sb->writer_count; i++)
		wr_bytes(&w, sb->writers[i], META_KEY_LEN);
	if (sb->protocol == 2)
		for (unsigned i = 0; i < sb->n; i++)
			wr_bytes(&w, sb->share_digest[i], META_DIGEST_LEN);
	r = sig_message(NULL, SIG_CONTEXT_SB, buf, 12 + body, &msg, &msg_len);
	if (r < 0)
		goto out;
	r = sc_ed25519_sign(priv, msg, msg_len, w.p);
	if (r < 0)
		goto out;
	w.p += META_SIG_LEN;
	wr_u8(&w, sb->index);
	wr_u16(&w, sb->share_len);
	wr_bytes(&w, sb->share, sb->share_len);
	*out = buf;
	*len = total;
	buf = NULL;
out:
	free(msg);
	free(buf);
	return r;
}

static void rd_string(struct rd *r, char *out, size_t max)
{
	uint8_t l = rd_u8(r);
	const uint8_t *p = rd_take(r, l);

	out[0] = 0;
	if (!p || l == 0 || l > max || memchr(p, 0, l)) {
		r->bad = true;
		return;
	}
	memcpy(out, p, l);
	out[l] = 0;
}

int meta_sb_parse(const uint8_t *buf, size_t len, struct meta_superblock *out)
{
	struct rd r = {buf, len, false};
	struct meta_superblock sb;
	const uint8_t *sig;
	uint8_t *msg = NULL, digest[SC_SHA256_LEN];
	size_t msg_len;
	uint32_t body;
	int rc = -EBADMSG;

	memset(&sb, 0, sizeof(sb));
	memset(out, 0, sizeof(*out));
	if (!rd_take(&r, 4) || memcmp(buf, SB_MAGIC, 4) != 0)
		return -EBADMSG;
	if (rd_u16(&r) != SB_VERSION)
		return r.bad ? -EBADMSG : -EPROTONOSUPPORT;
	(void)rd_u16(&r);
	body = rd_u32(&r);
	if (r.bad || body > SB_MAX_BODY || body > r.left)
		return -EBADMSG;
	rd_bytes(&r, sb.fs_id, META_FSID_LEN);
	rd_string(&r, sb.name, META_FSNAME_MAX);
	sb.n = rd_u8(&r);
	sb.f = rd_u8(&r);
	sb.protocol = rd_u8(&r);
	sb.crash_only = rd_u8(&r);
	sb.chunk_size = rd_u32(&r);
	sb.root_ino = rd_u64(&r);
	sb.created_ns = rd_u64(&r);
	if (r.bad || sb.n == 0 || sb.n > META_MAX_CLUSTERS ||
	    (sb.protocol != 1 && sb.protocol != 2) || sb.crash_only > 1 || sb.chunk_size < 4096 ||
	    sb.chunk_size > (64u << 20) || sb.root_ino == 0)
		return -EBADMSG;
	for (unsigned i = 0; i < sb.n; i++) {
		rd_string(&r, sb.clusters[i].name, META_FSNAME_MAX);
		rd_string(&r, sb.clusters[i].fsid, sizeof(sb.clusters[i].fsid) - 1);
	}
	sb.writer_count = rd_u8(&r);
	if (r.bad || sb.writer_count == 0 || sb.writer_count > META_MAX_WRITERS)
		return -EBADMSG;
	for (unsigned i = 0; i < sb.writer_count; i++)
		rd_bytes(&r, sb.writers[i], META_KEY_LEN);
	if (sb.protocol == 2)
		for (unsigned i = 0; i < sb.n; i++)
			rd_bytes(&r, sb.share_digest[i], META_DIGEST_LEN);
	if (r.bad || (size_t)(r.p - buf) != 12 + (size_t)body)
		return -EBADMSG;
	sig = rd_take(&r, META_SIG_LEN);
	sb.index = rd_u8(&r);
	sb.share_len = rd_u16(&r);
	if (r.bad || sb.index >= sb.n || sb.share_len != (sb.protocol == 2 ? META_KEY_LEN : 0) ||
	    r.left != sb.share_len)
		return -EBADMSG;
	rd_bytes(&r, sb.share, sb.share_len);
	if (sig_message(NULL, SIG_CONTEXT_SB, buf, 12 + body, &msg, &msg_len) < 0)
		return -ENOMEM;
	if (sc_ed25519_verify(sb.writers[0], msg, msg_len, sig) != 0)
		goto out;
	if (sb.protocol == 2) {
		if (sc_sha256(sb.share, META_KEY_LEN, digest) < 0 ||
		    sc_memcmp_const(digest, sb.share_digest[sb.index], META_DIGEST_LEN) != 0)
			goto out;
	}
	/* The bound is part of what the signer vouched for; check it anyway. */
	if (sb.n < (sb.crash_only ? 2u * sb.f + 1 : 3u * sb.f + 1)) {
		rc = -EDOM;
		goto out;
	}
	*out = sb;
	rc = 0;
out:
	sc_wipe(&sb, sizeof(sb));
	free(msg);
	return rc;
}

bool meta_sb_same(const struct meta_superblock *a, const struct meta_superblock *b)
{
	if (memcmp(a->fs_id, b->fs_id, META_FSID_LEN) || strcmp(a->name, b->name) || a->n != b->n ||
	    a->f != b->f || a->protocol != b->protocol || a->crash_only != b->crash_only ||
	    a->chunk_size != b->chunk_size || a->root_ino != b->root_ino ||
	    a->created_ns != b->created_ns || a->writer_count != b->writer_count)
		return false;
	for (unsigned i = 0; i < a->n; i++)
		if (strcmp(a->clusters[i].name, b->clusters[i].name) ||
		    strcmp(a->clusters[i].fsid, b->clusters[i].fsid) ||
		    memcmp(a->share_digest[i], b->share_digest[i], META_DIGEST_LEN))
			return false;
	return memcmp(a->writers, b->writers, (size_t)a->writer_count * META_KEY_LEN) == 0;
}

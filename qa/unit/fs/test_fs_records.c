/*
 * Unit tests of the file system's pure parts: the inode, entry and
 * superblock codecs (round trips; every truncation, trailing byte and
 * malformed field refused), the sealed register values (CA hides the body,
 * any changed byte, another place, an unknown writer or a forged timestamp
 * prefix is refused), timestamp order equal to the order the clusters
 * compare in, name tags, and the chunk cache's budget (LRU eviction of
 * clean chunks, ENOSPC when only dirty ones remain).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "acl.h"
#include "cache.h"
#include "common/crypto.h"
#include "metarecord.h"

static void make_inode(struct meta_inode *ino)
{
	memset(ino, 0, sizeof(*ino));
	ino->ino = 0x1122334455667788ull;
	ino->mode = S_IFREG | 0640;
	ino->uid = 1000;
	ino->gid = 100;
	ino->nlink = 2;
	ino->size = 9000000;
	ino->atime = (struct meta_time){1700000000, 5};
	ino->mtime = (struct meta_time){-5, 999999999};
	ino->ctime = (struct meta_time){1700000002, 0};
	ino->chunk_size = 4u << 20;
	ino->symlink = strdup("target/of/link");
	ino->xattr_count = 2;
	ino->xattrs = calloc(2, sizeof(*ino->xattrs));
	ino->xattrs[0].name = strdup("user.a");
	ino->xattrs[0].value = strdup("value");
	ino->xattrs[0].value_len = 5;
	ino->xattrs[1].name = strdup("user.empty");
	ino->chunk_count = 2;
	ino->chunks = calloc(2, sizeof(*ino->chunks));
	ino->chunks[0] = (struct meta_chunk_ref){.index = 0, .version = 7, .data_len = 4u << 20};
	ino->chunks[1] = (struct meta_chunk_ref){.index = 2, .version = 9, .data_len = 1000};
	memset(ino->chunks[1].digest, 0xab, META_DIGEST_LEN);
}

static void test_inode_round_trips(void **state)
{
	struct meta_inode a, b;
	uint8_t *buf, *buf2;
	size_t len, len2;

	(void)state;
	make_inode(&a);
	assert_int_equal(meta_inode_encode(&a, &buf, &len), 0);
	assert_int_equal(meta_inode_parse(buf, len, &b), 0);
	assert_int_equal(b.ino, a.ino);
	assert_int_equal(b.mode, a.mode);
	assert_int_equal(b.mtime.sec, -5);
	assert_int_equal(b.mtime.nsec, 999999999);
	assert_string_equal(b.symlink, "target/of/link");
	assert_int_equal(b.xattr_count, 2);
	assert_string_equal(b.xattrs[1].name, "user.empty");
	assert_int_equal(b.xattrs[1].value_len, 0);
	assert_memory_equal(b.xattrs[0].value, "value", 5);
	assert_int_equal(b.chunk_count, 2);
	assert_int_equal(b.chunks[1].index, 2);
	assert_int_equal(b.chunks[1].data_len, 1000);
	assert_int_equal(b.chunks[1].digest[31], 0xab);
	/* Encoding what was parsed gives the same bytes. */
	assert_int_equal(meta_inode_encode(&b, &buf2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(buf, buf2, len);
	free(buf2);
	meta_inode_free(&b);
	/* Every truncation and a trailing byte are refused. */
	for (size_t l = 0; l < len; l++)
		assert_int_equal(meta_inode_parse(buf, l, &b), -EBADMSG);
	buf = realloc(buf, len + 1);
	buf[len] = 0;
	assert_int_equal(meta_inode_parse(buf, len + 1, &b), -EBADMSG);
	free(buf);
	meta_inode_free(&a);
}

static void test_inode_parse_refuses_bad_fields(void **state)
{
	struct meta_inode a, b;
	uint8_t *buf;
	size_t len;

	(void)state;
	/* Chunks out of order. */
	make_inode(&a);
	a.chunks[1].index = 0;
	assert_int_equal(meta_inode_encode(&a, &buf, &len), 0);
	assert_int_equal(meta_inode_parse(buf, len, &b), -EBADMSG);
	free(buf);
	/* A chunk longer than the chunk size. */
	a.chunks[1].index = 3;
	a.chunks[1].data_len = (4u << 20) + 1;
	assert_int_equal(meta_inode_encode(&a, &buf, &len), 0);
	assert_int_equal(meta_inode_parse(buf, len, &b), -EBADMSG);
	free(buf);
	a.chunks[1].data_len = 1;
	/* Two xattrs of one name. */
	free(a.xattrs[1].name);
	a.xattrs[1].name = strdup("user.a");
	assert_int_equal(meta_inode_encode(&a, &buf, &len), 0);
	assert_int_equal(meta_inode_parse(buf, len, &b), -EBADMSG);
	free(buf);
	/* Nanoseconds past a second (offset 48 + 8 is atime's nsec). */
	free(a.xattrs[1].name);
	a.xattrs[1].name = strdup("user.b");
	assert_int_equal(meta_inode_encode(&a, &buf, &len), 0);
	assert_int_equal(meta_inode_parse(buf, len, &b), 0);
	meta_inode_free(&b);
	buf[56] = 0xff;
	assert_int_equal(meta_inode_parse(buf, len, &b), -EBADMSG);
	free(buf);
	/* A symlink target longer than 4095 cannot be encoded. */
	free(a.symlink);
	a.symlink = malloc(4097);
	memset(a.symlink, 'x', 4096);
	a.symlink[4096] = 0;
	assert_int_equal(meta_inode_encode(&a, &buf, &len), -EINVAL);
	meta_inode_free(&a);
}

static void test_inline_data_round_trips_and_refuses(void **state)
{
	struct meta_inode a = {0}, b;
	uint8_t *buf;
	size_t len;

	(void)state;
	a.ino = 5;
	a.mode = S_IFREG | 0644;
	a.nlink = 1;
	a.size = 11;
	a.chunk_size = 4096;
	a.inline_len = 5;
	a.inline_data = (uint8_t *)strdup("small");
	assert_int_equal(meta_inode_encode(&a, &buf, &len), 0);
	assert_int_equal(meta_inode_parse(buf, len, &b), 0);
	assert_int_equal(b.inline_len, 5);
	assert_memory_equal(b.inline_data, "small", 5);
	meta_inode_free(&b);
	for (size_t l = 0; l < len; l++)
		assert_int_equal(meta_inode_parse(buf, l, &b), -EBADMSG);
	/* Inline bytes beyond the size are refused (size is at offset 24). */
	buf[24 + 7] = 4;
	assert_int_equal(meta_inode_parse(buf, len, &b), -EBADMSG);
	free(buf);
	/* Inline bytes and chunks together cannot be encoded. */
	a.chunk_count = 1;
	a.chunks = calloc(1, sizeof(*a.chunks));
	assert_int_equal(meta_inode_encode(&a, &buf, &len), -EINVAL);
	/* Nor more than META_INLINE_MAX. */
	a.chunk_count = 0;
	a.inline_len = META_INLINE_MAX + 1;
	assert_int_equal(meta_inode_encode(&a, &buf, &len), -EINVAL);
	a.inline_len = 5;
	meta_inode_free(&a);
}

static void test_dentry_round_trips_and_refuses(void **state)
{
	struct meta_dentry d = {.type = 8, .ino = 42, .name_len = 5}, e, tomb = {.deleted = true};
	uint8_t *buf;
	size_t len;

	(void)state;
	memcpy(d.name, "hello", 5);
	assert_int_equal(meta_dentry_encode(&d, &buf, &len), 0);
	assert_int_equal(meta_dentry_parse(buf, len, &e), 0);
	assert_false(e.deleted);
	assert_int_equal(e.ino, 42);
	assert_string_equal(e.name, "hello");
	for (size_t l = 0; l < len; l++)
		assert_int_equal(meta_dentry_parse(buf, l, &e), -EBADMSG);
	buf[12 + 2] = '/'; /* a slash in the name */
	assert_int_equal(meta_dentry_parse(buf, len, &e), -EBADMSG);
	buf[12 + 2] = 0; /* a NUL in the name */
	assert_int_equal(meta_dentry_parse(buf, len, &e), -EBADMSG);
	free(buf);
	assert_int_equal(meta_dentry_encode(&tomb, &buf, &len), 0);
	assert_int_equal(meta_dentry_parse(buf, len, &e), 0);
	assert_true(e.deleted);
	buf[9] = 1; /* a tombstone naming an inode */
	assert_int_equal(meta_dentry_parse(buf, len, &e), -EBADMSG);
	free(buf);
	d.name_len = 256;
	assert_int_equal(meta_dentry_encode(&d, &buf, &len), -EINVAL);
}

static void make_keys(struct meta_keys *k, bool ca)
{
	uint8_t mkey[32], pub[32];

	memset(k, 0, sizeof(*k));
	memset(k->fs_id, 7, sizeof(k->fs_id));
	memset(mkey, 9, sizeof(mkey));
	assert_int_equal(meta_keys_derive(k, ca ? mkey : NULL), 0);
	assert_int_equal(sc_ed25519_keygen(k->priv, pub), 0);
	k->has_priv = true;
	assert_int_equal(meta_writer_id(pub, &k->writer_id), 0);
	k->writer_count = 1;
	memcpy(k->writers[0], pub, 32);
}

static void test_sealed_values(void **state)
{
	static const char body[] = "SECRET-BODY-MARKER file name";
	struct meta_keys k, other;
	struct meta_ts ts = {123456789, 0}, got;
	uint8_t tag[META_TAG_LEN], *v, *out;
	size_t vlen, olen;

	(void)state;
	for (int ca = 0; ca <= 1; ca++) {
		make_keys(&k, ca);
		ts.writer = k.writer_id;
		assert_int_equal(meta_name_tag(&k, 5, "name", 4, tag), 0);
		assert_int_equal(meta_value_seal(&k, META_KIND_DENTRY, &ts, 5, tag,
		                                 (const uint8_t *)body, sizeof(body), &v, &vlen),
		                 0);
		assert_int_equal(
		    meta_value_open(&k, v, vlen, META_KIND_DENTRY, 5, tag, &got, &out, &olen), 0);
		assert_int_equal(olen, sizeof(body));
		assert_memory_equal(out, body, sizeof(body));
		assert_int_equal(got.counter, ts.counter);
		free(out);
		/* CA hides the body; A does not pretend to. */
		assert_true((memmem(v, vlen, "SECRET-BODY-MARKER", 18) == NULL) == (ca == 1));
		/* Any changed byte is refused. */
		for (size_t i = 0; i < vlen; i++) {
			v[i] ^= 0x01;
			assert_int_equal(meta_value_open(&k, v, vlen, META_KIND_DENTRY, 5, tag,
			                                 &got, &out, &olen),
			                 -EBADMSG);
			v[i] ^= 0x01;
		}
		/* Another inode, another name, another kind. */
		assert_int_equal(
		    meta_value_open(&k, v, vlen, META_KIND_DENTRY, 6, tag, &got, &out, &olen),
		    -EBADMSG);
		tag[0] ^= 1;
		assert_int_equal(
		    meta_value_open(&k, v, vlen, META_KIND_DENTRY, 5, tag, &got, &out, &olen),
		    -EBADMSG);
		tag[0] ^= 1;
		assert_int_equal(
		    meta_value_open(&k, v, vlen, META_KIND_INODE, 5, tag, &got, &out, &olen),
		    -EBADMSG);
		/* A writer the superblock does not list. */
		make_keys(&other, ca);
		memcpy(other.fs_id, k.fs_id, sizeof(k.fs_id));
		meta_keys_derive(&other,
		                 ca ? (uint8_t[32]){9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9,
		                                    9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}
		                    : NULL);
		assert_int_equal(
		    meta_value_open(&other, v, vlen, META_KIND_DENTRY, 5, tag, &got, &out, &olen),
		    -EBADMSG);
		/* A cluster that raises the hex prefix to look newer (a rollback
		 * dressed up): the prefix must equal the signed timestamp. */
		v[0] = v[0] == 'f' ? 'e' : 'f';
		assert_int_equal(
		    meta_value_open(&k, v, vlen, META_KIND_DENTRY, 5, tag, &got, &out, &olen),
		    -EBADMSG);
		free(v);
		/* Read-only keys cannot seal. */
		k.has_priv = false;
		assert_int_equal(meta_value_seal(&k, META_KIND_DENTRY, &ts, 5, tag,
		                                 (const uint8_t *)body, sizeof(body), &v, &vlen),
		                 -EROFS);
	}
}

static void test_timestamp_order_is_string_order(void **state)
{
	(void)state;
	for (int i = 0; i < 10000; i++) {
		struct meta_ts a, b;
		char ha[META_TS_HEX_LEN + 1], hb[META_TS_HEX_LEN + 1];
		int c, s;
		sc_random_bytes(&a, sizeof(a));
		sc_random_bytes(&b, sizeof(b));
		if (i % 3 == 0)
			b.counter = a.counter;
		meta_ts_hex(&a, ha);
		meta_ts_hex(&b, hb);
		c = meta_ts_cmp(&a, &b);
		s = strcmp(ha, hb);
		assert_true((c < 0 && s < 0) || (c == 0 && s == 0) || (c > 0 && s > 0));
	}
}

static void test_name_tags(void **state)
{
	struct meta_keys k, k2;
	uint8_t a[META_TAG_LEN], b[META_TAG_LEN];
	char name[300];

	(void)state;
	make_keys(&k, true);
	make_keys(&k2, true);
	meta_keys_derive(&k2, (uint8_t[32]){1});
	assert_int_equal(meta_name_tag(&k, 1, "x", 1, a), 0);
	assert_int_equal(meta_name_tag(&k, 1, "x", 1, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(meta_name_tag(&k, 2, "x", 1, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(meta_name_tag(&k2, 1, "x", 1, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	memset(name, 'n', sizeof(name));
	assert_int_equal(meta_name_tag(&k, 1, name, 255, a), 0);
	assert_int_equal(meta_name_tag(&k, 1, name, 256, a), -ENAMETOOLONG);
	assert_int_equal(meta_name_tag(&k, 1, name, 0, a), -ENAMETOOLONG);
}

static void make_sb(struct meta_superblock *sb, uint8_t priv[32])
{
	memset(sb, 0, sizeof(*sb));
	memset(sb->fs_id, 3, sizeof(sb->fs_id));
	strcpy(sb->name, "fs1");
	sb->n = 4;
	sb->f = 1;
	sb->protocol = 2;
	sb->chunk_size = 4u << 20;
	sb->root_ino = 77;
	sb->created_ns = 1;
	for (int i = 0; i < 4; i++) {
		snprintf(sb->clusters[i].name, sizeof(sb->clusters[i].name), "dc%d", i + 1);
		snprintf(sb->clusters[i].fsid, sizeof(sb->clusters[i].fsid),
		         "0000000%d-aaaa-bbbb-cccc-dddddddddddd", i);
	}
	sb->writer_count = 1;
	sc_ed25519_keygen(priv, sb->writers[0]);
	memset(sb->share, 0x5a, 32);
	sb->share_len = 32;
	sb->index = 2;
	for (int i = 0; i < 4; i++)
		sc_sha256(sb->share, 32, sb->share_digest[i]);
}

static void test_superblock(void **state)
{
	struct meta_superblock sb, got;
	uint8_t priv[32], *buf;
	size_t len;

	(void)state;
	make_sb(&sb, priv);
	assert_int_equal(meta_sb_encode(&sb, priv, &buf, &len), 0);
	assert_int_equal(meta_sb_parse(buf, len, &got), 0);
	assert_true(meta_sb_same(&sb, &got));
	assert_int_equal(got.index, 2);
	assert_memory_equal(got.share, sb.share, 32);
	for (size_t l = 0; l < len; l++)
		assert_int_not_equal(meta_sb_parse(buf, l, &got), 0);
	/* Any signed byte changed fails the signature. */
	for (size_t i = 12; i < len - 35; i++) {
		buf[i] ^= 0x80;
		assert_int_not_equal(meta_sb_parse(buf, len, &got), 0);
		buf[i] ^= 0x80;
	}
	/* The share is checked by its signed digest. */
	buf[len - 1] ^= 1;
	assert_int_equal(meta_sb_parse(buf, len, &got), -EBADMSG);
	buf[len - 1] ^= 1;
	buf[4] = 0;
	buf[5] = 2; /* a future format version */
	assert_int_equal(meta_sb_parse(buf, len, &got), -EPROTONOSUPPORT);
	free(buf);
	/* n < 3f+1, even signed by the writer, is refused. */
	sb.f = 2;
	assert_int_equal(meta_sb_encode(&sb, priv, &buf, &len), 0);
	assert_int_equal(meta_sb_parse(buf, len, &got), -EDOM);
	free(buf);
	sb.f = 1;
	/* meta_sb_same sees a different cluster list. */
	got = sb;
	strcpy(got.clusters[3].fsid, "other");
	assert_false(meta_sb_same(&sb, &got));
}

static void test_cache_evicts_clean_and_refuses_when_dirty(void **state)
{
	char dir[] = "/tmp/scfs-unit-cache-XXXXXX";
	struct fs_cache *c;
	struct fs_centry *e[4], *pinned;
	uint64_t used, dirty, limit;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Room for three chunks of 4 KiB. */
	assert_int_equal(fs_cache_open(dir, 3 * 4096, 4096, &c), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fs_cache_add(c, 1, (uint32_t)i, &e[i]), 0);
		fs_cache_put(c, e[i]);
	}
	fs_cache_put(c, fs_cache_get(c, 1, 0)); /* 1 is now the least recently used */
	assert_int_equal(fs_cache_add(c, 1, 3, &e[3]), 0);
	assert_false(fs_cache_has(c, 1, 1));
	assert_true(fs_cache_has(c, 1, 0));
	/* All dirty: nothing may go, the next one is refused. */
	fs_cache_mark(c, e[0], true, 0);
	fs_cache_mark(c, e[2], true, 0);
	fs_cache_mark(c, e[3], true, 0);
	fs_cache_put(c, e[3]);
	assert_int_equal(fs_cache_add(c, 2, 0, &e[1]), -ENOSPC);
	fs_cache_usage(c, &used, &dirty, &limit);
	assert_int_equal(used, 3 * 4096);
	assert_int_equal(dirty, 3 * 4096);
	fs_cache_drop_from(c, 1, 3);
	assert_false(fs_cache_has(c, 1, 3));
	assert_int_equal(fs_cache_add(c, 2, 0, &e[1]), 0);
	/* A clean entry another thread holds a pin on is not evicted either. */
	fs_cache_mark(c, e[1], false, 7);
	pinned = fs_cache_get(c, 2, 0);
	assert_ptr_equal(pinned, e[1]);
	fs_cache_put(c, e[1]);
	fs_cache_mark(c, e[0], false, 5);
	assert_int_equal(fs_cache_add(c, 3, 0, &e[3]), 0);
	assert_true(fs_cache_has(c, 2, 0));
	assert_false(fs_cache_has(c, 1, 0));
	fs_cache_put(c, pinned);
	fs_cache_put(c, e[3]);
	fs_cache_close(c);
	/* A new cache over the same directory trusts nothing it finds there. */
	{
		char path[128];
		FILE *f;
		snprintf(path, sizeof(path), "%s/%016x.%08x", dir, 1, 0);
		f = fopen(path, "w");
		assert_non_null(f);
		fputs("torn", f);
		fclose(f);
		assert_int_equal(fs_cache_open(dir, 3 * 4096, 4096, &c), 0);
		assert_int_equal(access(path, F_OK), -1);
		fs_cache_close(c);
	}
	rmdir(dir);
}

static void test_acl_inheritance_masks_by_mode(void **state)
{
	/* version 2; user_obj rwx, user 1000 rwx, group_obj r-x, mask rwx, other r-- */
	static const uint8_t def[] = {
	    2, 0,    0,    0,    0x01, 0,    7,    0, 0xff, 0xff, 0xff, 0xff, 0x02, 0,    7,
	    0, 0xe8, 3,    0,    0,    0x04, 0,    5, 0,    0xff, 0xff, 0xff, 0xff, 0x10, 0,
	    7, 0,    0xff, 0xff, 0xff, 0xff, 0x20, 0, 4,    0,    0xff, 0xff, 0xff, 0xff};
	static const uint8_t plain[] = {2, 0, 0, 0, 0x01, 0, 7,    0, 0, 0, 0, 0, 0x04, 0,
	                                5, 0, 0, 0, 0,    0, 0x20, 0, 5, 0, 0, 0, 0,    0};
	mode_t mode = S_IFREG | 0666;
	uint8_t *acl;
	size_t len;

	(void)state;
	assert_int_equal(fs_acl_inherit(def, sizeof(def), &mode, (void **)&acl, &len), 0);
	assert_int_equal(mode, S_IFREG | 0664);
	assert_non_null(acl);
	assert_int_equal(len, sizeof(def));
	assert_int_equal(acl[4 + 3 * 8 + 2], 6); /* the mask lost x with the mode */
	assert_int_equal(acl[4 + 0 * 8 + 2], 6); /* user_obj too */
	free(acl);
	/* A default ACL the mode expresses: no access ACL, only the mode. */
	mode = S_IFDIR | 0777;
	assert_int_equal(fs_acl_inherit(plain, sizeof(plain), &mode, (void **)&acl, &len), 0);
	assert_null(acl);
	assert_int_equal(mode, S_IFDIR | 0755);
	/* Setting an ACL sets the mode it implies; chmod rewrites the ACL. */
	{
		mode_t m = S_IFREG | 0600;
		int extended;
		uint8_t copy[sizeof(def)];
		assert_int_equal(fs_acl_to_mode(def, sizeof(def), &m, &extended), 0);
		assert_int_equal(m, S_IFREG | 0774); /* group bits from the mask */
		assert_true(extended);
		m = S_IFREG | 0600;
		assert_int_equal(fs_acl_to_mode(plain, sizeof(plain), &m, &extended), 0);
		assert_int_equal(m, S_IFREG | 0755);
		assert_false(extended);
		memcpy(copy, def, sizeof(def));
		assert_int_equal(fs_acl_chmod(copy, sizeof(copy), 0640), 0);
		assert_int_equal(copy[4 + 0 * 8 + 2], 6); /* user_obj */
		assert_int_equal(copy[4 + 2 * 8 + 2], 5); /* group_obj kept: there is a mask */
		assert_int_equal(copy[4 + 3 * 8 + 2], 4); /* mask */
		assert_int_equal(copy[4 + 4 * 8 + 2], 0); /* other */
		assert_int_equal(fs_acl_to_mode(def, 5, &m, &extended), -EINVAL);
	}
	/* Malformed: wrong version, odd length, unknown tag. */
	assert_int_equal(fs_acl_inherit(def, sizeof(def) - 1, &mode, (void **)&acl, &len), -EINVAL);
	{
		uint8_t bad[sizeof(def)];
		memcpy(bad, def, sizeof(def));
		bad[0] = 3;
		assert_int_equal(fs_acl_inherit(bad, sizeof(bad), &mode, (void **)&acl, &len),
		                 -EINVAL);
		memcpy(bad, def, sizeof(def));
		bad[4] = 0x40;
		assert_int_equal(fs_acl_inherit(bad, sizeof(bad), &mode, (void **)&acl, &len),
		                 -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_inode_round_trips),
	    cmocka_unit_test(test_inode_parse_refuses_bad_fields),
	    cmocka_unit_test(test_inline_data_round_trips_and_refuses),
	    cmocka_unit_test(test_dentry_round_trips_and_refuses),
	    cmocka_unit_test(test_sealed_values),
	    cmocka_unit_test(test_timestamp_order_is_string_order),
	    cmocka_unit_test(test_name_tags),
	    cmocka_unit_test(test_superblock),
	    cmocka_unit_test(test_cache_evicts_clean_and_refuses_when_dirty),
	    cmocka_unit_test(test_acl_inheritance_masks_by_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

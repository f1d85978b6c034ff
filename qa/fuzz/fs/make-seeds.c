/*
 * Writes the seed corpus of fuzz_fs_record (run by hand when the formats
 * change; the output is committed): valid register values of both
 * protocols, a bare inode body, an entry, a tombstone and a superblock,
 * each behind the selector byte fuzz_fs_record.c expects, signed with its
 * fixed key. cc -I.. make-seeds.c ... (see qa/fuzz/fs/meson.build).
 *   make-seeds DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/crypto.h"
#include "metarecord.h"

static void put(const char *dir, const char *name, uint8_t sel, const uint8_t *b, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputc(sel, f);
	fwrite(b, 1, len, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	struct meta_keys k[2];
	struct meta_inode ino = {0};
	struct meta_chunk_ref refs[2] = {{0, 5, 100, {1}}, {3, 6, 4096, {2}}};
	struct meta_xattr x = {"user.k", "v", 1};
	struct meta_dentry d = {.type = 8, .ino = 99, .name_len = 4, .name = "name"};
	struct meta_dentry tomb = {.deleted = true};
	struct meta_superblock sb = {0};
	struct meta_ts ts = {1000, 0};
	uint8_t *b, *v, tag[META_TAG_LEN] = {0};
	size_t bl, vl;

	if (argc != 2)
		return 2;
	mkdir(argv[1], 0755);
	for (int i = 0; i < 2; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		memset(k[i].fs_id, 0x11, META_FSID_LEN);
		meta_keys_derive(&k[i],
		                 i ? (const uint8_t *)"0123456789abcdef0123456789abcdef" : NULL);
		k[i].writer_count = 1;
		memset(k[i].priv, 0x33, META_KEY_LEN);
		k[i].has_priv = true;
		sc_ed25519_public(k[i].priv, k[i].writers[0]);
		meta_writer_id(k[i].writers[0], &k[i].writer_id);
	}
	ts.writer = k[0].writer_id;
	ino.ino = 0x1234;
	ino.mode = 0100644;
	ino.nlink = 1;
	ino.size = 16384;
	ino.chunk_size = 4096;
	ino.symlink = "t";
	ino.xattr_count = 1;
	ino.xattrs = &x;
	ino.chunk_count = 2;
	ino.chunks = refs;
	meta_inode_encode(&ino, &b, &bl);
	put(argv[1], "inode-body", 3, b, bl);
	for (int i = 0; i < 2; i++) {
		meta_value_seal(&k[i], META_KIND_INODE, &ts, 0x1234, NULL, b, bl, &v, &vl);
		put(argv[1], i ? "value-inode-ca" : "value-inode-a", (uint8_t)i, v, vl);
		free(v);
	}
	free(b);
	meta_dentry_encode(&d, &b, &bl);
	put(argv[1], "dentry", 4, b, bl);
	meta_value_seal(&k[1], META_KIND_DENTRY, &ts, 0x1234, tag, b, bl, &v, &vl);
	put(argv[1], "value-dentry-ca", 2, v, vl);
	free(v);
	free(b);
	meta_dentry_encode(&tomb, &b, &bl);
	put(argv[1], "tombstone", 4, b, bl);
	free(b);
	memset(sb.fs_id, 0x11, sizeof(sb.fs_id));
	strcpy(sb.name, "fz");
	sb.n = 4;
	sb.f = 1;
	sb.protocol = 2;
	sb.chunk_size = 4096;
	sb.root_ino = 7;
	for (int i = 0; i < 4; i++) {
		snprintf(sb.clusters[i].name, sizeof(sb.clusters[i].name), "dc%d", i);
		strcpy(sb.clusters[i].fsid, "f");
	}
	sb.writer_count = 1;
	memcpy(sb.writers[0], k[0].writers[0], 32);
	sb.share_len = 32;
	for (int i = 0; i < 4; i++)
		sc_sha256(sb.share, 32, sb.share_digest[i]);
	meta_sb_encode(&sb, k[0].priv, &b, &bl);
	put(argv[1], "superblock", 5, b, bl);
	free(b);
	return 0;
}

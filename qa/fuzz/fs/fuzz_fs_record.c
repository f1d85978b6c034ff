/*
 * libFuzzer target for every parser of metadata a cluster returns
 * (rados-scfs/meta/metarecord.c): meta_value_open (register values, both
 * protocols), meta_inode_parse, meta_dentry_parse and meta_sb_parse; and
 * the POSIX ACL reader (rados-scfs/fs/acl.c). The
 * first input byte picks the parser. A parse that succeeds must hand back a
 * consistent result, and encoding it again must parse to the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "acl.h"
#include "metarecord.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inode(const uint8_t *buf, size_t len)
{
	struct meta_inode ino, again;
	uint8_t *enc;
	size_t elen;

	if (meta_inode_parse(buf, len, &ino) != 0)
		return;
	if (meta_inode_encode(&ino, &enc, &elen) != 0 || elen != len || memcmp(enc, buf, len) != 0)
		abort();
	if (meta_inode_parse(enc, elen, &again) != 0)
		abort();
	meta_inode_free(&again);
	free(enc);
	meta_inode_free(&ino);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct meta_keys keys[2];
	static int ready;
	struct meta_dentry d;
	struct meta_superblock sb;
	struct meta_ts ts;
	uint8_t *copy, *body, tag[META_TAG_LEN] = {0};
	size_t blen;

	if (!ready) {
		/* Fixed keys, so that seeds made with them (make-seeds.c) get past the signature.
		 */
		for (int i = 0; i < 2; i++) {
			memset(&keys[i], 0, sizeof(keys[i]));
			memset(keys[i].fs_id, 0x11, META_FSID_LEN);
			meta_keys_derive(&keys[i],
			                 i ? (const uint8_t *)"0123456789abcdef0123456789abcdef"
			                   : NULL);
			keys[i].writer_count = 1;
			memset(keys[i].priv, 0x33, META_KEY_LEN); /* make-seeds.c signs with it */
			sc_ed25519_public(keys[i].priv, keys[i].writers[0]);
		}
		ready = 1;
	}
	if (size < 1)
		return 0;
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 7) {
	case 0:
	case 1:
		if (meta_value_open(&keys[data[0] % 2], copy, size - 1, META_KIND_INODE, 0x1234,
		                    NULL, &ts, &body, &blen) == 0) {
			check_inode(body, blen);
			free(body);
		}
		break;
	case 2:
		if (meta_value_open(&keys[1], copy, size - 1, META_KIND_DENTRY, 0x1234, tag, &ts,
		                    &body, &blen) == 0)
			free(body);
		break;
	case 3:
		check_inode(copy, size - 1);
		break;
	case 4:
		if (meta_dentry_parse(copy, size - 1, &d) == 0 &&
		    (d.name_len > META_NAME_MAX || strlen(d.name) != d.name_len))
			abort();
		break;
	case 5:
		if (meta_sb_parse(copy, size - 1, &sb) == 0 && (sb.n == 0 || sb.index >= sb.n))
			abort();
		break;
	case 6: {
		mode_t mode = 0100666;
		void *acl;
		size_t alen;
		int extended;
		if (fs_acl_inherit(copy, size - 1, &mode, &acl, &alen) == 0) {
			if (acl && alen != size - 1)
				abort();
			free(acl);
		}
		(void)fs_acl_to_mode(copy, size - 1, &mode, &extended);
		(void)fs_acl_chmod(copy, size - 1, 0754);
		break;
	}
	}
	free(copy);
	return 0;
}

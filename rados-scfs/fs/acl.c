/* POSIX ACL inheritance (acl.h), as the kernel's posix_acl_create does it. */
#include "acl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ACL_VERSION 2
#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20
#define ENTRY_LEN 8

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

int fs_acl_inherit(const void *def, size_t def_len, mode_t *mode, void **out, size_t *out_len)
{
	const uint8_t *in = def;
	uint8_t *acl, *group_obj = NULL, *mask = NULL;
	size_t count;
	mode_t m = *mode;
	int not_equiv = 0;

	*out = NULL;
	*out_len = 0;
	if (def_len < 4 || (def_len - 4) % ENTRY_LEN || in[0] != ACL_VERSION || in[1] || in[2] ||
	    in[3])
		return -EINVAL;
	count = (def_len - 4) / ENTRY_LEN;
	acl = malloc(def_len);
	if (!acl)
		return -ENOMEM;
	memcpy(acl, in, def_len);
	for (size_t i = 0; i < count; i++) {
		uint8_t *e = acl + 4 + i * ENTRY_LEN;
		unsigned perm = le16(e + 2) & 7;
		switch (le16(e)) {
		case TAG_USER_OBJ:
			perm &= (m >> 6) & 7;
			m &= (mode_t)((perm << 6) | ~S_IRWXU);
			break;
		case TAG_USER:
		case TAG_GROUP:
			not_equiv = 1;
			break;
		case TAG_GROUP_OBJ:
			group_obj = e;
			break;
		case TAG_OTHER:
			perm &= m & 7;
			m &= (mode_t)(perm | ~S_IRWXO);
			break;
		case TAG_MASK:
			mask = e;
			not_equiv = 1;
			break;
		default:
			free(acl);
			return -EINVAL;
		}
		put_le16(e + 2, (uint16_t)perm);
	}
	if (!group_obj) {
		free(acl);
		return -EINVAL;
	}
	{
		uint8_t *g = mask ? mask : group_obj;
		unsigned perm = le16(g + 2) & ((m >> 3) & 7);
		put_le16(g + 2, (uint16_t)perm);
		m &= (mode_t)((perm << 3) | ~S_IRWXG);
	}
	*mode = m;
	if (!not_equiv) {
		free(acl);
		return 0;
	}
	*out = acl;
	*out_len = def_len;
	return 0;
}

static int acl_check(const uint8_t *a, size_t len)
{
	if (len < 4 || (len - 4) % ENTRY_LEN || a[0] != ACL_VERSION || a[1] || a[2] || a[3])
		return -EINVAL;
	return 0;
}

int fs_acl_to_mode(const void *acl, size_t len, mode_t *mode, int *extended)
{
	const uint8_t *a = acl;
	int have_user = 0, have_group = 0, have_other = 0, have_mask = 0;
	unsigned user = 0, group = 0, other = 0, mask = 0;

	if (acl_check(a, len) < 0)
		return -EINVAL;
	*extended = 0;
	for (size_t i = 0; i < (len - 4) / ENTRY_LEN; i++) {
		const uint8_t *e = a + 4 + i * ENTRY_LEN;
		unsigned perm = le16(e + 2) & 7;
		switch (le16(e)) {
		case TAG_USER_OBJ:
			user = perm;
			have_user = 1;
			break;
		case TAG_GROUP_OBJ:
			group = perm;
			have_group = 1;
			break;
		case TAG_OTHER:
			other = perm;
			have_other = 1;
			break;
		case TAG_MASK:
			mask = perm;
			have_mask = 1;
			*extended = 1;
			break;
		case TAG_USER:
		case TAG_GROUP:
			*extended = 1;
			break;
		default:
			return -EINVAL;
		}
	}
	if (!have_user || !have_group || !have_other)
		return -EINVAL;
	*mode = (*mode & ~(mode_t)0777) | (mode_t)(user << 6) |
	        (mode_t)((have_mask ? mask : group) << 3) | (mode_t)other;
	return 0;
}

int fs_acl_chmod(void *acl, size_t len, mode_t mode)
{
	uint8_t *a = acl, *group = NULL, *mask = NULL;

	if (acl_check(a, len) < 0)
		return -EINVAL;
	for (size_t i = 0; i < (len - 4) / ENTRY_LEN; i++) {
		uint8_t *e = a + 4 + i * ENTRY_LEN;
		switch (le16(e)) {
		case TAG_USER_OBJ:
			put_le16(e + 2, (uint16_t)((mode >> 6) & 7));
			break;
		case TAG_GROUP_OBJ:
			group = e;
			break;
		case TAG_MASK:
			mask = e;
			break;
		case TAG_OTHER:
			put_le16(e + 2, (uint16_t)(mode & 7));
			break;
		default:
			break;
		}
	}
	if (mask)
		put_le16(mask + 2, (uint16_t)((mode >> 3) & 7));
	else if (group)
		put_le16(group + 2, (uint16_t)((mode >> 3) & 7));
	return 0;
}

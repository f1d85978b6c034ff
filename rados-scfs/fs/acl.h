/*
 * POSIX ACL inheritance for new inodes (the kernel enforces ACLs once
 * FUSE_CAP_POSIX_ACL is on, but leaves the parent's default ACL and the
 * umask to the file system). The ACL xattr format is Linux's
 * posix_acl_xattr: a little-endian u32 version 2, then entries of
 * u16 tag, u16 perm, u32 id. Pure; the only parser of that format here.
 */
#ifndef SCFS_FS_ACL_H
#define SCFS_FS_ACL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FS_ACL_ACCESS "system.posix_acl_access"
#define FS_ACL_DEFAULT "system.posix_acl_default"

/*
 * From the parent's default ACL (DEF, DEF_LEN bytes) and the mode asked for,
 * computes the new inode's mode (*MODE, updated) and its access ACL (*OUT,
 * malloc'd, NULL when the mode says it all). -EINVAL for a malformed ACL.
 */
int fs_acl_inherit(const void *def, size_t def_len, mode_t *mode, void **out, size_t *out_len);

/*
 * Setting an access ACL: the permission bits it implies (owner from
 * user_obj, group from the mask or else group_obj, other from other) into
 * *MODE, and whether the ACL says more than the mode (*EXTENDED false: it
 * need not be stored). -EINVAL for a malformed ACL.
 */
int fs_acl_to_mode(const void *acl, size_t len, mode_t *mode, int *extended);
/* chmod of an inode with an access ACL: ACL's user_obj, mask (or group_obj)
 * and other entries rewritten from MODE, in place. -EINVAL if malformed. */
int fs_acl_chmod(void *acl, size_t len, mode_t mode);

#endif

/*
 * Extended attributes (user.*: set, create/replace flags, get, list, remove,
 * binary values, sharing by hard links, permission checks) and POSIX ACLs
 * set with setfacl(1) and read with getfacl(1) (package acl), enforced by the
 * kernel for an unprivileged user, with default ACLs inherited.
 */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static bool list_has(const char *list, ssize_t len, const char *name)
{
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1)
		if (strcmp(list + i, name) == 0)
			return true;
	return false;
}

static int user_xattrs_set_get_list_and_remove(void)
{
	unsigned char value[2000], back[2100];
	char list[1024];
	ssize_t n;

	for (size_t i = 0; i < sizeof(value); i++)
		value[i] = (unsigned char)(i * 7); /* NUL bytes included */
	OK(file_put("f", "x"));
	OK(setxattr("f", "user.a", "one", 3, 0));
	OK(setxattr("f", "user.binary", value, sizeof(value), XATTR_CREATE));
	ERR(setxattr("f", "user.a", "two", 3, XATTR_CREATE), EEXIST);
	ERR(setxattr("f", "user.missing", "v", 1, XATTR_REPLACE), ENODATA);
	OK(setxattr("f", "user.a", "three", 5, XATTR_REPLACE));
	OK(setxattr("f", "user.empty", "", 0, 0));
	EQ(getxattr("f", "user.a", NULL, 0), 5);
	EQ(getxattr("f", "user.a", back, sizeof(back)), 5);
	CHECK(memcmp(back, "three", 5) == 0, "user.a: expected \"three\"");
	ERR(getxattr("f", "user.a", back, 2), ERANGE);
	EQ(getxattr("f", "user.binary", back, sizeof(back)), (ssize_t)sizeof(value));
	CHECK(memcmp(back, value, sizeof(value)) == 0, "user.binary: bytes differ");
	EQ(getxattr("f", "user.empty", back, sizeof(back)), 0);
	OK(n = listxattr("f", list, sizeof(list)));
	CHECK(list_has(list, n, "user.a") && list_has(list, n, "user.binary") &&
	          list_has(list, n, "user.empty"),
	      "listxattr: expected user.a, user.binary and user.empty");
	OK(removexattr("f", "user.a"));
	ERR(getxattr("f", "user.a", back, sizeof(back)), ENODATA);
	ERR(removexattr("f", "user.a"), ENODATA);
	OK(n = listxattr("f", list, sizeof(list)));
	CHECK(!list_has(list, n, "user.a"), "listxattr still names the removed user.a");
	/* Kept through rename, shared by a hard link, on directories too. */
	OK(rename("f", "g"));
	OK(link("g", "h"));
	EQ(getxattr("h", "user.binary", back, sizeof(back)), (ssize_t)sizeof(value));
	OK(mkdir("d", 0755));
	OK(setxattr("d", "user.dir", "d", 1, 0));
	EQ(getxattr("d", "user.dir", back, sizeof(back)), 1);
	/* Linux allows no user.* attribute on a symlink. */
	OK(symlink("g", "link"));
	ERR(lsetxattr("link", "user.x", "v", 1, 0), EPERM);
	EQ(getxattr("link", "user.binary", back, sizeof(back)), (ssize_t)sizeof(value));
	return CASE_OK;
}

static int xattr_as_nobody(void *arg)
{
	char back[16];

	(void)arg;
	EQ(getxattr("readable", "user.a", back, sizeof(back)), 1);
	ERR(setxattr("readable", "user.a", "n", 1, 0), EACCES);
	ERR(removexattr("readable", "user.a"), EACCES);
	ERR(getxattr("private", "user.a", back, sizeof(back)), EACCES);
	ERR(setxattr("readable", "trusted.x", "n", 1, 0), EPERM);
	return CASE_OK;
}

static int xattrs_follow_file_permissions(void)
{
	OK(file_put("readable", "x"));
	OK(setxattr("readable", "user.a", "r", 1, 0));
	OK(file_put("private", "x"));
	OK(chmod("private", 0600));
	OK(setxattr("private", "user.a", "p", 1, 0));
	SUB(as_nobody(xattr_as_nobody, NULL));
	return CASE_OK;
}

/* Runs setfacl/getfacl; a missing tool is a failure that says how to fix it. */
static int acl_tools_present(void)
{
	CHECK(shell("command -v setfacl >/dev/null && command -v getfacl >/dev/null") == 0,
	      "setfacl/getfacl not installed (package acl: run qa/install-deps)");
	return CASE_OK;
}

static int acl_read_as_nobody(void *arg)
{
	int fd;

	(void)arg;
	OK(fd = open("f", O_RDONLY));
	close(fd);
	ERR(open("f", O_WRONLY), EACCES);
	return CASE_OK;
}

static int acl_write_as_nobody(void *arg)
{
	int fd;

	(void)arg;
	OK(fd = open("f", O_RDWR));
	close(fd);
	return CASE_OK;
}

static int acl_none_as_nobody(void *arg)
{
	(void)arg;
	ERR(open("f", O_RDONLY), EACCES);
	ERR(open("f", O_WRONLY), EACCES);
	return CASE_OK;
}

static int posix_acl_grants_and_denies_a_named_user(void)
{
	struct stat st;

	SUB(acl_tools_present());
	OK(file_put("f", "x"));
	OK(chmod("f", 0600));
	SUB(as_nobody(acl_none_as_nobody, NULL));
	EQ(shell("setfacl -m u:nobody:r f"), 0);
	EQ(shell("getfacl -c f 2>/dev/null | grep -qx 'user:nobody:r--'"), 0);
	OK(stat("f", &st));
	EQ_MODE(st.st_mode & 0777, 0640); /* group bits show the mask */
	SUB(as_nobody(acl_read_as_nobody, NULL));
	EQ(shell("setfacl -m u:nobody:rw f"), 0);
	SUB(as_nobody(acl_write_as_nobody, NULL));
	EQ(shell("setfacl -m m::r f"), 0); /* the mask limits the named entry */
	SUB(as_nobody(acl_read_as_nobody, NULL));
	EQ(shell("getfacl -c f 2>/dev/null | grep -q '#effective:r--'"), 0);
	OK(chmod("f", 0600)); /* chmod sets the mask */
	SUB(as_nobody(acl_none_as_nobody, NULL));
	EQ(shell("setfacl -m m::rw f"), 0);
	SUB(as_nobody(acl_write_as_nobody, NULL));
	EQ(shell("setfacl -x u:nobody f"), 0);
	SUB(as_nobody(acl_none_as_nobody, NULL));
	EQ(shell("setfacl -b f && [ \"$(getfacl -c f 2>/dev/null | grep -c .)\" = 3 ]"), 0);
	return CASE_OK;
}

static int inherited_as_nobody(void *arg)
{
	int fd;

	(void)arg;
	OK(fd = open("d/file", O_RDWR));
	close(fd);
	OK(fd = open("d/sub/file2", O_RDWR));
	close(fd);
	return CASE_OK;
}

static int default_acl_is_inherited_by_new_entries(void)
{
	SUB(acl_tools_present());
	OK(mkdir("d", 0700));
	EQ(shell("setfacl -d -m u:nobody:rwx d && setfacl -m u:nobody:rx d"), 0);
	OK(file_put("d/file", "x")); /* created with mode 0644 & the default ACL */
	OK(mkdir("d/sub", 0755));
	OK(file_put("d/sub/file2", "y"));
	EQ(shell("getfacl -c d/file 2>/dev/null | grep -q '^user:nobody:rwx'"), 0);
	EQ(shell("getfacl -c d/sub 2>/dev/null | grep -q '^default:user:nobody:rwx'"), 0);
	OK(chmod("d/file", 0660)); /* mask rw-: nobody may write */
	OK(chmod("d/sub/file2", 0660));
	OK(chmod("d/sub", 0750)); /* mask r-x: nobody may pass */
	SUB(as_nobody(inherited_as_nobody, NULL));
	return CASE_OK;
}

static int security_xattrs_set_and_get_as_root(void)
{
	char back[16];

	OK(file_put("f", "x"));
	OK(setxattr("f", "security.scfs-test", "label", 5, 0));
	EQ(getxattr("f", "security.scfs-test", back, sizeof(back)), 5);
	CHECK(memcmp(back, "label", 5) == 0, "security.scfs-test: expected \"label\"");
	OK(removexattr("f", "security.scfs-test"));
	ERR(getxattr("f", "security.scfs-test", back, sizeof(back)), ENODATA);
	return CASE_OK;
}

const struct posix_case xattr_cases[] = {
    {"user_xattrs_set_get_list_and_remove", user_xattrs_set_get_list_and_remove, 0},
    {"xattrs_follow_file_permissions", xattrs_follow_file_permissions, NEEDS_ROOT},
    {"security_xattrs_set_and_get_as_root", security_xattrs_set_and_get_as_root, NEEDS_ROOT},
    {"posix_acl_grants_and_denies_a_named_user", posix_acl_grants_and_denies_a_named_user,
     NEEDS_ROOT},
    {"default_acl_is_inherited_by_new_entries", default_acl_is_inherited_by_new_entries,
     NEEDS_ROOT},
    {NULL, NULL, 0},
};

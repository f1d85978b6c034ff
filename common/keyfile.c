/*
 * PEM key files through OpenSSL's PEM readers; see keyfile.h. The file is
 * read whole by OpenSSL, so a truncated or foreign file is -EINVAL, never a
 * partly filled key.
 */
#include "common/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

static int evp_type(enum sc_key_type type)
{
	return type == SC_KEY_ED25519 ? EVP_PKEY_ED25519 : EVP_PKEY_X25519;
}

static int pkey_read(const char *path, bool private_key, EVP_PKEY **out)
{
	FILE *f = fopen(path, "re");

	*out = NULL;
	if (!f)
		return -errno;
	*out = private_key ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
	                   : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return *out ? 0 : -EINVAL;
}

int sc_keyfile_private_load(const char *path, enum sc_key_type type,
                            uint8_t out[SC_KEYFILE_KEY_LEN])
{
	size_t len = SC_KEYFILE_KEY_LEN;
	EVP_PKEY *pkey;
	int r = pkey_read(path, true, &pkey);

	if (r < 0)
		return r;
	if (EVP_PKEY_get_base_id(pkey) != evp_type(type))
		r = -EKEYREJECTED;
	else if (EVP_PKEY_get_raw_private_key(pkey, out, &len) != 1 || len != SC_KEYFILE_KEY_LEN)
		r = -EINVAL;
	EVP_PKEY_free(pkey);
	return r;
}

int sc_keyfile_public_load(const char *path, enum sc_key_type type,
                           uint8_t out[SC_KEYFILE_KEY_LEN])
{
	size_t len = SC_KEYFILE_KEY_LEN;
	EVP_PKEY *pkey;
	int r = pkey_read(path, false, &pkey);

	if (r < 0)
		return r;
	if (EVP_PKEY_get_base_id(pkey) != evp_type(type))
		r = -EKEYREJECTED;
	else if (EVP_PKEY_get_raw_public_key(pkey, out, &len) != 1 || len != SC_KEYFILE_KEY_LEN)
		r = -EINVAL;
	EVP_PKEY_free(pkey);
	return r;
}

int sc_keyfile_private_save(const char *path, enum sc_key_type type,
                            const uint8_t key[SC_KEYFILE_KEY_LEN])
{
	EVP_PKEY *pkey = EVP_PKEY_new_raw_private_key(evp_type(type), NULL, key, SC_KEYFILE_KEY_LEN);
	FILE *f = NULL;
	int fd, r = 0;

	if (!pkey)
		return -EINVAL;
	/* O_EXCL: never overwrite a key that may still sign something. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
		unlink(path);
		goto out;
	}
	if (PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		r = -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
out:
	EVP_PKEY_free(pkey);
	return r;
}

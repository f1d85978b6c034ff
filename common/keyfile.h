/*
 * Raw 32-byte Ed25519 and X25519 keys in PEM files, as openssl(1) writes them
 * (openssl genpkey -algorithm ED25519|X25519; openssl pkey -pubout). The one
 * loader of key files in the suite. Private key bytes leave OpenSSL only into
 * the caller's buffer, which the caller wipes (sc_wipe).
 *
 * Errors: the -errno of opening the file, -EINVAL when it holds no PEM key of
 * the asked kind (private or public), -EKEYREJECTED when the key is of the
 * other algorithm.
 */
#ifndef SC_KEYFILE_H
#define SC_KEYFILE_H

#include <stdbool.h>
#include <stdint.h>

#define SC_KEYFILE_KEY_LEN 32

enum sc_key_type {
	SC_KEY_ED25519 = 1,
	SC_KEY_X25519 = 2,
};

int sc_keyfile_private_load(const char *path, enum sc_key_type type,
                            uint8_t out[SC_KEYFILE_KEY_LEN]);
/* A public key only: a private key file is refused (-EINVAL), so a secret
 * that belongs on one host is never copied around as if it were public. */
int sc_keyfile_public_load(const char *path, enum sc_key_type type,
                           uint8_t out[SC_KEYFILE_KEY_LEN]);
/* Writes a new private key file, mode 0600; never replaces one (-EEXIST). */
int sc_keyfile_private_save(const char *path, enum sc_key_type type,
                            const uint8_t key[SC_KEYFILE_KEY_LEN]);

#endif

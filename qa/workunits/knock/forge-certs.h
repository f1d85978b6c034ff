/*
 * Knocks with crafted certificates, as anyone holding knockd's public key
 * can make them: each with its own Ed25519 key and certificate, issued in
 * the real CA's name (copied from CA_PATH) but signed by a key the attacker
 * made, with extendedKeyUsage clientAuth and a ports extension, and the
 * knock correctly signed by the certificate's key -- so every cheaper check
 * passes and only the certificate's own signature can refuse it. Shared by
 * knock-forge (flood-certs) and knock-bench. Returns 0 or -1.
 */
#ifndef KNOCK_FORGE_CERTS_H
#define KNOCK_FORGE_CERTS_H

#include <stddef.h>
#include <stdint.h>

#include "knockd/wire.h"

int forge_cert_knocks(const char *ca_path, const uint8_t server_pub[KNOCK_KEY_LEN],
                      const char *open, const char *destination, uint16_t port, uint64_t now,
                      size_t count, uint8_t (*packets)[KNOCK_MAX_LEN], int *lens);

#endif

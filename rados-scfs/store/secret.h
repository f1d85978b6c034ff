/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shamir secret sharing of 32-byte keys with libgfshare: n shares, any
 * `threshold` of which give the key back and fewer give nothing. Share i
 * is the polynomial at x = i + 1. libgfshare's random source is replaced by
 * OpenSSL's RAND_priv_bytes (its default is random(), not cryptographic).
 */
#ifndef SCFS_STORE_SECRET_H
#define SCFS_STORE_SECRET_H

#include <stdint.h>

#define SECRET_LEN 32

/* 1 <= threshold <= n <= 255. SHARES is n x SECRET_LEN. */
int store_secret_split(const uint8_t key[SECRET_LEN], unsigned n, unsigned threshold,
                       uint8_t (*shares)[SECRET_LEN]);
/*
 * Combines COUNT shares, SECRET_LEN bytes each back to back in SHARES;
 * INDEXES[j] says which share (0-based) share j is.
 * With fewer than the threshold the result is a wrong key, not an error:
 * the caller finds out when AES-GCM refuses it.
 */
int store_secret_combine(const unsigned *indexes, const uint8_t *shares, unsigned count,
                         uint8_t key[SECRET_LEN]);

#endif

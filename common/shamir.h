/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shamir secret sharing of 32-byte keys with libgfshare: n shares, any
 * `threshold` of which give the key back and fewer give nothing. Share i
 * is the polynomial at x = i + 1. libgfshare's random source is replaced by
 * OpenSSL's RAND_priv_bytes (its default is random(), not cryptographic).
 * The store splits each unit key this way, the file system its metadata
 * key (common_shamir_dep).
 */
#ifndef SC_COMMON_SHAMIR_H
#define SC_COMMON_SHAMIR_H

#include <stdint.h>

#define SC_SHAMIR_LEN 32

/* 1 <= threshold <= n <= 255. SHARES is n x SC_SHAMIR_LEN. */
int sc_shamir_split(const uint8_t key[SC_SHAMIR_LEN], unsigned n, unsigned threshold,
                    uint8_t (*shares)[SC_SHAMIR_LEN]);
/*
 * Combines COUNT shares, SC_SHAMIR_LEN bytes each back to back in SHARES;
 * INDEXES[j] says which share (0-based) share j is.
 * With fewer than the threshold the result is a wrong key, not an error:
 * the caller finds out when AES-GCM refuses it.
 */
int sc_shamir_combine(const unsigned *indexes, const uint8_t *shares, unsigned count,
                      uint8_t key[SC_SHAMIR_LEN]);
/*
 * Share TARGET (0-based) of the same split, rebuilt from COUNT = threshold
 * shares as sc_shamir_combine takes them (a repair gives a cluster back the
 * share it lost). -EINVAL when TARGET is among INDEXES or out of range.
 * With fewer than the threshold the share is wrong, as for combine.
 */
int sc_shamir_share(const unsigned *indexes, const uint8_t *shares, unsigned count, unsigned target,
                    uint8_t out[SC_SHAMIR_LEN]);

#endif

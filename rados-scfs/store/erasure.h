/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Systematic Reed-Solomon over GF(2^8) with ISA-L: k data fragments and
 * m = n-k parity fragments, any k of which rebuild the data. The generator
 * is ISA-L's Cauchy matrix, whose top k rows are the identity, so fragment
 * i < k is simply the i-th slice of the input.
 */
#ifndef SCFS_STORE_ERASURE_H
#define SCFS_STORE_ERASURE_H

#include <stddef.h>
#include <stdint.h>

struct erasure;

/* 1 <= k <= n <= 255. */
int store_erasure_new(unsigned n, unsigned k, struct erasure **out);
void store_erasure_free(struct erasure *ec);

/* Computes parity[0..m) from data[0..k), each LEN bytes. */
int store_erasure_encode(const struct erasure *ec, uint8_t *const *data, uint8_t *const *parity,
                         size_t len);
/*
 * Rebuilds the k data fragments. FRAGS[i] is fragment i (0 <= i < n) or NULL
 * when missing; at least k must be present. OUT[j] (j < k) receives data
 * fragment j; OUT[j] may equal FRAGS[j], which is then left as it is.
 */
int store_erasure_decode(const struct erasure *ec, uint8_t *const *frags, uint8_t *const *out,
                         size_t len);

#endif

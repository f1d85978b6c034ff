/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reed-Solomon with ISA-L (see erasure.h). The encode tables are computed
 * once per (n, k); decoding inverts the k x k submatrix of the rows that
 * survived and turns the rows for the missing data fragments into tables.
 * Every call into ISA-L's vector kernels is followed by vector_state_clean()
 * (see there): the caller's next step is SHA-256, which must not pay for
 * the vector state ISA-L leaves behind.
 */
#include "erasure.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/erasure_code.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

struct erasure {
	unsigned n, k;
	uint8_t *matrix;     /* n x k generator, identity on top */
	uint8_t *enc_tables; /* 32 * k * (n - k) */
	bool avx;            /* the CPU has AVX: vzeroupper exists */
};

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx"))) static void avx_upper_clear(void)
{
	_mm256_zeroupper();
}
#endif

/*
 * ISA-L's AVX2 and AVX-512 kernels return without VZEROUPPER (intel/isa-l
 * issue 24: "do it yourself"). With the upper halves of the vector
 * registers left dirty, the SSE-encoded SHA-NI code of OpenSSL that hashes
 * every fragment right after encoding ran at 1330 instead of 1790 MB/s
 * here (store-bench), a quarter of the encode's time. Clearing them is
 * one instruction.
 */
static void vector_state_clean(const struct erasure *ec)
{
#if defined(__x86_64__) || defined(__i386__)
	if (ec->avx)
		avx_upper_clear();
#else
	(void)ec;
#endif
}

int store_erasure_new(unsigned n, unsigned k, struct erasure **out)
{
	struct erasure *ec;

	*out = NULL;
	if (k < 1 || k > n || n > 255)
		return -EINVAL;
	ec = calloc(1, sizeof(*ec));
	if (!ec)
		return -ENOMEM;
	ec->n = n;
	ec->k = k;
	ec->matrix = malloc((size_t)n * k);
	ec->enc_tables = malloc(32 * (size_t)k * (n - k) + 1);
	if (!ec->matrix || !ec->enc_tables) {
		store_erasure_free(ec);
		return -ENOMEM;
	}
#if defined(__x86_64__) || defined(__i386__)
	ec->avx = __builtin_cpu_supports("avx");
#endif
	gf_gen_cauchy1_matrix(ec->matrix, (int)n, (int)k);
	if (n > k)
		ec_init_tables((int)k, (int)(n - k), ec->matrix + (size_t)k * k, ec->enc_tables);
	*out = ec;
	return 0;
}

void store_erasure_free(struct erasure *ec)
{
	if (!ec)
		return;
	free(ec->matrix);
	free(ec->enc_tables);
	free(ec);
}

int store_erasure_encode(const struct erasure *ec, uint8_t *const *data, uint8_t *const *parity,
                         size_t len)
{
	if (len > INT_MAX)
		return -EINVAL;
	if (ec->n == ec->k || len == 0)
		return 0;
	ec_encode_data((int)len, (int)ec->k, (int)(ec->n - ec->k), ec->enc_tables,
	               (unsigned char **)data, (unsigned char **)parity);
	vector_state_clean(ec);
	return 0;
}

int store_erasure_decode(const struct erasure *ec, uint8_t *const *frags, uint8_t *const *out,
                         size_t len)
{
	unsigned k = ec->k, have = 0, missing = 0;
	unsigned rows[255], lost[255];
	uint8_t *src[255], *dst[255];
	uint8_t *sub = NULL, *inv = NULL, *coef = NULL, *tables = NULL;
	int r = -ENOMEM;

	if (len > INT_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < ec->n && have < k; i++)
		if (frags[i])
			rows[have++] = i;
	if (have < k)
		return -EIO;
	for (unsigned j = 0; j < k; j++) {
		if (frags[j]) {
			if (out[j] != frags[j])
				memcpy(out[j], frags[j], len);
		} else {
			lost[missing++] = j;
		}
	}
	if (missing == 0 || len == 0)
		return 0;

	sub = malloc((size_t)k * k);
	inv = malloc((size_t)k * k);
	coef = malloc((size_t)k * missing);
	tables = malloc(32 * (size_t)k * missing);
	if (!sub || !inv || !coef || !tables)
		goto out;
	for (unsigned i = 0; i < k; i++) {
		memcpy(sub + (size_t)i * k, ec->matrix + (size_t)rows[i] * k, k);
		src[i] = frags[rows[i]];
	}
	if (gf_invert_matrix(sub, inv, (int)k) != 0) {
		r = -EIO; /* cannot happen with a Cauchy matrix */
		goto out;
	}
	for (unsigned j = 0; j < missing; j++) {
		memcpy(coef + (size_t)j * k, inv + (size_t)lost[j] * k, k);
		dst[j] = out[lost[j]];
	}
	ec_init_tables((int)k, (int)missing, coef, tables);
	ec_encode_data((int)len, (int)k, (int)missing, tables, src, dst);
	vector_state_clean(ec);
	r = 0;
out:
	free(sub);
	free(inv);
	free(coef);
	free(tables);
	return r;
}

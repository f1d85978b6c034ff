/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgfshare behind common/shamir.h. libgfshare takes its randomness from one
 * process-wide function pointer, gfshare_fill_rand; it is set once, before
 * the first split, to a function over RAND_priv_bytes. That pointer is the
 * only global this component writes, and only through pthread_once.
 * libgfshare's fill function cannot fail, so a RAND failure is noted in a
 * thread-local flag and turned into -EIO by the caller.
 *
 * sc_shamir_share evaluates the split's polynomial P at x_t = TARGET + 1
 * with libgfshare's own interpolation, which only evaluates at 0: in
 * GF(2^8) addition is XOR, so Q(y) = P(y ^ x_t) is a polynomial of the same
 * degree through the points (x_j ^ x_t, P(x_j)), and Q(0) = P(x_t). The
 * shifted coordinates are distinct and non-zero as long as x_t is not one
 * of the x_j.
 */
#include "common/shamir.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <libgfshare.h>

#include "common/crypto.h"

static _Thread_local int rand_failed;
static pthread_once_t rand_once = PTHREAD_ONCE_INIT;

static void secret_fill_rand(unsigned char *buf, unsigned int len)
{
	if (sc_random_bytes(buf, len) < 0) {
		rand_failed = 1;
		memset(buf, 0, len);
	}
}

static void secret_install_rand(void)
{
	gfshare_fill_rand = secret_fill_rand;
}

int sc_shamir_split(const uint8_t key[SC_SHAMIR_LEN], unsigned n, unsigned threshold,
                    uint8_t (*shares)[SC_SHAMIR_LEN])
{
	unsigned char xs[255], secret[SC_SHAMIR_LEN];
	gfshare_ctx *ctx;

	if (threshold < 1 || threshold > n || n > 255)
		return -EINVAL;
	pthread_once(&rand_once, secret_install_rand);
	if (threshold == 1) {
		/* f = 0: every share is the key (libgfshare wants threshold >= 2). */
		for (unsigned i = 0; i < n; i++)
			memcpy(shares[i], key, SC_SHAMIR_LEN);
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		xs[i] = (unsigned char)(i + 1);
	ctx = gfshare_ctx_init_enc(xs, n, (unsigned char)threshold, SC_SHAMIR_LEN);
	if (!ctx)
		return -ENOMEM;
	rand_failed = 0;
	memcpy(secret, key, SC_SHAMIR_LEN);
	gfshare_ctx_enc_setsecret(ctx, secret);
	sc_wipe(secret, sizeof(secret));
	for (unsigned i = 0; i < n; i++)
		gfshare_ctx_enc_getshare(ctx, (unsigned char)i, shares[i]);
	gfshare_ctx_free(ctx); /* overwrites its coefficients before freeing */
	if (rand_failed) {
		sc_wipe(shares, (size_t)n * SC_SHAMIR_LEN);
		return -EIO;
	}
	return 0;
}

/* Interpolates the shares at x = SHIFT (0: the key) into OUT. */
static int shamir_eval(const unsigned *indexes, const uint8_t *shares, unsigned count,
                       unsigned char shift, uint8_t out[SC_SHAMIR_LEN])
{
	unsigned char xs[255], share[SC_SHAMIR_LEN];
	gfshare_ctx *ctx;

	if (count < 1 || count > 255)
		return -EINVAL;
	pthread_once(&rand_once, secret_install_rand);
	if (count == 1) {
		memcpy(out, shares, SC_SHAMIR_LEN); /* threshold 1: every share is the key */
		return 0;
	}
	for (unsigned j = 0; j < count; j++) {
		if (indexes[j] > 254)
			return -EINVAL;
		xs[j] = (unsigned char)((indexes[j] + 1) ^ shift);
		if (xs[j] == 0)
			return -EINVAL;
		for (unsigned i = 0; i < j; i++)
			if (xs[i] == xs[j])
				return -EINVAL;
	}
	ctx = gfshare_ctx_init_dec(xs, count, SC_SHAMIR_LEN);
	if (!ctx)
		return -ENOMEM;
	for (unsigned j = 0; j < count; j++) {
		memcpy(share, shares + (size_t)j * SC_SHAMIR_LEN, SC_SHAMIR_LEN);
		gfshare_ctx_dec_giveshare(ctx, (unsigned char)j, share);
	}
	sc_wipe(share, sizeof(share));
	gfshare_ctx_dec_extract(ctx, out);
	gfshare_ctx_free(ctx);
	return 0;
}

int sc_shamir_combine(const unsigned *indexes, const uint8_t *shares, unsigned count,
                      uint8_t key[SC_SHAMIR_LEN])
{
	return shamir_eval(indexes, shares, count, 0, key);
}

int sc_shamir_share(const unsigned *indexes, const uint8_t *shares, unsigned count, unsigned target,
                    uint8_t out[SC_SHAMIR_LEN])
{
	if (target > 254 || count < 1 || count > 255)
		return -EINVAL;
	for (unsigned j = 0; j < count; j++)
		if (indexes[j] == target)
			return -EINVAL;
	return shamir_eval(indexes, shares, count, (unsigned char)(target + 1), out);
}

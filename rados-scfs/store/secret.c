/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libgfshare behind secret.h. libgfshare takes its randomness from one
 * process-wide function pointer, gfshare_fill_rand; it is set once, before
 * the first split, to a function over RAND_priv_bytes. That pointer is the
 * only global this component writes, and only through pthread_once.
 * libgfshare's fill function cannot fail, so a RAND failure is noted in a
 * thread-local flag and turned into -EIO by the caller.
 */
#include "secret.h"

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

int store_secret_split(const uint8_t key[SECRET_LEN], unsigned n, unsigned threshold,
                       uint8_t (*shares)[SECRET_LEN])
{
	unsigned char xs[255], secret[SECRET_LEN];
	gfshare_ctx *ctx;

	if (threshold < 1 || threshold > n || n > 255)
		return -EINVAL;
	pthread_once(&rand_once, secret_install_rand);
	if (threshold == 1) {
		/* f = 0: every share is the key (libgfshare wants threshold >= 2). */
		for (unsigned i = 0; i < n; i++)
			memcpy(shares[i], key, SECRET_LEN);
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		xs[i] = (unsigned char)(i + 1);
	ctx = gfshare_ctx_init_enc(xs, n, (unsigned char)threshold, SECRET_LEN);
	if (!ctx)
		return -ENOMEM;
	rand_failed = 0;
	memcpy(secret, key, SECRET_LEN);
	gfshare_ctx_enc_setsecret(ctx, secret);
	sc_wipe(secret, sizeof(secret));
	for (unsigned i = 0; i < n; i++)
		gfshare_ctx_enc_getshare(ctx, (unsigned char)i, shares[i]);
	gfshare_ctx_free(ctx); /* overwrites its coefficients before freeing */
	if (rand_failed) {
		sc_wipe(shares, (size_t)n * SECRET_LEN);
		return -EIO;
	}
	return 0;
}

int store_secret_combine(const unsigned *indexes, const uint8_t *shares, unsigned count,
                         uint8_t key[SECRET_LEN])
{
	unsigned char xs[255], share[SECRET_LEN];
	gfshare_ctx *ctx;

	if (count < 1 || count > 255)
		return -EINVAL;
	pthread_once(&rand_once, secret_install_rand);
	if (count == 1) {
		memcpy(key, shares, SECRET_LEN); /* threshold 1: the share is the key */
		return 0;
	}
	for (unsigned j = 0; j < count; j++) {
		if (indexes[j] > 254)
			return -EINVAL;
		xs[j] = (unsigned char)(indexes[j] + 1);
		for (unsigned i = 0; i < j; i++)
			if (xs[i] == xs[j])
				return -EINVAL;
	}
	ctx = gfshare_ctx_init_dec(xs, count, SECRET_LEN);
	if (!ctx)
		return -ENOMEM;
	for (unsigned j = 0; j < count; j++) {
		memcpy(share, shares + (size_t)j * SECRET_LEN, SECRET_LEN);
		gfshare_ctx_dec_giveshare(ctx, (unsigned char)j, share);
	}
	sc_wipe(share, sizeof(share));
	gfshare_ctx_dec_extract(ctx, key);
	gfshare_ctx_free(ctx);
	return 0;
}

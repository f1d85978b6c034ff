/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Multi-stream SHA-256 (digest.h). The SHA-NI kernel follows the structure
 * of Intel's reference code for the SHA extensions: state kept as ABEF/CDGH,
 * four rounds per 16-byte message group, the message schedule by
 * sha256msg1/msg2. It is instantiated for one and for two streams; the two-
 * stream version interleaves the independent dependency chains, which is
 * where the speed comes from. Invariants: only whole 64-byte blocks reach
 * the kernel; padding (FIPS 180-4, 5.1.1) is built here in store_digest_multi_end;
 * the portable path is OpenSSL's, stream by stream.
 */
#include "digest.h"

#include <errno.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define DIGEST_HAVE_SHANI 1
#else
#define DIGEST_HAVE_SHANI 0
#endif

static const uint32_t sha256_h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#if DIGEST_HAVE_SHANI
static const uint32_t sha256_k[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* NBLOCKS blocks of 64 bytes from DATA[l] into STATE[l], for LANES streams. */
SHANI_TARGET static inline __attribute__((always_inline)) void
shani_blocks(uint32_t *const *state, const uint8_t *const *data, size_t nblocks, const int lanes)
{
	const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i s0[2], s1[2], m[2][4];

	for (int l = 0; l < lanes; l++) {
		__m128i dcba = _mm_loadu_si128((const __m128i *)&state[l][0]);
		__m128i hgfe = _mm_loadu_si128((const __m128i *)&state[l][4]);
		__m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
		__m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
		s0[l] = _mm_alignr_epi8(cdab, efgh, 8);    /* ABEF */
		s1[l] = _mm_blend_epi16(efgh, cdab, 0xF0); /* CDGH */
	}
	for (size_t b = 0; b < nblocks; b++) {
		__m128i save0[2], save1[2];
		for (int l = 0; l < lanes; l++) {
			save0[l] = s0[l];
			save1[l] = s1[l];
		}
#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			const __m128i k = _mm_load_si128((const __m128i *)&sha256_k[4 * g]);
#pragma GCC unroll 2
			for (int l = 0; l < lanes; l++) {
				__m128i w, t;
				if (g < 4) {
					w = _mm_loadu_si128(
					    (const __m128i *)(data[l] + 64 * b + 16 * g));
					w = _mm_shuffle_epi8(w, mask);
				} else {
					/* W[t-16] + s0(W[t-15]) + W[t-7], then + s1(W[t-2]) */
					w = _mm_sha256msg1_epu32(m[l][g & 3], m[l][(g + 1) & 3]);
					w = _mm_add_epi32(w, _mm_alignr_epi8(m[l][(g + 3) & 3],
					                                     m[l][(g + 2) & 3], 4));
					w = _mm_sha256msg2_epu32(w, m[l][(g + 3) & 3]);
				}
				m[l][g & 3] = w;
				t = _mm_add_epi32(w, k);
				s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], t);
				t = _mm_shuffle_epi32(t, 0x0E);
				s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], t);
			}
		}
		for (int l = 0; l < lanes; l++) {
			s0[l] = _mm_add_epi32(s0[l], save0[l]);
			s1[l] = _mm_add_epi32(s1[l], save1[l]);
		}
	}
	for (int l = 0; l < lanes; l++) {
		__m128i feba = _mm_shuffle_epi32(s0[l], 0x1B);
		__m128i dchg = _mm_shuffle_epi32(s1[l], 0xB1);
		_mm_storeu_si128((__m128i *)&state[l][0], _mm_blend_epi16(feba, dchg, 0xF0));
		_mm_storeu_si128((__m128i *)&state[l][4], _mm_alignr_epi8(dchg, feba, 8));
	}
}

SHANI_TARGET static void shani_blocks1(uint32_t *const *state, const uint8_t *const *data,
                                       size_t nblocks)
{
	shani_blocks(state, data, nblocks, 1);
}

SHANI_TARGET static void shani_blocks2(uint32_t *const *state, const uint8_t *const *data,
                                       size_t nblocks)
{
	shani_blocks(state, data, nblocks, 2);
}

bool store_digest_multi_fast(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return false;
	if (__get_cpuid_max(0, NULL) < 7)
		return false;
	__cpuid_count(7, 0, a, b, c, d);
	return (b & (1u << 29)) != 0; /* SHA */
}
#else
bool store_digest_multi_fast(void)
{
	return false;
}
#endif

/* The next NBLOCKS whole blocks of streams STREAMS[0..COUNT): DATA[j] is stream STREAMS[j]'s. */
static void digest_multi_blocks(struct digest_multi *d, const unsigned *streams, unsigned count,
                                const uint8_t *const *data, size_t nblocks)
{
#if DIGEST_HAVE_SHANI
	unsigned j = 0;

	for (; j + 2 <= count; j += 2) {
		uint32_t *st[2] = {d->state[streams[j]], d->state[streams[j + 1]]};
		shani_blocks2(st, data + j, nblocks);
	}
	if (j < count) {
		uint32_t *st[1] = {d->state[streams[j]]};
		shani_blocks1(st, data + j, nblocks);
	}
#else
	(void)d;
	(void)streams;
	(void)count;
	(void)data;
	(void)nblocks;
#endif
}

int store_digest_multi_begin(struct digest_multi *d, unsigned count, bool force_portable)
{
	int r = 0;

	memset(d, 0, sizeof(*d));
	if (count < 1 || count > DIGEST_MULTI_MAX)
		return -EINVAL;
	d->count = count;
	d->shani = !force_portable && store_digest_multi_fast();
	for (unsigned i = 0; i < count; i++) {
		if (d->shani)
			memcpy(d->state[i], sha256_h0, sizeof(sha256_h0));
		else if ((r = sc_sha256_begin(&d->ctx[i])) < 0)
			break;
	}
	if (r < 0)
		store_digest_multi_abort(d);
	return r;
}

int store_digest_multi_update_streams(struct digest_multi *d, const unsigned *streams,
                                      unsigned count, const uint8_t *const *data, size_t len)
{
	size_t whole = len - len % DIGEST_BLOCK;
	const uint8_t *tail[DIGEST_MULTI_MAX];
	uint8_t pad[DIGEST_MULTI_MAX][2 * DIGEST_BLOCK];
	size_t rest = len - whole, pad_len;

	if (count > d->count)
		return -EINVAL;
	for (unsigned j = 0; j < count; j++) {
		if (streams[j] >= d->count || d->ended[streams[j]] || d->taken[streams[j]])
			return -EINVAL;
		for (unsigned l = 0; l < j; l++)
			if (streams[l] == streams[j])
				return -EINVAL;
	}
	if (!d->shani) {
		for (unsigned j = 0; j < count; j++) {
			unsigned i = streams[j];
			int r = sc_sha256_update(d->ctx[i], data[j], len);
			if (r < 0)
				return r;
			d->ended[i] = rest != 0;
			d->total[i] += len;
		}
		return 0;
	}
	if (whole)
		digest_multi_blocks(d, streams, count, data, whole / DIGEST_BLOCK);
	for (unsigned j = 0; j < count; j++)
		d->total[streams[j]] += len;
	if (!rest)
		return 0;
	/* The last update: pad the rest now (FIPS 180-4, 5.1.1). */
	pad_len = rest + 1 + 8 <= DIGEST_BLOCK ? DIGEST_BLOCK : 2 * DIGEST_BLOCK;
	for (unsigned j = 0; j < count; j++) {
		unsigned i = streams[j];
		d->ended[i] = true;
		memset(pad[j], 0, pad_len);
		memcpy(pad[j], data[j] + whole, rest);
		pad[j][rest] = 0x80;
		sc_put_be64(pad[j] + pad_len - 8, d->total[i] * 8);
		tail[j] = pad[j];
	}
	digest_multi_blocks(d, streams, count, tail, pad_len / DIGEST_BLOCK);
	return 0;
}

int store_digest_multi_update(struct digest_multi *d, const uint8_t *const *data, size_t len)
{
	unsigned all[DIGEST_MULTI_MAX];

	for (unsigned i = 0; i < d->count; i++)
		all[i] = i;
	return store_digest_multi_update_streams(d, all, d->count, data, len);
}

int store_digest_multi_end_stream(struct digest_multi *d, unsigned i,
                                  uint8_t out[RECORD_DIGEST_LEN])
{
	int r;

	if (i >= d->count || d->taken[i])
		return -EINVAL;
	d->taken[i] = true;
	if (!d->shani) {
		r = sc_sha256_end(d->ctx[i], out);
		d->ctx[i] = NULL;
		d->ended[i] = true;
		return r;
	}
	if (!d->ended[i]) {
		/* Everything came in whole blocks: the padding is a block of its own. */
		uint8_t pad[DIGEST_BLOCK] = {0x80};
		const uint8_t *tail[1] = {pad};
		sc_put_be64(pad + DIGEST_BLOCK - 8, d->total[i] * 8);
		digest_multi_blocks(d, &i, 1, tail, 1);
		d->ended[i] = true;
	}
	for (unsigned j = 0; j < 8; j++)
		sc_put_be32(out + 4 * j, d->state[i][j]);
	return 0;
}

int store_digest_multi_end(struct digest_multi *d, uint8_t (*out)[RECORD_DIGEST_LEN])
{
	int r = 0;

	for (unsigned i = 0; i < d->count; i++)
		if (d->taken[i])
			r = -EINVAL;
	if (r < 0 || !d->shani) {
		for (unsigned i = 0; i < d->count; i++) {
			if (r == 0)
				r = sc_sha256_end(d->ctx[i], out[i]);
			else
				sc_sha256_free(d->ctx[i]);
			d->ctx[i] = NULL;
		}
		return r;
	}
	{
		/* Streams that came in whole blocks get a padding block of their own, side by side.
		 */
		unsigned open[DIGEST_MULTI_MAX], count = 0;
		const uint8_t *tail[DIGEST_MULTI_MAX];
		uint8_t pad[DIGEST_MULTI_MAX][DIGEST_BLOCK];
		for (unsigned i = 0; i < d->count; i++) {
			if (d->ended[i])
				continue;
			memset(pad[count], 0, DIGEST_BLOCK);
			pad[count][0] = 0x80;
			sc_put_be64(pad[count] + DIGEST_BLOCK - 8, d->total[i] * 8);
			tail[count] = pad[count];
			open[count++] = i;
			d->ended[i] = true;
		}
		if (count)
			digest_multi_blocks(d, open, count, tail, 1);
	}
	for (unsigned i = 0; i < d->count; i++)
		for (unsigned j = 0; j < 8; j++)
			sc_put_be32(out[i] + 4 * j, d->state[i][j]);
	return 0;
}

void store_digest_multi_abort(struct digest_multi *d)
{
	for (unsigned i = 0; i < d->count; i++) {
		sc_sha256_free(d->ctx[i]);
		d->ctx[i] = NULL;
	}
}

/*
 * Small helpers every component wants: clocks, hex, sizes, reading whole
 * files. Nothing here allocates behind the caller's back except
 * sc_file_read, whose buffer the caller frees.
 */
#ifndef SC_UTIL_H
#define SC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define SC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Seconds on the monotonic clock, and on the wall clock. */
double sc_now_monotonic(void);
double sc_now_wall(void);
uint64_t sc_now_ns(void); /* CLOCK_MONOTONIC in nanoseconds */

/* Lower-case hex of LEN bytes into OUT (2*LEN+1 bytes). */
void sc_hex_encode(const void *data, size_t len, char *out);
/* Exactly 2*LEN hex digits into LEN bytes; -EINVAL otherwise. */
int sc_hex_decode(const char *hex, void *out, size_t len);

/* Big-endian loads and stores, for wire and on-disk formats. */
void sc_put_be16(uint8_t *p, uint16_t v);
void sc_put_be32(uint8_t *p, uint32_t v);
void sc_put_be64(uint8_t *p, uint64_t v);
uint16_t sc_get_be16(const uint8_t *p);
uint32_t sc_get_be32(const uint8_t *p);
uint64_t sc_get_be64(const uint8_t *p);

/*
 * Reads a whole file of at most MAX bytes into a new buffer (NUL-terminated,
 * for text). Returns 0 or -errno (-EFBIG past MAX).
 */
int sc_file_read(const char *path, size_t max, uint8_t **out, size_t *len);

/* Writes all LEN bytes to FD, retrying short writes and EINTR: 0 or -errno. */
int sc_write_all(int fd, const void *buf, size_t len);

/*
 * Parses a byte count: "123", "4K", "4M", "1G", "2T" (powers of 1024; also
 * lower case and with "iB" or "B" after the letter, as in "4MiB"). Returns 0,
 * -EINVAL for anything else, or -ERANGE past 2^64-1.
 */
int sc_size_parse(const char *text, uint64_t *out);

#endif

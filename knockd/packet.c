/*
 * The knock's bytes (docs/knock-protocol.md): the clear header and the
 * request inside the AEAD. Every read is bounds-checked here, once; the rest
 * of knockd handles only decoded structs. No crypto in this file, so the
 * header check costs a few comparisons and can reject floods at line rate.
 */
#include "knockd/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

static const char *const reason_names[KNOCK_REASON_COUNT] = {
    [KNOCK_OK] = "ok",
    [KNOCK_TRUNCATED] = "truncated",
    [KNOCK_OVERSIZED] = "oversized",
    [KNOCK_BAD_MAGIC] = "bad-magic",
    [KNOCK_BAD_VERSION] = "bad-version",
    [KNOCK_MALFORMED] = "malformed",
    [KNOCK_DECRYPT] = "decrypt-failed",
    [KNOCK_STALE] = "stale-timestamp",
    [KNOCK_FUTURE] = "future-timestamp",
    [KNOCK_REPLAY] = "replay",
    [KNOCK_CERTIFICATE] = "bad-certificate",
    [KNOCK_REVOKED] = "revoked",
    [KNOCK_UNAUTHORISED] = "unauthorised",
    [KNOCK_SIGNATURE] = "bad-signature",
    [KNOCK_INTERNAL] = "internal-error",
};

const char *knock_reason_name(enum knock_reason reason)
{
	if ((unsigned)reason >= KNOCK_REASON_COUNT)
		return "unknown";
	return reason_names[reason];
}

/*
 * Header: magic "SCKN", version, flags (0), total length (big-endian 16),
 * the client's ephemeral X25519 public key.
 */
enum knock_reason knock_header_check(const uint8_t *packet, size_t len)
{
	size_t claimed;

	if (len > KNOCK_MAX_LEN)
		return KNOCK_OVERSIZED;
	if (len < KNOCK_MAGIC_LEN || memcmp(packet, KNOCK_MAGIC, KNOCK_MAGIC_LEN) != 0)
		return len < KNOCK_MAGIC_LEN ? KNOCK_TRUNCATED : KNOCK_BAD_MAGIC;
	if (len < KNOCK_MAGIC_LEN + 1)
		return KNOCK_TRUNCATED;
	if (packet[4] != KNOCK_VERSION)
		return KNOCK_BAD_VERSION;
	if (len < KNOCK_MIN_LEN)
		return KNOCK_TRUNCATED;
	if (packet[5] != 0)
		return KNOCK_MALFORMED;
	claimed = sc_get_be16(packet + 6);
	if (claimed > len)
		return KNOCK_TRUNCATED;
	if (claimed < len)
		return KNOCK_OVERSIZED;
	return KNOCK_OK;
}

void knock_header_write(uint8_t header[KNOCK_HEADER_LEN], size_t total_len,
                        const uint8_t ephemeral[KNOCK_KEY_LEN])
{
	memcpy(header, KNOCK_MAGIC, KNOCK_MAGIC_LEN);
	header[4] = KNOCK_VERSION;
	header[5] = 0;
	sc_put_be16(header + 6, (uint16_t)total_len);
	memcpy(header + 8, ephemeral, KNOCK_KEY_LEN);
}

/* The address bytes must match the family: unused bytes are zero. */
static int request_address_check(const struct knock_request *req)
{
	static const uint8_t zero[16];

	switch (req->family) {
	case KNOCK_ADDRESS_SOURCE:
		return memcmp(req->address, zero, 16) == 0 ? 0 : -EBADMSG;
	case KNOCK_ADDRESS_IPV4:
		return memcmp(req->address + 4, zero, 12) == 0 ? 0 : -EBADMSG;
	case KNOCK_ADDRESS_IPV6:
		return 0;
	default:
		return -EBADMSG;
	}
}

static int request_fields_check(const struct knock_request *req)
{
	if (req->protocol != IPPROTO_TCP && req->protocol != IPPROTO_UDP)
		return -EBADMSG;
	if (req->port == 0)
		return -EBADMSG;
	if (req->cert_len == 0 || req->cert_len > KNOCK_MAX_CERT_LEN)
		return -EBADMSG;
	return request_address_check(req);
}

/*
 * Body: protocol(1) family(1) port(2) address(16) timestamp(8) nonce(16)
 * cert_len(2) cert(cert_len), then the signature (64), which the caller adds.
 */
int knock_request_encode(const struct knock_request *req, uint8_t *out, size_t size)
{
	size_t len = KNOCK_FIXED_LEN + req->cert_len;

	if (request_fields_check(req) < 0)
		return -EINVAL;
	if (size < len)
		return -ENOSPC;
	out[0] = req->protocol;
	out[1] = req->family;
	sc_put_be16(out + 2, req->port);
	memcpy(out + 4, req->address, 16);
	sc_put_be64(out + 20, req->timestamp);
	memcpy(out + 28, req->nonce, KNOCK_NONCE_LEN);
	sc_put_be16(out + 44, (uint16_t)req->cert_len);
	memcpy(out + KNOCK_FIXED_LEN, req->cert, req->cert_len);
	return (int)len;
}

int knock_request_decode(const uint8_t *body, size_t len, struct knock_request *req)
{
	memset(req, 0, sizeof(*req));
	if (len < KNOCK_FIXED_LEN + KNOCK_SIG_LEN)
		return -EBADMSG;
	req->protocol = body[0];
	req->family = body[1];
	req->port = sc_get_be16(body + 2);
	memcpy(req->address, body + 4, 16);
	req->timestamp = sc_get_be64(body + 20);
	memcpy(req->nonce, body + 28, KNOCK_NONCE_LEN);
	req->cert_len = sc_get_be16(body + 44);
	/* The certificate and the signature fill the body exactly. */
	if (req->cert_len != len - KNOCK_FIXED_LEN - KNOCK_SIG_LEN)
		return -EBADMSG;
	req->cert = body + KNOCK_FIXED_LEN;
	memcpy(req->signature, body + KNOCK_FIXED_LEN + req->cert_len, KNOCK_SIG_LEN);
	return request_fields_check(req);
}

void knock_address_format(int family, const uint8_t *address, char *out, size_t size)
{
	int af = family == 6 || family == AF_INET6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, address, out, (socklen_t)size))
		snprintf(out, size, "?");
}

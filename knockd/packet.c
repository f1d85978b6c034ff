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
    [KNOCK_DESTINATION] = "wrong-destination",
    [KNOCK_RATE_LIMITED] = "rate-limited",
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
static int address_check(uint8_t family, const uint8_t address[16], bool source_allowed)
{
	static const uint8_t zero[16];

	switch (family) {
	case KNOCK_ADDRESS_SOURCE:
		return source_allowed && memcmp(address, zero, 16) == 0 ? 0 : -EBADMSG;
	case KNOCK_ADDRESS_IPV4:
		return memcmp(address + 4, zero, 12) == 0 ? 0 : -EBADMSG;
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
	if (req->pad_len > KNOCK_MAX_CERT_LEN - req->cert_len)
		return -EBADMSG;
	if (address_check(req->dest_family, req->destination, false) < 0)
		return -EBADMSG;
	return address_check(req->family, req->address, true);
}

/*
 * Body: protocol(1) family(1) port(2) address(16) destination family(1)
 * zero(1) destination(16) timestamp(8) nonce(16) cert_len(2) cert(cert_len)
 * pad_len(2) zeros(pad_len), then the signature (64), which the caller adds.
 */
int knock_request_encode(const struct knock_request *req, uint8_t *out, size_t size)
{
	size_t len = KNOCK_FIXED_LEN + req->cert_len + KNOCK_PAD_FIELD_LEN + req->pad_len;

	if (request_fields_check(req) < 0)
		return -EINVAL;
	if (size < len)
		return -ENOSPC;
	out[0] = req->protocol;
	out[1] = req->family;
	sc_put_be16(out + 2, req->port);
	memcpy(out + 4, req->address, 16);
	out[20] = req->dest_family;
	out[21] = 0;
	memcpy(out + 22, req->destination, 16);
	sc_put_be64(out + 38, req->timestamp);
	memcpy(out + 46, req->nonce, KNOCK_NONCE_LEN);
	sc_put_be16(out + 62, (uint16_t)req->cert_len);
	memcpy(out + KNOCK_FIXED_LEN, req->cert, req->cert_len);
	sc_put_be16(out + KNOCK_FIXED_LEN + req->cert_len, (uint16_t)req->pad_len);
	memset(out + KNOCK_FIXED_LEN + req->cert_len + KNOCK_PAD_FIELD_LEN, 0, req->pad_len);
	return (int)len;
}

int knock_request_decode(const uint8_t *body, size_t len, struct knock_request *req)
{
	static const uint8_t zero[KNOCK_MAX_LEN];
	size_t pad_at;

	memset(req, 0, sizeof(*req));
	if (len < KNOCK_FIXED_LEN + 1 + KNOCK_PAD_FIELD_LEN + KNOCK_SIG_LEN || len > KNOCK_MAX_LEN)
		return -EBADMSG;
	req->protocol = body[0];
	req->family = body[1];
	req->port = sc_get_be16(body + 2);
	memcpy(req->address, body + 4, 16);
	req->dest_family = body[20];
	if (body[21] != 0)
		return -EBADMSG;
	memcpy(req->destination, body + 22, 16);
	req->timestamp = sc_get_be64(body + 38);
	memcpy(req->nonce, body + 46, KNOCK_NONCE_LEN);
	req->cert_len = sc_get_be16(body + 62);
	/* Certificate, padding length, padding and signature fill the body exactly. */
	if (req->cert_len > len - KNOCK_FIXED_LEN - KNOCK_PAD_FIELD_LEN - KNOCK_SIG_LEN)
		return -EBADMSG;
	pad_at = KNOCK_FIXED_LEN + req->cert_len;
	req->pad_len = sc_get_be16(body + pad_at);
	if (req->pad_len != len - pad_at - KNOCK_PAD_FIELD_LEN - KNOCK_SIG_LEN ||
	    memcmp(body + pad_at + KNOCK_PAD_FIELD_LEN, zero, req->pad_len) != 0)
		return -EBADMSG;
	req->cert = body + KNOCK_FIXED_LEN;
	memcpy(req->signature, body + len - KNOCK_SIG_LEN, KNOCK_SIG_LEN);
	return request_fields_check(req);
}

int knock_address_parse(const char *text, uint8_t *family, uint8_t address[16])
{
	memset(address, 0, 16);
	if (text && inet_pton(AF_INET, text, address) == 1)
		*family = KNOCK_ADDRESS_IPV4;
	else if (text && inet_pton(AF_INET6, text, address) == 1)
		*family = KNOCK_ADDRESS_IPV6;
	else
		return -EINVAL;
	return 0;
}

void knock_address_format(int family, const uint8_t *address, char *out, size_t size)
{
	int af = family == 6 || family == AF_INET6 ? AF_INET6 : AF_INET;

	if (!inet_ntop(af, address, out, (socklen_t)size))
		snprintf(out, size, "?");
}

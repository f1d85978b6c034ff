/*
 * The knock's codec: header checks, the request encoding, sealing and
 * opening, IP/UDP header parsing and port-set syntax. Every bit of a sealed
 * packet matters: flipping any one makes it unreadable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "common/crypto.h"
#include "common/util.h"
#include "knockd/wire.h"
#include "knockd/capture.h"

static const uint8_t cert_bytes[300] = {0x30, 0x82, 1, 0x28};

static struct knock_request request_sample(void)
{
	struct knock_request req = {
	    .protocol = IPPROTO_TCP,
	    .family = KNOCK_ADDRESS_IPV6,
	    .port = 6800,
	    .address = {0xfd, 0x77, [15] = 2},
	    .dest_family = KNOCK_ADDRESS_IPV4,
	    .destination = {192, 0, 2, 1},
	    .timestamp = 1767225600,
	    .cert = cert_bytes,
	    .cert_len = sizeof(cert_bytes),
	};
	memset(req.nonce, 0x5a, sizeof(req.nonce));
	return req;
}

static void test_header_check_refuses_each_defect_for_its_reason(void **state)
{
	uint8_t p[KNOCK_MAX_LEN + 10] = {0}, eph[32] = {1};

	knock_header_write(p, 300, eph);
	assert_int_equal(knock_header_check(p, 300), KNOCK_OK);
	assert_int_equal(knock_header_check(p, 0), KNOCK_TRUNCATED);
	assert_int_equal(knock_header_check(p, 3), KNOCK_TRUNCATED);
	assert_int_equal(knock_header_check(p, 100), KNOCK_TRUNCATED);
	assert_int_equal(knock_header_check(p, 299), KNOCK_TRUNCATED);
	assert_int_equal(knock_header_check(p, 301), KNOCK_OVERSIZED);
	assert_int_equal(knock_header_check(p, KNOCK_MAX_LEN + 1), KNOCK_OVERSIZED);
	p[0] ^= 1;
	assert_int_equal(knock_header_check(p, 300), KNOCK_BAD_MAGIC);
	p[0] ^= 1;
	p[4] = 1; /* version 1 (no destination, no padding) is not read any more */
	assert_int_equal(knock_header_check(p, 300), KNOCK_BAD_VERSION);
	p[4] = KNOCK_VERSION;
	p[5] = 0x80;
	assert_int_equal(knock_header_check(p, 300), KNOCK_MALFORMED);
	assert_int_equal(KNOCK_MIN_LEN, 187);
	assert_int_equal(KNOCK_MAX_CERT_LEN, 1014);
}

static void test_request_round_trips_and_refuses_bad_fields(void **state)
{
	struct knock_request req = request_sample(), out;
	uint8_t body[KNOCK_MAX_LEN];
	int n = knock_request_encode(&req, body, sizeof(body));

	assert_int_equal(n, KNOCK_FIXED_LEN + sizeof(cert_bytes) + KNOCK_PAD_FIELD_LEN);
	memset(body + n, 0xee, KNOCK_SIG_LEN);
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), 0);
	assert_int_equal(out.protocol, IPPROTO_TCP);
	assert_int_equal(out.family, KNOCK_ADDRESS_IPV6);
	assert_int_equal(out.port, 6800);
	assert_memory_equal(out.address, req.address, 16);
	assert_true(out.timestamp == 1767225600);
	assert_memory_equal(out.nonce, req.nonce, 16);
	assert_int_equal(out.cert_len, sizeof(cert_bytes));
	assert_memory_equal(out.cert, cert_bytes, sizeof(cert_bytes));
	assert_int_equal(out.signature[0], 0xee);
	assert_int_equal(out.dest_family, KNOCK_ADDRESS_IPV4);
	assert_memory_equal(out.destination, req.destination, 16);
	assert_int_equal(out.pad_len, 0);

	/* Length: the certificate length must fill the body exactly. */
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN - 1, &out), -EBADMSG);
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN + 1, &out), -EBADMSG);
	assert_int_equal(knock_request_decode(body, 10, &out), -EBADMSG);
	body[0] = 1; /* ICMP is no protocol to open */
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), -EBADMSG);
	body[0] = IPPROTO_TCP;
	body[1] = 5; /* no such family */
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), -EBADMSG);
	body[1] = KNOCK_ADDRESS_IPV4; /* IPv4 with bytes past the fourth */
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), -EBADMSG);
	body[1] = KNOCK_ADDRESS_IPV6;
	body[20] = KNOCK_ADDRESS_SOURCE; /* every knock names its destination */
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), -EBADMSG);
	body[20] = KNOCK_ADDRESS_IPV4;
	body[21] = 1; /* the reserved byte */
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), -EBADMSG);
	body[21] = 0;
	body[30] = 1; /* IPv4 destination with bytes past the fourth */
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), -EBADMSG);
	body[30] = 0;
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), 0);
	body[2] = body[3] = 0; /* port 0 */
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), -EBADMSG);

	/* Padding: zero bytes of the stated length, nothing else. */
	req.pad_len = 100;
	n = knock_request_encode(&req, body, sizeof(body));
	assert_int_equal(n, KNOCK_FIXED_LEN + sizeof(cert_bytes) + KNOCK_PAD_FIELD_LEN + 100);
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), 0);
	assert_int_equal(out.pad_len, 100);
	body[n - 1] = 1;
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN, &out), -EBADMSG);
	body[n - 1] = 0;
	assert_int_equal(knock_request_decode(body, (size_t)n + KNOCK_SIG_LEN - 1, &out), -EBADMSG);
	req.pad_len = KNOCK_MAX_CERT_LEN - req.cert_len + 1;
	assert_int_equal(knock_request_encode(&req, body, sizeof(body)), -EINVAL);
	req.pad_len = 0;

	req.cert_len = KNOCK_MAX_CERT_LEN + 1;
	assert_int_equal(knock_request_encode(&req, body, sizeof(body)), -EINVAL);
}

static void test_sealed_packet_opens_only_whole(void **state)
{
	uint8_t server_priv[32], server_pub[32], signer[32], signer_pub[32];
	uint8_t packet[KNOCK_MAX_LEN], body[KNOCK_MAX_LEN];
	struct knock_request req = request_sample(), out;
	struct knock_server_key *key;
	int n, m;

	assert_int_equal(sc_x25519_keygen(server_priv, server_pub), 0);
	assert_int_equal(sc_ed25519_keygen(signer, signer_pub), 0);
	assert_int_equal(knock_server_key_new(server_priv, &key), 0);
	assert_memory_equal(knock_server_key_public(key), server_pub, 32);
	n = knock_packet_seal(&req, signer, server_pub, NULL, packet, sizeof(packet));
	assert_int_equal(n, KNOCK_OVERHEAD + 300);
	assert_int_equal(knock_header_check(packet, (size_t)n), KNOCK_OK);
	/* A passive observer sees neither the certificate nor the port. */
	assert_null(memmem(packet, (size_t)n, cert_bytes, 4));

	m = knock_packet_open(key, packet, (size_t)n, body);
	assert_int_equal(m, n - KNOCK_HEADER_LEN - KNOCK_TAG_LEN);
	assert_int_equal(knock_request_decode(body, (size_t)m, &out), 0);
	assert_int_equal(out.port, 6800);
	assert_int_equal(knock_signature_verify(signer_pub, packet, server_pub, body, (size_t)m),
	                 0);
	/* Signed for another server: refused. */
	assert_int_equal(knock_signature_verify(signer_pub, packet, signer_pub, body, (size_t)m),
	                 -EBADMSG);

	/*
	 * Every single flipped bit is caught, each by the check its byte belongs
	 * to: magic, version, flags and length by the header check (with the
	 * reason for that field), the ephemeral key, ciphertext and tag by the AEAD.
	 */
	for (int bit = 0; bit < n * 8; bit++) {
		int byte = bit / 8;
		enum knock_reason expected = byte < 4    ? KNOCK_BAD_MAGIC
		                             : byte == 4 ? KNOCK_BAD_VERSION
		                             : byte == 5 ? KNOCK_MALFORMED
		                                         : KNOCK_OK;
		enum knock_reason got;

		packet[byte] ^= (uint8_t)(1u << (bit % 8));
		got = knock_header_check(packet, (size_t)n);
		if (byte == 6 || byte == 7)
			assert_true(got == KNOCK_TRUNCATED || got == KNOCK_OVERSIZED);
		else
			assert_int_equal(got, expected);
		if (got == KNOCK_OK)
			assert_int_equal(knock_packet_open(key, packet, (size_t)n, body), -EBADMSG);
		packet[byte] ^= (uint8_t)(1u << (bit % 8));
	}
	/* And unflipped it still opens. */
	assert_int_equal(knock_packet_open(key, packet, (size_t)n, body), m);
	knock_server_key_free(key);
}

static void test_datagram_parse_reads_ipv4_and_ipv6_udp(void **state)
{
	uint8_t v4[28 + 5] = {0x45, 0,    0,  33, 0, 0,  0x40, 0,   64,  IPPROTO_UDP, 0,
	                      0,    10,   77, 0,  2, 10, 77,   0,   1,   0x30,        0x39,
	                      0xf2, 0xf9, 0,  13, 0, 0,  'h',  'e', 'l', 'l',         'o'};
	uint8_t v6[40 + 8 + 8 + 3] = {0x60, 0, 0, 0, 0, 19, 0 /* hop-by-hop */, 64};
	struct knock_datagram d;

	assert_int_equal(knock_datagram_parse(v4, sizeof(v4), &d), 0);
	assert_int_equal(d.family, AF_INET);
	assert_memory_equal(d.source, ((uint8_t[]){10, 77, 0, 2}), 4);
	assert_int_equal(d.source_port, 12345);
	assert_int_equal(d.len, 5);
	assert_int_equal(d.wire_len, 5);
	assert_memory_equal(d.payload, "hello", 5);
	/* A capture cut short shows as fewer bytes than the wire length. */
	assert_int_equal(knock_datagram_parse(v4, sizeof(v4) - 2, &d), 0);
	assert_int_equal(d.len, 3);
	assert_int_equal(d.wire_len, 5);
	v4[6] = 0x20; /* more fragments */
	assert_int_equal(knock_datagram_parse(v4, sizeof(v4), &d), -EBADMSG);
	v4[6] = 0x40;
	v4[9] = IPPROTO_TCP;
	assert_int_equal(knock_datagram_parse(v4, sizeof(v4), &d), -EBADMSG);
	v4[9] = IPPROTO_UDP;
	v4[0] = 0x4f; /* header longer than the packet */
	assert_int_equal(knock_datagram_parse(v4, sizeof(v4), &d), -EBADMSG);
	assert_int_equal(knock_datagram_parse(v4, 10, &d), -EBADMSG);

	v6[8] = 0xfd;
	v6[23] = 2;
	v6[40] = IPPROTO_UDP; /* hop-by-hop options header, 8 bytes */
	v6[48 + 4] = 0;
	v6[48 + 5] = 11; /* UDP length: 8 + 3 */
	memcpy(v6 + 56, "abc", 3);
	assert_int_equal(knock_datagram_parse(v6, sizeof(v6), &d), 0);
	assert_int_equal(d.family, AF_INET6);
	assert_int_equal(d.source[0], 0xfd);
	assert_int_equal(d.len, 3);
	assert_memory_equal(d.payload, "abc", 3);
	v6[41] = 200; /* options header running past the end */
	assert_int_equal(knock_datagram_parse(v6, sizeof(v6), &d), -EBADMSG);
}

static void test_port_sets_parse_and_match(void **state)
{
	struct knock_ports ports = {0};
	struct knock_port_range r;
	char text[128];

	assert_int_equal(knock_ports_parse("tcp/22, udp/51820,tcp/6800-7300 3300", &ports), 0);
	assert_int_equal(ports.count, 4);
	assert_true(knock_ports_contain(&ports, IPPROTO_TCP, 22));
	assert_false(knock_ports_contain(&ports, IPPROTO_UDP, 22));
	assert_true(knock_ports_contain(&ports, IPPROTO_UDP, 51820));
	assert_true(knock_ports_contain(&ports, IPPROTO_TCP, 6800));
	assert_true(knock_ports_contain(&ports, IPPROTO_TCP, 7300));
	assert_false(knock_ports_contain(&ports, IPPROTO_TCP, 7301));
	assert_true(knock_ports_contain(&ports, IPPROTO_TCP, 3300));
	knock_ports_format(&ports, text, sizeof(text));
	assert_string_equal(text, "tcp/22,udp/51820,tcp/6800-7300,tcp/3300");
	knock_ports_free(&ports);

	const char *bad[] = {"tcp/0",     "tcp/65536", "sctp/9",  "tcp/",   "/22",
	                     "tcp/30-20", "tcp/2x",    "tcp/22-", "udp/-5", "tcp/123456"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(knock_port_range_parse(bad[i], &r), -EINVAL);
	assert_int_equal(knock_port_range_parse("UDP/53", &r), 0);
	assert_int_equal(r.protocol, IPPROTO_UDP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_check_refuses_each_defect_for_its_reason),
	    cmocka_unit_test(test_request_round_trips_and_refuses_bad_fields),
	    cmocka_unit_test(test_sealed_packet_opens_only_whole),
	    cmocka_unit_test(test_datagram_parse_reads_ipv4_and_ipv6_udp),
	    cmocka_unit_test(test_port_sets_parse_and_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

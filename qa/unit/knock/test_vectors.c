/*
 * The test vector of docs/knock-protocol.md, read from the document itself:
 * the code must produce its packet byte for byte from its keys, and read
 * back its fields. If the document or the code changes alone, this fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "knockd/wire.h"

#ifndef KNOCK_PROTOCOL_DOC
#error "meson passes -DKNOCK_PROTOCOL_DOC=path"
#endif

struct field {
	char name[32];
	uint8_t data[KNOCK_MAX_LEN];
	size_t len;
};
static struct field fields[16];
static size_t field_count;

/* Reads "name =" lines followed by indented hex lines from the ```vector block. */
static int vector_read(void **state)
{
	uint8_t *text;
	size_t len;
	char *block, *end, *line, *save;
	struct field *cur = NULL;

	assert_int_equal(sc_file_read(KNOCK_PROTOCOL_DOC, 1 << 20, &text, &len), 0);
	block = strstr((char *)text, "```vector\n");
	assert_non_null(block);
	block += strlen("```vector\n");
	end = strstr(block, "```");
	assert_non_null(end);
	*end = '\0';
	for (line = strtok_r(block, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != ' ') {
			assert_true(field_count < 16);
			cur = &fields[field_count++];
			assert_int_equal(sscanf(line, "%31s =", cur->name), 1);
			continue;
		}
		while (*line == ' ')
			line++;
		assert_non_null(cur);
		assert_int_equal(sc_hex_decode(line, cur->data + cur->len, strlen(line) / 2), 0);
		cur->len += strlen(line) / 2;
	}
	free(text);
	return 0;
}

static const struct field *field_get(const char *name, size_t len)
{
	for (size_t i = 0; i < field_count; i++)
		if (strcmp(fields[i].name, name) == 0) {
			if (len)
				assert_int_equal(fields[i].len, len);
			return &fields[i];
		}
	fail_msg("vector has no field %s", name);
	return NULL;
}

static void test_doc_vector_keys_are_what_the_doc_says(void **state)
{
	const struct field *sp = field_get("server_private", 32),
	                   *cp = field_get("client_private", 32);
	const struct field *ep = field_get("ephemeral_private", 32), *n = field_get("nonce", 16);
	uint8_t pub[32];

	for (int i = 0; i < 32; i++) {
		assert_int_equal(sp->data[i], 0x10 + i);
		assert_int_equal(cp->data[i], 0x40 + i);
		assert_int_equal(ep->data[i], 0x70 + i);
	}
	for (int i = 0; i < 16; i++)
		assert_int_equal(n->data[i], 0xa0 + i);
	assert_int_equal(sc_x25519_public(sp->data, pub), 0);
	assert_memory_equal(pub, field_get("server_public", 32)->data, 32);
	assert_int_equal(sc_ed25519_public(cp->data, pub), 0);
	assert_memory_equal(pub, field_get("client_public", 32)->data, 32);
}

static void test_code_seals_the_doc_vector_byte_for_byte(void **state)
{
	const struct field *cert = field_get("certificate", 0), *packet = field_get("packet", 0);
	struct knock_request req = {
	    .protocol = IPPROTO_TCP,
	    .family = KNOCK_ADDRESS_IPV4,
	    .port = 3300,
	    .address = {192, 0, 2, 7},
	    .dest_family = KNOCK_ADDRESS_IPV4,
	    .destination = {192, 0, 2, 1},
	    .timestamp = 1767225600,
	    .cert = cert->data,
	    .cert_len = cert->len,
	};
	uint8_t out[KNOCK_MAX_LEN];
	int n;

	memcpy(req.nonce, field_get("nonce", 16)->data, 16);
	n = knock_packet_seal(&req, field_get("client_private", 32)->data,
	                      field_get("server_public", 32)->data,
	                      field_get("ephemeral_private", 32)->data, out, sizeof(out));
	assert_int_equal(n, 230);
	assert_int_equal(packet->len, 230);
	assert_memory_equal(out, packet->data, 230);
}

static void test_code_opens_the_doc_vector_and_reads_its_fields(void **state)
{
	const struct field *packet = field_get("packet", 230);
	struct knock_server_key *key;
	struct knock_request req;
	uint8_t body[KNOCK_MAX_LEN], eph_pub[32];
	int n;

	assert_int_equal(knock_header_check(packet->data, packet->len), KNOCK_OK);
	assert_memory_equal(packet->data, "SCKN\x02\x00\x00\xe6", 8);
	assert_int_equal(sc_x25519_public(field_get("ephemeral_private", 32)->data, eph_pub), 0);
	assert_memory_equal(packet->data + 8, eph_pub, 32);

	assert_int_equal(knock_server_key_new(field_get("server_private", 32)->data, &key), 0);
	n = knock_packet_open(key, packet->data, packet->len, body);
	assert_int_equal(n, 174);
	assert_int_equal(knock_request_decode(body, (size_t)n, &req), 0);
	assert_int_equal(req.protocol, IPPROTO_TCP);
	assert_int_equal(req.family, KNOCK_ADDRESS_IPV4);
	assert_int_equal(req.port, 3300);
	assert_memory_equal(req.address, ((uint8_t[16]){192, 0, 2, 7}), 16);
	assert_int_equal(req.dest_family, KNOCK_ADDRESS_IPV4);
	assert_memory_equal(req.destination, ((uint8_t[16]){192, 0, 2, 1}), 16);
	assert_int_equal(req.pad_len, 0);
	assert_true(req.timestamp == 1767225600);
	assert_memory_equal(req.nonce, field_get("nonce", 16)->data, 16);
	assert_int_equal(req.cert_len, 44);
	assert_memory_equal(req.cert, "not a certificate: the codec carries any DER", 44);
	assert_int_equal(knock_signature_verify(field_get("client_public", 32)->data, packet->data,
	                                        field_get("server_public", 32)->data, body,
	                                        (size_t)n),
	                 0);
	knock_server_key_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doc_vector_keys_are_what_the_doc_says),
	    cmocka_unit_test(test_code_seals_the_doc_vector_byte_for_byte),
	    cmocka_unit_test(test_code_opens_the_doc_vector_and_reads_its_fields),
	};
	return cmocka_run_group_tests(tests, vector_read, NULL);
}

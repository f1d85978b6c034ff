/*
 * libFuzzer target for everything knockd reads from the network or disk:
 * the first input byte picks the entry point, the rest is the input.
 *
 *   0  a knock datagram, straight into knock_verify (header, AEAD, ...)
 *   1  a request body, sealed here to the fixture server key with a fixed
 *      ephemeral key, so the fuzzer reaches the decoder, the certificate
 *      parser, the chain and CRL check, authorisation and the signature
 *      (knocked twice: the second must be a replay if the first passed)
 *   2  an IP packet as NFLOG delivers it: knock_datagram_parse, then verify
 *   3  knockd.conf text
 *   4  a state file (the replay cache on disk): knock_state_decode; what
 *      loads must encode and load back to the same cache, and what does
 *      not must leave the cache empty
 *
 * The fixture (qa/fuzz/knock/fixture: a CA, its CRL, a server key made for
 * this target only) and the seeds in corpus/ are valid at FUZZ_NOW, which
 * stands for the clock so that runs are reproducible.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knockd/capture.h"
#include "knockd/knockd_config.h"
#include "knockd/replay.h"

#ifndef FUZZ_FIXTURE_DIR
#error "meson passes -DFUZZ_FIXTURE_DIR=path"
#endif

#define FUZZ_NOW 1795765062ULL /* when the fixture and the seeds were made, plus a minute */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct knock_server_key *server;
static struct knock_authority *authority;
static struct knock_ports protect;
static struct knock_access_rule rule = {.subject = "CN=carol,O=SafeCloud"};
static const uint8_t ephemeral[32] = {
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t priv[32];
	struct sc_err err;

	if (knock_x25519_private_load(FUZZ_FIXTURE_DIR "/server.key", priv) < 0 ||
	    knock_server_key_new(priv, &server) < 0 ||
	    knock_authority_new(FUZZ_FIXTURE_DIR "/ca.crt", FUZZ_FIXTURE_DIR "/crl.pem", &authority,
	                        &err) < 0 ||
	    knock_ports_parse("tcp/2222-2224", &protect) < 0 ||
	    knock_ports_parse("tcp/2224", &rule.ports) < 0) {
		fprintf(stderr, "fuzz_knock: cannot load the fixture in %s\n", FUZZ_FIXTURE_DIR);
		abort();
	}
	return 0;
}

/* The client and server of the seeds (make-seeds.c). */
static const struct knock_origin seed_origin = {
    .family = AF_INET, .source = {10, 77, 0, 2}, .destination = {10, 77, 0, 1}};

static enum knock_reason verify(struct knock_verifier *v, const uint8_t *p, size_t len,
                                const struct knock_origin *origin)
{
	static struct knock_verdict verdict;
	enum knock_reason r = knock_verify(v, p, len, origin, FUZZ_NOW, &verdict);

	if ((unsigned)r >= KNOCK_REASON_COUNT || !knock_reason_name(r))
		abort();
	/* What knockd logs must stay one printable line. */
	if (strlen(verdict.subject) >= sizeof(verdict.subject) || strchr(verdict.subject, '"') ||
	    strchr(verdict.subject, '\n'))
		abort();
	if (r == KNOCK_OK && (verdict.request.port == 0 || verdict.request.cert_len == 0 ||
	                      (verdict.open_family != KNOCK_ADDRESS_IPV4 &&
	                       verdict.open_family != KNOCK_ADDRESS_IPV6)))
		abort();
	return r;
}

/* The state file: bounds, checksum, fields, then a round trip of what loaded. */
static void state_fuzz(const uint8_t *data, size_t size)
{
	struct knock_replay *loaded, *again;
	struct knock_state_info info;
	enum knock_floor_cause cause, cause_again;
	uint8_t *out;
	size_t len;
	int r;

	if (knock_replay_new(16, &loaded) < 0 || knock_replay_new(16, &again) < 0)
		abort();
	r = knock_state_decode(data, size, 30, FUZZ_NOW, loaded, &info);
	if (r != 0) {
		if ((r != -EBADMSG && r != -ENOSPC) || (r == -EBADMSG && !info.problem) ||
		    knock_replay_count(loaded) != 0 || knock_replay_floor(loaded, NULL) != 0)
			abort();
		goto out;
	}
	if (info.live > info.nonces || knock_replay_count(loaded) != info.live ||
	    knock_state_encode(loaded, 30, FUZZ_NOW, &out, &len) < 0)
		abort();
	r = knock_state_decode(out, len, 30, FUZZ_NOW, again, &info);
	free(out);
	if (r != 0 || knock_replay_count(again) != knock_replay_count(loaded) ||
	    knock_replay_floor(again, &cause_again) != knock_replay_floor(loaded, &cause) ||
	    cause_again != cause)
		abort();
out:
	knock_replay_free(again);
	knock_replay_free(loaded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct knock_verifier v = {
	    .key = server,
	    .authority = authority,
	    .policy = {.time_window = 30,
	               .open_other_address = true,
	               .protect = &protect,
	               .access = &rule,
	               .access_count = 1},
	};
	uint8_t packet[KNOCK_MAX_LEN];
	struct knock_datagram d;
	struct knockd_config *config;
	struct sc_err err;
	char *text;
	int n;

	if (size < 1)
		return 0;
	if (knock_replay_new(16, &v.replay) < 0)
		abort();
	switch (data[0] % 5) {
	case 0:
		verify(&v, data + 1, size - 1, &seed_origin);
		break;
	case 1:
		n = knock_packet_seal_body(data + 1, size - 1, knock_server_key_public(server),
		                           ephemeral, packet, sizeof(packet));
		if (n > 0 && verify(&v, packet, (size_t)n, &seed_origin) == KNOCK_OK &&
		    verify(&v, packet, (size_t)n, &seed_origin) != KNOCK_REPLAY)
			abort();
		break;
	case 2:
		if (knock_datagram_parse(data + 1, size - 1, &d) == 0) {
			if (d.len > d.wire_len || d.payload + d.len > data + size)
				abort();
			struct knock_origin origin = {.family = d.family};
			memcpy(origin.source, d.source, 16);
			memcpy(origin.destination, d.destination, 16);
			verify(&v, d.payload, d.len, &origin);
		}
		break;
	case 3:
		text = malloc(size);
		if (!text)
			abort();
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		if (knockd_config_parse("fuzz.conf", text, &config, &err) == 0)
			knockd_config_free(config);
		free(text);
		break;
	case 4:
		state_fuzz(data + 1, size - 1);
		break;
	}
	knock_replay_free(v.replay);
	return 0;
}

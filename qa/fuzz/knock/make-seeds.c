/*
 * Writes the seed corpus of fuzz_knock (qa/fuzz/knock/corpus/) from a PKI
 * made by qa/workunits/knock/make-pki in DIR (the fixture is DIR's ca.crt,
 * crl.pem and server.key), at time NOW. Not built by meson; run once:
 *   cc -D_GNU_SOURCE -I. qa/fuzz/knock/make-seeds.c build/knockd/libknock_client.a \
 *      build/common/libsccommon_base.a -lcrypto -lconfig -o make-seeds
 *   ./make-seeds DIR NOW qa/fuzz/knock/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "knockd/wire.h"

static const uint8_t ephemeral[32] = {
    0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
    0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f,
};

static void seed_write(const char *out, const char *name, uint8_t mode, const uint8_t *data,
                       size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out, name);
	f = fopen(path, "wb");
	if (!f || fputc(mode, f) == EOF || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void knock_seeds(const char *dir, const char *name, uint16_t port, long offset, uint64_t now,
                        const char *out)
{
	char pub[256], crt[256], key[256], file[64];
	struct knock_client_config *c;
	struct knock_server_key *server;
	struct knock_request req;
	struct sc_err err;
	uint8_t packet[KNOCK_MAX_LEN], body[KNOCK_MAX_LEN], priv[32], ip[KNOCK_MAX_LEN + 28];
	int n, m;

	snprintf(pub, sizeof(pub), "%s/server.key", dir);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	if (knock_client_config_load(NULL, pub, crt, key, &c, &err) < 0 ||
	    knock_x25519_private_load(pub, priv) < 0 || knock_server_key_new(priv, &server) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	knock_request_prepare(c, 6, port, "10.77.0.2", "10.77.0.1", &req);
	req.timestamp = now + (uint64_t)offset;
	n = knock_packet_seal(&req, c->signer, c->server_pub, ephemeral, packet, sizeof(packet));
	m = knock_packet_open(server, packet, (size_t)n, body);
	if (n < 0 || m < 0)
		exit(1);
	snprintf(file, sizeof(file), "packet-%s-%u%s", name, port, offset ? "-stale" : "");
	seed_write(out, file, 0, packet, (size_t)n);
	snprintf(file, sizeof(file), "body-%s-%u%s", name, port, offset ? "-stale" : "");
	seed_write(out, file, 1, body, (size_t)m);
	/* The same knock as NFLOG hands it over: IPv4 and UDP headers first. */
	memset(ip, 0, 28);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((n + 28) >> 8);
	ip[3] = (uint8_t)(n + 28);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){10, 77, 0, 2, 10, 77, 0, 1}, 8);
	ip[22] = 0xf2;
	ip[23] = 0xf9;
	ip[24] = (uint8_t)((n + 8) >> 8);
	ip[25] = (uint8_t)(n + 8);
	memcpy(ip + 28, packet, (size_t)n);
	snprintf(file, sizeof(file), "ip-%s-%u%s", name, port, offset ? "-stale" : "");
	seed_write(out, file, 2, ip, (size_t)n + 28);
	knock_client_config_free(c);
	knock_server_key_free(server);
}

/* A state file of a few live nonces, one expired, and a floor: mode 4. */
static void state_seed(uint64_t now, const char *out)
{
	struct knock_replay *r;
	uint8_t nonce[KNOCK_NONCE_LEN], *data;
	size_t len;

	if (knock_replay_new(16, &r) < 0)
		exit(1);
	for (uint8_t i = 0; i < 4; i++) {
		memset(nonce, 0x30 + i, sizeof(nonce));
		knock_replay_insert(r, nonce, i == 3 ? now - 1 : now + 100 + i, now - 40);
	}
	knock_replay_floor_raise(r, now - 5, KNOCK_FLOOR_START);
	if (knock_state_encode(r, 30, now - 2, &data, &len) < 0)
		exit(1);
	seed_write(out, "state", 4, data, len);
	free(data);
	knock_replay_free(r);
}

int main(int argc, char **argv)
{
	static const char config[] =
	    "knockd = {\n server_key = \"server.key\";\n ca = \"ca.crt\";\n crl = \"crl.pem\";\n"
	    " protect = [ \"tcp/2222\", \"tcp/6800-7300\" ];\n open_seconds = 3;\n"
	    " access = ( { subject = \"CN=carol,O=SafeCloud\"; allow = \"tcp/2224\"; } );\n};\n";
	uint8_t junk[300];

	if (argc != 4) {
		fprintf(stderr, "usage: make-seeds DIR NOW OUT\n");
		return 2;
	}
	uint64_t now = strtoull(argv[2], NULL, 10);
	knock_seeds(argv[1], "alice", 2222, 0, now, argv[3]);
	knock_seeds(argv[1], "alice", 2224, 0, now, argv[3]);
	knock_seeds(argv[1], "carol", 2224, 0, now, argv[3]);
	knock_seeds(argv[1], "bob", 2222, 0, now, argv[3]);
	knock_seeds(argv[1], "alice", 2222, -100, now, argv[3]);
	seed_write(argv[3], "config", 3, (const uint8_t *)config, sizeof(config) - 1);
	sc_random_bytes(junk, sizeof(junk));
	seed_write(argv[3], "junk", 0, junk, sizeof(junk));
	memcpy(junk, "SCKN\x01\x00\x01\x2c", 8);
	seed_write(argv[3], "junk-header", 0, junk, sizeof(junk));
	seed_write(argv[3], "junk-short", 0, (const uint8_t *)"SCK", 3);
	state_seed(now, argv[3]);
	return 0;
}

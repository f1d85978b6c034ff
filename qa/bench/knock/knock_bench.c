/*
 * knock-bench: what a knock costs knockd, on one core (pin it with taskset).
 *
 *   knock-bench cpu PKI_DIR [SECONDS]
 *       the bound: X25519 derivations/s and Ed25519 verifications/s measured
 *       now, and 1 / (1/x25519 + 1/ed25519), the most a verifier that does
 *       one of each per knock can reach; then valid knocks verified/s by
 *       knock_verify (one client, its certificate cached, fresh nonces) and
 *       the ratio to the bound; then bogus datagrams rejected/s (garbage, and
 *       junk behind a valid header, which costs an X25519); then knocks with
 *       crafted certificates (forge-certs.h) rejected/s: uncached and
 *       admitted (each verified: the knock's and the certificate's
 *       signature), from the negative cache, and over one source's
 *       verification budget; and the ratios of those to junk.
 *   knock-bench latency PKI_DIR HOST KNOCK_PORT FIRST_PORT COUNT
 *       (in the client's netns) for COUNT ports from FIRST_PORT: send a knock,
 *       then try TCP connects every millisecond until one succeeds; prints
 *       the median and the worst time from knock sent to port open.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/crypto.h"
#include "common/util.h"
#include "knockd/verify.h"
#include "qa/workunits/knock/forge-certs.h"

#define POOL 512

static void die(const char *what)
{
	fprintf(stderr, "knock-bench: %s\n", what);
	exit(1);
}

static void path(char *out, size_t size, const char *dir, const char *file)
{
	snprintf(out, size, "%s/%s", dir, file);
}

/* X25519 as knockd does it: the server key parsed once, a new peer key each time. */
static double x25519_rate(double seconds)
{
	uint8_t priv[32], pub[32], peers[POOL][32], shared[32];
	EVP_PKEY *mine;
	uint64_t n = 0;
	double start;

	sc_x25519_keygen(priv, pub);
	mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	for (int i = 0; i < POOL; i++)
		sc_x25519_keygen(priv, peers[i]);
	start = sc_now_monotonic();
	do {
		for (int i = 0; i < 64; i++, n++) {
			EVP_PKEY *peer =
			    EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peers[n % POOL], 32);
			EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
			size_t len = 32;
			if (EVP_PKEY_derive_init(ctx) != 1 ||
			    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
			    EVP_PKEY_derive(ctx, shared, &len) != 1)
				die("x25519");
			EVP_PKEY_CTX_free(ctx);
			EVP_PKEY_free(peer);
		}
	} while (sc_now_monotonic() - start < seconds);
	EVP_PKEY_free(mine);
	return (double)n / (sc_now_monotonic() - start);
}

/* Ed25519 verification of a knock-sized message with a parsed key (as openssl speed). */
static double ed25519_rate(double seconds)
{
	uint8_t priv[32], pub[32], msg[600], sig[64];
	EVP_PKEY *key;
	uint64_t n = 0;
	double start;

	sc_ed25519_keygen(priv, pub);
	sc_random_bytes(msg, sizeof(msg));
	sc_ed25519_sign(priv, msg, sizeof(msg), sig);
	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	start = sc_now_monotonic();
	do {
		for (int i = 0; i < 64; i++, n++) {
			EVP_MD_CTX *md = EVP_MD_CTX_new();
			if (EVP_DigestVerifyInit_ex(md, NULL, NULL, NULL, NULL, key, NULL) != 1 ||
			    EVP_DigestVerify(md, sig, 64, msg, sizeof(msg)) != 1)
				die("ed25519");
			EVP_MD_CTX_free(md);
		}
	} while (sc_now_monotonic() - start < seconds);
	EVP_PKEY_free(key);
	return (double)n / (sc_now_monotonic() - start);
}

/* The bench's knocks come from 10.0.0.2 to 10.0.0.1. */
static const struct knock_origin origin = {
    .family = AF_INET, .source = {10, 0, 0, 2}, .destination = {10, 0, 0, 1}};

/* Knocks with crafted certificates through the verifier: rate over one pass of the pool. */
static double crafted_pass(struct knock_verifier *v, uint8_t (*packets)[KNOCK_MAX_LEN],
                           const int *lens, int count, uint64_t now, enum knock_reason want)
{
	static struct knock_verdict verdict;
	double start = sc_now_monotonic();

	for (int i = 0; i < count; i++) {
		enum knock_reason r =
		    knock_verify(v, packets[i], (size_t)lens[i], &origin, now, &verdict);
		if (r != want && !(want == KNOCK_CERTIFICATE && r == KNOCK_RATE_LIMITED))
			die(knock_reason_name(r));
	}
	return count / (sc_now_monotonic() - start);
}

static void crafted_measure(struct knock_server_key *server, const char *ca, const char *crl,
                            uint64_t now, double junk_rate)
{
	enum { COUNT = 4096 };
	static uint8_t packets[COUNT][KNOCK_MAX_LEN];
	static int lens[COUNT];
	struct knock_authority *open_door = NULL, *limited = NULL;
	struct knock_ports protect = {0};
	struct knock_verifier v = {.key = server};
	struct sc_err err;
	double admitted, cached, over;

	if (forge_cert_knocks(ca, knock_server_key_public(server), "10.0.0.2", "10.0.0.1", 2222,
	                      now, COUNT, packets, lens) < 0 ||
	    knock_ports_parse("tcp/2222", &protect) < 0 ||
	    knock_authority_new(&(struct knock_trust){.ca = ca,
	                                              .crl = crl,
	                                              .verify_per_second = 100000000,
	                                              .verify_per_source = 100000000},
	                        &open_door, &err) < 0 ||
	    knock_authority_new(&(struct knock_trust){.ca = ca, .crl = crl}, &limited, &err) < 0 ||
	    knock_replay_new(16, &v.replay) < 0)
		die("crafted certificates");
	v.policy = (struct knock_policy){
	    .time_window = 30, .open_other_address = true, .protect = &protect};
	v.authority = open_door;
	admitted = crafted_pass(&v, packets, lens, COUNT, now, KNOCK_CERTIFICATE);
	cached = crafted_pass(&v, packets, lens, COUNT, now, KNOCK_CERTIFICATE);
	v.authority = limited;
	over = crafted_pass(&v, packets, lens, COUNT, now, KNOCK_CERTIFICATE);
	printf("crafted-certificate knocks rejected/s, uncached, each verified:    %10.0f (%.2f of "
	       "junk)\n",
	       admitted, admitted / junk_rate);
	printf("crafted-certificate knocks rejected/s, from the negative cache:    %10.0f (%.2f of "
	       "junk)\n",
	       cached, cached / junk_rate);
	printf("crafted-certificate knocks rejected/s, one source over its budget: %10.0f (%.2f of "
	       "junk)\n",
	       over, over / junk_rate);
	knock_authority_free(open_door);
	knock_authority_free(limited);
	knock_replay_free(v.replay);
	knock_ports_free(&protect);
}

static int cmd_cpu(const char *dir, double seconds)
{
	char pub[512], crt[512], key[512], ca[512], crl[512], priv_path[512];
	struct knock_client_config *client;
	struct knock_server_key *server;
	struct knock_authority *authority;
	struct knock_ports protect = {0};
	struct knock_verifier v = {0};
	static struct knock_verdict verdict;
	static uint8_t packets[4096][KNOCK_MAX_LEN];
	static int lens[4096];
	uint8_t priv[32], junk[600];
	struct sc_err err;
	double rx, re, bound, start, elapsed, valid, garbage, junk_rate;
	uint64_t now = (uint64_t)sc_now_wall(), n;
	int count = 4096;

	path(pub, sizeof(pub), dir, "server.pub");
	path(priv_path, sizeof(priv_path), dir, "server.key");
	path(crt, sizeof(crt), dir, "alice.crt");
	path(key, sizeof(key), dir, "alice.key");
	path(ca, sizeof(ca), dir, "ca.crt");
	path(crl, sizeof(crl), dir, "crl.pem");
	if (knock_client_config_load(NULL, pub, crt, key, &client, &err) < 0 ||
	    knock_x25519_private_load(priv_path, priv) < 0 ||
	    knock_server_key_new(priv, &server) < 0 ||
	    knock_authority_new(&(struct knock_trust){.ca = ca, .crl = crl}, &authority, &err) <
	        0 ||
	    knock_ports_parse("tcp/2222", &protect) < 0)
		die(err.msg);
	for (int i = 0; i < count; i++) {
		struct knock_request req;
		knock_request_prepare(client, 6, 2222, "10.0.0.2", "10.0.0.1", &req);
		req.timestamp = now;
		lens[i] = knock_packet_seal(&req, client->signer, client->server_pub, NULL,
		                            packets[i], KNOCK_MAX_LEN);
		if (lens[i] < 0)
			die("seal");
	}
	v.key = server;
	v.authority = authority;
	v.policy = (struct knock_policy){
	    .time_window = 30, .open_other_address = true, .protect = &protect};

	rx = x25519_rate(seconds);
	re = ed25519_rate(seconds);
	bound = 1.0 / (1.0 / rx + 1.0 / re);

	/* Valid knocks: rounds over the pool, a fresh replay cache each round. */
	n = 0;
	start = sc_now_monotonic();
	do {
		if (knock_replay_new((size_t)count, &v.replay) < 0)
			die("replay");
		for (int i = 0; i < count; i++, n++)
			if (knock_verify(&v, packets[i], (size_t)lens[i], &origin, now, &verdict) !=
			    KNOCK_OK)
				die(knock_reason_name(verdict.reason));
		knock_replay_free(v.replay);
		elapsed = sc_now_monotonic() - start;
	} while (elapsed < seconds);
	valid = (double)n / elapsed;

	if (knock_replay_new(16, &v.replay) < 0)
		die("replay");
	sc_random_bytes(junk, sizeof(junk));
	n = 0;
	start = sc_now_monotonic();
	do {
		for (int i = 0; i < 4096; i++, n++) {
			junk[0] = (uint8_t)n;
			if (knock_verify(&v, junk, sizeof(junk), &origin, now, &verdict) ==
			    KNOCK_OK)
				die("garbage accepted");
		}
		elapsed = sc_now_monotonic() - start;
	} while (elapsed < seconds);
	garbage = (double)n / elapsed;

	knock_header_write(junk, sizeof(junk), junk + 8);
	n = 0;
	start = sc_now_monotonic();
	do {
		for (int i = 0; i < 64; i++, n++) {
			memcpy(junk + 8, &n, sizeof(n));
			if (knock_verify(&v, junk, sizeof(junk), &origin, now, &verdict) !=
			    KNOCK_DECRYPT)
				die("junk behind a header not refused by the AEAD");
		}
		elapsed = sc_now_monotonic() - start;
	} while (elapsed < seconds);
	junk_rate = (double)n / elapsed;
	knock_replay_free(v.replay);

	printf("x25519 derivations/s (one core):              %10.0f\n", rx);
	printf("ed25519 verifications/s (one core):           %10.0f\n", re);
	printf("bound, one of each per knock (knocks/s):       %10.0f\n", bound);
	printf("valid knocks verified/s (one core):           %10.0f\n", valid);
	printf("ratio to the bound:                            %9.1f %%\n", 100.0 * valid / bound);
	printf("bogus datagrams rejected/s, garbage:           %10.0f\n", garbage);
	printf("bogus datagrams rejected/s, junk behind a valid header (AEAD): %.0f\n", junk_rate);

	crafted_measure(server, ca, crl, now, junk_rate);
	knock_authority_free(authority);
	knock_server_key_free(server);
	knock_client_config_free(client);
	knock_ports_free(&protect);
	return 0;
}

static int connect_once(const struct sockaddr *sa, socklen_t len)
{
	struct pollfd pfd;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0, r;
	socklen_t elen = sizeof(err);

	if (connect(fd, sa, len) == 0) {
		close(fd);
		return 0;
	}
	pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
	r = poll(&pfd, 1, 1);
	if (r == 1)
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
	close(fd);
	return r == 1 && err == 0 ? 0 : -1;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmd_latency(const char *dir, const char *host, int knock_port, int first, int count)
{
	char pub[512], crt[512], key[512], service[16];
	struct knock_client_config *client;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai;
	struct sc_err err;
	double times[256];

	if (count > 256)
		die("at most 256 ports");
	path(pub, sizeof(pub), dir, "server.pub");
	path(crt, sizeof(crt), dir, "alice.crt");
	path(key, sizeof(key), dir, "alice.key");
	if (knock_client_config_load(NULL, pub, crt, key, &client, &err) < 0)
		die(err.msg);
	client->knock_port = (uint16_t)knock_port;
	for (int i = 0; i < count; i++) {
		double start, now;
		snprintf(service, sizeof(service), "%d", first + i);
		if (getaddrinfo(host, service, &hints, &ai) != 0)
			die("address");
		if (connect_once(ai->ai_addr, ai->ai_addrlen) == 0)
			die("port open before the knock");
		start = sc_now_monotonic();
		if (knock_client_send(client, host, 6, (uint16_t)(first + i), NULL, &err) < 0)
			die(err.msg);
		while (connect_once(ai->ai_addr, ai->ai_addrlen) != 0) {
			if (sc_now_monotonic() - start > 5)
				die("port did not open within 5 s");
		}
		now = sc_now_monotonic();
		times[i] = (now - start) * 1000.0;
		freeaddrinfo(ai);
	}
	qsort(times, (size_t)count, sizeof(times[0]), compare);
	printf("knock sent to port open, median of %d (ms):  %10.2f\n", count, times[count / 2]);
	printf("knock sent to port open, worst of %d (ms):   %10.2f\n", count, times[count - 1]);
	knock_client_config_free(client);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "cpu"))
		return cmd_cpu(argv[2], argc > 3 ? atof(argv[3]) : 3.0);
	if (argc == 7 && !strcmp(argv[1], "latency"))
		return cmd_latency(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
	fprintf(stderr, "usage: knock-bench cpu PKI_DIR [SECONDS]\n"
	                "       knock-bench latency PKI_DIR HOST KNOCK_PORT FIRST_PORT COUNT\n");
	return 2;
}

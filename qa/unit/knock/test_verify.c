/*
 * knock_verify end to end on a real PKI made by the documented openssl
 * commands (qa/workunits/knock/make-pki): the two-sided time window with its
 * exact bounds, the replay cache, the CA chain, the CRL, authorisation by
 * certificate extension and by access rule, the signature, and the
 * certificate cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/util.h"
#include "knockd/verify.h"

#ifndef MAKE_PKI
#error "meson passes -DMAKE_PKI=path"
#endif

#define WINDOW 30

static char dir[64];
static struct knock_server_key *server;
static struct knock_authority *authority;
static struct knock_replay *replay;
static struct knock_ports protect;
static struct knock_access_rule access_rule;
static struct knock_verifier verifier;
static struct knock_verdict verdict;
/* Datagrams come from the client 10.0.0.2 to the server 10.0.0.1. */
static struct knock_origin origin = {
    .family = AF_INET, .source = {10, 0, 0, 2}, .destination = {10, 0, 0, 1}};
static const char *destination = "10.0.0.1";
#define SOURCE "source" /* knock_make's OPEN for "leave it to the datagram's source" */

static int pki_make(void **state)
{
	char cmd[1024], path[128];
	uint8_t priv[32];
	struct sc_err err;

	snprintf(dir, sizeof(dir), "/tmp/knock-unit.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(
	    cmd, sizeof(cmd),
	    "set -e; P=%s; D=%s; mkdir $D/other;"
	    "$P ca $D; $P server $D; $P client $D alice tcp/2222-2223; $P client $D bob tcp/2222;"
	    "$P client $D carol; $P revoke $D bob; $P ca $D/other; $P client $D/other mallory "
	    "tcp/2222",
	    MAKE_PKI, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/server.key", dir);
	assert_int_equal(knock_x25519_private_load(path, priv), 0);
	assert_int_equal(knock_server_key_new(priv, &server), 0);
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	snprintf(cmd, sizeof(cmd), "%s/crl.pem", dir);
	assert_int_equal(knock_authority_new(path, cmd, &authority, &err), 0);
	assert_int_equal(knock_replay_new(1000, &replay), 0);
	assert_int_equal(knock_ports_parse("tcp/2222-2224", &protect), 0);
	access_rule.subject = "CN=carol,O=SafeCloud";
	assert_int_equal(knock_ports_parse("tcp/2224", &access_rule.ports), 0);
	verifier = (struct knock_verifier){
	    .key = server,
	    .authority = authority,
	    .replay = replay,
	    .policy = {.time_window = WINDOW,
	               .open_other_address = true,
	               .protect = &protect,
	               .access = &access_rule,
	               .access_count = 1},
	};
	return 0;
}

static int pki_remove(void **state)
{
	char cmd[128];

	knock_server_key_free(server);
	knock_authority_free(authority);
	knock_replay_free(replay);
	knock_ports_free(&protect);
	knock_ports_free(&access_rule.ports);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A knock by NAME (in DIR/SUB) for PORT at NOW + OFFSET; SIGNER overrides the key. */
static int knock_make(const char *sub, const char *name, uint8_t protocol, uint16_t port,
                      long offset, const char *signer, const char *open, uint8_t *packet)
{
	char pub[128], crt[128], key[128];
	struct knock_client_config *c;
	struct knock_request req;
	struct sc_err err;
	uint8_t sign[32];
	int n;

	snprintf(pub, sizeof(pub), "%s/server.pub", dir);
	snprintf(crt, sizeof(crt), "%s%s/%s.crt", dir, sub, name);
	snprintf(key, sizeof(key), "%s%s/%s.key", dir, sub, name);
	assert_int_equal(knock_client_config_load(NULL, pub, crt, key, &c, &err), 0);
	if (!open)
		open = "10.0.0.2";
	else if (!strcmp(open, SOURCE))
		open = NULL;
	assert_int_equal(knock_request_prepare(c, protocol, port, open, destination, &req), 0);
	req.timestamp = (uint64_t)((long)req.timestamp + offset);
	memcpy(sign, c->signer, 32);
	if (signer) {
		snprintf(key, sizeof(key), "%s/%s.key", dir, signer);
		assert_int_equal(knock_ed25519_private_load(key, sign), 0);
	}
	n = knock_packet_seal(&req, sign, c->server_pub, NULL, packet, KNOCK_MAX_LEN);
	assert_true(n > 0);
	knock_client_config_free(c);
	return n;
}

static enum knock_reason verify(const uint8_t *packet, int len, uint64_t now)
{
	return knock_verify(&verifier, packet, (size_t)len, &origin, now, &verdict);
}

static uint64_t now(void)
{
	return (uint64_t)sc_now_wall();
}

static void test_valid_knock_passes_and_its_certificate_is_cached(void **state)
{
	uint8_t p[KNOCK_MAX_LEN];
	int n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);

	assert_int_equal(verify(p, n, now()), KNOCK_OK);
	assert_string_equal(verdict.subject, "CN=alice,O=SafeCloud");
	assert_int_equal(verdict.request.port, 2222);
	assert_int_equal(verdict.request.family, KNOCK_ADDRESS_IPV4);
	assert_int_equal(verdict.open_family, KNOCK_ADDRESS_IPV4);
	assert_memory_equal(verdict.open_address, origin.source, 4);
	size_t cached = knock_authority_cached(authority);
	n = knock_make("", "alice", IPPROTO_TCP, 2223, 0, NULL, "fd77::3", p);
	assert_int_equal(verify(p, n, now()), KNOCK_OK);
	assert_int_equal(verdict.request.family, KNOCK_ADDRESS_IPV6);
	assert_int_equal(verdict.open_family, KNOCK_ADDRESS_IPV6);
	assert_int_equal(knock_authority_cached(authority), cached);
}

static void test_unsigned_source_address_is_refused_unless_allowed(void **state)
{
	uint8_t p[KNOCK_MAX_LEN];
	int n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, SOURCE, p);

	assert_int_equal(verify(p, n, now()), KNOCK_UNAUTHORISED);
	assert_non_null(strstr(verdict.detail, "allow_source_address is false"));
	verifier.policy.allow_source_address = true;
	assert_int_equal(verify(p, n, now()), KNOCK_OK);
	assert_int_equal(verdict.open_family, KNOCK_ADDRESS_IPV4);
	assert_memory_equal(verdict.open_address, origin.source, 4);
	verifier.policy.allow_source_address = false;
}

/* An on-path attacker replays a captured knock from its own address first. */
static void test_replay_from_another_source_opens_only_the_signed_address(void **state)
{
	struct knock_origin attacker = origin;
	uint8_t p[KNOCK_MAX_LEN];
	int n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);

	attacker.source[3] = 66;
	assert_int_equal(knock_verify(&verifier, p, (size_t)n, &attacker, now(), &verdict),
	                 KNOCK_OK);
	assert_int_equal(verdict.open_family, KNOCK_ADDRESS_IPV4);
	assert_memory_equal(verdict.open_address, ((uint8_t[4]){10, 0, 0, 2}), 4);
	/* With open_other_address off, a knock from elsewhere than it names opens nothing. */
	n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);
	verifier.policy.open_other_address = false;
	assert_int_equal(knock_verify(&verifier, p, (size_t)n, &attacker, now(), &verdict),
	                 KNOCK_UNAUTHORISED);
	assert_int_equal(verify(p, n, now()), KNOCK_OK);
	verifier.policy.open_other_address = true;
}

/* One server key on two hosts: a knock for one is refused by the other. */
static void test_knock_for_another_server_is_refused(void **state)
{
	uint8_t p[KNOCK_MAX_LEN], other[17] = {KNOCK_ADDRESS_IPV4, 10, 0, 0, 9};
	struct knock_address_list list = {.addresses = &other, .count = 1};
	int n;

	destination = "10.0.0.9";
	n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);
	destination = "10.0.0.1";
	assert_int_equal(verify(p, n, now()), KNOCK_DESTINATION);
	assert_string_equal(verdict.detail, "knock is for 10.0.0.9");
	assert_string_equal(knock_reason_name(verdict.reason), "wrong-destination");
	/* Unless the admin lists it (a NAT in front of this host is knocked at 10.0.0.9). */
	verifier.policy.destinations = &list;
	assert_int_equal(verify(p, n, now()), KNOCK_OK);
	verifier.policy.destinations = NULL;
	/* The same for IPv6 against an IPv4 datagram: the family is part of it. */
	destination = "::ffff:10.0.0.1";
	n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);
	destination = "10.0.0.1";
	assert_int_equal(verify(p, n, now()), KNOCK_DESTINATION);
}

/* Only the server can open a knock; re-sealing its body under a new ephemeral key breaks the
 * signature. */
static void test_knock_rewrapped_under_a_new_ephemeral_key_is_refused(void **state)
{
	uint8_t p[KNOCK_MAX_LEN], body[KNOCK_MAX_LEN], again[KNOCK_MAX_LEN];
	int n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p), m, k;

	m = knock_packet_open(server, p, (size_t)n, body);
	assert_true(m > 0);
	k = knock_packet_seal_body(body, (size_t)m, knock_server_key_public(server), NULL, again,
	                           sizeof(again));
	assert_int_equal(k, n);
	assert_memory_not_equal(again + 8, p + 8, KNOCK_KEY_LEN);
	assert_int_equal(verify(again, k, now()), KNOCK_SIGNATURE);
	/* The original is untouched by the attempt. */
	assert_int_equal(verify(p, n, now()), KNOCK_OK);
}

/* The timestamp the client put in P. */
static uint64_t packet_timestamp(const uint8_t *p, int n)
{
	uint8_t body[KNOCK_MAX_LEN];
	struct knock_request req;
	int m = knock_packet_open(server, p, (size_t)n, body);

	assert_true(m > 0);
	assert_int_equal(knock_request_decode(body, (size_t)m, &req), 0);
	return req.timestamp;
}

static void test_time_window_is_two_sided_with_exact_bounds(void **state)
{
	uint8_t p[KNOCK_MAX_LEN];
	uint64_t t = now();
	int n;

	n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);
	t = packet_timestamp(p, n);
	assert_int_equal(verify(p, n, t + WINDOW + 1), KNOCK_STALE);
	assert_true(verdict.skew <= -WINDOW - 1);
	assert_non_null(strstr(verdict.detail, "clock skew -"));
	assert_int_equal(verify(p, n, t - WINDOW - 1), KNOCK_FUTURE);
	assert_non_null(strstr(verdict.detail, "clock skew +"));
	/* Stale and future knocks never reach the replay cache: still good now. */
	assert_int_equal(verify(p, n, packet_timestamp(p, n) + WINDOW), KNOCK_OK);

	n = knock_make("", "alice", IPPROTO_TCP, 2222, -120, NULL, NULL, p);
	assert_int_equal(verify(p, n, t), KNOCK_STALE);
	n = knock_make("", "alice", IPPROTO_TCP, 2222, 120, NULL, NULL, p);
	assert_int_equal(verify(p, n, t), KNOCK_FUTURE);
	/* WINDOW s ahead, at the edge (the certificate was issued just now). */
	n = knock_make("", "alice", IPPROTO_TCP, 2222, WINDOW, NULL, NULL, p);
	assert_int_equal(verify(p, n, packet_timestamp(p, n) - WINDOW), KNOCK_OK);
}

static void test_replayed_packet_is_refused(void **state)
{
	uint8_t p[KNOCK_MAX_LEN];
	int n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);

	assert_int_equal(verify(p, n, now()), KNOCK_OK);
	assert_int_equal(verify(p, n, now()), KNOCK_REPLAY);
	assert_int_equal(verify(p, n, now() + 5), KNOCK_REPLAY);
}

static void test_certificates_of_another_ca_or_revoked_are_refused(void **state)
{
	uint8_t p[KNOCK_MAX_LEN];
	int n = knock_make("/other", "mallory", IPPROTO_TCP, 2222, 0, NULL, NULL, p);

	assert_int_equal(verify(p, n, now()), KNOCK_CERTIFICATE);
	assert_string_equal(verdict.subject, "CN=mallory,O=SafeCloud");
	assert_non_null(strstr(verdict.detail, "issuer"));
	n = knock_make("", "bob", IPPROTO_TCP, 2222, 0, NULL, NULL, p);
	assert_int_equal(verify(p, n, now()), KNOCK_REVOKED);
	assert_string_equal(verdict.subject, "CN=bob,O=SafeCloud");
}

static void test_authorisation_by_extension_access_rule_and_protect(void **state)
{
	uint8_t p[KNOCK_MAX_LEN];
	int n;

	n = knock_make("", "alice", IPPROTO_TCP, 2224, 0, NULL, NULL, p);
	assert_int_equal(verify(p, n, now()), KNOCK_UNAUTHORISED);
	assert_non_null(
	    strstr(verdict.detail, "tcp/2224 not allowed (certificate: tcp/2222-2223)"));
	n = knock_make("", "alice", IPPROTO_UDP, 2222, 0, NULL, NULL, p);
	assert_int_equal(verify(p, n, now()), KNOCK_UNAUTHORISED);
	n = knock_make("", "carol", IPPROTO_TCP, 2224, 0, NULL, NULL, p);
	assert_int_equal(verify(p, n, now()), KNOCK_OK);
	n = knock_make("", "carol", IPPROTO_TCP, 2222, 0, NULL, NULL, p);
	assert_int_equal(verify(p, n, now()), KNOCK_UNAUTHORISED);
	/* In the certificate but not protected by knockd: nothing to open. */
	knock_ports_free(&protect);
	assert_int_equal(knock_ports_parse("tcp/2223-2224", &protect), 0);
	n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);
	assert_int_equal(verify(p, n, now()), KNOCK_UNAUTHORISED);
	knock_ports_free(&protect);
	assert_int_equal(knock_ports_parse("tcp/2222-2224", &protect), 0);
	/* Another address only if the policy says so. */
	verifier.policy.open_other_address = false;
	n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, "192.0.2.9", p);
	assert_int_equal(verify(p, n, now()), KNOCK_UNAUTHORISED);
	verifier.policy.open_other_address = true;
}

static void test_signature_by_another_key_is_refused(void **state)
{
	uint8_t p[KNOCK_MAX_LEN];
	int n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, "carol", NULL, p);

	assert_int_equal(verify(p, n, now()), KNOCK_SIGNATURE);
	assert_string_equal(verdict.subject, "CN=alice,O=SafeCloud");
	/* Refused knocks leave no nonce behind: the replay cache holds only accepted ones. */
	size_t before = knock_replay_count(replay);
	assert_int_equal(verify(p, n, now()), KNOCK_SIGNATURE);
	assert_int_equal(knock_replay_count(replay), before);
}

static void test_knock_older_than_the_replay_floor_is_refused_as_replay(void **state)
{
	struct knock_replay *saved = verifier.replay, *fresh;
	uint8_t old[KNOCK_MAX_LEN], p[KNOCK_MAX_LEN];
	char expected[100];
	uint64_t t;
	int n_old, n;

	/* A cache that knockd started without a saved state at T. */
	assert_int_equal(knock_replay_new(100, &fresh), 0);
	verifier.replay = fresh;
	n_old = knock_make("", "alice", IPPROTO_TCP, 2222, -5, NULL, NULL, old);
	n = knock_make("", "alice", IPPROTO_TCP, 2222, 0, NULL, NULL, p);
	t = packet_timestamp(p, n);
	knock_replay_floor_raise(fresh, t, KNOCK_FLOOR_START);
	/* Within the window, but older than the start: the cache cannot vouch for it. */
	assert_int_equal(verify(old, n_old, t), KNOCK_REPLAY);
	snprintf(expected, sizeof(expected),
	         "timestamp %llu s before daemon start, replay cache lost",
	         (unsigned long long)(t - packet_timestamp(old, n_old)));
	assert_string_equal(verdict.detail, expected);
	assert_int_equal(knock_replay_count(fresh), 0);
	/* At the floor itself: accepted. */
	assert_int_equal(verify(p, n, t), KNOCK_OK);
	/* A floor raised by a longer window says so. */
	knock_replay_floor_raise(fresh, t + 1, KNOCK_FLOOR_WINDOW);
	n = knock_make("", "alice", IPPROTO_TCP, 2222, -2, NULL, NULL, p);
	assert_int_equal(verify(p, n, packet_timestamp(p, n) + 2), KNOCK_REPLAY);
	assert_non_null(strstr(verdict.detail, "before time_window grew, replay cache too short"));
	verifier.replay = saved;
	knock_replay_free(fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_knock_passes_and_its_certificate_is_cached),
	    cmocka_unit_test(test_unsigned_source_address_is_refused_unless_allowed),
	    cmocka_unit_test(test_replay_from_another_source_opens_only_the_signed_address),
	    cmocka_unit_test(test_knock_for_another_server_is_refused),
	    cmocka_unit_test(test_knock_rewrapped_under_a_new_ephemeral_key_is_refused),
	    cmocka_unit_test(test_time_window_is_two_sided_with_exact_bounds),
	    cmocka_unit_test(test_replayed_packet_is_refused),
	    cmocka_unit_test(test_certificates_of_another_ca_or_revoked_are_refused),
	    cmocka_unit_test(test_authorisation_by_extension_access_rule_and_protect),
	    cmocka_unit_test(test_signature_by_another_key_is_refused),
	    cmocka_unit_test(test_knock_older_than_the_replay_floor_is_refused_as_replay),
	};
	return cmocka_run_group_tests(tests, pki_make, pki_remove);
}

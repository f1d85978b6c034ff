/*
 * The server's check pipeline. The order is the cost order, so a flood of
 * junk is refused by the cheapest test that can refuse it:
 *
 *   length, magic, version, length field   a few compares
 *   X25519 + AES-256-GCM                   one scalar multiplication
 *   timestamp window (two-sided)           compares
 *   replay cache: floor, then the nonce    a compare, one hash probe
 *   signed destination and address to open compares against the IP header
 *   certificate chain, CRL, authorisation  cached by certificate digest
 *   Ed25519 signature                      one verification
 *
 * Only a knock that passed everything enters the replay cache. A knock older
 * than the cache's floor counts as a replay: the cache cannot vouch for it
 * (replay.c).
 */
#include "knockd/verify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

bool knock_policy_allows(const struct knock_policy *policy, const struct knock_cert *cert,
                         uint8_t protocol, uint16_t port)
{
	if (!policy->protect || !knock_ports_contain(policy->protect, protocol, port))
		return false;
	if (knock_ports_contain(&cert->ports, protocol, port))
		return true;
	for (size_t i = 0; i < policy->access_count; i++)
		if (strcmp(policy->access[i].subject, cert->subject) == 0 &&
		    knock_ports_contain(&policy->access[i].ports, protocol, port))
			return true;
	return false;
}

bool knock_address_list_contains(const struct knock_address_list *list, uint8_t family,
                                 const uint8_t address[16])
{
	for (size_t i = 0; list && i < list->count; i++)
		if (list->addresses[i][0] == family &&
		    memcmp(list->addresses[i] + 1, address, 16) == 0)
			return true;
	return false;
}

static enum knock_reason refuse(struct knock_verdict *v, enum knock_reason reason, const char *fmt,
                                ...) __attribute__((format(printf, 3, 4)));

static enum knock_reason refuse(struct knock_verdict *v, enum knock_reason reason, const char *fmt,
                                ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
	v->reason = reason;
	return reason;
}

static enum knock_reason time_check(const struct knock_verifier *verifier, struct knock_verdict *v,
                                    uint64_t now)
{
	uint64_t ts = v->request.timestamp, window = verifier->policy.time_window;

	if (ts >= now)
		v->skew = ts - now > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)(ts - now);
	else
		v->skew = now - ts > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)(now - ts);
	if (ts + window < now || ts + window < ts)
		return refuse(v, KNOCK_STALE, "clock skew %" PRId64 " s, window %" PRIu64 " s",
		              v->skew, window);
	if (ts > now + window)
		return refuse(v, KNOCK_FUTURE, "clock skew +%" PRId64 " s, window %" PRIu64 " s",
		              v->skew, window);
	return KNOCK_OK;
}

static enum knock_reason replay_check(const struct knock_verifier *verifier,
                                      struct knock_verdict *v, uint64_t now)
{
	enum knock_floor_cause cause;
	uint64_t floor = knock_replay_floor(verifier->replay, &cause), ts = v->request.timestamp;

	if (ts < floor)
		return refuse(v, KNOCK_REPLAY, "timestamp %" PRIu64 " s before %s", floor - ts,
		              cause == KNOCK_FLOOR_WINDOW
		                  ? "time_window grew, replay cache too short"
		                  : "daemon start, replay cache lost");
	if (knock_replay_check(verifier->replay, v->request.nonce, now) < 0)
		return refuse(v, KNOCK_REPLAY, "nonce already used");
	return KNOCK_OK;
}

/*
 * The signed addresses against the IP header: the knock must name this
 * server (or one of the addresses a NAT in front of it is knocked at), and
 * the address to open must be signed unless the admin allowed otherwise.
 */
static enum knock_reason address_check(const struct knock_verifier *verifier,
                                       const struct knock_origin *origin, struct knock_verdict *v)
{
	const struct knock_request *req = &v->request;
	uint8_t family = origin->family == AF_INET6 ? KNOCK_ADDRESS_IPV6 : KNOCK_ADDRESS_IPV4;
	char text[64];

	if (!(req->dest_family == family && memcmp(req->destination, origin->destination,
	                                           family == KNOCK_ADDRESS_IPV4 ? 4 : 16) == 0) &&
	    !knock_address_list_contains(verifier->policy.destinations, req->dest_family,
	                                 req->destination)) {
		knock_address_format(req->dest_family, req->destination, text, sizeof(text));
		return refuse(v, KNOCK_DESTINATION, "knock is for %s", text);
	}
	if (req->family == KNOCK_ADDRESS_SOURCE) {
		if (!verifier->policy.allow_source_address)
			return refuse(v, KNOCK_UNAUTHORISED,
			              "address to open not signed (allow_source_address is false)");
		v->open_family = family;
		memcpy(v->open_address, origin->source, 16);
		return KNOCK_OK;
	}
	if (!verifier->policy.open_other_address &&
	    !(req->family == family &&
	      memcmp(req->address, origin->source, family == KNOCK_ADDRESS_IPV4 ? 4 : 16) == 0))
		return refuse(v, KNOCK_UNAUTHORISED, "asks to open another address");
	v->open_family = req->family;
	memcpy(v->open_address, req->address, 16);
	return KNOCK_OK;
}

static enum knock_reason certificate_check(struct knock_verifier *verifier, struct knock_verdict *v,
                                           uint64_t now, const struct knock_cert **cert)
{
	const struct knock_request *req = &v->request;
	char ports[128];
	int r;

	r = knock_authority_check(verifier->authority, req->cert, req->cert_len, (int64_t)now, cert,
	                          v->subject, sizeof(v->subject), v->detail, sizeof(v->detail));
	if (r == -EKEYREVOKED)
		return refuse(v, KNOCK_REVOKED, "certificate revoked");
	if (r < 0) {
		v->reason = KNOCK_CERTIFICATE;
		if (!v->detail[0])
			snprintf(v->detail, sizeof(v->detail), "%s", strerror(-r));
		return KNOCK_CERTIFICATE;
	}
	if (!knock_policy_allows(&verifier->policy, *cert, req->protocol, req->port)) {
		knock_ports_format(&(*cert)->ports, ports, sizeof(ports));
		return refuse(v, KNOCK_UNAUTHORISED, "%s/%u not allowed (certificate: %s)",
		              knock_protocol_name(req->protocol), req->port,
		              ports[0] ? ports : "none");
	}
	return KNOCK_OK;
}

enum knock_reason knock_verify(struct knock_verifier *verifier, const uint8_t *packet, size_t len,
                               const struct knock_origin *origin, uint64_t now,
                               struct knock_verdict *v)
{
	const struct knock_cert *cert = NULL;
	enum knock_reason reason;
	int n, r;

	v->reason = KNOCK_OK;
	v->skew = 0;
	v->subject[0] = '\0';
	v->detail[0] = '\0';
	v->open_family = 0;
	memset(&v->request, 0, sizeof(v->request));

	reason = knock_header_check(packet, len);
	if (reason != KNOCK_OK)
		return refuse(v, reason, "%zu bytes", len);

	n = knock_packet_open(verifier->key, packet, len, v->body);
	if (n == -ENOMEM)
		return refuse(v, KNOCK_INTERNAL, "out of memory");
	if (n < 0)
		return refuse(v, KNOCK_DECRYPT, "does not authenticate");
	if (knock_request_decode(v->body, (size_t)n, &v->request) < 0)
		return refuse(v, KNOCK_MALFORMED, "request fields invalid");

	reason = time_check(verifier, v, now);
	if (reason != KNOCK_OK)
		return reason;
	reason = replay_check(verifier, v, now);
	if (reason != KNOCK_OK)
		return reason;
	reason = address_check(verifier, origin, v);
	if (reason != KNOCK_OK)
		return reason;

	reason = certificate_check(verifier, v, now, &cert);
	if (reason != KNOCK_OK)
		return reason;

	r = knock_signature_verify_key(cert->key, packet, knock_server_key_public(verifier->key),
	                               v->body, (size_t)n);
	if (r < 0)
		return refuse(v, KNOCK_SIGNATURE, "signature does not verify");

	r = knock_replay_insert(verifier->replay, v->request.nonce,
	                        v->request.timestamp + verifier->policy.time_window + 1, now);
	if (r < 0)
		return refuse(v, KNOCK_INTERNAL, "replay cache full");
	return KNOCK_OK;
}

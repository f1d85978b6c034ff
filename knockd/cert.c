/*
 * Client certificates: X.509 with an Ed25519 key, issued directly by one of
 * the admin's CA certificates (the trust anchors), checked against the CA's
 * revocation list unless knockd.conf says crl = "none". The ports a
 * certificate may open travel in a non-critical extension (KNOCK_PORTS_OID)
 * holding a UTF8String such as "tcp/3300,tcp/6800-7300".
 *
 * Anyone holding the server's public key can send knocks with certificates
 * of their own making, so an unknown certificate must cost little:
 *
 *   - the anchors' keys and the CRL are parsed once, at load, and the CRL's
 *     signature is checked then; a certificate is checked by one signature
 *     verification against its anchor's key and a serial lookup in the CRL,
 *     never by building a chain per datagram;
 *   - the knock's own signature by the certificate's key is checked first,
 *     so a real certificate carried by a forged knock costs no CA check;
 *   - verdicts are cached by SHA-256 of the DER: verified certificates
 *     (re-verified after CACHE_TTL) and refused ones (for NEGATIVE_TTL), in
 *     direct-mapped tables where a collision evicts;
 *   - uncached verifications are rate-limited, per source address (an IPv6
 *     /64) and in all, by token buckets; over the budget a knock is refused
 *     before any parsing (and may simply be sent again).
 *
 * A refused knock signature is never cached by certificate: the certificate
 * may be a real client's, replayed with a forged signature. The caches die
 * with their authority (a SIGHUP builds a new one, so a new CRL applies at
 * once). Single-threaded: the knockd loop owns it.
 */
#include "knockd/cert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"
#include "common/util.h"

#define CACHE_SLOTS 1024
#define CACHE_TTL 300 /* seconds before a cached verification is redone */
#define NEGATIVE_SLOTS 16384
#define NEGATIVE_TTL 60 /* seconds a refused certificate stays refused unexamined */
#define SOURCE_SLOTS 4096
#define MAX_ANCHORS 16

struct cache_slot {
	struct knock_cert cert;
	int64_t verified_at;
};

struct negative_slot {
	uint8_t digest[32];
	int64_t until; /* 0: empty */
	int error;     /* -EKEYREJECTED, -EKEYREVOKED or -EBADMSG */
	char subject[96];
	char detail[96];
};

struct bucket {
	double tokens, at; /* tokens left at monotonic time AT */
};

struct source_bucket {
	uint8_t key[16]; /* the source address, an IPv6 source cut to its /64 */
	struct bucket bucket;
};

struct anchor {
	X509 *cert;
	EVP_PKEY *key;
	int64_t not_after;
};

struct knock_authority {
	struct anchor anchors[MAX_ANCHORS];
	size_t anchor_count;
	X509_CRL *crl; /* NULL: no revocation list */
	int64_t crl_next_update;
	ASN1_OBJECT *ports_oid;
	double rate, source_rate; /* tokens a second */
	struct bucket all;
	uint64_t sip_key[2]; /* keys the source table's hash */
	uint64_t verified, limited;
	size_t cached, refused;
	struct cache_slot cache[CACHE_SLOTS];
	struct negative_slot negative[NEGATIVE_SLOTS];
	struct source_bucket sources[SOURCE_SLOTS];
};

static void slot_clear(struct cache_slot *slot)
{
	knock_ed25519_key_free(slot->cert.key);
	knock_ports_free(&slot->cert.ports);
	memset(slot, 0, sizeof(*slot));
}

static const char *openssl_reason(void)
{
	const char *why = ERR_reason_error_string(ERR_peek_last_error());
	return why ? why : "unreadable";
}

/* Log lines hold the subject in double quotes: keep it printable and quote-free. */
static void subject_format(X509 *x, char *out, size_t size)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;

	if (size == 0)
		return;
	out[0] = '\0';
	if (!bio)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
	                       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(bio, &data);
		if (len < 0)
			len = 0;
		if ((size_t)len >= size)
			len = (long)size - 1;
		for (long i = 0; i < len; i++) {
			unsigned char c = (unsigned char)data[i];
			out[i] = (c < 0x20 || c >= 0x7f || c == '"') ? '?' : (char)c;
		}
		out[len] = '\0';
	}
	BIO_free(bio);
}

static int64_t asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* The ports extension, if any: a DER UTF8String in a port list syntax. */
static int ports_extension_read(struct knock_authority *a, X509 *x, struct knock_ports *ports)
{
	const ASN1_OCTET_STRING *value;
	ASN1_UTF8STRING *text = NULL;
	const unsigned char *p;
	char buf[1024];
	int idx, len, r = -EBADMSG;

	idx = X509_get_ext_by_OBJ(x, a->ports_oid, -1);
	if (idx < 0)
		return 0;
	if (X509_get_ext_by_OBJ(x, a->ports_oid, idx) >= 0)
		return -EBADMSG; /* twice: ambiguous */
	value = X509_EXTENSION_get_data(X509_get_ext(x, idx));
	p = ASN1_STRING_get0_data(value);
	len = ASN1_STRING_length(value);
	text = d2i_ASN1_UTF8STRING(NULL, &p, len);
	if (!text || p != ASN1_STRING_get0_data(value) + len)
		goto out;
	len = ASN1_STRING_length(text);
	if (len <= 0 || (size_t)len >= sizeof(buf))
		goto out;
	memcpy(buf, ASN1_STRING_get0_data(text), (size_t)len);
	buf[len] = '\0';
	if (strlen(buf) != (size_t)len)
		goto out; /* an embedded NUL */
	r = knock_ports_parse(buf, ports);
out:
	ASN1_UTF8STRING_free(text);
	return r < 0 ? -EBADMSG : 0;
}

/* The anchors in PATH: CAs, self-signed unless PARTIAL; keys kept parsed. */
static int anchors_load(struct knock_authority *a, const char *path, bool partial,
                        struct sc_err *err)
{
	BIO *bio = BIO_new_file(path, "r");
	X509 *x;
	int r = -EINVAL;

	if (!bio) {
		sc_err_set(err, "%s: cannot read (%s)", path, openssl_reason());
		return -EINVAL;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		struct anchor *an;
		char name[256];

		subject_format(x, name, sizeof(name));
		if (a->anchor_count == MAX_ANCHORS) {
			sc_err_set(err, "%s: more than %d CA certificates", path, MAX_ANCHORS);
			goto bad;
		}
		if (X509_check_ca(x) < 1) {
			sc_err_set(err, "%s: \"%s\" is not a CA certificate", path, name);
			goto bad;
		}
		an = &a->anchors[a->anchor_count];
		an->key = X509_get_pubkey(x);
		if (!an->key) {
			sc_err_set(err, "%s: \"%s\": unreadable key", path, name);
			goto bad;
		}
		an->cert = x;
		an->not_after = asn1_time_unix(X509_get0_notAfter(x));
		a->anchor_count++;
		/* An anchor that is not self-signed trusts what its own issuer never vouched for.
		 */
		if (!partial &&
		    (X509_check_issued(x, x) != X509_V_OK || X509_verify(x, an->key) != 1)) {
			sc_err_set(err,
			           "%s: \"%s\" is not self-signed (an intermediate as trust anchor "
			           "needs ca_partial_chain = true)",
			           path, name);
			goto out;
		}
	}
	ERR_clear_error();
	if (a->anchor_count == 0) {
		sc_err_set(err, "%s: no CA certificate could be read", path);
		goto out;
	}
	r = 0;
	goto out;
bad:
	X509_free(x);
out:
	BIO_free(bio);
	return r;
}

static const struct anchor *anchor_of(const struct knock_authority *a, const X509_NAME *issuer)
{
	for (size_t i = 0; i < a->anchor_count; i++)
		if (X509_NAME_cmp(X509_get_subject_name(a->anchors[i].cert), issuer) == 0)
			return &a->anchors[i];
	return NULL;
}

/* The CRL in PATH, its signature checked against its anchor now, once. */
static int crl_load(struct knock_authority *a, const char *path, struct sc_err *err)
{
	BIO *bio = BIO_new_file(path, "r");
	const struct anchor *an;

	if (!bio) {
		sc_err_set(err, "%s: cannot read (%s)", path, openssl_reason());
		return -EINVAL;
	}
	a->crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (!a->crl) {
		sc_err_set(err, "%s: no revocation list could be read (%s)", path,
		           openssl_reason());
		return -EINVAL;
	}
	an = anchor_of(a, X509_CRL_get_issuer(a->crl));
	if (!an || a->anchor_count != 1) {
		sc_err_set(err, "%s: %s", path,
		           an ? "one CRL cannot cover several CAs: use one CA certificate"
		              : "not issued by the CA");
		return -EINVAL;
	}
	if (X509_CRL_verify(a->crl, an->key) != 1) {
		sc_err_set(err, "%s: the CA's signature on the revocation list does not verify",
		           path);
		return -EINVAL;
	}
	a->crl_next_update = asn1_time_unix(X509_CRL_get0_nextUpdate(a->crl));
	if (a->crl_next_update == 0) {
		sc_err_set(err, "%s: the revocation list has no next-update time", path);
		return -EINVAL;
	}
	return 0;
}

int knock_authority_new(const struct knock_trust *trust, struct knock_authority **out,
                        struct sc_err *err)
{
	struct knock_authority *a = calloc(1, sizeof(*a));
	int r = -ENOMEM;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	ERR_clear_error();
	a->ports_oid = OBJ_txt2obj(KNOCK_PORTS_OID, 1);
	if (!a->ports_oid || sc_random_bytes(a->sip_key, sizeof(a->sip_key)) < 0)
		goto out;
	a->rate = trust->verify_per_second ? trust->verify_per_second : 2000;
	a->source_rate = trust->verify_per_source ? trust->verify_per_source : 10;
	a->all = (struct bucket){.tokens = a->rate, .at = sc_now_monotonic()};
	r = anchors_load(a, trust->ca, trust->partial_chain, err);
	if (r == 0 && trust->crl)
		r = crl_load(a, trust->crl, err);
	if (r < 0)
		goto out;
	*out = a;
	a = NULL;
out:
	knock_authority_free(a);
	return r;
}

void knock_authority_free(struct knock_authority *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		slot_clear(&a->cache[i]);
	for (size_t i = 0; i < a->anchor_count; i++) {
		EVP_PKEY_free(a->anchors[i].key);
		X509_free(a->anchors[i].cert);
	}
	X509_CRL_free(a->crl);
	ASN1_OBJECT_free(a->ports_oid);
	free(a);
}

static int subject_exact(X509 *x, char *out, size_t size);

void knock_authority_warm(struct knock_authority *a)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *x;
	int n;

	if (a->anchor_count == 0)
		return;
	n = i2d_X509(a->anchors[0].cert, &der);
	p = der;
	x = n > 0 ? d2i_X509(NULL, &p, n) : NULL;
	if (x) {
		X509_get_extension_flags(x);
		X509_verify(x, a->anchors[0].key);
		X509_get_ext_by_OBJ(x, a->ports_oid, -1);
		subject_exact(x, (char[256]){0}, 256);
	}
	if (a->crl) {
		X509_REVOKED *revoked;
		X509_CRL_get0_by_serial(a->crl, &revoked,
		                        (ASN1_INTEGER *)X509_get0_serialNumber(a->anchors[0].cert));
	}
	X509_free(x);
	OPENSSL_free(der);
	ERR_clear_error();
}

size_t knock_authority_cached(const struct knock_authority *a)
{
	return a->cached;
}

void knock_authority_stats(const struct knock_authority *a, struct knock_authority_stats *st)
{
	*st = (struct knock_authority_stats){
	    .cached = a->cached,
	    .refused = a->refused,
	    .verified = a->verified,
	    .limited = a->limited,
	    .crl_expires = a->crl ? a->crl_next_update : 0,
	};
}

/* Takes a token from B (refilled at RATE a second, holding at most CAP). */
static bool bucket_take_cap(struct bucket *b, double rate, double cap, double now)
{
	b->tokens += (now - b->at) * rate;
	if (b->tokens > cap)
		b->tokens = cap;
	b->at = now;
	if (b->tokens < 1)
		return false;
	b->tokens -= 1;
	return true;
}

/* May a certificate from SOURCE be verified now? Per source first, then in all. */
static bool bucket_take(struct bucket *b, double rate, double now)
{
	return bucket_take_cap(b, rate, rate, now);
}

static bool budget_take(struct knock_authority *a, int family, const uint8_t *source)
{
	double now = sc_now_monotonic();
	uint8_t key[16] = {0};
	struct source_bucket *sb;
	uint8_t h[8];

	memcpy(key, source, family == AF_INET6 ? 8 : 4);
	key[15] = family == AF_INET6 ? 6 : 4;
	sc_siphash24((const uint8_t *)a->sip_key, key, sizeof(key), h);
	sb = &a->sources[sc_get_be64(h) % SOURCE_SLOTS];
	if (memcmp(sb->key, key, sizeof(key)) != 0) {
		/* A new source (or a collision: it then starts a fresh bucket). */
		memcpy(sb->key, key, sizeof(key));
		sb->bucket = (struct bucket){.tokens = a->source_rate, .at = now};
	}
	if (!bucket_take(&sb->bucket, a->source_rate, now) || !bucket_take(&a->all, a->rate, now)) {
		a->limited++;
		return false;
	}
	return true;
}

static int64_t time_of(const ASN1_TIME *t)
{
	return asn1_time_unix(t);
}

bool knock_authority_charge(struct knock_authority *a, const struct knock_cert *cert,
                            unsigned per_minute)
{
	/* CERT is the first member of one of A's cache slots: the bucket is that slot's. */
	size_t i = (size_t)((const struct cache_slot *)(const void *)cert - a->cache);
	struct knock_cert *c = &a->cache[i].cert;
	double now = sc_now_monotonic();
	struct bucket b = {.tokens = c->tokens, .at = c->tokens_at};
	bool ok;

	if (per_minute == 0 || i >= CACHE_SLOTS)
		return true;
	if (b.at == 0)
		b = (struct bucket){.tokens = per_minute, .at = now};
	ok = bucket_take_cap(&b, per_minute / 60.0, per_minute, now);
	c->tokens = b.tokens;
	c->tokens_at = b.at;
	return ok;
}

/* The certificate's own checks, after its signature: 0 or -EKEYREJECTED/-EKEYREVOKED. */
static int leaf_check(struct knock_authority *a, X509 *x, const struct anchor *an, int64_t now,
                      char *detail, size_t detail_size)
{
	uint32_t flags = X509_get_extension_flags(x);
	X509_REVOKED *revoked;

	if (flags & EXFLAG_INVALID) {
		snprintf(detail, detail_size, "invalid extensions");
		return -EKEYREJECTED;
	}
	if (flags & EXFLAG_CRITICAL) {
		snprintf(detail, detail_size, "unknown critical extension");
		return -EKEYREJECTED;
	}
	if (X509_check_ca(x) != 0) {
		snprintf(detail, detail_size, "a CA certificate cannot knock");
		return -EKEYREJECTED;
	}
	if ((flags & EXFLAG_KUSAGE) && !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE)) {
		snprintf(detail, detail_size, "key usage lacks digitalSignature");
		return -EKEYREJECTED;
	}
	if (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT)) {
		snprintf(detail, detail_size,
		         "not a client certificate (extendedKeyUsage clientAuth)");
		return -EKEYREJECTED;
	}
	if (now < time_of(X509_get0_notBefore(x))) {
		snprintf(detail, detail_size, "certificate is not yet valid");
		return -EKEYREJECTED;
	}
	if (now > time_of(X509_get0_notAfter(x))) {
		snprintf(detail, detail_size, "certificate has expired");
		return -EKEYREJECTED;
	}
	if (now > an->not_after) {
		snprintf(detail, detail_size, "CA certificate has expired");
		return -EKEYREJECTED;
	}
	if (a->crl) {
		if (now > a->crl_next_update) {
			snprintf(detail, detail_size, "CRL has expired");
			return -EKEYREJECTED;
		}
		if (X509_CRL_get0_by_serial(a->crl, &revoked,
		                            (ASN1_INTEGER *)X509_get0_serialNumber(x)) == 1) {
			snprintf(detail, detail_size, "certificate revoked");
			return -EKEYREVOKED;
		}
	}
	return 0;
}

/* The exact subject (escaped RFC 2253), or -ENAMETOOLONG. */
static int subject_exact(X509 *x, char *out, size_t size)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int r = -ENOMEM;

	if (!bio)
		return r;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(bio, &data);
		r = len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
		if (r == 0) {
			memcpy(out, data, (size_t)len);
			out[len] = '\0';
		}
	}
	BIO_free(bio);
	return r;
}

/* Parses and verifies DER into CERT. */
static int cert_verify(struct knock_authority *a, const struct knock_cert_query *q,
                       struct knock_cert *cert, bool *signed_, char *detail, size_t detail_size)
{
	const unsigned char *p = q->der;
	size_t key_len = KNOCK_KEY_LEN;
	const struct anchor *an;
	EVP_PKEY *pkey;
	X509 *x;
	int r = -EKEYREJECTED;

	x = d2i_X509(NULL, &p, (long)q->len);
	if (!x || p != q->der + q->len) {
		snprintf(detail, detail_size, "not a DER certificate");
		X509_free(x);
		return -EBADMSG;
	}
	subject_format(x, cert->subject, sizeof(cert->subject));
	pkey = X509_get0_pubkey(x);
	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(pkey, cert->public_key, &key_len) != 1) {
		snprintf(detail, detail_size, "certificate key is not Ed25519");
		goto out;
	}
	cert->key = knock_ed25519_key_new(cert->public_key);
	if (!cert->key) {
		snprintf(detail, detail_size, "certificate key is not a valid Ed25519 point");
		goto out;
	}
	/* The knock's signature first: a real certificate with a forged knock stops here. */
	if (q->key_check) {
		if (q->key_check(q->arg, cert->key) < 0) {
			r = -EPERM;
			goto out;
		}
		*signed_ = true;
	}
	an = anchor_of(a, X509_get_issuer_name(x));
	if (!an || X509_verify(x, an->key) != 1) {
		snprintf(detail, detail_size, "%s",
		         an ? "certificate signature failure"
		            : "unable to get local issuer certificate");
		ERR_clear_error();
		goto out;
	}
	r = leaf_check(a, x, an, q->now, detail, detail_size);
	if (r < 0)
		goto out;
	if (subject_exact(x, cert->subject_exact, sizeof(cert->subject_exact)) < 0) {
		snprintf(detail, detail_size, "subject too long");
		r = -EKEYREJECTED;
		goto out;
	}
	if (ports_extension_read(a, x, &cert->ports) < 0) {
		snprintf(detail, detail_size, "malformed knock ports extension");
		r = -EKEYREJECTED;
		goto out;
	}
	cert->not_before = time_of(X509_get0_notBefore(x));
	cert->not_after = time_of(X509_get0_notAfter(x));
	cert->valid = true;
	r = 0;
out:
	X509_free(x);
	return r;
}

static void negative_put(struct knock_authority *a, struct negative_slot *n,
                         const uint8_t digest[32], int64_t now, int error, const char *subject,
                         const char *detail)
{
	if (n->until == 0)
		a->refused++;
	memcpy(n->digest, digest, 32);
	n->until = now + NEGATIVE_TTL;
	n->error = error;
	/* Both sources live elsewhere (the cache slot, the caller's buffer): copy by length. */
	size_t sl = strnlen(subject, sizeof(n->subject) - 1),
	       dl = strnlen(detail, sizeof(n->detail) - 1);
	memcpy(n->subject, subject, sl);
	n->subject[sl] = '\0';
	memcpy(n->detail, detail, dl);
	n->detail[dl] = '\0';
}

int knock_authority_check(struct knock_authority *a, const struct knock_cert_query *q,
                          const struct knock_cert **out, bool *signed_, char *subject,
                          size_t subject_size, char *detail, size_t detail_size)
{
	uint8_t digest[32];
	struct cache_slot *slot;
	struct negative_slot *neg;
	int64_t now = q->now;
	int r;

	*out = NULL;
	*signed_ = false;
	if (detail_size)
		detail[0] = '\0';
	if (q->len == 0 || q->len > KNOCK_MAX_CERT_LEN)
		return -EBADMSG;
	r = sc_sha256(q->der, q->len, digest);
	if (r < 0)
		return r;
	slot = &a->cache[sc_get_be16(digest) % CACHE_SLOTS];
	if (slot->cert.valid && memcmp(slot->cert.digest, digest, sizeof(digest)) == 0 &&
	    now >= slot->verified_at && now - slot->verified_at < CACHE_TTL &&
	    now >= slot->cert.not_before && now <= slot->cert.not_after &&
	    (!a->crl || now <= a->crl_next_update)) {
		if (subject)
			snprintf(subject, subject_size, "%s", slot->cert.subject);
		*out = &slot->cert;
		return 0;
	}
	neg = &a->negative[sc_get_be16(digest + 2) % NEGATIVE_SLOTS];
	if (neg->until != 0 && now <= neg->until && memcmp(neg->digest, digest, 32) == 0) {
		if (subject)
			snprintf(subject, subject_size, "%s", neg->subject);
		snprintf(detail, detail_size, "%s (cached)", neg->detail);
		return neg->error;
	}
	if (!budget_take(a, q->family, q->source)) {
		snprintf(detail, detail_size,
		         "uncached certificate verifications over the rate limit");
		return -EBUSY;
	}
	a->verified++;
	if (slot->cert.valid)
		a->cached--;
	slot_clear(slot);
	r = cert_verify(a, q, &slot->cert, signed_, detail, detail_size);
	if (subject)
		snprintf(subject, subject_size, "%s", slot->cert.subject);
	if (r < 0) {
		if (r != -EPERM)
			negative_put(a, neg, digest, now, r, slot->cert.subject, detail);
		slot_clear(slot);
		return r;
	}
	memcpy(slot->cert.digest, digest, sizeof(digest));
	slot->verified_at = now;
	a->cached++;
	*out = &slot->cert;
	return 0;
}

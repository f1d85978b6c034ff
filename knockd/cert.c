/*
 * Client certificates: X.509 with an Ed25519 key, issued by the admin's CA,
 * checked against the CA's revocation list when one is configured. The ports
 * a certificate may open travel in a non-critical extension (KNOCK_PORTS_OID)
 * holding a UTF8String such as "tcp/3300,tcp/6800-7300".
 *
 * A verified certificate is cached by the SHA-256 of its DER, so a client that
 * knocks again costs no chain verification: the cache is direct-mapped (a
 * collision evicts), bounded, re-verifies entries older than CACHE_TTL, and
 * dies with its authority (a SIGHUP builds a new one, so a new CRL applies at
 * once).
 */
#include "knockd/cert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/crypto.h"

#define CACHE_SLOTS 1024
#define CACHE_TTL 300 /* seconds before a cached verification is redone */

struct cache_slot {
	struct knock_cert cert;
	int64_t verified_at;
};

struct knock_authority {
	X509_STORE *store;
	ASN1_OBJECT *ports_oid;
	size_t cached;
	struct cache_slot cache[CACHE_SLOTS];
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

static size_t store_count(X509_STORE *store, X509_LOOKUP_TYPE type)
{
	STACK_OF(X509_OBJECT) *objects = X509_STORE_get0_objects(store);
	size_t n = 0;

	for (int i = 0; i < sk_X509_OBJECT_num(objects); i++)
		if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objects, i)) == type)
			n++;
	return n;
}

int knock_authority_new(const char *ca_path, const char *crl_path, struct knock_authority **out,
                        struct sc_err *err)
{
	struct knock_authority *a = calloc(1, sizeof(*a));
	unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN;
	int r = -EINVAL;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	ERR_clear_error();
	a->store = X509_STORE_new();
	a->ports_oid = OBJ_txt2obj(KNOCK_PORTS_OID, 1);
	if (!a->store || !a->ports_oid) {
		r = -ENOMEM;
		goto out;
	}
	if (X509_STORE_load_file(a->store, ca_path) != 1 ||
	    store_count(a->store, X509_LU_X509) == 0) {
		sc_err_set(err, "%s: no CA certificate could be read (%s)", ca_path,
		           openssl_reason());
		goto out;
	}
	if (crl_path) {
		if (X509_STORE_load_file(a->store, crl_path) != 1 ||
		    store_count(a->store, X509_LU_CRL) == 0) {
			sc_err_set(err, "%s: no revocation list could be read (%s)", crl_path,
			           openssl_reason());
			goto out;
		}
		flags |= X509_V_FLAG_CRL_CHECK;
	}
	X509_STORE_set_flags(a->store, flags);
	*out = a;
	a = NULL;
	r = 0;
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
	X509_STORE_free(a->store);
	ASN1_OBJECT_free(a->ports_oid);
	free(a);
}

size_t knock_authority_cached(const struct knock_authority *a)
{
	return a->cached;
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

static int chain_verify(struct knock_authority *a, X509 *x, int64_t now, char *detail,
                        size_t detail_size)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int r = -ENOMEM, code;

	if (!ctx)
		return r;
	if (X509_STORE_CTX_init(ctx, a->store, x, NULL) != 1)
		goto out;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
	if (X509_verify_cert(ctx) == 1) {
		r = 0;
		goto out;
	}
	code = X509_STORE_CTX_get_error(ctx);
	snprintf(detail, detail_size, "%s", X509_verify_cert_error_string(code));
	r = code == X509_V_ERR_CERT_REVOKED ? -EKEYREVOKED : -EKEYREJECTED;
out:
	X509_STORE_CTX_free(ctx);
	return r;
}

/* Parses and verifies DER into SLOT. */
static int cert_verify(struct knock_authority *a, const uint8_t *der, size_t len, int64_t now,
                       struct knock_cert *cert, char *subject, size_t subject_size, char *detail,
                       size_t detail_size)
{
	const unsigned char *p = der;
	size_t key_len = KNOCK_KEY_LEN;
	EVP_PKEY *pkey;
	X509 *x;
	int r = -EKEYREJECTED;

	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		snprintf(detail, detail_size, "not a DER certificate");
		X509_free(x);
		return -EBADMSG;
	}
	subject_format(x, cert->subject, sizeof(cert->subject));
	if (subject)
		snprintf(subject, subject_size, "%s", cert->subject);
	pkey = X509_get0_pubkey(x);
	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(pkey, cert->public_key, &key_len) != 1) {
		snprintf(detail, detail_size, "certificate key is not Ed25519");
		goto out;
	}
	if (X509_check_ca(x) != 0) {
		snprintf(detail, detail_size, "a CA certificate cannot knock");
		goto out;
	}
	r = chain_verify(a, x, now, detail, detail_size);
	if (r < 0)
		goto out;
	if (ports_extension_read(a, x, &cert->ports) < 0) {
		snprintf(detail, detail_size, "malformed knock ports extension");
		r = -EKEYREJECTED;
		goto out;
	}
	cert->key = knock_ed25519_key_new(cert->public_key);
	if (!cert->key) {
		snprintf(detail, detail_size, "certificate key is not a valid Ed25519 point");
		r = -EKEYREJECTED;
		goto out;
	}
	cert->not_before = asn1_time_unix(X509_get0_notBefore(x));
	cert->not_after = asn1_time_unix(X509_get0_notAfter(x));
	cert->valid = true;
	r = 0;
out:
	X509_free(x);
	return r;
}

int knock_authority_check(struct knock_authority *a, const uint8_t *der, size_t len, int64_t now,
                          const struct knock_cert **out, char *subject, size_t subject_size,
                          char *detail, size_t detail_size)
{
	uint8_t digest[32];
	struct cache_slot *slot;
	int r;

	*out = NULL;
	if (detail_size)
		detail[0] = '\0';
	if (len == 0 || len > KNOCK_MAX_CERT_LEN)
		return -EBADMSG;
	r = sc_sha256(der, len, digest);
	if (r < 0)
		return r;
	slot = &a->cache[((size_t)digest[0] << 8 | digest[1]) % CACHE_SLOTS];
	if (slot->cert.valid && memcmp(slot->cert.digest, digest, sizeof(digest)) == 0 &&
	    now >= slot->verified_at && now - slot->verified_at < CACHE_TTL &&
	    now >= slot->cert.not_before && now <= slot->cert.not_after) {
		if (subject)
			snprintf(subject, subject_size, "%s", slot->cert.subject);
		*out = &slot->cert;
		return 0;
	}
	if (slot->cert.valid)
		a->cached--;
	slot_clear(slot);
	r = cert_verify(a, der, len, now, &slot->cert, subject, subject_size, detail, detail_size);
	if (r < 0) {
		slot_clear(slot);
		return r;
	}
	memcpy(slot->cert.digest, digest, sizeof(digest));
	slot->verified_at = now;
	a->cached++;
	*out = &slot->cert;
	return 0;
}

/*
 * TLS contexts of the tunnel: TLS 1.3 only, both sides present a certificate
 * of the admin's CA (the same CA knockd trusts; Ed25519 certificates as
 * docs/knockd.md makes them) and both verify the other's chain, against the
 * CRL when one is named. No session tickets and no session cache: every
 * stream runs the full handshake, so a certificate revoked by a reloaded CRL
 * cannot come back through a resumed session.
 *
 * The identity (certificate and key) is read once, at start, while the
 * process may still read its key; a context is built from it and from the
 * CA and CRL files, which are public and stay readable after root is
 * dropped. A context is immutable once built: `serve` builds a new one on
 * SIGHUP and swaps it in (serve.c), so streams in flight keep theirs.
 */
#include "guard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

void guard_tls_error(char *out, size_t size)
{
	unsigned long e = ERR_get_error();
	unsigned long next;

	/* The first error is the cause; the rest only repeat where it surfaced. */
	while ((next = ERR_get_error()) != 0)
		(void)next;
	if (e == 0)
		snprintf(out, size, "no detail");
	else
		ERR_error_string_n(e, out, size);
}

static int fail(struct sc_err *err, const char *what, const char *path)
{
	char why[256];

	guard_tls_error(why, sizeof(why));
	sc_err_set(err, "%s %s: %s", what, path, why);
	return -EINVAL;
}

void guard_tls_identity_free(struct guard_tls_identity *id)
{
	if (!id)
		return;
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	EVP_PKEY_free(id->key); /* OpenSSL wipes the key material */
	free(id);
}

int guard_tls_identity_load(const char *certificate, const char *key,
                            struct guard_tls_identity **out, struct sc_err *err)
{
	struct guard_tls_identity *id = calloc(1, sizeof(*id));
	FILE *f = NULL;
	X509 *extra;
	int r = -ENOMEM;

	*out = NULL;
	ERR_clear_error();
	if (!id || !(id->chain = sk_X509_new_null()))
		goto fail;
	if (!(f = fopen(certificate, "r"))) {
		r = -errno;
		sc_err_set(err, "certificate %s: %s", certificate, strerror(errno));
		goto fail;
	}
	if (!(id->cert = PEM_read_X509(f, NULL, NULL, NULL))) {
		r = fail(err, "certificate", certificate);
		goto fail;
	}
	while ((extra = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(id->chain, extra)) {
			X509_free(extra);
			goto fail;
		}
	ERR_clear_error(); /* the end of the file */
	fclose(f);
	if (!(f = fopen(key, "r"))) {
		r = -errno;
		sc_err_set(err, "key %s: %s", key, strerror(errno));
		goto fail;
	}
	if (!(id->key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
		r = fail(err, "key", key);
		goto fail;
	}
	if (X509_check_private_key(id->cert, id->key) != 1) {
		ERR_clear_error();
		sc_err_set(err, "key %s does not belong to certificate %s", key, certificate);
		r = -EKEYREJECTED;
		goto fail;
	}
	fclose(f);
	*out = id;
	return 0;
fail:
	if (f)
		fclose(f);
	if (r == -ENOMEM)
		sc_err_set(err, "TLS: out of memory");
	guard_tls_identity_free(id);
	return r;
}

int guard_tls_context_new(const struct guard_tls_identity *id, const char *ca, const char *crl,
                          bool server, SSL_CTX **out, struct sc_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	X509_STORE *store;
	int r = -ENOMEM;

	*out = NULL;
	ERR_clear_error();
	if (!ctx) {
		sc_err_set(err, "TLS: cannot create a context");
		goto fail;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION)) {
		r = fail(err, "TLS", "1.3");
		goto fail;
	}
	/* AES-128-GCM first (AES-NI; the cheapest of the three here), all AEAD. */
	if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
	                                  "TLS_CHACHA20_POLY1305_SHA256") != 1) {
		r = fail(err, "TLS", "cipher suites");
		goto fail;
	}
	/* Read many records a system call; the relay drains what was read ahead
	 * (SSL_has_pending) before it polls again. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 128 * 1024);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (server)
		SSL_CTX_set_num_tickets(ctx, 0);
	if (SSL_CTX_use_certificate(ctx, id->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, id->key) != 1) {
		r = fail(err, "TLS", "identity");
		goto fail;
	}
	for (int i = 0; i < sk_X509_num(id->chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(id->chain, i)) != 1) {
			r = fail(err, "TLS", "chain");
			goto fail;
		}
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		r = fail(err, "CA", ca);
		goto fail;
	}
	store = SSL_CTX_get_cert_store(ctx);
	if (crl) {
		X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
		if (!lookup || X509_load_crl_file(lookup, crl, X509_FILETYPE_PEM) <= 0) {
			r = fail(err, "CRL", crl);
			goto fail;
		}
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return r;
}

void guard_tls_peer_subject(SSL *ssl, char *out, size_t size)
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	BIO *bio;
	long n;
	char *data;

	snprintf(out, size, "?");
	if (!peer)
		return;
	bio = BIO_new(BIO_s_mem());
	if (!bio)
		return;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(bio, &data);
		if (n > 0) {
			size_t len = (size_t)n < size - 1 ? (size_t)n : size - 1;
			memcpy(out, data, len);
			out[len] = '\0';
			/* One log line: no control characters from a peer's subject. */
			for (size_t i = 0; i < len; i++)
				if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
					out[i] = '?';
		}
	}
	BIO_free(bio);
}

/*
 * knock-forge: the integration tests' hands. It builds knocks good and bad
 * with libknock, sends bytes as they are (flipped, cut, padded), floods, and
 * plays the TCP server and client whose connects prove a port open or closed.
 * A test tool: it takes its inputs on trust and exits 0 on success, 1 on the
 * outcome it was asked to detect not happening, 2 on misuse.
 *
 *   forge --server-key PUB --cert CRT --key KEY --dest ADDR [--sign-key KEY2]
 *         [--port 22/tcp] [--time-offset S] [--open ADDR|source] [--nonce HEX] -o FILE
 *   send ADDR PORT FILE [--flip BIT] [--truncate N] [--append N]
 *   garbage ADDR PORT SIZE [--magic]
 *   flood ADDR PORT RATE SECONDS    (prints the rate reached)
 *   listen PORT...                  accept and close TCP connections forever
 *   echo PORT...                    accept TCP connections and echo what they send
 *   talk ADDR PORT [SOURCE]         connect (within 1 s), then send each line of stdin
 *                                   and wait up to 3 s for its echo; prints
 *                                   "connected" and "echoed: LINE" as it goes
 *   connect ADDR PORT [SOURCE]      exit 0 when a TCP connect succeeds within 1 s
 *   probe-udp ADDR PORT             exit 0 when nothing answers within 1 s
 *   probe-tcp ADDR PORT             exit 0 when a connect neither succeeds nor is refused
 *   vector                          print the test vector of docs/knock-protocol.md
 */
#include "knockd/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"

static void die(const char *what)
{
	fprintf(stderr, "knock-forge: %s\n", what);
	exit(2);
}

static int address_parse(const char *host, const char *port, struct sockaddr_storage *ss,
                         socklen_t *len)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV}, *ai;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		die("bad address");
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return ss->ss_family;
}

static int udp_to(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(address_parse(host, port, &ss, &len), SOCK_DGRAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		die("udp socket");
	return fd;
}

static int cmd_forge(int argc, char **argv)
{
	const char *server = NULL, *cert = NULL, *key = NULL, *sign = NULL, *open = NULL;
	const char *target = "22/tcp", *out = NULL, *nonce = NULL, *dest = NULL;
	struct knock_client_config *config;
	struct knock_request req;
	struct sc_err err;
	uint8_t packet[KNOCK_MAX_LEN], signer[32];
	long offset = 0;
	struct knock_port_range range;
	char spec[32];
	FILE *f;
	int n;

	for (int i = 0; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--server-key"))
			server = argv[i + 1];
		else if (!strcmp(argv[i], "--cert"))
			cert = argv[i + 1];
		else if (!strcmp(argv[i], "--key"))
			key = argv[i + 1];
		else if (!strcmp(argv[i], "--sign-key"))
			sign = argv[i + 1];
		else if (!strcmp(argv[i], "--port"))
			target = argv[i + 1];
		else if (!strcmp(argv[i], "--time-offset"))
			offset = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--open"))
			open = argv[i + 1];
		else if (!strcmp(argv[i], "--dest"))
			dest = argv[i + 1];
		else if (!strcmp(argv[i], "--nonce"))
			nonce = argv[i + 1];
		else if (!strcmp(argv[i], "-o"))
			out = argv[i + 1];
		else
			die("unknown forge option");
	}
	if (!out)
		die("forge needs -o FILE");
	if (knock_client_config_load(NULL, server, cert, key, &config, &err) < 0)
		die(err.msg);
	/* "22/tcp" as knock takes it, "tcp/22" as the config writes it. */
	if (strchr(target, '/') && target[0] >= '0' && target[0] <= '9') {
		const char *slash = strchr(target, '/');
		snprintf(spec, sizeof(spec), "%s/%.*s", slash + 1, (int)(slash - target), target);
	} else {
		snprintf(spec, sizeof(spec), "%s", target);
	}
	if (knock_port_range_parse(spec, &range) < 0)
		die("bad --port");
	if (open && !strcmp(open, "source"))
		open = NULL; /* family 0: the unsigned source address */
	if (knock_request_prepare(config, range.protocol, range.first, open, dest, &req) < 0)
		die("bad request");
	req.timestamp = (uint64_t)((long)req.timestamp + offset);
	if (nonce && sc_hex_decode(nonce, req.nonce, sizeof(req.nonce)) < 0)
		die("bad --nonce");
	memcpy(signer, config->signer, 32);
	if (sign && knock_ed25519_private_load(sign, signer) < 0)
		die("bad --sign-key");
	n = knock_packet_seal(&req, signer, config->server_pub, NULL, packet, sizeof(packet));
	if (n < 0)
		die("seal failed");
	f = fopen(out, "wb");
	if (!f || fwrite(packet, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0)
		die("cannot write the packet");
	knock_client_config_free(config);
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	uint8_t buf[70000] = {0};
	long flip = -1, truncate = -1, append = 0;
	size_t len;
	FILE *f;
	int fd;

	if (argc < 3)
		die("send ADDR PORT FILE");
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--flip"))
			flip = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--truncate"))
			truncate = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--append"))
			append = atol(argv[i + 1]);
		else
			die("unknown send option");
	}
	f = fopen(argv[2], "rb");
	if (!f)
		die("cannot read the packet");
	len = fread(buf, 1, 2000, f);
	fclose(f);
	if (flip >= 0) {
		if ((size_t)flip / 8 >= len)
			die("--flip past the end");
		buf[flip / 8] ^= (uint8_t)(1u << (flip % 8));
	}
	if (truncate >= 0 && (size_t)truncate < len)
		len = (size_t)truncate;
	if (append > 0) {
		if (len + (size_t)append > sizeof(buf))
			die("--append too large");
		sc_random_bytes(buf + len, (size_t)append);
		len += (size_t)append;
	}
	fd = udp_to(argv[0], argv[1]);
	if (send(fd, buf, len, 0) != (ssize_t)len)
		die("send failed");
	close(fd);
	return 0;
}

/* Random bytes; with MAGIC a valid header first, so the AEAD has to reject it. */
static void junk_make(uint8_t *buf, size_t len, int magic)
{
	sc_random_bytes(buf, len);
	if (magic && len >= KNOCK_HEADER_LEN) {
		uint8_t eph[32];
		memcpy(eph, buf + 8, 32);
		knock_header_write(buf, len, eph);
	}
}

static int cmd_garbage(int argc, char **argv)
{
	uint8_t buf[65000];
	size_t len;
	int fd;

	if (argc < 3)
		die("garbage ADDR PORT SIZE [--magic]");
	len = (size_t)atol(argv[2]);
	if (len > sizeof(buf))
		die("too large");
	junk_make(buf, len, argc > 3 && !strcmp(argv[3], "--magic"));
	fd = udp_to(argv[0], argv[1]);
	if (send(fd, buf, len, 0) != (ssize_t)len)
		die("send failed");
	close(fd);
	return 0;
}

/* Paced in 1 ms slices; half the datagrams carry a valid header (AEAD work). */
static int cmd_flood(int argc, char **argv)
{
	enum { KINDS = 64 };
	static uint8_t bufs[KINDS][600];
	double rate, seconds, start, now;
	uint64_t sent = 0;
	int fd;

	if (argc < 4)
		die("flood ADDR PORT RATE SECONDS");
	rate = atof(argv[2]);
	seconds = atof(argv[3]);
	for (int i = 0; i < KINDS; i++)
		junk_make(bufs[i], 200 + (size_t)i * 6, i % 2);
	fd = udp_to(argv[0], argv[1]);
	start = sc_now_monotonic();
	while ((now = sc_now_monotonic()) - start < seconds) {
		uint64_t due = (uint64_t)((now - start) * rate);
		while (sent < due) {
			uint8_t *b = bufs[sent % KINDS];
			/* A fresh ephemeral key, so no two AEAD attempts are alike. */
			memcpy(b + 8, &sent, sizeof(sent));
			send(fd, b, 200 + (sent % KINDS) * 6, 0);
			sent++;
		}
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	printf("%.0f\n", (double)sent / (sc_now_monotonic() - start));
	close(fd);
	return 0;
}

/* Echoes what a connection sent; false once it is closed (EOF or error). */
static bool echo_once(int fd)
{
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	return n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL) == n;
}

/*
 * Listens on PORTS (IPv4 and IPv6). LISTEN closes each connection at once;
 * ECHO keeps it and sends back what it receives until the peer closes.
 */
static _Noreturn void cmd_serve(int argc, char **argv, bool echo)
{
	enum { MAX_FDS = 256 };
	struct pollfd fds[MAX_FDS];
	int listeners = 0, count, one = 1, zero = 0;

	for (int i = 0; i < argc && listeners < 64; i++) {
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
		                          .sin6_port = htons((uint16_t)atoi(argv[i]))};
		int fd = socket(AF_INET6, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
			die("bind/listen");
		fds[listeners++] = (struct pollfd){.fd = fd, .events = POLLIN};
	}
	count = listeners;
	for (;;) {
		if (poll(fds, (nfds_t)count, -1) < 0)
			continue;
		for (int i = 0; i < count; i++) {
			if (!fds[i].revents)
				continue;
			if (i >= listeners) {
				if (echo_once(fds[i].fd))
					continue;
				close(fds[i].fd);
				fds[i--] = fds[--count];
				continue;
			}
			int c = accept(fds[i].fd, NULL, NULL);
			if (c < 0)
				continue;
			if (echo && count < MAX_FDS)
				fds[count++] = (struct pollfd){.fd = c, .events = POLLIN};
			else
				close(c);
		}
	}
}

/* 0 connected, -ECONNREFUSED refused, -ETIMEDOUT no answer within 1 s. */
static int tcp_try(const char *host, const char *port, const char *source)
{
	struct sockaddr_storage ss, src;
	socklen_t len, src_len;
	struct pollfd pfd;
	int fd, err = 0, family = address_parse(host, port, &ss, &len), r;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket");
	if (source) {
		address_parse(source, "0", &src, &src_len);
		if (bind(fd, (struct sockaddr *)&src, src_len) < 0)
			die("bind source");
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		close(fd);
		return 0;
	}
	if (errno != EINPROGRESS)
		die("connect");
	pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
	r = poll(&pfd, 1, 1000);
	if (r == 0) {
		close(fd);
		return -ETIMEDOUT;
	}
	len = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	close(fd);
	return -err;
}

static int cmd_connect(int argc, char **argv)
{
	if (argc < 2)
		die("connect ADDR PORT [SOURCE]");
	return tcp_try(argv[0], argv[1], argc > 2 ? argv[2] : NULL) == 0 ? 0 : 1;
}

/* Waits up to 3 s for LINE (with its newline) to come back on FD. */
static bool echo_wait(int fd, const char *line, size_t len)
{
	char buf[4096];
	size_t got = 0;
	double deadline = sc_now_monotonic() + 3;

	if (len == 0 || len > sizeof(buf))
		return false;
	while (got < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int left = (int)((deadline - sc_now_monotonic()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return false;
		n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return memcmp(buf, line, len) == 0;
}

/*
 * One long-lived TCP connection, driven by stdin: the tests write a line
 * while the port is open and another after its set element expired.
 */
static int cmd_talk(int argc, char **argv)
{
	struct sockaddr_storage ss, src;
	socklen_t len, src_len, err_len;
	struct pollfd pfd;
	char line[1024];
	int fd, err = 0;

	if (argc < 2)
		die("talk ADDR PORT [SOURCE]");
	fd = socket(address_parse(argv[0], argv[1], &ss, &len), SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket");
	if (argc > 2) {
		address_parse(argv[2], "0", &src, &src_len);
		if (bind(fd, (struct sockaddr *)&src, src_len) < 0)
			die("bind source");
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
		die("connect");
	pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
	err_len = sizeof(err);
	if (poll(&pfd, 1, 1000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0 ||
	    err != 0) {
		fprintf(stderr, "knock-forge: talk: cannot connect to %s port %s: %s\n", argv[0],
		        argv[1], err ? strerror(err) : "timed out");
		return 1;
	}
	printf("connected\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		size_t n = strlen(line);
		if (send(fd, line, n, MSG_NOSIGNAL) != (ssize_t)n || !echo_wait(fd, line, n)) {
			fprintf(stderr, "knock-forge: talk: no echo of '%.*s' within 3 s\n",
			        (int)(n && line[n - 1] == '\n' ? n - 1 : n), line);
			return 1;
		}
		printf("echoed: %s", line);
		fflush(stdout);
	}
	close(fd);
	return 0;
}

static int cmd_probe_tcp(int argc, char **argv)
{
	int r;

	if (argc < 2)
		die("probe-tcp ADDR PORT");
	r = tcp_try(argv[0], argv[1], NULL);
	if (r != -ETIMEDOUT)
		fprintf(stderr, "knock-forge: tcp probe got an answer: %s\n",
		        r == 0 ? "connected" : strerror(-r));
	return r == -ETIMEDOUT ? 0 : 1;
}

static int cmd_probe_udp(int argc, char **argv)
{
	uint8_t buf[1500];
	struct pollfd pfd;
	int fd, r;

	if (argc < 2)
		die("probe-udp ADDR PORT");
	fd = udp_to(argv[0], argv[1]);
	/* Twice: an ICMP port unreachable for the first shows as an error on the second. */
	send(fd, "probe", 5, 0);
	pfd = (struct pollfd){.fd = fd, .events = POLLIN};
	r = poll(&pfd, 1, 1000);
	if (r == 0 && send(fd, "probe", 5, 0) == 5) {
		r = poll(&pfd, 1, 500);
	}
	if (r > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		fprintf(stderr, "knock-forge: udp probe got an answer: %s\n",
		        n >= 0 ? "a datagram" : strerror(errno));
		return 1;
	}
	if (r == 0 && send(fd, "probe", 5, 0) < 0) {
		fprintf(stderr, "knock-forge: udp probe got an ICMP error: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static void hex_print(const char *name, const uint8_t *data, size_t len)
{
	printf("%s =", name);
	for (size_t i = 0; i < len; i++)
		printf("%s%02x", i % 32 == 0 ? "\n    " : "", data[i]);
	printf("\n");
}

/* The test vector of docs/knock-protocol.md, from fixed keys. */
static int cmd_vector(void)
{
	uint8_t server_priv[32], client_priv[32], eph[32], server_pub[32], client_pub[32];
	uint8_t packet[KNOCK_MAX_LEN];
	static const uint8_t cert[] = "not a certificate: the codec carries any DER";
	struct knock_request req = {
	    .protocol = IPPROTO_TCP,
	    .family = KNOCK_ADDRESS_IPV4,
	    .port = 3300,
	    .address = {192, 0, 2, 7},
	    .dest_family = KNOCK_ADDRESS_IPV4,
	    .destination = {192, 0, 2, 1},
	    .timestamp = 1767225600, /* 2026-01-01T00:00:00Z */
	    .cert = cert,
	    .cert_len = sizeof(cert) - 1,
	};
	int n;

	for (int i = 0; i < 32; i++) {
		server_priv[i] = (uint8_t)(0x10 + i);
		client_priv[i] = (uint8_t)(0x40 + i);
		eph[i] = (uint8_t)(0x70 + i);
	}
	for (int i = 0; i < 16; i++)
		req.nonce[i] = (uint8_t)(0xa0 + i);
	sc_x25519_public(server_priv, server_pub);
	sc_ed25519_public(client_priv, client_pub);
	n = knock_packet_seal(&req, client_priv, server_pub, eph, packet, sizeof(packet));
	if (n < 0)
		die("seal failed");
	hex_print("server_private", server_priv, 32);
	hex_print("server_public", server_pub, 32);
	hex_print("client_private", client_priv, 32);
	hex_print("client_public", client_pub, 32);
	hex_print("ephemeral_private", eph, 32);
	hex_print("nonce", req.nonce, 16);
	hex_print("certificate", cert, sizeof(cert) - 1);
	hex_print("packet", packet, (size_t)n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: knock-forge "
		    "forge|send|garbage|flood|listen|echo|talk|connect|probe-udp|probe-tcp|vector "
		    "...");
	argc -= 2;
	if (!strcmp(argv[1], "forge"))
		return cmd_forge(argc, argv + 2);
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc, argv + 2);
	if (!strcmp(argv[1], "garbage"))
		return cmd_garbage(argc, argv + 2);
	if (!strcmp(argv[1], "flood"))
		return cmd_flood(argc, argv + 2);
	if (!strcmp(argv[1], "listen"))
		cmd_serve(argc, argv + 2, false);
	if (!strcmp(argv[1], "echo"))
		cmd_serve(argc, argv + 2, true);
	if (!strcmp(argv[1], "talk"))
		return cmd_talk(argc, argv + 2);
	if (!strcmp(argv[1], "connect"))
		return cmd_connect(argc, argv + 2);
	if (!strcmp(argv[1], "probe-udp"))
		return cmd_probe_udp(argc, argv + 2);
	if (!strcmp(argv[1], "probe-tcp"))
		return cmd_probe_tcp(argc, argv + 2);
	if (!strcmp(argv[1], "vector"))
		return cmd_vector();
	die("unknown command");
	return 2;
}

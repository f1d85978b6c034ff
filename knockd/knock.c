/*
 * knock: sends one knock (or --repeat N fresh ones) to a knockd and exits.
 * knockd never answers, so success here means "sent"; whether the port
 * opened, the client learns by connecting.
 */
#include "knockd/wire.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define DEFAULT_CONFIG "/etc/knock/knock.conf"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: knock [-c CONFIG] [options] HOST PORT[/tcp|/udp]\n"
	    "\n"
	    "Sends one certificate-signed knock to knockd on HOST asking it to open PORT\n"
	    "(TCP unless /udp is given) for the address this host sends from towards HOST\n"
	    "(signed into the knock, with HOST's address), then exits 0. knockd never\n"
	    "answers: connect to the port to see it open.\n"
	    "\n"
	    "  -c, --config FILE        client config, group knock { server_key; certificate;\n"
	    "                           key; port; } (default " DEFAULT_CONFIG ")\n"
	    "      --server-key FILE    knockd's X25519 public key (PEM)\n"
	    "      --cert FILE          this client's certificate (PEM)\n"
	    "      --key FILE           this client's Ed25519 private key (PEM)\n"
	    "  -p, --knock-port N       knockd's UDP knock port (default %d)\n"
	    "  -o, --open-address ADDR  ask to open the port for ADDR (IPv4 or IPv6) instead\n"
	    "                           of the address the knock leaves from (NAT); the knock\n"
	    "                           goes over ADDR's family\n"
	    "  -4, -6                   knock (and so open) over IPv4 or IPv6 only\n"
	    "      --pad                pad the knock to 1200 bytes, so its size tells nothing\n"
	    "  -r, --repeat N           send N knocks, each fresh, for lossy links (default 1)\n"
	    "  -i, --interval MS        milliseconds between repeated knocks (default 200)\n"
	    "  -h, --help               this help\n"
	    "  -V, --version            print the version\n",
	    KNOCK_DEFAULT_PORT);
}

static int target_parse(const char *text, uint16_t *port, uint8_t *protocol)
{
	char buf[32], *slash, *end;
	unsigned long value;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	*protocol = 6;
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		*protocol = knock_protocol_parse(slash + 1);
		if (!*protocol)
			return -EINVAL;
	}
	errno = 0;
	value = strtoul(buf, &end, 10);
	if (errno || end == buf || *end || value == 0 || value > 65535)
		return -EINVAL;
	*port = (uint16_t)value;
	return 0;
}

static int number_parse(const char *text, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return errno || end == text || *end || *out < min || *out > max ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"server-key", required_argument, NULL, 'S'},
	    {"cert", required_argument, NULL, 'C'},
	    {"key", required_argument, NULL, 'K'},
	    {"knock-port", required_argument, NULL, 'p'},
	    {"open-address", required_argument, NULL, 'o'},
	    {"repeat", required_argument, NULL, 'r'},
	    {"interval", required_argument, NULL, 'i'},
	    {"pad", no_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *server_key = NULL, *cert = NULL, *key = NULL;
	const char *open = NULL;
	long repeat = 1, interval = 200, knock_port = 0;
	int family = AF_UNSPEC;
	bool pad = false;
	struct knock_client_config *config = NULL;
	struct sc_err err = {{0}};
	uint8_t protocol;
	uint16_t port;
	int c, r = 0;

	while ((c = getopt_long(argc, argv, "c:p:o:r:i:46hV", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'S':
			server_key = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'o':
			open = optarg;
			break;
		case 'p':
			if (number_parse(optarg, 1, 65535, &knock_port) < 0)
				goto bad_number;
			break;
		case 'r':
			if (number_parse(optarg, 1, 1000, &repeat) < 0)
				goto bad_number;
			break;
		case 'i':
			if (number_parse(optarg, 0, 60000, &interval) < 0)
				goto bad_number;
			break;
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'P':
			pad = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("knock %s\n", SC_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (target_parse(argv[optind + 1], &port, &protocol) < 0) {
		fprintf(stderr, "knock: '%s' is not PORT, PORT/tcp or PORT/udp\n",
		        argv[optind + 1]);
		return 2;
	}
	if (!config_path && !(server_key && cert && key))
		config_path = DEFAULT_CONFIG;
	r = knock_client_config_load(config_path, server_key, cert, key, &config, &err);
	if (r < 0) {
		fprintf(stderr, "knock: %s\n", err.msg);
		return 1;
	}
	if (knock_port)
		config->knock_port = (uint16_t)knock_port;
	if (family != AF_UNSPEC)
		config->family = family;
	if (pad)
		config->pad = true;
	for (long i = 0; i < repeat; i++) {
		if (i > 0 && interval > 0)
			nanosleep(&(struct timespec){interval / 1000, (interval % 1000) * 1000000L},
			          NULL);
		r = knock_client_send(config, argv[optind], protocol, port, open, &err);
		if (r < 0) {
			fprintf(stderr, "knock: %s\n", err.msg);
			break;
		}
	}
	knock_client_config_free(config);
	return r < 0 ? 1 : 0;
bad_number:
	fprintf(stderr, "knock: bad number '%s'\n", optarg);
	return 2;
}

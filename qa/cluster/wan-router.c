/*
 * wan-router: the WAN of qa/cluster/sites, in user space, because the test
 * machine's kernel has no netem. One process per test bed owns a TUN device
 * in every site's network namespace ("wan0") and one in the host's
 * ("scwBh"), and forwards IPv4 packets between them by destination address:
 * 10.(200+B).I.0/24 is site I, 10.(200+B).255.0/30 the host; anything else
 * is dropped, so nothing a site sends can leave the test bed.
 *
 * Each site's link is shaped in both directions as netem would: a one-way
 * delay of half its round trip, a rate (packets leave one after the other at
 * that rate, then travel the delay) and a loss probability; a cut link drops
 * everything. The host's link is unshaped. Shapes come from DIR/SITE.shape
 * ("RTT_US RATE LOSS CUT", written by the sites script) at start and on
 * SIGHUP. TUN devices carry virtio-net headers with TSO on, so a TCP stream
 * crosses as 64 KiB segments, not 1500-byte packets.
 *
 *   wan-router --dir DIR --block B --host-if NAME SITE:INDEX...
 * It prints "ready" on stdout once every device exists, then runs until
 * SIGTERM. Single-threaded: no lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_SITES 200
#define HOST_LINK 0
#define PACKET_MAX (65536 + sizeof(struct virtio_net_hdr))
#define QUEUE_BYTES_MAX (64u << 20) /* per direction, as netem's limit */
#define READ_BURST 64

struct packet {
	struct packet *next;
	uint64_t release_ns;
	size_t len;
	unsigned char data[];
};

/* One direction of a link: packets in order of release. */
struct queue {
	struct packet *head, *tail;
	size_t bytes;
	uint64_t busy_until_ns; /* when the last queued packet has left at the rate */
};

struct link {
	char name[32];
	int fd;
	uint64_t delay_ns;  /* one way */
	uint64_t rate_bps;  /* bytes per second; 0 unlimited */
	double loss;        /* 0..1 */
	int cut;
	struct queue up;    /* from the site toward the router */
	struct queue down;  /* from the router toward the site */
	uint64_t dropped;
};

static struct link links[MAX_SITES + 1]; /* [0] the host, [I] site I */
static unsigned link_count;
static const char *state_dir;
static unsigned block;
static volatile sig_atomic_t reload, stop;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void die(const char *what)
{
	fprintf(stderr, "wan-router: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double random_unit(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* "1gbit", "100mbit", "10mbps" (bytes, as tc says), "0" for unlimited. */
static uint64_t rate_parse(const char *text)
{
	static const struct {
		const char *unit;
		double bytes;
	} units[] = {
		{"tbit", 1e12 / 8}, {"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8},
		{"bit", 1.0 / 8},   {"gbps", 1e9},     {"mbps", 1e6},     {"kbps", 1e3},
		{"bps", 1},
	};
	char *end;
	double v = strtod(text, &end);

	if (end == text || v < 0)
		return 0;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].unit) == 0)
			return (uint64_t)(v * units[i].bytes);
	return 0;
}

static void shape_load(struct link *l)
{
	char path[4096], rate[64], loss[64];
	unsigned long long rtt;
	int cut;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.shape", state_dir, l->name);
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "wan-router: %s: %s (keeping the old shape)\n", path, strerror(errno));
		return;
	}
	if (fscanf(f, "%llu %63s %63s %d", &rtt, rate, loss, &cut) == 4) {
		l->delay_ns = rtt * 1000u / 2;
		l->rate_bps = rate_parse(rate);
		l->loss = strtod(loss, NULL) / 100.0;
		l->cut = cut;
	} else {
		fprintf(stderr, "wan-router: %s: not 'RTT_US RATE LOSS CUT'\n", path);
	}
	fclose(f);
}

/* A TUN device NAME in the network namespace NETNS (NULL: ours). */
static int tun_open(const char *netns, const char *name)
{
	unsigned offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	int self = -1, ns = -1, fd, hdr = sizeof(struct virtio_net_hdr);
	struct ifreq ifr = {0};
	char path[512];

	if (netns) {
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		ns = open(path, O_RDONLY | O_CLOEXEC);
		if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET) < 0)
			die(path);
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		die("/dev/net/tun");
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, offload) < 0)
		die(name);
	if (netns) {
		if (setns(self, CLONE_NEWNET) < 0)
			die("back to our namespace");
		close(self);
		close(ns);
	}
	return fd;
}

static void queue_push(struct queue *q, struct link *l, const unsigned char *data, size_t len,
                       uint64_t now)
{
	struct packet *p;
	uint64_t start;

	if (l->cut || (l->loss > 0 && random_unit() < l->loss) || q->bytes + len > QUEUE_BYTES_MAX) {
		l->dropped++;
		return;
	}
	p = malloc(sizeof(*p) + len);
	if (!p) {
		l->dropped++;
		return;
	}
	memcpy(p->data, data, len);
	p->len = len;
	p->next = NULL;
	start = q->busy_until_ns > now ? q->busy_until_ns : now;
	if (l->rate_bps)
		start += (uint64_t)len * 1000000000u / l->rate_bps;
	q->busy_until_ns = start;
	p->release_ns = start + l->delay_ns;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->bytes += len;
}

static struct packet *queue_pop_due(struct queue *q, uint64_t now)
{
	struct packet *p = q->head;

	if (!p || p->release_ns > now)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= p->len;
	return p;
}

/* The link that owns the packet's IPv4 destination, or -1 to drop it. */
static int route(const unsigned char *data, size_t len)
{
	const unsigned char *ip = data + sizeof(struct virtio_net_hdr);

	if (len < sizeof(struct virtio_net_hdr) + 20 || (ip[0] >> 4) != 4)
		return -1;
	if (ip[16] != 10 || ip[17] != 200 + block)
		return -1;
	if (ip[18] == 255)
		return HOST_LINK;
	return ip[18] >= 1 && ip[18] < link_count ? ip[18] : -1;
}

static void deliver(int to, const unsigned char *data, size_t len, uint64_t now)
{
	if (to == HOST_LINK) {
		if (write(links[HOST_LINK].fd, data, len) < 0)
			links[HOST_LINK].dropped++;
	} else {
		queue_push(&links[to].down, &links[to], data, len, now);
	}
}

static void on_readable(unsigned index, uint64_t now)
{
	static unsigned char buf[PACKET_MAX];
	struct link *l = &links[index];

	for (int i = 0; i < READ_BURST; i++) {
		ssize_t n = read(l->fd, buf, sizeof(buf));
		int to;

		if (n < 0)
			return; /* EAGAIN, or the device went away with its namespace */
		to = route(buf, (size_t)n);
		if (to < 0 || (unsigned)to == index)
			continue;
		if (index == HOST_LINK)
			deliver(to, buf, (size_t)n, now);
		else
			queue_push(&l->up, l, buf, (size_t)n, now);
	}
}

/* Moves every due packet one hop on; returns the next release time or 0. */
static uint64_t release_due(uint64_t now)
{
	uint64_t next = 0;

	for (unsigned i = 1; i < link_count; i++) {
		struct link *l = &links[i];
		struct packet *p;

		while ((p = queue_pop_due(&l->up, now))) {
			int to = route(p->data, p->len);
			if (to >= 0)
				deliver(to, p->data, p->len, now);
			free(p);
		}
		while ((p = queue_pop_due(&l->down, now))) {
			if (write(l->fd, p->data, p->len) < 0)
				l->dropped++;
			free(p);
		}
	}
	for (unsigned i = 1; i < link_count; i++) {
		struct packet *heads[2] = {links[i].up.head, links[i].down.head};
		for (int j = 0; j < 2; j++)
			if (heads[j] && (!next || heads[j]->release_ns < next))
				next = heads[j]->release_ns;
	}
	return next;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	const char *host_if = NULL;
	int ep, i;

	for (i = 1; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--dir") == 0)
			state_dir = argv[i + 1];
		else if (strcmp(argv[i], "--block") == 0)
			block = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--host-if") == 0)
			host_if = argv[i + 1];
		else
			break;
	}
	if (!state_dir || !host_if || block > 49 || i >= argc) {
		fprintf(stderr, "usage: wan-router --dir DIR --block B --host-if NAME SITE:INDEX...\n");
		return 2;
	}
	links[HOST_LINK].fd = tun_open(NULL, host_if);
	snprintf(links[HOST_LINK].name, sizeof(links[HOST_LINK].name), "%s", host_if);
	link_count = 1;
	for (; i < argc; i++) {
		char *colon = strrchr(argv[i], ':');
		unsigned index = colon ? (unsigned)atoi(colon + 1) : 0;

		if (!colon || index != link_count || index > MAX_SITES ||
		    (size_t)(colon - argv[i]) >= sizeof(links[0].name)) {
			fprintf(stderr, "wan-router: '%s': want SITE:%u\n", argv[i], link_count);
			return 2;
		}
		snprintf(links[index].name, sizeof(links[index].name), "%.*s", (int)(colon - argv[i]),
		         argv[i]);
		links[index].fd = tun_open(links[index].name, "wan0");
		shape_load(&links[index]);
		link_count++;
	}

	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll");
	for (unsigned j = 0; j < link_count; j++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = j};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, links[j].fd, &ev) < 0)
			die("epoll_ctl");
	}
	printf("ready\n");
	fflush(stdout);

	uint64_t next = 0;
	while (!stop) {
		struct epoll_event evs[16];
		struct timespec timeout, *tp = NULL;
		uint64_t now = now_ns();
		int n;

		if (next) {
			uint64_t wait = next > now ? next - now : 0;
			timeout.tv_sec = (time_t)(wait / 1000000000u);
			timeout.tv_nsec = (long)(wait % 1000000000u);
			tp = &timeout;
		}
		n = epoll_pwait2(ep, evs, 16, tp, NULL);
		if (n < 0 && errno != EINTR)
			die("epoll_pwait2");
		now = now_ns();
		for (int j = 0; j < n; j++)
			on_readable(evs[j].data.u32, now);
		if (reload) {
			reload = 0;
			for (unsigned j = 1; j < link_count; j++)
				shape_load(&links[j]);
		}
		next = release_due(now_ns());
	}
	return 0;
}

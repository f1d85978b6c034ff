# Sourced by the guard workunits. Two sites of the WAN test bed
# (qa/cluster/sites): dc-a with cluster A (with a mgr) on an address only dc-a
# has (10.77.0.1 on its loopback: dc-b's packets to it reach the WAN router,
# which drops them), knockd in front of serve; dc-b with cluster B, the real
# rbd-mirror and connect. PKI made with knockd's documented openssl commands.
# Everything is removed by the EXIT trap, even when a check fails.
#
# Environment (set by meson): GUARD KNOCKD KNOCK SITES MICRO_CEPH MAKE_PKI SITES_WAN_ROUTER.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs root (network namespaces, nftables)"
	exit 77
fi
: "${GUARD:?}" "${KNOCKD:?}" "${KNOCK:?}" "${SITES:?}" "${MICRO_CEPH:?}" "${MAKE_PKI:?}"

RUN=grd$(printf '%x' $$ | tail -c 5)
SA=${RUN}a SB=${RUN}b
WORK=$(mktemp -d /tmp/grd-test.XXXXXX)
chmod 0755 "$WORK" # serve reads the CA and CRL after dropping to nobody
CA=dca CB=dcb
A_IP=10.77.0.1
SERVE_PORT=7443
LISTEN_PORT=7444
TABLE=grd_connect
KNOCK_TABLE=grd_knockd
POOL=rbd
PIDS=""
KNOCKD_PID="" SERVE_PID="" CONNECT_PID="" MIRROR_PID=""

cleanup() {
	status=$?
	set +e
	# Every daemon here holds the cluster lock's descriptor: none may outlive
	# the test. TERM, up to 10 s, then KILL.
	all="$CONNECT_PID $SERVE_PID $KNOCKD_PID $MIRROR_PID $PIDS"
	for pid in $all; do kill "$pid" 2>/dev/null; done
	for _ in $(seq 100); do
		alive=""
		for pid in $all; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in $alive; do kill -KILL "$pid" 2>/dev/null; done
	for pid in $all; do wait "$pid" 2>/dev/null; done
	if [ "$status" -ne 0 ]; then
		for f in serve.log connect.log knockd.log rbd-mirror.log; do
			[ -f "$WORK/$f" ] || continue
			echo "---- $f (last 30 lines) ----" >&2
			tail -n 30 "$WORK/$f" >&2
		done
	fi
	timeout 120 "$MICRO_CEPH" stop --dir "$WORK" >/dev/null 2>&1
	timeout 60 "$SITES" down --dir "$WORK" >/dev/null 2>&1
	rm -rf "$WORK"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
pass() { echo "ok: $*"; }

in_a() { ip netns exec "$SA" "$@"; }
in_b() { ip netns exec "$SB" "$@"; }
rbd_a() { in_a timeout 60 rbd -c "$WORK/$CA.conf" "$@"; }
rbd_b() { in_b timeout 60 rbd -c "$WORK/$CB.conf" "$@"; }

# Waits up to SECONDS for a command to succeed.
wait_for() {
	seconds=$1
	shift
	end=$(($(date +%s) + seconds))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 1
	done
}

sites_setup() {
	"$SITES" up --dir "$WORK" --rtt "${RTT:-2ms}" "$SA" "$SB" >/dev/null
	SA_IP=$(cat "$WORK/$SA.addr") SB_IP=$(cat "$WORK/$SB.addr")
	if [ "${A_ON_WAN:-0}" = 1 ]; then
		# Cluster A on dc-a's WAN address: dc-b reaches it directly (benchmarks).
		A_IP=$SA_IP
		return 0
	fi
	in_a ip addr add $A_IP/32 dev lo
	# dc-b can send to A's network (a route, as a WAN default route would be),
	# but the WAN router carries nothing outside the test bed: without the
	# guard those packets are lost.
	in_b ip route add 10.77.0.0/16 dev wan0 src "$SB_IP"
}

# The pool is made here, not by micro-ceph (which tags its pools 'rados').
pool_make() { # CLUSTER NS
	ip netns exec "$2" timeout 60 ceph -c "$WORK/$1.conf" osd pool create $POOL 8 >/dev/null 2>&1
	ip netns exec "$2" timeout 120 rbd -c "$WORK/$1.conf" pool init $POOL
}

clusters_setup() { # [a]: cluster A only
	"$MICRO_CEPH" start --dir "$WORK" --netns "$SA" --ip $A_IP --mgr $CA >/dev/null
	pool_make $CA "$SA"
	[ "${1:-}" = a ] && return 0
	"$MICRO_CEPH" start --dir "$WORK" --netns "$SB" --ip "$SB_IP" $CB >/dev/null
	pool_make $CB "$SB"
}

pki_setup() {
	mkdir -p "$WORK/pki" "$WORK/other"
	"$MAKE_PKI" ca "$WORK/pki" 2>/dev/null
	"$MAKE_PKI" server "$WORK/pki"
	EKU=serverAuth "$MAKE_PKI" client "$WORK/pki" guard-serve
	"$MAKE_PKI" client "$WORK/pki" dcb-mirror tcp/$SERVE_PORT
	"$MAKE_PKI" client "$WORK/pki" dcb-revoked tcp/$SERVE_PORT
	"$MAKE_PKI" revoke "$WORK/pki" dcb-revoked
	"$MAKE_PKI" ca "$WORK/other" 2>/dev/null
	"$MAKE_PKI" client "$WORK/other" mallory tcp/$SERVE_PORT
	chmod 0644 "$WORK/pki/ca.crt" "$WORK/pki/crl.pem"
}

configs_write() {
	cat > "$WORK/knockd.conf" <<CONF
knockd = {
  table = "$KNOCK_TABLE";
  nflog_group = 4712;
  server_key = "pki/server.key";
  ca = "pki/ca.crt";
  crl = "pki/crl.pem";
  open_seconds = 30;
  time_window = 30;
  state_file = "knockd-state/replay-cache";
  protect = [ "tcp/$SERVE_PORT" ];
};
CONF
	cat > "$WORK/guard.conf" <<CONF
serve = {
  listen = "$SA_IP";
  port = $SERVE_PORT;
  cluster = "$CA";
  conf_dir = ".";
  certificate = "pki/guard-serve.crt";
  key = "pki/guard-serve.key";
  ca = "pki/ca.crt";
  crl = "pki/crl.pem";
  user = "nobody";
  refresh_seconds = 2;
  ${SERVE_ALLOW:+allow = \"$SERVE_ALLOW\";}
  status_socket = "serve.sock";
  log_level = "info";
};
connect = {
  server = "$SA_IP";
  port = $SERVE_PORT;
  listen_port = $LISTEN_PORT;
  certificate = "${CONNECT_CERT:-pki/dcb-mirror.crt}";
  key = "${CONNECT_KEY:-pki/dcb-mirror.key}";
  ca = "pki/ca.crt";
  crl = "pki/crl.pem";
  knock_server_key = "pki/server.pub";
  knock_refresh_seconds = 10;
  table = "$TABLE";
  refresh_seconds = 2;
  connect_seconds = 5;
  status_socket = "connect.sock";
  log_level = "debug";
};
CONF
}

knockd_start() {
	ip netns exec "$SA" "$KNOCKD" -c "$WORK/knockd.conf" --log-file "$WORK/knockd.log" &
	KNOCKD_PID=$!
	wait_for 10 grep -q "started" "$WORK/knockd.log" || fail "knockd did not start"
}

serve_start() {
	ip netns exec "$SA" "$GUARD" serve -c "$WORK/guard.conf" --log-file "$WORK/serve.log" &
	SERVE_PID=$!
	wait_for 30 test -S "$WORK/serve.sock" || fail "serve did not start"
}

serve_stop() {
	kill -TERM "$SERVE_PID"
	wait "$SERVE_PID" || fail "serve exited non-zero on SIGTERM"
	SERVE_PID=""
	rm -f "$WORK/serve.sock"
}

connect_start() {
	rm -f "$WORK/connect.sock"
	ip netns exec "$SB" "$GUARD" connect -c "$WORK/guard.conf" --log-file "$WORK/connect.log" "$@" &
	CONNECT_PID=$!
	wait_for 10 test -S "$WORK/connect.sock" || fail "connect did not start"
}

connect_stop() {
	kill -TERM "$CONNECT_PID"
	wait "$CONNECT_PID" || fail "connect exited non-zero on SIGTERM"
	CONNECT_PID=""
}

connect_status() { "$GUARD" status "$WORK/connect.sock"; }
serve_status() { "$GUARD" status "$WORK/serve.sock"; }
tunnel_up() { connect_status | grep -q '"tunnel_up":true'; }

mirror_start() {
	# rbd-mirror opens further connections of its own that find the local
	# cluster only through CEPH_CONF (or ./CLUSTER.conf).
	(cd "$WORK" && CEPH_CONF=$WORK/$CB.conf exec ip netns exec "$SB" rbd-mirror \
		-c "$WORK/$CB.conf" --id rbd-mirror.a -f --log-file "$WORK/rbd-mirror.log" \
		--pid-file "$WORK/rbd-mirror.pid" --admin-socket "$WORK/rbd-mirror.asok" \
		2>>"$WORK/rbd-mirror.log") &
	MIRROR_PID=$!
}

table_present() { in_b nft list table inet $TABLE >/dev/null 2>&1; }

pool_enable() {
	in_b "$GUARD" pool enable $POOL --primary $CA --secondary $CB --conf-dir "$WORK" \
		--timeout 60 "$@"
}

image_md5() { # SIDE IMAGE
	"rbd_$1" export "$POOL/$2" - 2>/dev/null | md5sum | cut -d' ' -f1
}

# Waits until IMAGE on B has A's content (md5 of an export), up to SECONDS.
converged() {
	a=$(image_md5 a "$1")
	b=$(image_md5 b "$1" || true)
	[ -n "$a" ] && [ "$a" = "$b" ]
}
wait_converged() { # IMAGE SECONDS
	wait_for "$2" converged "$1" || fail "image $1 did not converge on $CB within $2 s " \
		"(A $(image_md5 a "$1"), B $(image_md5 b "$1" || echo none))"
}

# The bed: sites, clusters ("a": A only), PKI, knockd, serve, connect, tunnel up.
guard_setup() {
	sites_setup
	clusters_setup "${1:-}"
	pki_setup
	configs_write
	knockd_start
	serve_start
	connect_start
	wait_for 30 tunnel_up || fail "the tunnel did not come up: $(connect_status)"
}

image_write() { # IMAGE MODE(journal|snapshot) MB
	feat=exclusive-lock
	[ "$2" = journal ] && feat=exclusive-lock,journaling
	rbd_a create --size 64M --image-feature "$feat" "$POOL/$1"
	rbd_a bench --io-type write --io-size 64K --io-threads 4 --io-total "${3:-16}M" \
		--io-pattern rand "$POOL/$1" >/dev/null
}

# guard_setup, then IMAGE (journal mode) written, pool enable, rbd-mirror, converged.
mirror_setup() {
	guard_setup
	image_write img-j journal 16
	pool_enable --image-mode journal >/dev/null || fail "pool enable failed"
	mirror_start
	wait_converged img-j 300
}

# More writes on A while nothing else happens: the content to converge to.
more_writes() { rbd_a bench --io-type write --io-size 64K --io-total "${1:-8}M" \
	--io-pattern rand "$POOL/img-j" >/dev/null; }

# A TLS client as NAME (cert and key in DIR, default pki) from dc-b, sending
# the bytes of stdin after the handshake; prints what serve answers.
tls_as() { # NAME [DIR]
	d=${2:-$WORK/pki}
	in_b timeout 10 openssl s_client -quiet -tls1_3 -connect "$SA_IP:$SERVE_PORT" \
		-cert "$d/$1.crt" -key "$d/$1.key" -CAfile "$WORK/pki/ca.crt" 2>/dev/null | od -An -c | tr -d ' \n'
}

# A knock from dc-b as NAME for the serve port (knock's own client).
knock_as() { # NAME [DIR]
	d=${2:-$WORK/pki}
	in_b "$KNOCK" --server-key "$WORK/pki/server.pub" --cert "$d/$1.crt" --key "$d/$1.key" \
		"$SA_IP" "$SERVE_PORT/tcp"
}

# Can dc-b open a TCP connection to serve's port?
port_open() { in_b timeout 3 bash -c "exec 3<>/dev/tcp/$SA_IP/$SERVE_PORT" 2>/dev/null; }

# A CONNECT flow header (docs/guard.md) for IPv4 ADDR:PORT, as printf escapes.
flow_header() { # ADDR PORT
	IFS=. read -r o1 o2 o3 o4 <<<"$1"
	printf 'SCGF\001\001\000\000\004\000'
	printf "\\$(printf %03o $(($2 >> 8)))\\$(printf %03o $(($2 & 255)))"
	printf "\\$(printf %03o "$o1")\\$(printf %03o "$o2")\\$(printf %03o "$o3")\\$(printf %03o "$o4")"
	printf '\000\000\000\000\000\000\000\000\000\000\000\000'
}

# Sourced by the knock workunits. Builds two hosts as network namespaces
# joined by a veth pair -- a server running the real knockd on real nftables,
# and a client with two addresses (the knocker's and a bystander's) -- plus a
# fresh PKI made with the documented openssl commands. Names are unique per
# run; everything is removed by the EXIT trap, even when a check fails.
#
# Environment (set by meson): KNOCKD KNOCK KNOCK_FORGE MAKE_PKI.
set -eu

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: needs root (network namespaces, nftables)"
	exit 77
fi
: "${KNOCKD:?}" "${KNOCK:?}" "${KNOCK_FORGE:?}" "${MAKE_PKI:?}"

RUN_ID=$(printf 'k%x%04x' $$ $((RANDOM % 65536)) | cut -c1-9)
NS_SERVER=$RUN_ID-srv
NS_CLIENT=$RUN_ID-cli
VETH_S=${RUN_ID}s
VETH_C=${RUN_ID}c
WORK=$(mktemp -d /tmp/knock-test.XXXXXX)
SERVER4=10.77.0.1 CLIENT4=10.77.0.2 OTHER4=10.77.0.3
SERVER6=fd77::1 CLIENT6=fd77::2 OTHER6=fd77::3
KNOCK_PORT=62201
TABLE=knockd
OPEN_SECONDS=3
BG_PIDS=""
KNOCKD_PID=""
MOUNTS=""
LOG=$WORK/knockd.log
STATE=$WORK/state/replay-cache

cleanup() {
	status=$?
	for pid in $KNOCKD_PID $BG_PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $KNOCKD_PID $BG_PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "$status" -ne 0 ] && [ -f "$LOG" ]; then
		echo "---- knockd log (last 40 lines) ----" >&2
		tail -n 40 "$LOG" >&2
	fi
	ip netns del "$NS_SERVER" 2>/dev/null || true
	ip netns del "$NS_CLIENT" 2>/dev/null || true
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null || true
	done
	rm -rf "$WORK"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pass() {
	echo "ok: $*"
}

in_server() { ip netns exec "$NS_SERVER" "$@"; }
in_client() { ip netns exec "$NS_CLIENT" "$@"; }

net_setup() {
	ip netns add "$NS_SERVER"
	ip netns add "$NS_CLIENT"
	ip link add "$VETH_S" netns "$NS_SERVER" type veth peer name "$VETH_C" netns "$NS_CLIENT"
	in_server ip link set lo up
	in_client ip link set lo up
	in_server ip addr add $SERVER4/24 dev "$VETH_S"
	in_server ip addr add $SERVER6/64 dev "$VETH_S" nodad
	in_client ip addr add $CLIENT4/24 dev "$VETH_C"
	in_client ip addr add $OTHER4/24 dev "$VETH_C"
	in_client ip addr add $CLIENT6/64 dev "$VETH_C" nodad
	in_client ip addr add $OTHER6/64 dev "$VETH_C" nodad preferred_lft 0
	in_server ip link set "$VETH_S" up
	in_client ip link set "$VETH_C" up
	# Connects leave from CLIENT4/CLIENT6 unless a test binds OTHER4/OTHER6.
	in_client ip route replace 10.77.0.0/24 dev "$VETH_C" src $CLIENT4
}

# CA, server key, and clients: alice (cert allows tcp/2222-2223), bob (revoked),
# carol (no extension; knockd.conf grants her tcp/2224), mallory (another CA).
pki_setup() {
	mkdir -p "$WORK/pki" "$WORK/other"
	"$MAKE_PKI" ca "$WORK/pki" 2>/dev/null
	"$MAKE_PKI" server "$WORK/pki"
	"$MAKE_PKI" client "$WORK/pki" alice tcp/2222-2223,tcp/9999
	"$MAKE_PKI" client "$WORK/pki" bob tcp/2222
	"$MAKE_PKI" client "$WORK/pki" carol
	"$MAKE_PKI" revoke "$WORK/pki" bob
	"$MAKE_PKI" ca "$WORK/other" 2>/dev/null
	"$MAKE_PKI" client "$WORK/other" mallory tcp/2222
}

config_write() {
	cat > "$WORK/knockd.conf" <<EOF
# knockd config of a workunit
knockd = {
  knock_port = $KNOCK_PORT;
  nflog_group = 4711;
  table = "$TABLE";
  server_key = "pki/server.key";
  ca = "pki/ca.crt";
  crl = "pki/crl.pem";
  open_seconds = $OPEN_SECONDS;
  time_window = 30;
  log_rejects_per_second = 0;
  status_file = "status.json";
  state_file = "state/replay-cache";
  protect = [ "tcp/2222", "tcp/2223", "tcp/2224" ];
  access = (
    { subject = "CN=carol,O=SafeCloud"; allow = "tcp/2224"; }
  );
};
EOF
}

knockd_start() {
	# The log is appended to: wait for this start's line, not an earlier one's.
	starts=$(log_count "started:")
	# Not through in_server: $! must be knockd itself (ip netns exec execs it).
	ip netns exec "$NS_SERVER" "$KNOCKD" -c "$WORK/knockd.conf" --log-file "$LOG" &
	KNOCKD_PID=$!
	for _ in $(seq 100); do
		[ "$(log_count "started:")" -gt "$starts" ] && return 0
		kill -0 "$KNOCKD_PID" 2>/dev/null || fail "knockd exited at start"
		sleep 0.05
	done
	fail "knockd did not start"
}

knockd_stop() {
	kill -TERM "$KNOCKD_PID"
	wait "$KNOCKD_PID" || fail "knockd exited non-zero on SIGTERM"
	KNOCKD_PID=""
}

listener_start() {
	ip netns exec "$NS_SERVER" "$KNOCK_FORGE" listen 2222 2223 2224 &
	BG_PIDS="$BG_PIDS $!"
}

setup_all() {
	net_setup
	pki_setup
	config_write
	listener_start
	knockd_start
}

# knock as NAME (a client of DIR, default the real PKI) for PORT[/proto].
knock_as() {
	name=$1 host=$2 port=$3
	shift 3
	dir=${PKI_DIR:-$WORK/pki}
	in_client "$KNOCK" --server-key "$WORK/pki/server.pub" --cert "$dir/$name.crt" \
		--key "$dir/$name.key" --knock-port $KNOCK_PORT "$@" "$host" "$port"
}

forge_as() {
	name=$1 out=$2
	shift 2
	dir=${PKI_DIR:-$WORK/pki}
	"$KNOCK_FORGE" forge --server-key "$WORK/pki/server.pub" --cert "$dir/$name.crt" \
		--key "$dir/$name.key" --dest $SERVER4 --open $CLIENT4 -o "$out" "$@"
}

send_raw() {
	in_client "$KNOCK_FORGE" send $SERVER4 $KNOCK_PORT "$@"
}

can_connect() { in_client "$KNOCK_FORGE" connect "$@"; }

set_elements() {
	in_server nft list set inet $TABLE allow4 | grep -o 'elements = {[^}]*}' || true
	in_server nft list set inet $TABLE allow6 | grep -o 'elements = {[^}]*}' || true
}

assert_sets_empty() {
	el=$(set_elements)
	[ -z "$el" ] || fail "$1: nftables sets not empty: $el"
}

# Lines of the log matching PATTERN (0 when there is no log yet).
log_count() {
	n=$(grep -c -- "$1" "$LOG" 2>/dev/null) || true
	echo "${n:-0}"
}

# Waits until the log has COUNT lines matching PATTERN (default 1).
log_wait() {
	pattern=$1 count=${2:-1}
	for _ in $(seq 100); do
		[ "$(grep -c -- "$pattern" "$LOG" || true)" -ge "$count" ] && return 0
		sleep 0.02
	done
	fail "log has no line matching '$pattern' (x$count)"
}

now_ms() { date +%s%3N; }

#!/bin/bash
# The drops never cut a host off from itself or its cluster: loopback and the
# `trusted` networks (the cluster's public and cluster networks) are accepted
# before them, without a knock; everyone else still needs one.
. "$(dirname "$0")/lib.sh"
net_setup
pki_setup
config_write
sed -i "s|^  protect = |  trusted = [ \"$OTHER4/32\", \"$OTHER6/128\" ];\n  protect = |" "$WORK/knockd.conf"
listener_start
knockd_start

in_server "$KNOCK_FORGE" connect 127.0.0.1 2222 || fail "the server cannot reach its own tcp/2222 on 127.0.0.1"
in_server "$KNOCK_FORGE" connect ::1 2222 || fail "the server cannot reach its own tcp/2222 on ::1"
in_server "$KNOCK_FORGE" connect $SERVER4 2223 || fail "the server cannot reach its own address"
pass "loopback reaches the protected ports"

can_connect $SERVER4 2222 $OTHER4 || fail "a trusted peer cannot reach tcp/2222"
can_connect $SERVER6 2224 $OTHER6 || fail "a trusted IPv6 peer cannot reach tcp/2224"
pass "trusted peers reach the protected ports without a knock"

can_connect $SERVER4 2222 && fail "an untrusted address reaches tcp/2222 without a knock"
can_connect $SERVER6 2222 && fail "an untrusted IPv6 address reaches tcp/2222 without a knock"
knock_as alice $SERVER4 2222/tcp
log_wait "accept src=$CLIENT4"
can_connect $SERVER4 2222 || fail "the knock did not open for the untrusted client"
pass "others still need a knock"

sed -i "s|\"$OTHER4/32\"|\"10.77.0.3/24\"|" "$WORK/knockd.conf"
in_server "$KNOCKD" -c "$WORK/knockd.conf" --check 2> "$WORK/bad.err" && fail "host bits accepted"
grep -q "setting 'trusted' must list networks" "$WORK/bad.err" || fail "no message: $(cat "$WORK/bad.err")"
pass "a trusted network with host bits set is refused"

#!/bin/bash
# SIGHUP reloads every setting or refuses, saying which: a new server key
# takes effect (knocks sealed to the old key fail, to the new one open), and
# a change that needs a restart (table, protect) is refused by name with the
# running configuration kept.
. "$(dirname "$0")/lib.sh"
setup_all

# A new server key.
mkdir -p "$WORK/new"
"$MAKE_PKI" server "$WORK/new"
cp "$WORK/pki/server.pub" "$WORK/old.pub"
sed -i "s|server_key = \"pki/server.key\"|server_key = \"new/server.key\"|" "$WORK/knockd.conf"
kill -HUP "$KNOCKD_PID"
log_wait "reloaded: server_key=$WORK/new/server.key (a new key)"
in_client "$KNOCK" --server-key "$WORK/old.pub" --cert "$WORK/pki/alice.crt" \
	--key "$WORK/pki/alice.key" --knock-port $KNOCK_PORT $SERVER4 2222/tcp
log_wait "reject src=$CLIENT4 subject=\"-\" reason=decrypt-failed"
can_connect $SERVER4 2222 && fail "a knock to the old key opened tcp/2222"
in_client "$KNOCK" --server-key "$WORK/new/server.pub" --cert "$WORK/pki/alice.crt" \
	--key "$WORK/pki/alice.key" --knock-port $KNOCK_PORT $SERVER4 2222/tcp
log_wait "accept src=$CLIENT4"
cp "$WORK/new/server.pub" "$WORK/pki/server.pub" # what knock_as hands the client
pass "SIGHUP applies a new server_key"

# A setting that needs a restart: refused by name, nothing changes.
sed -i 's/table = "knockd"/table = "knockd2"/; s/"tcp\/2224" \]/"tcp\/2224", "tcp\/2225" ]/' "$WORK/knockd.conf"
kill -HUP "$KNOCKD_PID"
log_wait "reload refused: table, protect changed, which needs a restart"
in_server nft list table inet knockd2 > /dev/null 2>&1 && fail "a refused reload made a table"
knock_as alice $SERVER4 2223/tcp
log_wait "accept src=$CLIENT4 .* tcp/2223"
pass "a reload that changes table and protect is refused, naming both"

# A broken CA file: refused, the running CA kept.
sed -i 's/table = "knockd2"/table = "knockd"/; s/, "tcp\/2225" \]/ ]/' "$WORK/knockd.conf"
sed -i 's|ca = "pki/ca.crt"|ca = "pki/nope.crt"|' "$WORK/knockd.conf"
kill -HUP "$KNOCKD_PID"
log_wait "reload refused: keeping the running configuration, server key, CA and CRL"
knock_as carol $SERVER4 2224/tcp
log_wait "accept src=$CLIENT4 subject=\"CN=carol,O=SafeCloud\" open=$CLIENT4 tcp/2224"
pass "a reload with an unreadable CA is refused, the running one kept"

#!/bin/bash
# A bad configuration stops knockd at start with "FILE:LINE: message" and a
# non-zero exit, and leaves the firewall exactly as it was. The programs'
# --help explains their options.
. "$(dirname "$0")/lib.sh"
net_setup
pki_setup
config_write
in_server nft add table inet bystander
in_server nft add chain inet bystander keep
in_server nft list ruleset > "$WORK/ruleset.before"

# bad_config NAME EXPECTED-STDERR-PATTERN, config text on stdin.
bad_config() {
	name=$1 pattern=$2
	cat > "$WORK/$name.conf"
	if in_server "$KNOCKD" -c "$WORK/$name.conf" --log-file - 2> "$WORK/$name.err"; then
		fail "$name: knockd started"
	fi
	grep -q -- "$pattern" "$WORK/$name.err" || fail "$name: message '$(cat "$WORK/$name.err")' lacks '$pattern'"
	in_server nft list ruleset > "$WORK/ruleset.after"
	cmp -s "$WORK/ruleset.before" "$WORK/ruleset.after" || fail "$name: the firewall changed"
	pass "$name: exit non-zero, '$(sed 's/.*error: //' "$WORK/$name.err" | head -1)', firewall untouched"
}

bad_config syntax "$WORK/syntax.conf:3: syntax error" <<'EOF2'
knockd = {
  knock_port = 62201;
  protect = [ "tcp/22" ;
};
EOF2
bad_config unknown "$WORK/unknown.conf:3: unknown setting 'open_secnds'" <<EOF2
knockd = {
  server_key = "$WORK/pki/server.key"; ca = "$WORK/pki/ca.crt"; crl = "none";
  open_secnds = 5;
  protect = "tcp/22";
};
EOF2
bad_config range "$WORK/range.conf:3: setting 'knock_port' is 70000" <<EOF2
knockd = {
  server_key = "$WORK/pki/server.key"; ca = "$WORK/pki/ca.crt"; crl = "none";
  knock_port = 70000;
  protect = "tcp/22";
};
EOF2
bad_config ports "$WORK/ports.conf:4: setting 'protect' must list ports" <<EOF2
knockd = {
  server_key = "$WORK/pki/server.key";
  ca = "$WORK/pki/ca.crt"; crl = "none";
  protect = [ "tcp/22", "sctp/9" ];
};
EOF2
bad_config taken-table "$WORK/taken-table.conf:4: table name 'filter' belongs to other programs" <<EOF2
knockd = {
  server_key = "$WORK/pki/server.key";
  ca = "$WORK/pki/ca.crt"; crl = "none";
  table = "filter";
  protect = "tcp/22";
};
EOF2
bad_config table "$WORK/table.conf:4: table name" <<EOF2
knockd = {
  server_key = "$WORK/pki/server.key";
  ca = "$WORK/pki/ca.crt"; crl = "none";
  table = "x; flush ruleset";
  protect = "tcp/22";
};
EOF2
bad_config missing-ca "$WORK/missing-ca.conf:3: $WORK/pki/nope.crt: cannot read" <<EOF2
knockd = {
  server_key = "$WORK/pki/server.key";
  ca = "$WORK/pki/nope.crt"; crl = "none";
  protect = "tcp/22";
};
EOF2
bad_config wrong-key "$WORK/wrong-key.conf:2: server_key .*: not an X25519 private key" <<EOF2
knockd = {
  server_key = "$WORK/pki/alice.key";
  ca = "$WORK/pki/ca.crt"; crl = "none";
  protect = "tcp/22";
};
EOF2

"$KNOCKD" --help | grep -q -- "--log-file" || fail "knockd --help"
"$KNOCK" --help > "$WORK/help"
for opt in --config --repeat --open-address --knock-port --server-key --cert --key --pad; do
	grep -q -- "$opt" "$WORK/help" || fail "knock --help does not explain $opt"
done
"$KNOCK" 2>/dev/null && fail "knock without arguments exits 0"
pass "--help of knockd and knock explains every option"

bad_config no-crl "$WORK/no-crl.conf:1: missing setting 'crl'" <<EOF2
knockd = {
  server_key = "$WORK/pki/server.key";
  ca = "$WORK/pki/ca.crt";
  protect = "tcp/22";
};
EOF2
in_server "$KNOCK" --server-key "$WORK/pki/server.key" --cert "$WORK/pki/alice.crt" \
	--key "$WORK/pki/alice.key" $SERVER4 2222 2> "$WORK/private.err" && fail "knock took a private key as --server-key"
grep -q "server.key: is knockd's private key; give its public key" "$WORK/private.err" ||
	fail "no clear message for a private --server-key: $(cat "$WORK/private.err")"
pass "knock --server-key refuses knockd's private key, saying so"

"$KNOCKD" -c "$WORK/knockd.conf" --check | grep -q "are valid" || fail "--check of a good config"
pass "knockd --check accepts the workunit's config"

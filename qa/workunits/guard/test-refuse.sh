#!/usr/bin/env bash
# serve is never an open proxy and lets no stranger in: a flow to an address
# outside cluster A's maps is refused and logged (through connect, and as a
# forged header over TLS); a garbled header is refused; a revoked
# certificate or one of another CA opens nothing with a knock and gets no
# TLS stream; a certificate revoked later is refused after SIGHUP reloads
# the CRL; a flood of bare connections leaves serve working; serve runs as
# nobody, every thread of it under seccomp.
. "$(dirname "$0")/lib.sh"

guard_setup a

# 1. Through connect: dc-b dials A's host on a port no map lists.
in_b timeout 8 bash -c "exec 3<>/dev/tcp/$A_IP/22; cat <&3" >/dev/null 2>&1 || true
wait_for 10 grep -q "refused flow from CN=dcb-mirror,O=SafeCloud .* to $A_IP:22: not in cluster $CA's maps" \
	"$WORK/serve.log" || fail "no refusal logged for $A_IP:22"
connect_status | grep -q '"refused":[1-9]' || fail "connect did not count the refusal: $(connect_status)"
pass "a flow to $A_IP:22 (not in the maps) is refused and logged"

# 2. A forged header straight over TLS, for serve's own host and for a site
# outside: the answer is 'refused' (status 1), and serve connects nowhere.
for dest in "$SA_IP 22" "$SB_IP 6789" "127.0.0.1 $SERVE_PORT"; do
	set -- $dest
	got=$(flow_header "$1" "$2" | tls_as dcb-mirror)
	[ "$got" = 'SCGR001001\0\0\0\0\0\0' ] || fail "forged flow to $1:$2: answer '$got'"
	grep -q "refused flow from CN=dcb-mirror,O=SafeCloud .* to $1:$2: not in" "$WORK/serve.log" ||
		fail "forged flow to $1:$2 not logged"
done
pass "forged flows to serve's host, to dc-b and to loopback are refused and logged"

got=$(printf 'SCGF\001\001\000\000\004\001\000\026\012\115\000\001\000\000\000\000\000\000\000\000\000\000\000\000' | tls_as dcb-mirror)
[ "$got" = 'SCGR001003\0\0\0\0\0\0' ] || fail "garbled header: answer '$got'"
grep -q "malformed flow header" "$WORK/serve.log" || fail "garbled header not logged"
pass "a header with a reserved byte set is answered bad-request and logged"

# 3. Revoked, and another CA: the knock opens nothing, TLS gives no stream.
knock_as dcb-revoked
wait_for 5 grep -q 'subject="CN=dcb-revoked,O=SafeCloud" reason=revoked' "$WORK/knockd.log" ||
	fail "knockd did not reject the revoked certificate's knock"
knock_as mallory "$WORK/other"
wait_for 5 grep -q 'subject="CN=mallory,O=SafeCloud" reason=bad-certificate' "$WORK/knockd.log" ||
	fail "knockd did not reject the other CA's knock"
pass "knocks with a revoked certificate or another CA's are rejected by knockd"
# The port is open for dc-b (connect knocked): TLS itself must refuse them.
got=$(printf 'SCGF\001\002\000\000%020d' 0 | tr 0 '\000' | tls_as dcb-revoked)
[ -z "$got" ] || fail "a revoked certificate got an answer: $got"
wait_for 5 grep -q "handshake failed: certificate revoked" "$WORK/serve.log" ||
	fail "no 'certificate revoked' handshake failure logged"
got=$(printf 'SCGF\001\002\000\000%020d' 0 | tr 0 '\000' | tls_as mallory "$WORK/other")
[ -z "$got" ] || fail "another CA's certificate got an answer: $got"
grep -q "handshake failed: unable to get local issuer certificate" "$WORK/serve.log" ||
	fail "no unknown-issuer handshake failure logged"
pass "TLS with a revoked certificate or another CA's gets no stream"

# 4. Revoked while serve runs: refused once SIGHUP has reloaded the CRL.
"$MAKE_PKI" client "$WORK/pki" dcb-later tcp/$SERVE_PORT
list() { printf 'SCGF\001\002\000\000%020d' 0 | tr 0 '\000' | tls_as dcb-later; }
case $(list) in 'SCGR001\0'*) ;; *) fail "dcb-later was not served before revocation" ;; esac
"$MAKE_PKI" revoke "$WORK/pki" dcb-later
chmod 0644 "$WORK/pki/crl.pem"
case $(list) in 'SCGR001\0'*) ;; *) fail "the CRL took effect before SIGHUP (not loaded once?)" ;; esac
kill -HUP "$SERVE_PID"
wait_for 5 grep -q "reloaded CA and CRL" "$WORK/serve.log" || fail "serve did not reload on SIGHUP"
[ -z "$(list)" ] || fail "dcb-later still served after SIGHUP"
pass "a certificate revoked later gets no stream after SIGHUP"

# 5. A flood of bare connections and of garbage: serve keeps working.
flood=""
for i in $(seq 200); do
	in_b timeout 2 bash -c "exec 3<>/dev/tcp/$SA_IP/$SERVE_PORT; echo junk >&3" 2>/dev/null &
	flood="$flood $!"
done
# Only the flood's jobs: a bare `wait` would wait for the daemons too.
for pid in $flood; do wait "$pid" || true; done
kill -0 "$SERVE_PID" || fail "serve died under the flood"
case $(printf 'SCGF\001\002\000\000%020d' 0 | tr 0 '\000' | tls_as dcb-mirror) in
'SCGR001\0'*) ;;
*) fail "serve does not answer after the flood" ;;
esac
pass "200 bare connections later serve still answers"

uid=$(awk '/^Uid:/ { print $2 }' "/proc/$SERVE_PID/status")
[ "$uid" = "$(id -u nobody)" ] || fail "serve runs as uid $uid, not nobody"
pass "serve runs as nobody after start-up"
# Every thread of serve (librados' too) under its seccomp filter (what it
# forbids is shown by the unit test guard_serve_sandbox_forbids_...).
for task in /proc/$SERVE_PID/task/*; do
	grep -q '^Seccomp:[[:space:]]*2$' "$task/status" || fail "serve thread $task without seccomp"
done
grep -q "sandboxed (seccomp)" "$WORK/serve.log" || fail "serve did not log its sandbox"
pass "serve and all its $(ls /proc/$SERVE_PID/task | wc -l) threads run under seccomp"

# 6. Without the tunnel, pool enable fails within its timeout, naming the
# cluster and the step, instead of hanging.
connect_stop
if out=$(pool_enable --timeout 5 2>&1); then
	fail "pool enable succeeded without a tunnel: $out"
fi
grep -q "cluster $CA: .*timed out after 5 s" <<<"$out" || fail "pool enable's error: $out"
pass "without the tunnel pool enable stops with: $out"

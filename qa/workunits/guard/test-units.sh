#!/usr/bin/env bash
# The systemd units of ceph-conf-examples/ as an admin installs them (PID 1
# here is not systemd, so `systemd-analyze verify` is the check): serve's and
# connect's units, knockd's, and Ceph's ceph-rbd-mirror@.service with our
# drop-in verify without a single complaint (a unit with a bad key is shown
# to be complained about); serve starts after knockd and needs it, connect
# before the rbd-mirror target and every ceph-rbd-mirror@ instance after
# connect; and each ExecStart/ExecStartPre of ours parses with the program's
# own option parser (--help appended) or config check (on the example).
#
# Environment (set by meson): GUARD KNOCKD EXAMPLES
set -eu
: "${GUARD:?}" "${KNOCKD:?}" "${EXAMPLES:?}"
WORK=$(mktemp -d /tmp/grd-units.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
CEPH_UNIT=/lib/systemd/system/ceph-rbd-mirror@.service
[ -f "$CEPH_UNIT" ] || fail "no $CEPH_UNIT (Debian's rbd-mirror package)"

# As installed, with the programs at the build tree's paths.
for u in rbd-mirror-guard-serve.service rbd-mirror-guard-connect.service knockd.service; do
	sed -e "s|/usr/sbin/rbd-mirror-guard|$GUARD|g" -e "s|/usr/sbin/knockd|$KNOCKD|g" \
		"$EXAMPLES/$u" > "$WORK/$u"
done
cp "$CEPH_UNIT" "$WORK/"
mkdir "$WORK/ceph-rbd-mirror@.service.d"
cp "$EXAMPLES/ceph-rbd-mirror-guard.conf" "$WORK/ceph-rbd-mirror@.service.d/rbd-mirror-guard.conf"

verify() { # UNIT...: verify's complaints, if any
	(cd "$WORK" && systemd-analyze verify --man=no "$@" 2>&1) || echo "(exit status $?)"
}
out=$(verify rbd-mirror-guard-serve.service rbd-mirror-guard-connect.service knockd.service \
	ceph-rbd-mirror@a.service)
[ -z "$out" ] || fail "systemd-analyze verify: $out"
pass "systemd-analyze verify: serve, connect, knockd and ceph-rbd-mirror@a with the drop-in"

# The check can fail: a key systemd does not know, in the unit and in the drop-in.
sed 's/^Restart=on-failure/Restart=on-failure\nRestartz=2/' "$WORK/rbd-mirror-guard-serve.service" \
	> "$WORK/bad-serve.service"
out=$(verify bad-serve.service)
grep -q "Unknown key 'Restartz'" <<<"$out" || fail "verify did not see a bad key: $out"
printf 'Afterr=x.service\n' >> "$WORK/ceph-rbd-mirror@.service.d/rbd-mirror-guard.conf"
out=$(verify ceph-rbd-mirror@a.service)
grep -q "Unknown key 'Afterr'" <<<"$out" || fail "verify did not read the drop-in: $out"
cp "$EXAMPLES/ceph-rbd-mirror-guard.conf" "$WORK/ceph-rbd-mirror@.service.d/rbd-mirror-guard.conf"
pass "verify complains about a bad key in a unit and in the drop-in (it reads both)"

# Ordering: the values of KEY= in a unit and its drop-ins, one a line.
values() { # UNIT KEY
	cat "$WORK/$1" "$WORK/${1%%@*}@.service.d/"*.conf 2>/dev/null |
		sed -n "s/^$2=//p" | tr ' ' '\n'
}
has() { values "$1" "$2" | grep -qx -- "$3" || fail "$1: $2= lacks $3"; }
has rbd-mirror-guard-serve.service After knockd.service
has rbd-mirror-guard-serve.service Requires knockd.service
has rbd-mirror-guard-connect.service Before ceph-rbd-mirror.target
has rbd-mirror-guard-connect.service After network-online.target
has ceph-rbd-mirror@.service After rbd-mirror-guard-connect.service
has ceph-rbd-mirror@.service Wants rbd-mirror-guard-connect.service
pass "serve after (and requiring) knockd; every ceph-rbd-mirror@ after connect, which precedes the target"

# Each of our Exec lines, on the example config: `check` must pass, a daemon
# must accept its arguments (--help appended: parsed, usage, exit 0).
n=0
for u in rbd-mirror-guard-serve.service rbd-mirror-guard-connect.service; do
	while IFS= read -r line; do
		cmd=${line#*=}
		cmd=${cmd//\/etc\/ceph\/rbd-mirror-guard.conf/$EXAMPLES/rbd-mirror-guard.conf}
		read -r -a argv <<<"$cmd"
		[ "${argv[0]}" = "$GUARD" ] || fail "$u: $line runs ${argv[0]}, not rbd-mirror-guard"
		case ${argv[1]} in
		check) out=$("${argv[@]}" 2>&1) || fail "$u: $line: $out" ;;
		serve | connect)
			out=$("${argv[@]}" --help 2>&1) || fail "$u: $line does not parse: $out"
			grep -q "^usage: rbd-mirror-guard ${argv[1]}" <<<"$out" || fail "$u: $line: $out" ;;
		*) fail "$u: $line: unexpected command ${argv[1]}" ;;
		esac
		n=$((n + 1))
	done < <(grep -E '^ExecStart(Pre)?=' "$WORK/$u")
done
[ "$n" = 4 ] || fail "expected 4 Exec lines, found $n"
# And a wrong option would have been caught.
"$GUARD" serve -c "$EXAMPLES/rbd-mirror-guard.conf" --no-such-option >/dev/null 2>&1 &&
	fail "serve accepted an unknown option"
pass "the $n ExecStart/ExecStartPre lines parse, and check passes on the example config"

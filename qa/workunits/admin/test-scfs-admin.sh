#!/usr/bin/env bash
# scfs-admin against four real micro clusters: round trips through the
# command line, and every kind of bad input ending in one clear line, a
# non-zero exit and no change in any cluster.
#   test-scfs-admin.sh SCFS_ADMIN MICRO_CEPH
set -euo pipefail
ADMIN=$1 MICRO_CEPH=$2
dir=$(mktemp -d /tmp/sc-admin-XXXXXX)
cleanup() { "$MICRO_CEPH" stop --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
fails=0
check() { # NAME COMMAND...: the command must succeed
	if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
objects() { local n=0 dc; for dc in dc1 dc2 dc3 dc4; do n=$((n + $(rados -c "$dir/$dc.conf" -p scfs ls | wc -l))); done; echo $n; }
# Runs a command expecting failure: exit code EXPECT, one stderr line matching PATTERN.
refuses() { # NAME EXPECT PATTERN ARGS...
	local name=$1 expect=$2 pattern=$3 rc=0 before after; shift 3
	before=$(objects)
	"$@" >"$dir/out" 2>"$dir/err" </dev/null || rc=$?
	after=$(objects)
	if [ "$rc" = "$expect" ] && [ "$(wc -l <"$dir/err")" = 1 ] && grep -q -- "$pattern" "$dir/err" &&
		[ "$before" = "$after" ]; then
		echo "ok: $name"
	else
		echo "FAIL: $name (exit $rc, want $expect; objects $before -> $after; stderr:)"; cat "$dir/err"
		fails=$((fails + 1))
	fi
}

"$MICRO_CEPH" start --dir "$dir" --pool scfs dc1 dc2 dc3 dc4 >/dev/null
"$ADMIN" keygen "$dir/w.pem" >/dev/null
"$ADMIN" keygen "$dir/other.pem" >/dev/null
A=("$ADMIN" --conf-dir "$dir" --clusters dc1,dc2,dc3,dc4 --timeout 5)
head -c 300000 /dev/urandom > "$dir/data"

check "help lists the commands" bash -c "'$ADMIN' --help | grep -q 'put UNIT'"
check "status exits 0 when all four are up" "${A[@]}" -k "$dir/w.pem" status
check "put stores a file" "${A[@]}" -k "$dir/w.pem" put unit1 "$dir/data"
check "get returns the same bytes" bash -c "'${A[0]}' ${A[*]:1} -k '$dir/w.pem' get unit1 | cmp - '$dir/data'"
echo v2 | "${A[@]}" -k "$dir/w.pem" put unit1 >/dev/null
check "get --version 1 returns the first version" bash -c "'${A[0]}' ${A[*]:1} -k '$dir/w.pem' --version 1 get unit1 | cmp - '$dir/data'"
check "get returns the newest version" bash -c "[ \"\$('${A[0]}' ${A[*]:1} -k '$dir/w.pem' get unit1)\" = v2 ]"
pub=$(grep -o '[0-9a-f]\{64\}' <<<"$("$ADMIN" keygen "$dir/w2.pem")")
check "versions lists both as committed (json)" bash -c "'${A[0]}' ${A[*]:1} -k '$dir/w.pem' --format json versions unit1 | jq -e 'length == 2 and all(.committed)' >/dev/null"
check "rm deletes version 1" "${A[@]}" -k "$dir/w.pem" rm unit1 1
check "the deleted version is gone" bash -c "! '${A[0]}' ${A[*]:1} -k '$dir/w.pem' --version 1 get unit1 >/dev/null 2>&1"

refuses "a reader trusting only another writer sees nothing" 1 "unit1" "${A[@]}" --trust "$pub" get unit1
refuses "an unknown cluster name is named" 1 "dc9" "${A[@]/dc1,dc2,dc3,dc4/dc1,dc2,dc9,dc4}" -k "$dir/w.pem" status
refuses "no --clusters" 1 "clusters is required" "$ADMIN" --conf-dir "$dir" -k "$dir/w.pem" status
refuses "put without a key" 1 "writer key" "${A[@]}" put unit2 "$dir/data"
refuses "a key file that is not a key" 1 "not an Ed25519 private key" "${A[@]}" -k "$dir/data" put unit2 "$dir/data"
refuses "a missing key file" 1 "No such file" "${A[@]}" -k "$dir/none.pem" put unit2 "$dir/data"
refuses "a unit name with a slash" 2 "not a unit name" "${A[@]}" -k "$dir/w.pem" put a/b "$dir/data"
refuses "a missing input file" 1 "No such file" "${A[@]}" -k "$dir/w.pem" put unit2 "$dir/none"
refuses "rm of a version that is no number" 1 "not a version number" "${A[@]}" -k "$dir/w.pem" rm unit1 x
refuses "n=4 with f=2 breaks n >= 3f+1" 1 "3f+1" "${A[@]}" -f 2 -k "$dir/w.pem" put unit2 "$dir/data"
refuses "an unknown command" 2 "unknown command" "${A[@]}" frobnicate
refuses "a bad --protocol" 1 "neither CA nor A" "${A[@]}" --protocol B status
check "help is printed from the command table, one line per command" bash -c "'$ADMIN' --help | grep -c '^  \(keygen\|status\|put\|get\|versions\|rm\) ' | grep -qx 6"
refuses "a wrong argument count is refused before connecting" 2 "wrong number of arguments" "${A[@]}" -k "$dir/w.pem" rm unit1
refuses "another store id does not see the unit" 1 "unit1" "${A[@]}" --store-id other -k "$dir/w.pem" get unit1
refuses "keygen never overwrites a key" 1 "exists already" "$ADMIN" keygen "$dir/w.pem"

echo "$fails failed"
[ "$fails" = 0 ]

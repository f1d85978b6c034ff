#!/usr/bin/env bash
# mkfs and the mount's checks on five real micro clusters (the file system
# lives on the first four): every refusal of issue 13 section 2, the mount
# lease, and bad command lines end in one clear line on stderr, a non-zero
# exit, and nothing mounted or left running. A superblock that fails its
# signature on one cluster is named and ignored; on two, the mount is refused.
#   test-superblock-and-lease-refusals.sh SCFS_ADMIN RADOS_SCFS MICRO_CEPH
set -euo pipefail
ADMIN=$(readlink -f "$1") MOUNT=$(readlink -f "$2") MICRO_CEPH=$(readlink -f "$3")
PY=/usr/bin/python3
dir=$(mktemp -d /tmp/scfs-sb-XXXXXX)
mnt=$dir/mnt mnt2=$dir/mnt2
CL=(scfss1 scfss2 scfss3 scfss4 scfss5)
cleanup() {
	umount -l "$mnt" 2>/dev/null || true
	umount -l "$mnt2" 2>/dev/null || true
	"$MICRO_CEPH" stop --dir "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
check() { if "${@:2}"; then ok "$1"; else bad "$1"; fi; }
mounted() { grep -c " $dir/mnt[0-9]* fuse" /proc/mounts || true; }
# NAME EXPECT_RC PATTERN CMD...: exit code, exactly one stderr line matching, no new mount, no daemon left.
refuses() {
	local name=$1 expect=$2 pattern=$3 rc=0 before; shift 3
	before=$(mounted)
	"$@" >"$dir/out" 2>"$dir/err" </dev/null || rc=$?
	sleep 0.2
	if [ "$rc" = "$expect" ] && [ "$(wc -l <"$dir/err")" = 1 ] && grep -q -- "$pattern" "$dir/err" &&
		[ "$(mounted)" = "$before" ] && ! pgrep -f "rados-scfs.*$dir/mnt2" >/dev/null; then
		ok "$name"
	else
		bad "$name (exit $rc, want $expect; mounts $before -> $(mounted); stderr:)"; cat "$dir/err"
	fi
}
# Unmounts DIR and waits (up to 30 s) until its daemon has exited.
unmount() {
	umount "$1" 2>/dev/null || umount -l "$1" 2>/dev/null || true
	for _ in $(seq 150); do pgrep -f "rados-scfs.*$1\$" >/dev/null || return 0; sleep 0.2; done
}
four=$(IFS=,; echo "${CL[*]:0:4}")
A=(--conf-dir "$dir" --timeout 5)
M=("$MOUNT" "${A[@]}" --fs sb -o "cache_dir=$dir/cache")

"$MICRO_CEPH" start --dir "$dir" --pool scfs "${CL[@]}" >/dev/null
"$ADMIN" keygen "$dir/w.pem" >/dev/null
"$ADMIN" keygen "$dir/other.pem" >/dev/null
mkdir "$mnt" "$mnt2"

refuses "mkfs without a key" 1 "writer key" "$ADMIN" "${A[@]}" --clusters "$four" mkfs --fs sb
refuses "mkfs with n < 3f+1" 1 "3f+1" "$ADMIN" "${A[@]}" --clusters "$four" -f 2 mkfs --fs sb -k "$dir/w.pem"
refuses "mkfs with a bad chunk size" 1 "chunk-size" "$ADMIN" "${A[@]}" --clusters "$four" mkfs --fs sb --chunk-size 1000 -k "$dir/w.pem"
check "mkfs makes the file system" bash -c "'$ADMIN' ${A[*]} --clusters $four mkfs --fs sb -k '$dir/w.pem' | grep -q 'file system id'"
refuses "mkfs twice is refused, naming the cluster" 1 "${CL[0]} already holds" "$ADMIN" "${A[@]}" --clusters "$four" mkfs --fs sb -k "$dir/w.pem"
check "every cluster holds a superblock" bash -c "for c in ${CL[*]:0:4}; do rados -c '$dir'/\$c.conf -p scfs -N sb stat scfs.sb >/dev/null || exit 1; done"
check "df names the four clusters" bash -c "'$ADMIN' ${A[*]} --clusters $four df --fs sb | grep -c '^scfss[1-4] ' | grep -qx 4"

refuses "an unknown file system" 1 "unknown file system 'nosuch'" "$MOUNT" "${A[@]}" --clusters "$four" --fs nosuch -k "$dir/w.pem" "$mnt2"
refuses "a different cluster in the list is named" 1 "${CL[4]}" "${M[@]}" --clusters "${CL[0]},${CL[1]},${CL[2]},${CL[4]}" -k "$dir/w.pem" "$mnt2"
refuses "the right clusters in another order" 1 "cluster 1 of file system 'sb' is ${CL[0]}" "${M[@]}" --clusters "${CL[1]},${CL[0]},${CL[2]},${CL[3]}" -k "$dir/w.pem" "$mnt2"
refuses "fewer clusters than the file system has" 1 "has 4 clusters" "${M[@]}" --clusters "${CL[0]},${CL[1]},${CL[2]}" -k "$dir/w.pem" "$mnt2"
refuses "a key that is not a writer" 1 "is not a writer of file system 'sb'" "${M[@]}" --clusters "$four" -k "$dir/other.pem" "$mnt2"
refuses "a missing key file" 1 "No such file" "${M[@]}" --clusters "$four" -k "$dir/none.pem" "$mnt2"
refuses "a key file that is not a key" 1 "not an Ed25519 private key" "${M[@]}" --clusters "$four" -k "$dir/err" "$mnt2"
refuses "a mountpoint that does not exist" 1 "mountpoint $dir/nodir" "${M[@]}" --clusters "$four" -k "$dir/w.pem" "$dir/nodir"
refuses "an unknown -o option" 2 "unknown mount option" "${M[@]}" --clusters "$four" -k "$dir/w.pem" -o frob "$mnt2"
refuses "no --clusters" 2 "clusters is required" "$MOUNT" "${A[@]}" --fs sb -k "$dir/w.pem" "$mnt2"

# A superblock that fails its signature on one cluster: named, ignored.
rados -c "$dir/${CL[1]}.conf" -p scfs -N sb get scfs.sb "$dir/sb1"
cp "$dir/sb1" "$dir/sb1.bad"
printf 'X' | dd of="$dir/sb1.bad" bs=1 seek=40 conv=notrunc status=none
rados -c "$dir/${CL[1]}.conf" -p scfs -N sb put scfs.sb "$dir/sb1.bad"
"${M[@]}" --clusters "$four" -k "$dir/w.pem" "$mnt" 2>"$dir/err" || true
check "one cluster's forged superblock is named and ignored" bash -c "grep -q ' $mnt fuse' /proc/mounts && grep -q '${CL[1]}: superblock fails its signature' '$dir/err'"
check "the mount works" bash -c "echo hi > '$mnt/f' && [ \$(cat '$mnt/f') = hi ]"
rados -c "$dir/${CL[1]}.conf" -p scfs -N sb put scfs.sb "$dir/sb1"

# The lease is ours whatever client instance holds our cookie (a lock op
# that timed out but was applied, a new global id after a monitor came back):
# such a lock on one cluster is taken back by the next renewal (every 10 s;
# the planted lock would last 30 s), not taken for another mount's.
lock_on1() { rados -c "$dir/${CL[1]}.conf" -p scfs -N sb lock "$@"; }
locker() { lock_on1 info scfs.lease mount --format json | $PY -c 'import json, sys
l = json.load(sys.stdin).get("lockers", [])
print(l[0]["name"] + " " + l[0].get("description", "-").replace(" ", "_") if l else "none none")'; }
cookie=$(rados -c "$dir/${CL[1]}.conf" -p scfs -N sb getxattr scfs.lease holder | cut -d' ' -f1)
read -r owner _ < <(locker)
lock_on1 break scfs.lease mount "$owner" --lock-cookie "$cookie"
lock_on1 get scfs.lease mount --lock-cookie "$cookie" --lock-duration 30 --lock-type exclusive --lock-description planted
taken_back=1
for _ in $(seq 20); do
	read -r who what < <(locker)
	if [ "$who" = "$owner" ] && [ "$what" != planted ]; then taken_back=0; break; fi
	sleep 1
done
check "a lock with the mount's cookie held by another client is taken back by the mount" test $taken_back = 0

refuses "a second read-write mount is refused, naming the holder" 1 "mounted read-write by host $(hostname) pid" "${M[@]}" --clusters "$four" -k "$dir/w.pem" "$mnt2"
"${M[@]}" --clusters "$four" -k "$dir/w.pem" -o ro,cache_dir="$dir/cache-ro" "$mnt2" 2>/dev/null
check "a read-only mount beside it is allowed and reads" bash -c "[ \$(cat '$mnt2/f') = hi ]"
check "the read-only mount refuses writes (EROFS)" bash -c "! echo x 2>/dev/null > '$mnt2/g'"
unmount "$mnt2"
pid=$(pgrep -f "rados-scfs.*$mnt\$" | head -1)
kill -9 "$pid"
umount -l "$mnt"
refuses "a dead mount's lease still refuses a new mount" 1 "mounted read-write by" "${M[@]}" --clusters "$four" -k "$dir/w.pem" "$mnt2"
check "scfs-admin unlock breaks the dead mount's lease" bash -c "'$ADMIN' ${A[*]} --clusters $four unlock --fs sb | grep -q 'broke the mount lease of host'"
check "after unlock the file system mounts read-write again" bash -c "${M[*]} --clusters $four -k '$dir/w.pem' '$mnt' 2>/dev/null && [ \$(cat '$mnt/f') = hi ]"
refuses "a busy mountpoint" 1 "is a mount point already" "${M[@]}" --clusters "$four" -k "$dir/w.pem" -o ro,cache_dir="$dir/c3" "$mnt"
unmount "$mnt"
# mount.fuse3 runs the program named by the type on its own fixed PATH, where
# an installed rados-scfs is; the build tree's is named absolutely instead
# ("PROGRAM#SOURCE" of type fuse), through the same mount(8) and mount.fuse3.
mount -t fuse "$MOUNT#sb" "$mnt2" \
	-o "_netdev,clusters=${CL[0]}:${CL[1]}:${CL[2]}:${CL[3]},key=$dir/w.pem,conf_dir=$dir,cache_dir=$dir/c4" 2>"$dir/err" || cat "$dir/err"
check "mount(8) through mount.fuse3 with an fstab line's options mounts it" bash -c "grep -q ' $mnt2 fuse.rados-scfs ' /proc/mounts && [ \$(cat '$mnt2/f') = hi ]"
unmount "$mnt2"

# A second forged superblock: no longer a quorum.
rados -c "$dir/${CL[1]}.conf" -p scfs -N sb put scfs.sb "$dir/sb1.bad"
rados -c "$dir/${CL[2]}.conf" -p scfs -N sb get scfs.sb "$dir/sb2.bad"
printf 'X' | dd of="$dir/sb2.bad" bs=1 seek=40 conv=notrunc status=none
rados -c "$dir/${CL[2]}.conf" -p scfs -N sb put scfs.sb "$dir/sb2.bad"
refuses "forged superblocks on two clusters: refused" 1 "agree on the superblock\|no valid superblock" "${M[@]}" --clusters "$four" -k "$dir/w.pem" "$mnt2"

echo "$fails failed"
[ "$fails" = 0 ]

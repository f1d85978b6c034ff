#!/usr/bin/env bash
# fsck, repair and gc of data on four real micro clusters (CA, n=4, f=1):
#  - files written while one cluster is stopped: after its restart fsck
#    names exactly that cluster's missing chunk fragments (by inode, chunk
#    and path), repair rewrites them, fsck --verify-all is clean;
#  - the rewritten fragments are real: with one other cluster stopped and
#    every fragment of a second one removed, only the repaired cluster and
#    one more can serve data (k = 2), and every file reads back byte for
#    byte through a fresh mount with an empty cache;
#  - a corrupted fragment (same length) and a garbage record: fsck
#    --verify-all names the cluster, repair rewrites them, fsck is clean;
#  - gc removes an old version the restarted cluster kept, a failed write's
#    unanchored version, an orphaned chunk and an orphaned inode, on every
#    cluster, and leaves every file intact.
#   test-fsck-repair-and-gc.sh SCFS_ADMIN RADOS_SCFS MICRO_CEPH
set -euo pipefail
ADMIN=$(readlink -f "$1") MOUNT=$(readlink -f "$2") MICRO_CEPH=$(readlink -f "$3")
TAG=scfs-rep
CL=(scfsp1 scfsp2 scfsp3 scfsp4)
. "$(dirname "$0")/prelude.sh"
do_mount() { "$MOUNT" "${A[@]}" --fs rp -k "$dir/w.pem" -o "cache_dir=$dir/cache,log_file=$dir/fs.log" "$mnt"; }
unmount() {
	umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	for _ in $(seq 150); do pgrep -f "rados-scfs.*$mnt\$" >/dev/null || return 0; sleep 0.2; done
}
radosc() { local c=$1; shift; rados -c "$dir/$c.conf" -p scfs -N rp "$@"; }
admin() { "$ADMIN" "${A[@]}" "$1" --fs rp -k "$dir/w.pem" "${@:2}"; }
# Restarts clusters and waits (up to 60 s each) until their OSD serves the pool.
restart() {
	local c
	"$MICRO_CEPH" restart --dir "$dir" "$@" >/dev/null
	for c in "$@"; do
		for _ in $(seq 60); do timeout 10 rados -c "$dir/$c.conf" -p scfs ls >/dev/null 2>&1 && break; sleep 1; done
	done
}
ino_of() { printf %016x "$(stat -c %i "$mnt/$1")"; }
# Every file of the reference tree reads back byte for byte from the mount.
all_intact() {
	local f
	for f in big mid small sub/deep keep; do cmp -s "$dir/ref/$f" "$mnt/$f" || { echo "differs: $f"; return 1; }; done
}

"$MICRO_CEPH" start --dir "$dir" --pool scfs "${CL[@]}" >/dev/null
"$ADMIN" keygen "$dir/w.pem" >/dev/null
"$ADMIN" "${A[@]}" mkfs --fs rp -k "$dir/w.pem" >/dev/null
mkdir -p "$mnt" "$dir/ref/sub"
head -c 9000000 /dev/urandom >"$dir/ref/big"   # three chunks of 4 MiB
head -c 300000 /dev/urandom >"$dir/ref/mid"
head -c 5000 /dev/urandom >"$dir/ref/small"    # past the 4 KiB of inline data: one chunk
head -c 700000 /dev/urandom >"$dir/ref/sub/deep"
head -c 600000 /dev/urandom >"$dir/ref/keep"

# Written while all four are up; "keep" is rewritten during the outage.
do_mount
head -c 600000 /dev/urandom >"$mnt/keep"
keep_ino=$(ino_of keep)
unmount

"$MICRO_CEPH" stop --dir "$dir" "${CL[3]}" >/dev/null
do_mount
mkdir "$mnt/sub"
for f in big mid small sub/deep keep; do cp "$dir/ref/$f" "$mnt/$f"; done
check "with ${CL[3]} stopped every file is written and reads back" all_intact
big=$(ino_of big) mid=$(ino_of mid) small=$(ino_of small) deep=$(ino_of sub/deep)
unmount
restart "${CL[3]}"

# fsck after the outage.
rc=0; admin fsck >"$dir/fsck1" 2>&1 || rc=$?
check "fsck after the outage exits 1" test "$rc" = 1
check "fsck names ${CL[3]}'s missing fragments of every chunk of the 9 MB file, by inode, chunk and path" bash -c "
	for c in 00000000 00000001 00000002; do grep -q \"^cluster ${CL[3]}: misses chunk c.$big.\$c version [0-9]* of /big: it holds no fragment\" '$dir/fsck1' || exit 1; done"
check "... and of the other files written during the outage (the one in a subdirectory by its path)" bash -c "
	grep -q '^cluster ${CL[3]}: misses chunk c.$mid.00000000 .* of /mid' '$dir/fsck1' &&
	grep -q '^cluster ${CL[3]}: misses chunk c.$small.00000000 .* of /small' '$dir/fsck1' &&
	grep -q '^cluster ${CL[3]}: misses chunk c.$deep.00000000 .* of /sub/deep' '$dir/fsck1'"
check "... and its missed metadata" grep -q "^cluster ${CL[3]}: misses or holds an old inode i.$big (/big)" "$dir/fsck1"
check "fsck names no other cluster" bash -c "! grep '^cluster ' '$dir/fsck1' | grep -v '^cluster ${CL[3]}: '"
[ "$fails" = 0 ] || cat "$dir/fsck1"

# repair, then fsck reading every fragment.
rc=0; admin repair >"$dir/repair1" 2>&1 || rc=$?
check "repair exits 0 and says it rewrote what it found" bash -c "[ $rc = 0 ] && grep -q '^cluster ${CL[3]}: misses chunk c.$big.00000000 .* (rewritten)' '$dir/repair1' && grep -q ' 0 left$' '$dir/repair1'"
check "fsck --verify-all is clean after repair" bash -c "'$ADMIN' ${A[*]} fsck --fs rp -k '$dir/w.pem' --verify-all > '$dir/fsck2' 2>&1 && grep -q ': 0 problems$' '$dir/fsck2' && ! grep -q '^cluster ' '$dir/fsck2'"
check "${CL[3]} now holds a fragment object of every chunk of the 9 MB file" bash -c "[ \$(rados -c '$dir/${CL[3]}.conf' -p scfs -N rp ls | grep -c '^scfs\.du1\.c\.$big\.') -ge 3 ]"

# The repaired fragments are real: only ${CL[3]} and ${CL[2]} can serve data.
"$MICRO_CEPH" stop --dir "$dir" "${CL[0]}" >/dev/null
radosc "${CL[1]}" ls | grep '^scfs\.du1\.' | while read -r o; do radosc "${CL[1]}" rm "$o"; done
check "${CL[1]} holds no fragment any more" bash -c "! rados -c '$dir/${CL[1]}.conf' -p scfs -N rp ls | grep -q '^scfs\.du1\.'"
rm -rf "$dir/cache"
do_mount
check "with ${CL[0]} stopped and ${CL[1]}'s fragments gone every file reads back byte for byte (from ${CL[2]} and the repaired ${CL[3]})" all_intact
unmount
rc=0; admin repair >"$dir/repair2" 2>&1 || rc=$?
check "repair with ${CL[0]} down rewrites ${CL[1]}'s fragments from the other two and names ${CL[0]} as not answering" bash -c "[ $rc = 1 ] && grep -q '^cluster ${CL[1]}: misses chunk c.$big.00000001 .* (rewritten)' '$dir/repair2' && grep -q '^cluster ${CL[0]}: does not answer for chunk' '$dir/repair2'"
restart "${CL[0]}"
# (The reading mount may have written metadata, e.g. times, that ${CL[0]} missed.)
admin repair >"$dir/repair2b" 2>&1 || true
check "with all four back, after a repair, fsck --verify-all is clean" bash -c "'$ADMIN' ${A[*]} fsck --fs rp -k '$dir/w.pem' --verify-all > '$dir/fsck3' 2>&1"
[ "$fails" = 0 ] || { cat "$dir/repair2"; cat "$dir/fsck3"; }

# A corrupted fragment (same length) and a garbage record on ${CL[2]}.
frag=$(radosc "${CL[2]}" ls | grep "^scfs\.du1\.c\.$big\.00000001\." | head -1)
size=$(radosc "${CL[2]}" stat "$frag" | grep -o 'size [0-9]*' | cut -d' ' -f2)
head -c "$size" /dev/urandom >"$dir/garbage"
radosc "${CL[2]}" put "$frag" "$dir/garbage"
rec=$(radosc "${CL[2]}" ls | grep "^scfs\.du1\.c\.$mid\.00000000\." | head -1)
radosc "${CL[2]}" setxattr "$rec" scfs.rec garbage-record
rc=0; admin fsck >"$dir/fsck4" 2>&1 || rc=$?
check "fsck names the garbage record on ${CL[2]} (no fragment read needed)" bash -c "[ $rc = 1 ] && grep -q '^cluster ${CL[2]}: holds a wrong chunk c.$mid.00000000 .* of /mid: its record is malformed' '$dir/fsck4'"
rc=0; admin fsck --verify-all >"$dir/fsck5" 2>&1 || rc=$?
check "fsck --verify-all names the corrupted fragment on ${CL[2]} and no other cluster" bash -c "[ $rc = 1 ] && grep -q '^cluster ${CL[2]}: holds a wrong chunk c.$big.00000001 .* of /big: its fragment.s digest does not match' '$dir/fsck5' && ! grep '^cluster ' '$dir/fsck5' | grep -v '^cluster ${CL[2]}: '"
admin repair >"$dir/repair3" 2>&1 || true
check "repair rewrites both" bash -c "grep -q '^cluster ${CL[2]}: holds a wrong chunk c.$big.00000001 .* (rewritten)' '$dir/repair3' && grep -q '^cluster ${CL[2]}: holds a wrong chunk c.$mid.00000000 .* (rewritten)' '$dir/repair3'"
check "fsck --verify-all is clean after that repair" "$ADMIN" "${A[@]}" fsck --fs rp -k "$dir/w.pem" --verify-all >"$dir/fsck6" 2>&1
radosc "${CL[2]}" get "$frag" "$dir/after"
check "the corrupted object holds other bytes now" bash -c "! cmp -s '$dir/garbage' '$dir/after'"
[ "$fails" = 0 ] || { cat "$dir/fsck5"; cat "$dir/repair3"; cat "$dir/fsck6"; }

# gc: what nothing refers to goes, on every cluster.
old=$(radosc "${CL[3]}" ls | grep -c "^scfs\.du1\.c\.$keep_ino\.00000000\." || true)
check "${CL[3]} kept the version of /keep that was replaced while it was down" test "$old" = 2
src=$(radosc "${CL[0]}" ls | grep "^scfs\.du1\.c\.$mid\.00000000\." | head -1)
failed="scfs.du1.c.$mid.00000000.00000000000f0000"    # an unanchored (failed) write of /mid
orphan="scfs.du1.c.00000000deadbeef.00000000.0000000000000001" # a chunk of no inode
planted=1
for c in "${CL[@]}"; do
	radosc "$c" --target-nspace rp cp "$src" "$failed"
	radosc "$c" --target-nspace rp cp "$src" "$orphan"
	radosc "$c" --target-nspace rp cp "i.$small" "i.00000000deadbeef" # an inode no directory reaches
	[ "$(radosc "$c" ls | grep -c "^$failed\$\|^$orphan\$\|^i\.00000000deadbeef\$")" = 3 ] || planted=0
done
check "the failed write, the orphaned chunk and the orphaned inode are planted on every cluster" test "$planted" = 1
admin gc >"$dir/gc" 2>&1 || true
cat "$dir/gc"
check "gc removes exactly those 3 chunk versions and the 1 inode" grep -q "removed 3 chunk versions and 1 inodes" "$dir/gc"
check "... the replaced version on ${CL[3]}" test "$(radosc "${CL[3]}" ls | grep -c "^scfs\.du1\.c\.$keep_ino\.00000000\.")" = 1
gone=1
for c in "${CL[@]}"; do
	radosc "$c" ls | grep -q "^$failed\$\|^$orphan\$\|^i\.00000000deadbeef\$" && { echo "$c still holds one"; gone=0; }
done
check "... the failed write, the orphaned chunk and the orphaned inode on every cluster" test "$gone" = 1
check "fsck --verify-all is clean after gc" "$ADMIN" "${A[@]}" fsck --fs rp -k "$dir/w.pem" --verify-all >"$dir/fsck7" 2>&1
rm -rf "$dir/cache"
do_mount
check "after gc every file reads back byte for byte" all_intact
unmount

echo "$fails failed"
[ "$fails" = 0 ]

#!/usr/bin/env bash
# The mounted file system on four real micro clusters (CA, n=4, f=1): every
# basic operation round trips through the clusters (checked again after a
# remount, with an empty cache), a 1-byte change uploads one chunk, a
# sparse file costs nothing, the cache limit gives ENOSPC and never zeros,
# one stopped cluster changes nothing for the user, and no cluster holds a
# file's name or content anywhere (object names, data, xattrs, omap).
#   test-mount-round-trips.sh SCFS_ADMIN RADOS_SCFS MICRO_CEPH SCFS_DUMP
set -euo pipefail
ADMIN=$(readlink -f "$1") MOUNT=$(readlink -f "$2") MICRO_CEPH=$(readlink -f "$3") DUMP=$(readlink -f "$4")
PY=/usr/bin/python3
TAG=scfs-fs
CL=(scfsr1 scfsr2 scfsr3 scfsr4)
. "$(dirname "$0")/prelude.sh"
is_mounted() { grep -q " $mnt fuse.rados-scfs " /proc/mounts; }
do_mount() { "$MOUNT" "${A[@]}" --fs rt -k "$dir/w.pem" -o "cache_dir=$dir/cache,cache_size=${CACHE:-64M},log_file=$dir/fs.log" "$mnt"; }
# Unmounts and waits (up to 30 s) until the daemon has exited and let go of its lease.
unmount() {
	umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	for _ in $(seq 150); do pgrep -f "rados-scfs.*$mnt\$" >/dev/null || return 0; sleep 0.2; done
}
stat_of() { awk -v k="$1" '$1 == k {print $2}' "$mnt/.statistics.txt"; }

"$MICRO_CEPH" start --dir "$dir" --mgr --pool scfs "${CL[@]}" >/dev/null
"$ADMIN" keygen "$dir/w.pem" >/dev/null
"$ADMIN" "${A[@]}" mkfs --fs rt -k "$dir/w.pem" >/dev/null
mkdir "$mnt"
do_mount
check "the mount is up when rados-scfs returns" is_mounted

NAME=secret-name-Quixotic7f3a
MARK=SAFECLOUD-FS-PLAINTEXT-MARKER-91c2
head -c 9000000 /dev/urandom >"$dir/big"
{ for i in $(seq 2000); do echo "$MARK line $i"; done; } >"$dir/text"
cp "$dir/big" "$mnt/big"
cp "$dir/text" "$mnt/$NAME"
check "a 9 MB file reads back byte for byte" cmp -s "$dir/big" "$mnt/big"
mkdir -p "$mnt/d1/d2/d3"
echo inner >"$mnt/d1/d2/d3/f"
check "a deep tree reads back" test "$(cat "$mnt/d1/d2/d3/f")" = inner
check "a directory has 2 + subdirectories links" test "$(stat -c %h "$mnt/d1")" = 3
ln "$mnt/$NAME" "$mnt/hard"
check "a hard link counts 2 and shows the same bytes" bash -c "[ \$(stat -c %h '$mnt/hard') = 2 ] && cmp -s '$mnt/hard' '$dir/text'"
ln -s "d1/d2/d3/f" "$mnt/sym"
check "a symlink reads back and resolves" bash -c "[ \$(readlink '$mnt/sym') = d1/d2/d3/f ] && [ \$(cat '$mnt/sym') = inner ]"
long=$(head -c 4000 /dev/zero | tr '\0' x)
ln -s "$long" "$mnt/longsym"
check "a 4000-byte symlink target round trips" test "$(readlink "$mnt/longsym")" = "$long"
name255=$(head -c 255 /dev/zero | tr '\0' n)
check "a 255-byte name works" bash -c "echo y > '$mnt/$name255' && [ \$(cat '$mnt/$name255') = y ]"
check "a 256-byte name is ENAMETOOLONG" bash -c "touch '$mnt/${name255}n' 2>&1 | grep -q 'File name too long'"
mv "$mnt/d1" "$mnt/moved"
check "renaming a non-empty directory keeps its tree" test "$(cat "$mnt/moved/d2/d3/f")" = inner
check "the old name of a renamed directory is gone" test ! -e "$mnt/d1"
mkdir "$mnt/other"
mv "$mnt/moved/d2" "$mnt/other/"
check "a directory moved between parents fixes both link counts" bash -c "[ \$(stat -c %h '$mnt/moved') = 2 ] && [ \$(stat -c %h '$mnt/other') = 3 ]"
check "moving a directory into itself is EINVAL" bash -c "! mv '$mnt/other' '$mnt/other/d2/' 2>/dev/null"
echo a >"$mnt/xa"; echo b >"$mnt/xb"
check "RENAME_NOREPLACE refuses an existing target (EEXIST)" $PY - "$mnt" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
m = sys.argv[1]
r = libc.renameat2(-100, f"{m}/xa".encode(), -100, f"{m}/xb".encode(), 1)
sys.exit(0 if r == -1 and ctypes.get_errno() == 17 else 1)
PY
check "RENAME_EXCHANGE swaps two names" $PY - "$mnt" <<'PY'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
m = sys.argv[1]
r = libc.renameat2(-100, f"{m}/xa".encode(), -100, f"{m}/xb".encode(), 2)
sys.exit(0 if r == 0 and open(f"{m}/xa").read() == "b\n" and open(f"{m}/xb").read() == "a\n" else 1)
PY
check "rmdir of a non-empty directory is ENOTEMPTY" bash -c "rmdir '$mnt/other' 2>&1 | grep -q 'not empty'"
check "xattrs set, list, get and remove" $PY - "$mnt" <<'PY'
import os, sys
p = sys.argv[1] + "/xa"
os.setxattr(p, "user.color", b"blue")
os.setxattr(p, "user.empty", b"")
ok = os.getxattr(p, "user.color") == b"blue" and set(os.listxattr(p)) >= {"user.color", "user.empty"}
os.removexattr(p, "user.color")
try:
    os.getxattr(p, "user.color"); ok = False
except OSError as e:
    ok = ok and e.errno == 61
sys.exit(0 if ok else 1)
PY
check "an unlinked file stays readable and writable while open" $PY - "$mnt" <<'PY'
import os, sys
p = sys.argv[1] + "/open-unlinked"
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"before")
os.unlink(p)
os.write(fd, b"-after")
os.lseek(fd, 0, 0)
data = os.read(fd, 100)
os.close(fd)
sys.exit(0 if data == b"before-after" and not os.path.exists(p) else 1)
PY
check "O_EXCL on an existing file is EEXIST" $PY - "$mnt" <<'PY'
import os, sys
try:
    os.open(sys.argv[1] + "/xa", os.O_CREAT | os.O_EXCL | os.O_WRONLY); sys.exit(1)
except FileExistsError:
    sys.exit(0)
PY
printf 0123456789 >"$mnt/trunc"
truncate -s 4 "$mnt/trunc"
check "truncate cuts the content" test "$(cat "$mnt/trunc")" = 0123
truncate -s 8 "$mnt/trunc"
check "truncate up reads zeros" bash -c "[ \"\$(od -An -c '$mnt/trunc' | tr -d ' \n')\" = '0123\\0\\0\\0\\0' ]"
echo -n more >>"$mnt/trunc"
check "O_APPEND writes at the end" test "$(tail -c 4 "$mnt/trunc")" = more
up0=$(stat_of chunk_upload)
head -c 3000 /dev/urandom >"$dir/small"
cp "$dir/small" "$mnt/small"
check "a 3000-byte file lives in its inode record: no chunk uploaded" test "$(stat_of chunk_upload)" = "$up0"
head -c 5000 /dev/urandom >>"$mnt/small"
check "... and once it grows past 4 KiB its bytes become a chunk" test "$(stat_of chunk_upload)" = $((up0 + 1))
head -c 3000 "$mnt/small" | cmp -s - "$dir/small" && ok "the grown file keeps its first bytes" || bad "the grown file keeps its first bytes"
up0=$(stat_of chunk_upload)
printf Z | dd of="$mnt/big" bs=1 seek=5000000 conv=notrunc status=none
up1=$(stat_of chunk_upload)
check "a 1-byte change to a 9 MB file uploads one chunk" test $((up1 - up0)) = 1
printf Z | dd of="$dir/big" bs=1 seek=5000000 conv=notrunc status=none
truncate -s 1T "$mnt/sparse"
check "a 1 TiB sparse file reports its size and no blocks" bash -c "[ \$(stat -c %s '$mnt/sparse') = 1099511627776 ] && [ \$(stat -c %b '$mnt/sparse') = 0 ]"
check "reading inside a hole gives zeros" bash -c "[ \"\$(dd if='$mnt/sparse' bs=4096 skip=1000000 count=1 status=none | tr -d '\\0' | wc -c)\" = 0 ]"
check "statfs reports the clusters' space" bash -c "[ \$(stat -f -c %b '$mnt') -gt 0 ]"
check "chmod and chown round trip" bash -c "chmod 640 '$mnt/xa' && chown 123:456 '$mnt/xa' && [ \$(stat -c %a:%u:%g '$mnt/xa') = 640:123:456 ]"
touch -d '2001-02-03 04:05:06' "$mnt/xa"
check "utimens sets mtime" test "$(stat -c %Y "$mnt/xa")" = "$(date -d '2001-02-03 04:05:06' +%s)"

down0=$(stat_of chunk_download)
echo 3 >/proc/sys/vm/drop_caches
cat "$mnt/big" >/dev/null
check "reading a file again whose anchor is unchanged fetches nothing from the clusters" test "$(stat_of chunk_download)" = "$down0"
head -c 300000000 /dev/urandom >"$dir/large"
cp "$dir/large" "$mnt/large"
echo 3 >/proc/sys/vm/drop_caches
check "a 300 MB file, more than the 64 MiB cache, reads back byte for byte" cmp -s "$dir/large" "$mnt/large"
rm -f "$dir/large" "$mnt/large"
mkdir "$mnt/many"
$PY -c "
import sys
for i in range(2000):
    open(sys.argv[1] + '/many/file-%05d' % i, 'w').write(str(i))
" "$mnt"

unmount
rm -rf "$dir/cache"
do_mount
check "a directory of 2000 files lists each once with its size (ls -l after a remount)" bash -c "[ \$(ls -l '$mnt/many' | grep -c ' file-') = 2000 ] && [ \$(ls '$mnt/many' | sort -u | wc -l) = 2000 ] && [ \$(cat '$mnt/many/file-01234') = 1234 ]"
check "rm -rf of the 2000-file directory leaves nothing" bash -c "rm -rf '$mnt/many' && [ ! -e '$mnt/many' ]"
check "after a remount with an empty cache: the big file" cmp -s "$dir/big" "$mnt/big"
check "after a remount: the named file and its hard link" bash -c "cmp -s '$dir/text' '$mnt/$NAME' && [ \$(stat -c %h '$mnt/hard') = 2 ]"
check "after a remount: tree, symlink, metadata" bash -c "[ \$(cat '$mnt/other/d2/d3/f') = inner ] && [ \$(readlink '$mnt/longsym') = '$long' ] && [ \$(stat -c %a:%u:%g '$mnt/xa') = 640:123:456 ]"
check "after a remount: the unlinked file is gone" test ! -e "$mnt/open-unlinked"
check "ls lists every name once" bash -c "[ \$(ls -a '$mnt' | sort | uniq -d | wc -l) = 0 ] && ls '$mnt' | grep -qx '$NAME'"

# A cluster that serves a garbage inode record: reads stay right, the
# record is written back there.
ino=$(printf %016x "$(stat -c %i "$mnt/big")")
unmount
rados -c "$dir/${CL[0]}.conf" -p scfs -N rt setomapval "i.$ino" inode "garbage-record-from-a-lying-cluster"
check "fsck names the cluster holding the garbage record and exits 1" bash -c "! '$ADMIN' ${A[*]} fsck --fs rt -k '$dir/w.pem' > '$dir/fsck' 2>&1; grep -q 'cluster ${CL[0]}: holds a bad record of inode i.$ino' '$dir/fsck'"
rm -rf "$dir/cache"
do_mount
check "a garbage inode record on one cluster: the file reads back right" cmp -s "$dir/big" "$mnt/big"
# The write-back goes, without waiting, to the clusters among a read's first
# n-f answers: poll for it, and read afresh (a remount) if that cluster
# answered late.
written_back() { rados -c "$dir/${CL[0]}.conf" -p scfs -N rt getomapval "i.$ino" inode "$dir/val" >/dev/null && head -c 32 "$dir/val" | grep -qx '[0-9a-f]\{32\}'; }
wb=1
for attempt in 1 2 3; do
	for _ in $(seq 10); do written_back && { wb=0; break; }; sleep 1; done
	[ $wb = 0 ] && break
	unmount; rm -rf "$dir/cache"; do_mount; cmp -s "$dir/big" "$mnt/big" || true
done
check "... and the good record was written back to that cluster" test $wb = 0

# A cluster that serves a garbage fragment of a chunk: reads stay right,
# fsck names the cluster.
unmount
frag=$(rados -c "$dir/${CL[1]}.conf" -p scfs -N rt ls | grep "^scfs\.du1\.c\.$ino\." | while read -r o; do
	echo "$(rados -c "$dir/${CL[1]}.conf" -p scfs -N rt stat "$o" | grep -o 'size [0-9]*' | cut -d' ' -f2) $o"; done | sort -n | tail -1 | cut -d' ' -f2)
size=$(rados -c "$dir/${CL[1]}.conf" -p scfs -N rt stat "$frag" | grep -o 'size [0-9]*' | cut -d' ' -f2)
head -c "$size" /dev/urandom | rados -c "$dir/${CL[1]}.conf" -p scfs -N rt put "$frag" -
rm -rf "$dir/cache"
: >"$dir/fs.log"
do_mount
check "a garbage fragment on one cluster: the file still reads back right" cmp -s "$dir/big" "$mnt/big"
# (The mount's log names the cluster only if the store happened to read its
# fragment: reads take the fastest f+1. fsck --verify-all reads every copy.)
check "... and fsck --verify-all names it too" bash -c "! '$ADMIN' ${A[*]} fsck --fs rt -k '$dir/w.pem' --verify-all > '$dir/fsck' 2>&1; grep -q 'cluster ${CL[1]}: holds a wrong chunk c.$ino' '$dir/fsck'"

# One cluster frozen (SIGSTOP): every operation still completes.
"$MICRO_CEPH" freeze --dir "$dir" "${CL[2]}" >/dev/null
check "with one cluster frozen: read, write, list, rename, unlink" bash -c "echo 3 > /proc/sys/vm/drop_caches; cmp -s '$dir/text' '$mnt/hard' && cp '$dir/text' '$mnt/frozen' && cmp -s '$dir/text' '$mnt/frozen' && ls '$mnt' | grep -qx frozen && mv '$mnt/frozen' '$mnt/frozen2' && rm '$mnt/frozen2'"
"$MICRO_CEPH" thaw --dir "$dir" "${CL[2]}" >/dev/null

# kill -9 while copying: every file whose close returned is intact after a remount.
mkdir "$mnt/copies"
: >"$dir/closed"
( for i in $(seq 5000); do cp "$dir/text" "$mnt/copies/f$i" 2>/dev/null && echo "f$i" >>"$dir/closed" || break; done ) &
copier=$!
sleep 3
kill -9 "$(pgrep -f "rados-scfs.*$mnt\$" | head -1)"
wait "$copier" || true
umount -l "$mnt" 2>/dev/null || true
"$ADMIN" "${A[@]}" unlock --fs rt >/dev/null
rm -rf "$dir/cache"
do_mount
bad_copies=0
while read -r f; do cmp -s "$dir/text" "$mnt/copies/$f" || { echo "closed file $f differs"; bad_copies=$((bad_copies + 1)); }; done <"$dir/closed"
check "after kill -9 and unlock: all $(wc -l <"$dir/closed") files whose close returned are intact" test "$bad_copies" = 0
check "... and every file there is whole or empty, never torn" bash -c "for f in '$mnt'/copies/*; do [ ! -s \"\$f\" ] || cmp -s '$dir/text' \"\$f\" || exit 1; done"
check "gc refuses while the file system is mounted read-write" bash -c "'$ADMIN' ${A[*]} gc --fs rt -k '$dir/w.pem' 2>&1 | grep -q 'unmount it first'"
unmount
"$ADMIN" "${A[@]}" gc --fs rt -k "$dir/w.pem" >"$dir/gc" 2>&1 || true
cat "$dir/gc"
check "gc runs on the unmounted file system" grep -q "^gc rt: .* reachable" "$dir/gc"
do_mount
bad_copies=0
while read -r f; do cmp -s "$dir/text" "$mnt/copies/$f" || bad_copies=$((bad_copies + 1)); done <"$dir/closed"
check "after gc every closed file is still intact, and the big file too" bash -c "[ $bad_copies = 0 ] && cmp -s '$dir/big' '$mnt/big'"

# One cluster stopped: reads and writes go on.
"$MICRO_CEPH" stop --dir "$dir" "${CL[3]}" >/dev/null
check "with one cluster stopped a file reads back (uncached)" bash -c "echo 3 > /proc/sys/vm/drop_caches; cmp -s '$dir/text' '$mnt/hard'"
check "with one cluster stopped new files can be written and read" bash -c "cp '$dir/text' '$mnt/during-outage' && cmp -s '$dir/text' '$mnt/during-outage' && mkdir '$mnt/dir-during-outage'"
unmount
rm -rf "$dir/cache"
check "with one cluster stopped the file system mounts" do_mount
check "... and shows what was written during the outage" bash -c "cmp -s '$dir/text' '$mnt/during-outage' && [ -d '$mnt/dir-during-outage' ]"
"$MICRO_CEPH" restart --dir "$dir" "${CL[3]}" >/dev/null
unmount
check "fsck lists what the restarted cluster missed" bash -c "! '$ADMIN' ${A[*]} fsck --fs rt -k '$dir/w.pem' > '$dir/fsck' 2>&1; grep -q 'cluster ${CL[3]}: misses or holds an old' '$dir/fsck'"
check "repair rewrites it, and fsck is clean afterwards (metadata)" bash -c "'$ADMIN' ${A[*]} repair --fs rt -k '$dir/w.pem' >/dev/null 2>&1; '$ADMIN' ${A[*]} fsck --fs rt -k '$dir/w.pem' > '$dir/fsck2' 2>&1; ! grep -q 'misses or holds an old\|holds a bad record' '$dir/fsck2'"

# The cache limit: three chunks written out of order with room for two.
CACHE=8M do_mount
check "writing past a full cache of dirty chunks is ENOSPC, the rest is intact" $PY - "$mnt" <<'PY'
import errno, os, sys
p = sys.argv[1] + "/cachefull"
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"A" * 1000, 0)
os.pwrite(fd, b"B" * 1000, 4 << 20)
try:
    os.pwrite(fd, b"C" * 1000, 9 << 20); got = None
except OSError as e:
    got = e.errno
os.close(fd)
data = open(p, "rb").read()
sys.exit(0 if got == errno.ENOSPC and data[:1000] == b"A" * 1000 and data[4 << 20:(4 << 20) + 1000] == b"B" * 1000 else 1)
PY
unmount

# Two clusters stopped: no quorum. EIO within the deadline (that the mount
# recovers by itself when they return: test-mount-recovers-after-cluster-restart.sh).
do_mount
"$MICRO_CEPH" stop --dir "$dir" "${CL[1]}" "${CL[2]}" >/dev/null
t0=$(date +%s)
check "without a quorum a new file gets EIO (or ETIMEDOUT)" bash -c "cp '$dir/text' '$mnt/no-quorum' 2>&1 | grep -q 'Input/output error\|timed out'"
echo "info: the refusal took $(($(date +%s) - t0)) s (deadline 5 s; not asserted)"
"$MICRO_CEPH" restart --dir "$dir" "${CL[1]}" "${CL[2]}" >/dev/null
unmount

# Nothing a cluster holds names a file or shows its content: everything of
# each cluster's pool, raw (scfs-dump), searched for the names and marker.
do_mount
rm -rf "$mnt/copies"
unmount
leak=0
for i in 0 1 2 3; do
	"$DUMP" "$dir/${CL[$i]}.conf" scfs >"$dir/dump$i"
	echo "info: ${CL[$i]} holds $(grep -c '^rt/' "$dir/dump$i") objects, $(stat -c %s "$dir/dump$i") bytes dumped"
	if grep -qa "$MARK\|$NAME\|Quixotic" "$dir/dump$i"; then echo "${CL[$i]} holds a name or content"; leak=1; fi
	if ! grep -qa "^rt/i\." "$dir/dump$i"; then echo "${CL[$i]}: the dump found no inode object"; leak=1; fi
	# The control: the superblock names the clusters in clear, so the search does see data.
	if ! grep -qa "${CL[3]}" "$dir/dump$i"; then echo "${CL[$i]}: the dump shows no superblock text"; leak=1; fi
done
check "no object name, data, omap or xattr on any cluster holds a name or content (CA)" test $leak = 0

echo "$fails failed"
[ "$fails" = 0 ]

#!/usr/bin/env bash
# A mounted file system whose clusters stop, freeze and come back works
# again by itself (CA, n=4, f=1): a cluster down at mount time is connected
# once it returns and written to; with one cluster frozen every operation
# completes; after a lost quorum (EIO meanwhile) the mount works again
# without a remount and still holds its lease. docs/fs.md, "Clusters that
# come back".
#   test-mount-recovers-after-cluster-restart.sh SCFS_ADMIN RADOS_SCFS MICRO_CEPH
set -euo pipefail
ADMIN=$(readlink -f "$1") MOUNT=$(readlink -f "$2") MICRO_CEPH=$(readlink -f "$3")
TAG=scfs-rec
CL=(scfsv1 scfsv2 scfsv3 scfsv4)
. "$(dirname "$0")/prelude.sh"
stat_of() { awk -v k="$1" '$1 == k {print $2}' "$mnt/.statistics.txt"; }
do_mount() { "$MOUNT" "${A[@]}" --fs rv -k "$dir/w.pem" -o "cache_dir=$dir/cache,cache_size=12M,log_file=$dir/fs.log" "$mnt"; }

"$MICRO_CEPH" start --dir "$dir" --pool scfs "${CL[@]}" >/dev/null
"$ADMIN" keygen "$dir/w.pem" >/dev/null
"$ADMIN" "${A[@]}" mkfs --fs rv -k "$dir/w.pem" >/dev/null
mkdir "$mnt"
echo hello >"$dir/text"

"$MICRO_CEPH" stop --dir "$dir" "${CL[3]}" >/dev/null
do_mount
"$MICRO_CEPH" restart --dir "$dir" "${CL[3]}" >/dev/null
# Metadata (a small file lives in its inode record) and data (a 9 KB file
# is a chunk in the store: fragment objects scfs.du1.c.INODE.*) both reach it.
head -c 9000 /dev/urandom >"$dir/nine"
on_last() { rados -c "$dir/${CL[3]}.conf" -p scfs -N rv "$@" 2>/dev/null; }
meta_reached=1 data_reached=1
for i in $(seq 30); do
	echo "$i" >"$mnt/after-return-$i"
	cp "$dir/nine" "$mnt/nine-$i"
	o=$(printf 'i.%016x' "$(stat -c %i "$mnt/after-return-$i")")
	d=$(printf '%016x' "$(stat -c %i "$mnt/nine-$i")")
	on_last stat "$o" >/dev/null && meta_reached=0
	on_last ls | grep -q "^scfs\.du1\.c\.$d\." && data_reached=0
	[ $meta_reached$data_reached = 00 ] && break
	sleep 2
done
check "a cluster down at mount time is connected once it returns, and written to (metadata)" test $meta_reached = 0
check "... and the data store writes to it too" test $data_reached = 0

# One cluster frozen (SIGSTOP, f=1): every operation completes, the frozen
# one's answers are not waited for (times printed, not asserted).
# chunk_download counts the chunks fetched from the clusters.
head -c 9000000 /dev/urandom >"$dir/big"
cp "$dir/big" "$mnt/before-freeze"
"$MICRO_CEPH" freeze --dir "$dir" "${CL[0]}" >/dev/null
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
frozen_ok=0 times=""
step() { local t0; t0=$(date +%s%N); if bash -c "$2"; then times="$times $1 $(ms "$t0") ms,"; else echo "step failed: $1"; frozen_ok=1; fi; }
step write "cp '$dir/big' '$mnt/frozen'"
step list "ls '$mnt' | grep -qx frozen"
step rename "mv '$mnt/frozen' '$mnt/frozen2'"
# The overwrite pushes the renamed file's chunks out of the 3-chunk cache:
# the read fetches them from the clusters.
step overwrite "cp '$dir/big' '$mnt/before-freeze'"
down0=$(stat_of chunk_download)
step read "echo 3 > /proc/sys/vm/drop_caches; cmp -s '$dir/big' '$mnt/frozen2'"
step remove "rm '$mnt/frozen2' '$mnt/before-freeze' && [ ! -e '$mnt/frozen2' ]"
check "with one cluster frozen: a 9 MB file is written, listed, renamed, read, overwritten, removed" test $frozen_ok = 0
check "... and the read fetched chunks from the clusters" test "$(stat_of chunk_download)" -gt "$down0"
echo "info: with ${CL[0]} frozen:$times (deadline 5 s an operation; not asserted)"
check "with one cluster frozen: mkdir, chmod, stat, rmdir" bash -c "mkdir '$mnt/fd' && chmod 700 '$mnt/fd' && [ \$(stat -c %a '$mnt/fd') = 700 ] && rmdir '$mnt/fd'"
"$MICRO_CEPH" thaw --dir "$dir" "${CL[0]}" >/dev/null

"$MICRO_CEPH" stop --dir "$dir" "${CL[1]}" "${CL[2]}" >/dev/null
check "without a quorum a new file gets EIO (or ETIMEDOUT)" bash -c "! cp '$dir/text' '$mnt/no-quorum' 2>/dev/null"
"$MICRO_CEPH" restart --dir "$dir" "${CL[1]}" "${CL[2]}" >/dev/null
ok_after=1
for i in $(seq 30); do if cp "$dir/text" "$mnt/after-quorum" 2>/dev/null; then ok_after=0; break; fi; sleep 2; done
check "when the clusters return the mount works again by itself" test $ok_after = 0
check "... and what was written before the outage reads back" bash -c "echo 3 > /proc/sys/vm/drop_caches; [ \$(cat '$mnt/after-return-1') = 1 ]"
mkdir "$dir/mnt2"
check "... and it still holds its lease: a second read-write mount is refused" bash -c "! '$MOUNT' ${A[*]} --fs rv -k '$dir/w.pem' -o 'cache_dir=$dir/cache2' '$dir/mnt2' 2>'$dir/second'; grep -q 'mounted read-write by host' '$dir/second'"
if [ "$fails" != 0 ]; then echo "--- the mount's log"; tail -n 40 "$dir/fs.log"; fi
echo "$fails failed"
[ "$fails" = 0 ]

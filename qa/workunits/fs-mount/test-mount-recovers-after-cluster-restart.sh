#!/usr/bin/env bash
# KNOWN TO FAIL, not in the suite (docs/fs.md, "Not done yet"): a mounted
# file system whose clusters are stopped and restarted must work again by
# itself, for a cluster down at mount time and after a lost quorum. In the
# 00:40 UTC run of the fs suite both checks failed: the mount's librados
# handles did not find the restarted micro clusters again, and the keeper's
# reconnect (meta_reconnect) did not take effect. Kept to be made to pass.
#   test-mount-recovers-after-cluster-restart.sh SCFS_ADMIN RADOS_SCFS MICRO_CEPH
set -euo pipefail
ADMIN=$(readlink -f "$1") MOUNT=$(readlink -f "$2") MICRO_CEPH=$(readlink -f "$3")
dir=$(mktemp -d /tmp/scfs-rec-XXXXXX)
mnt=$dir/mnt
CL=(scfsv1 scfsv2 scfsv3 scfsv4)
cleanup() {
	umount -l "$mnt" 2>/dev/null || true
	"$MICRO_CEPH" stop --dir "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
fails=0
check() { if "${@:2}"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }
A=(--clusters "$(IFS=,; echo "${CL[*]}")" --conf-dir "$dir" --timeout 5)
do_mount() { "$MOUNT" "${A[@]}" --fs rv -k "$dir/w.pem" -o "cache_dir=$dir/cache,log_file=$dir/fs.log" "$mnt"; }

"$MICRO_CEPH" start --dir "$dir" --pool scfs "${CL[@]}" >/dev/null
"$ADMIN" keygen "$dir/w.pem" >/dev/null
"$ADMIN" "${A[@]}" mkfs --fs rv -k "$dir/w.pem" >/dev/null
mkdir "$mnt"
echo hello >"$dir/text"

"$MICRO_CEPH" stop --dir "$dir" "${CL[3]}" >/dev/null
do_mount
"$MICRO_CEPH" restart --dir "$dir" "${CL[3]}" >/dev/null
reached=1
for i in $(seq 30); do
	echo "$i" >"$mnt/after-return-$i"
	o=$(printf 'i.%016x' "$(stat -c %i "$mnt/after-return-$i")")
	if rados -c "$dir/${CL[3]}.conf" -p scfs -N rv stat "$o" >/dev/null 2>&1; then reached=0; break; fi
	sleep 2
done
check "a cluster down at mount time is connected once it returns, and written to" test $reached = 0

"$MICRO_CEPH" stop --dir "$dir" "${CL[1]}" "${CL[2]}" >/dev/null
check "without a quorum a new file gets EIO (or ETIMEDOUT)" bash -c "! cp '$dir/text' '$mnt/no-quorum' 2>/dev/null"
"$MICRO_CEPH" restart --dir "$dir" "${CL[1]}" "${CL[2]}" >/dev/null
ok_after=1
for i in $(seq 30); do if cp "$dir/text" "$mnt/after-quorum" 2>/dev/null; then ok_after=0; break; fi; sleep 2; done
check "when the clusters return the mount works again by itself" test $ok_after = 0
echo "$fails failed"
[ "$fails" = 0 ]

# Sourced by the fs-mount workunits once MICRO_CEPH, TAG (a name for the
# temporary directory) and CL (the cluster names) are set: a fresh $dir and
# $mnt, a cleanup at exit (every mount $dir/mnt*, the clusters, the
# directory), ok/bad/check counting failures in $fails, and A, the options
# that name the clusters.
dir=$(mktemp -d "/tmp/$TAG-XXXXXX")
mnt=$dir/mnt
cleanup() {
	for m in "$dir"/mnt*; do umount -l "$m" 2>/dev/null || true; done
	"$MICRO_CEPH" stop --dir "$dir" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }
check() { if "${@:2}"; then ok "$1"; else bad "$1"; fi; }
A=(--clusters "$(IFS=,; echo "${CL[*]}")" --conf-dir "$dir" --timeout 5)

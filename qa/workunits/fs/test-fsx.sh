#!/usr/bin/env bash
# fs-fsx on the harness's file system: random reads, writes, truncations,
# fallocates and mmap reads/writes checked against an in-memory model, in
# three phases with FS_REMOUNT between them (rados-scfs: unmount and mount
# again; local: sync and drop the page cache), for several seeds.
#   test-fsx.sh FS_FSX        (FSX_SEEDS, default "1 2"; FSX_OPS, default 5000)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
fsx=${1:?usage: test-fsx.sh FS_FSX}
fs_setup
for seed in ${FSX_SEEDS:-1 2}; do
	"$fsx" --seed "$seed" --ops "${FSX_OPS:-5000}" --phases 3 --remount "$FS_REMOUNT" \
		"$FS_DIR/fsx.$seed"
done

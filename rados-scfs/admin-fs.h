/* scfs-admin's file system commands (admin-fs.c). */
#ifndef SCFS_ADMIN_FS_H
#define SCFS_ADMIN_FS_H

#include <stdbool.h>
#include <stdio.h>

/* True when the command word of ARGV is mkfs, df, unlock, fsck or repair. */
bool admin_fs_is_command(int argc, char **argv);
/* Their lines of scfs-admin --help. */
void admin_fs_usage(FILE *out);
/* Parses the whole command line itself and runs the command: the exit code. */
int admin_fs_main(int argc, char **argv);

#endif

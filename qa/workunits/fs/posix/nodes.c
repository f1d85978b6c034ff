/*
 * mknod(2) of every kind: regular files, FIFOs (that pass data), sockets
 * (bound by a server and connected to), and character and block devices that
 * keep their type and device number. Devices need root.
 */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int type_is(const char *path, mode_t type, mode_t perm)
{
	struct stat st;

	OK(lstat(path, &st));
	CHECK((st.st_mode & S_IFMT) == type, "%s: expected type 0%o, got 0%o", path, type,
	      st.st_mode & S_IFMT);
	EQ_MODE(st.st_mode & 07777, perm);
	return CASE_OK;
}

static int mknod_makes_regular_files_fifos_and_sockets(void)
{
	OK(mknod("regular", S_IFREG | 0640, 0));
	SUB(type_is("regular", S_IFREG, 0640));
	OK(mknod("fifo", S_IFIFO | 0644, 0));
	SUB(type_is("fifo", S_IFIFO, 0644));
	OK(mknod("socket", S_IFSOCK | 0600, 0));
	SUB(type_is("socket", S_IFSOCK, 0600));
	OK(mkfifo("fifo2", 0600));
	SUB(type_is("fifo2", S_IFIFO, 0600));
	struct stat st;
	OK(stat("regular", &st));
	EQ(st.st_size, 0);
	return CASE_OK;
}

static int fifo_passes_data_between_processes(void)
{
	char buf[16] = {0};
	int fd, status;
	pid_t pid;

	OK(mkfifo("fifo", 0644));
	pid = fork();
	if (pid == 0) {
		int w = open("fifo", O_WRONLY);

		_exit(w >= 0 && write(w, "through", 7) == 7 ? 0 : 1);
	}
	OK(fd = open("fifo", O_RDONLY));
	EQ(read(fd, buf, sizeof(buf) - 1), 7);
	close(fd);
	OK(waitpid(pid, &status, 0));
	CHECK(strcmp(buf, "through") == 0, "fifo: expected \"through\", got \"%s\"", buf);
	EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	return CASE_OK;
}

static int unix_socket_binds_and_connects_here(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char buf[8] = {0};
	int server, client, conn;

	/* sun_path holds ~108 bytes: bind by a relative name in the case dir. */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "sock");
	OK(server = socket(AF_UNIX, SOCK_STREAM, 0));
	OK(bind(server, (struct sockaddr *)&addr, sizeof(addr)));
	OK(listen(server, 1));
	SUB(type_is("sock", S_IFSOCK, 0755 & ~022));
	OK(client = socket(AF_UNIX, SOCK_STREAM, 0));
	OK(connect(client, (struct sockaddr *)&addr, sizeof(addr)));
	OK(conn = accept(server, NULL, NULL));
	EQ(write(client, "ping", 4), 4);
	EQ(read(conn, buf, sizeof(buf) - 1), 4);
	CHECK(strcmp(buf, "ping") == 0, "socket: expected \"ping\", got \"%s\"", buf);
	close(conn);
	close(client);
	close(server);
	ERR(bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&addr, sizeof(addr)),
	    EADDRINUSE);
	return CASE_OK;
}

static int device_nodes_keep_type_and_number(void)
{
	struct stat st;

	OK(mknod("chr", S_IFCHR | 0600, makedev(1, 3)));
	OK(mknod("blk", S_IFBLK | 0640, makedev(7, 200)));
	SUB(type_is("chr", S_IFCHR, 0600));
	SUB(type_is("blk", S_IFBLK, 0640));
	OK(stat("chr", &st));
	EQ(major(st.st_rdev), 1);
	EQ(minor(st.st_rdev), 3);
	OK(stat("blk", &st));
	EQ(major(st.st_rdev), 7);
	EQ(minor(st.st_rdev), 200);
	OK(rename("chr", "chr2"));
	OK(stat("chr2", &st));
	EQ(st.st_rdev, makedev(1, 3));
	return CASE_OK;
}

const struct posix_case nodes_cases[] = {
    {"mknod_makes_regular_files_fifos_and_sockets", mknod_makes_regular_files_fifos_and_sockets, 0},
    {"fifo_passes_data_between_processes", fifo_passes_data_between_processes, 0},
    {"unix_socket_binds_and_connects_here", unix_socket_binds_and_connects_here, 0},
    {"device_nodes_keep_type_and_number", device_nodes_keep_type_and_number, NEEDS_ROOT},
    {NULL, NULL, 0},
};

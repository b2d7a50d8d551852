#include "test_clock.h"
#include "qsd_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *qsd_binary(void)
{
	static char found[512];
	const char *env = getenv("QSD");
	const char *path = getenv("PATH");

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(found, sizeof(found), "%.*s/qemu-storage-daemon", (int)n, path);
		if (n && access(found, X_OK) == 0)
			return found;
		path += n + (path[n] == ':');
	}
	return NULL;
}

static int make_image(const char *file, uint64_t size)
{
	int fd = open(file, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int qsd_start(struct qsd_proc *p, bool file_backed, uint64_t size, int num_queues)
{
	const char *bin = qsd_binary();
	char blockdev[512], blockdev2[256], export[512], chardev[256];
	struct stat st;
	int rc;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	if (!bin)
		return -ENOENT;
	strcpy(p->dir, "/tmp/vu-front-qsd-XXXXXX");
	if (!mkdtemp(p->dir))
		return -errno;
	snprintf(p->sock, sizeof(p->sock), "%s/blk.sock", p->dir);
	snprintf(p->qmp, sizeof(p->qmp), "%s/qmp.sock", p->dir);
	if (file_backed) {
		snprintf(p->image, sizeof(p->image), "%s/disk.img", p->dir);
		rc = make_image(p->image, size);
		if (rc)
			goto fail;
		snprintf(blockdev, sizeof(blockdev), "driver=file,node-name=f,filename=%s",
			 p->image);
		snprintf(blockdev2, sizeof(blockdev2), "driver=raw,node-name=n,file=f");
	} else {
		snprintf(blockdev, sizeof(blockdev), "driver=null-co,node-name=n,size=%llu",
			 (unsigned long long)size);
	}
	snprintf(export, sizeof(export),
		 "type=vhost-user-blk,id=e,node-name=n,addr.type=unix,addr.path=%s,writable=on,"
		 "num-queues=%d", p->sock, num_queues);
	snprintf(chardev, sizeof(chardev), "socket,id=mon,path=%s,server=on,wait=off", p->qmp);
	p->pid = fork();
	if (p->pid < 0) {
		rc = -errno;
		goto fail;
	}
	if (p->pid == 0) {
		const char *argv[16];
		int n = 0;

		argv[n++] = bin;
		argv[n++] = "--blockdev";
		argv[n++] = blockdev;
		if (file_backed) {
			argv[n++] = "--blockdev";
			argv[n++] = blockdev2;
		}
		argv[n++] = "--export";
		argv[n++] = export;
		argv[n++] = "--chardev";
		argv[n++] = chardev;
		argv[n++] = "--monitor";
		argv[n++] = "chardev=mon,mode=control";
		argv[n] = NULL;
		execv(bin, (char **)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int status;

		if (stat(p->sock, &st) == 0 && stat(p->qmp, &st) == 0)
			return 0;
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = -1;
			rc = -ECHILD;
			goto fail;
		}
		test_sleep_ms(10);
	}
	rc = -ETIMEDOUT;
fail:
	qsd_stop(p);
	return rc;
}

void qsd_stop(struct qsd_proc *p)
{
	if (p->pid > 0) {
		int status;

		kill(p->pid, SIGTERM);
		for (int i = 0; i < 300 && waitpid(p->pid, &status, WNOHANG) == 0; i++)
			test_sleep_ms(10);
		if (waitpid(p->pid, &status, WNOHANG) == 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
		}
		p->pid = -1;
	}
	if (p->dir[0]) {
		unlink(p->sock);
		unlink(p->qmp);
		if (p->image[0])
			unlink(p->image);
		rmdir(p->dir);
		p->dir[0] = 0;
	}
}

/* Reads one line (without the newline) with a 5 s timeout. */
static int read_line(int fd, char *buf, size_t max)
{
	size_t n = 0;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (n + 1 < max) {
		if (poll(&pfd, 1, 5000) <= 0)
			return -ETIMEDOUT;
		ssize_t r = read(fd, buf + n, 1);

		if (r <= 0)
			return r ? -errno : -ECONNRESET;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return 0;
}

int qsd_qmp_send(int fd, const char *json)
{
	size_t len = strlen(json);

	if (write(fd, json, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		return -EIO;
	return 0;
}

int qsd_qmp_reply(int fd)
{
	char line[4096];

	for (;;) {
		int rc = read_line(fd, line, sizeof(line));

		if (rc)
			return rc;
		if (strstr(line, "\"return\""))
			return 0;
		if (strstr(line, "\"error\""))
			return -EIO;
	}
}

int qsd_qmp_open(struct qsd_proc *p)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char line[4096];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	if (fd < 0)
		return -errno;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", p->qmp);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = read_line(fd, line, sizeof(line)); /* greeting */
	if (!rc)
		rc = qsd_qmp_send(fd, "{\"execute\":\"qmp_capabilities\"}");
	if (!rc)
		rc = qsd_qmp_reply(fd);
	if (!rc)
		return fd;
fail:
	close(fd);
	return rc;
}

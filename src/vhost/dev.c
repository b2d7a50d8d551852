/* Controllers: the registry, their listening sockets, and the one session each may have. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/reactor.h"
#include "vhost/dev_internal.h"
#include "vhost/session.h"

struct vhost_dev {
	char *name;
	char *socket_path;
	const struct vhost_dev_ops *ops;
	void *ctx;
	struct cpuset cpumask;
	struct reactor **workers;
	int nworkers;
	bool packed_ring;
	int listen_fd;
	struct reactor_fd *listen_rfd;
	struct vhost_session *session;
	uint32_t coalesce_delay_us, coalesce_iops_threshold;
	bool deleting; /* shutdown: free once the session is gone */
	struct vhost_dev *next;
};

static struct vhost_dev *devs;
static char socket_dir[PATH_MAX] = ".";
static unsigned socket_mode = 0600;
static int socket_uid = -1, socket_gid = -1;
static struct {
	void (*done)(void *arg);
	void *arg;
} shutdown_pending;

void vhost_set_socket_dir(const char *dir)
{
	snprintf(socket_dir, sizeof(socket_dir), "%s", dir);
}

const char *vhost_socket_dir(void)
{
	return socket_dir;
}

void vhost_set_socket_perms(unsigned mode, int uid, int gid)
{
	socket_mode = mode;
	socket_uid = uid;
	socket_gid = gid;
}

const char *vhost_dev_name(const struct vhost_dev *dev)
{
	return dev->name;
}

void *vhost_dev_ctx(const struct vhost_dev *dev)
{
	return dev->ctx;
}

const struct vhost_dev_ops *vhost_dev_ops(const struct vhost_dev *dev)
{
	return dev->ops;
}

const struct cpuset *vhost_dev_cpumask(const struct vhost_dev *dev)
{
	return &dev->cpumask;
}

bool vhost_dev_packed_ring(const struct vhost_dev *dev)
{
	return dev->packed_ring;
}

bool vhost_dev_connected(const struct vhost_dev *dev)
{
	return dev->session != NULL;
}

struct reactor *vhost_dev_worker_for_queue(const struct vhost_dev *dev, uint16_t index)
{
	return dev->workers[index % dev->nworkers];
}

uint32_t vhost_dev_coalesce_delay(const struct vhost_dev *dev)
{
	return dev->coalesce_delay_us;
}

uint32_t vhost_dev_coalesce_threshold(const struct vhost_dev *dev)
{
	return dev->coalesce_iops_threshold;
}

struct vhost_dev *vhost_dev_find(const char *name)
{
	for (struct vhost_dev *d = devs; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

void vhost_dev_foreach(void (*fn)(struct vhost_dev *dev, void *arg), void *arg)
{
	for (struct vhost_dev *d = devs, *next; d; d = next) {
		next = d->next;
		fn(d, arg);
	}
}

/* Workers serving the mask, in CPU order; the whole set when mask is NULL. */
static int pick_workers(struct vhost_dev *dev, const char *mask, char *err, size_t errlen)
{
	struct cpuset all = { 0 };
	int n = reactor_worker_count();

	for (int i = 0; i < n; i++)
		cpuset_add(&all, reactor_cpu(reactor_worker(i)));
	if (!mask) {
		dev->cpumask = all;
	} else if (cpuset_parse(&dev->cpumask, mask)) {
		snprintf(err, errlen, "invalid cpumask '%s'", mask);
		return -EINVAL;
	} else if (!cpuset_is_subset(&dev->cpumask, &all)) {
		char allowed[80];

		cpuset_format(&all, allowed, sizeof(allowed));
		snprintf(err, errlen, "cpumask '%s' is not a subset of the daemon's cpumask %s", mask, allowed);
		return -EINVAL;
	}
	dev->workers = calloc(CPUSET_MAX, sizeof(*dev->workers));
	if (!dev->workers)
		return -ENOMEM;
	for (int cpu = 0; cpu < CPUSET_MAX; cpu++)
		if (cpuset_has(&dev->cpumask, cpu))
			dev->workers[dev->nworkers++] = reactor_worker_on_cpu(cpu);
	if (dev->nworkers == 0) {
		snprintf(err, errlen, "no worker threads to serve the controller");
		return -EINVAL;
	}
	return 0;
}

static void dev_accept(void *arg, uint32_t events)
{
	struct vhost_dev *dev = arg;
	int fd = accept4(dev->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void)events;
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_error("%s: accept: %s", dev->name, strerror(errno));
		return;
	}
	if (dev->session || dev->deleting) {
		log_warn("%s: refusing a second front-end while one is connected", dev->name);
		close(fd);
		return;
	}
	dev->session = vhost_session_create(dev, fd);
	if (!dev->session) {
		log_error("%s: cannot create a session: %s", dev->name, strerror(errno));
		close(fd);
		return;
	}
	log_notice("%s: front-end connected", dev->name);
}

/* A socket file left by a dead process is replaced; one a live process listens on is not. */
static int socket_path_claim(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen, "socket %s is in use by another process", path);
		return -EADDRINUSE;
	}
	return unlink(path) < 0 ? -errno : 0;
}

int vhost_dev_listen(struct vhost_dev *dev, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (dev->listen_fd >= 0)
		return 0;
	if (strlen(dev->socket_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path %s is too long", dev->socket_path);
		return -ENAMETOOLONG;
	}
	rc = socket_path_claim(dev->socket_path, err, errlen);
	if (rc) {
		if (!*err)
			snprintf(err, errlen, "cannot replace %s: %s", dev->socket_path, strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, dev->socket_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(dev->socket_path, socket_mode) < 0 ||
	    ((socket_uid >= 0 || socket_gid >= 0) && chown(dev->socket_path, socket_uid, socket_gid) < 0) ||
	    listen(fd, 8) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", dev->socket_path, strerror(errno));
		close(fd);
		unlink(dev->socket_path);
		return rc;
	}
	dev->listen_rfd = reactor_fd_add(fd, EPOLLIN, dev_accept, dev);
	if (!dev->listen_rfd) {
		close(fd);
		unlink(dev->socket_path);
		return -ENOMEM;
	}
	dev->listen_fd = fd;
	log_notice("%s: listening on %s", dev->name, dev->socket_path);
	return 0;
}

static void dev_free(struct vhost_dev *dev)
{
	if (dev->listen_fd >= 0) {
		reactor_fd_remove(dev->listen_rfd);
		close(dev->listen_fd);
		unlink(dev->socket_path);
	}
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	free(dev->workers);
	free(dev->socket_path);
	free(dev->name);
	free(dev);
}

static bool name_valid(const char *name)
{
	if (!*name || strlen(name) > 200 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	return strchr(name, '/') == NULL;
}

int vhost_dev_create(const struct vhost_dev_opts *opts, const struct vhost_dev_ops *ops, void *ctx,
		     bool listen, struct vhost_dev **out, char *err, size_t errlen)
{
	struct vhost_dev *dev;
	int rc;

	err[0] = '\0';
	if (!opts->name || !name_valid(opts->name)) {
		snprintf(err, errlen, "invalid controller name '%s'", opts->name ? opts->name : "");
		return -EINVAL;
	}
	if (vhost_dev_find(opts->name)) {
		snprintf(err, errlen, "controller '%s' already exists", opts->name);
		return -EEXIST;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->listen_fd = -1;
	dev->ops = ops;
	dev->ctx = ctx;
	dev->packed_ring = opts->packed_ring;
	dev->name = strdup(opts->name);
	if (!dev->name || asprintf(&dev->socket_path, "%s/%s", socket_dir, opts->name) < 0) {
		dev->socket_path = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	rc = pick_workers(dev, opts->cpumask, err, errlen);
	if (rc == 0 && listen)
		rc = vhost_dev_listen(dev, err, errlen);
	if (rc)
		goto fail;
	dev->next = devs;
	devs = dev;
	*out = dev;
	return 0;
fail:
	dev->ops = &(const struct vhost_dev_ops){ 0 }; /* the personality keeps its part on failure */
	dev_free(dev);
	return rc;
}

static void dev_unlink(struct vhost_dev *dev)
{
	for (struct vhost_dev **pp = &devs; *pp; pp = &(*pp)->next) {
		if (*pp == dev) {
			*pp = dev->next;
			return;
		}
	}
}

int vhost_dev_delete(struct vhost_dev *dev)
{
	if (dev->session)
		return -EBUSY;
	dev_unlink(dev);
	dev_free(dev);
	return 0;
}

static void shutdown_check(void)
{
	void (*done)(void *arg) = shutdown_pending.done;

	if (!done || devs)
		return;
	shutdown_pending.done = NULL;
	done(shutdown_pending.arg);
}

void vhost_dev_session_closed(struct vhost_dev *dev)
{
	dev->session = NULL;
	if (dev->deleting) {
		dev_unlink(dev);
		dev_free(dev);
		shutdown_check();
	}
}

void vhost_shutdown(void (*done)(void *arg), void *arg)
{
	shutdown_pending.done = done;
	shutdown_pending.arg = arg;
	for (struct vhost_dev *d = devs, *next; d; d = next) {
		next = d->next;
		if (d->listen_fd >= 0) {
			reactor_fd_remove(d->listen_rfd);
			close(d->listen_fd);
			unlink(d->socket_path);
			d->listen_fd = -1;
		}
		if (d->session) {
			d->deleting = true;
			vhost_session_disconnect(d->session);
		} else {
			vhost_dev_delete(d);
		}
	}
	shutdown_check();
}

int vhost_dev_config_changed(struct vhost_dev *dev)
{
	if (!dev->session)
		return -ENOTCONN;
	return vhost_session_send_config_change(dev->session);
}

struct coalesce_update {
	uint32_t delay_us, threshold;
};

static void coalesce_apply_on_worker(struct vhost_vq *vq, void *arg)
{
	struct coalesce_update *u = arg;

	vq->coalesce_delay_us = u->delay_us;
	vq->coalesce_iops_threshold = u->threshold;
	if (!u->delay_us)
		vq->coalescing_active = false;
}

int vhost_dev_set_coalescing(struct vhost_dev *dev, uint32_t delay_base_us, uint32_t iops_threshold)
{
	struct coalesce_update *u;

	if (delay_base_us && !iops_threshold)
		return -EINVAL;
	dev->coalesce_delay_us = delay_base_us;
	dev->coalesce_iops_threshold = iops_threshold;
	if (!dev->session)
		return 0;
	u = malloc(sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->delay_us = delay_base_us;
	u->threshold = iops_threshold;
	vhost_session_foreach_queue(dev->session, coalesce_apply_on_worker, free, u);
	return 0;
}

void vhost_dev_foreach_queue(struct vhost_dev *dev, void (*fn)(struct vhost_vq *vq, void *arg),
			     void (*done)(void *arg), void *arg)
{
	vhost_session_foreach_queue(dev->session, fn, done, arg);
}

void vhost_dev_dump(struct vhost_dev *dev, json_t *obj)
{
	char mask[80];

	cpuset_format(&dev->cpumask, mask, sizeof(mask));
	json_object_set_new(obj, "ctrlr", json_string(dev->name));
	json_object_set_new(obj, "cpumask", json_string(mask));
	json_object_set_new(obj, "delay_base_us", json_integer(dev->coalesce_delay_us));
	json_object_set_new(obj, "iops_threshold", json_integer(dev->coalesce_iops_threshold));
	json_object_set_new(obj, "socket", json_string(dev->socket_path));
	json_object_set_new(obj, "connected", json_boolean(dev->session != NULL));
	json_object_set_new(obj, "packed_ring", json_boolean(dev->packed_ring));
}

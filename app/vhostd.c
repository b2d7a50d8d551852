/* vhostd: the daemon. Parses options, starts the reactors, the RPC server and the config, then runs
 * until SIGINT/SIGTERM, when it disconnects every front-end, deletes every bdev and exits. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bdev/bdev.h"
#include "core/cpuset.h"
#include "core/log.h"
#include "core/reactor.h"
#include "rpc/rpc.h"
#include "vhost/vhost.h"


struct options {
	const char *rpc_socket;
	const char *socket_dir;
	const char *cpumask;
	const char *config;
	unsigned socket_mode;
	int socket_uid, socket_gid;
	struct reactor_options reactor;
};

static int exit_status;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vhostd [options]\n"
		"  -r, --rpc-socket PATH   JSON-RPC socket (default " RPC_DEFAULT_SOCKET ")\n"
		"  -S, --socket-dir DIR    directory of the controllers' vhost-user sockets (default .)\n"
		"  -m, --cpumask MASK      CPUs of the worker threads: 0x3, [0,2-3] (default 0x1)\n"
		"  -c, --config FILE       replay an SPDK-format JSON config at start-up\n"
		"      --poll MODE         adaptive (default), always or never\n"
		"      --poll-idle-us N    adaptive: idle time before sleeping (default 100)\n"
		"      --socket-mode OCT   permissions of every socket (default 0600)\n"
		"      --socket-owner UID  owner of the controllers' sockets\n"
		"      --socket-group GID  group of the controllers' sockets\n"
		"  -L, --log-level LEVEL   error, warn, notice (default), info, debug\n"
		"  -h, --help              this text\n");
}

static int parse_uint(const char *text, int base, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(text, &end, base);
	return errno || end == text || *end || *out > max ? -EINVAL : 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "rpc-socket", required_argument, NULL, 'r' },
		{ "socket-dir", required_argument, NULL, 'S' },
		{ "cpumask", required_argument, NULL, 'm' },
		{ "config", required_argument, NULL, 'c' },
		{ "poll", required_argument, NULL, 'p' },
		{ "poll-idle-us", required_argument, NULL, 'i' },
		{ "socket-mode", required_argument, NULL, 'M' },
		{ "socket-owner", required_argument, NULL, 'U' },
		{ "socket-group", required_argument, NULL, 'G' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum log_level level;
	unsigned long v;
	int c;

	while ((c = getopt_long(argc, argv, "r:S:m:c:L:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->rpc_socket = optarg; break;
		case 'S': o->socket_dir = optarg; break;
		case 'm': o->cpumask = optarg; break;
		case 'c': o->config = optarg; break;
		case 'p':
			if (reactors_poll_mode_parse(optarg, &o->reactor.poll_mode))
				return fprintf(stderr, "vhostd: --poll: '%s' is not adaptive, always or never\n", optarg), -1;
			break;
		case 'i':
			if (parse_uint(optarg, 10, 10000000, &v) || v == 0)
				return fprintf(stderr, "vhostd: --poll-idle-us: '%s' is not a positive number\n", optarg), -1;
			o->reactor.idle_us = (uint32_t)v;
			break;
		case 'M':
			if (parse_uint(optarg, 8, 0777, &v))
				return fprintf(stderr, "vhostd: --socket-mode: '%s' is not an octal mode\n", optarg), -1;
			o->socket_mode = (unsigned)v;
			break;
		case 'U':
		case 'G':
			if (parse_uint(optarg, 10, 0x7fffffff, &v))
				return fprintf(stderr, "vhostd: --socket-%s: '%s' is not a numeric id\n",
					       c == 'U' ? "owner" : "group", optarg), -1;
			*(c == 'U' ? &o->socket_uid : &o->socket_gid) = (int)v;
			break;
		case 'L':
			if (log_level_parse(optarg, &level))
				return fprintf(stderr, "vhostd: --log-level: unknown level '%s'\n", optarg), -1;
			log_set_level(level);
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vhostd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static int start_workers(const char *mask)
{
	struct cpuset set;
	int cpus[CPUSET_MAX], n = 0;
	long online = sysconf(_SC_NPROCESSORS_CONF);

	if (cpuset_parse(&set, mask)) {
		log_error("invalid cpumask '%s'", mask);
		return -EINVAL;
	}
	for (int cpu = 0; cpu < CPUSET_MAX; cpu++) {
		if (!cpuset_has(&set, cpu))
			continue;
		if (cpu >= online) {
			log_error("cpumask '%s' names CPU %d; this machine has %ld", mask, cpu, online);
			return -EINVAL;
		}
		cpus[n++] = cpu;
	}
	return reactors_start_workers(cpus, n);
}

/* --- shutdown ---
 * Front-ends go first so their queues drain while bdevs still serve them. A request a bdev holds
 * (a pending error injection, a stuck device) would keep a queue from draining forever, so after a
 * grace period the bdevs are unregistered too: their users get REMOVE and held I/O fails, which
 * lets the queues drain. The loop stops when both are done. */
#define SHUTDOWN_GRACE_US 1000000

static struct {
	bool vhost_done, bdevs_started, bdevs_done;
} shutdown_state;

static void shutdown_check_done(void)
{
	if (shutdown_state.vhost_done && shutdown_state.bdevs_done)
		reactors_stop();
}

static void shutdown_bdevs_done(void *arg)
{
	(void)arg;
	shutdown_state.bdevs_done = true;
	shutdown_check_done();
}

static void shutdown_bdevs(void *arg)
{
	(void)arg;
	if (shutdown_state.bdevs_started)
		return;
	shutdown_state.bdevs_started = true;
	if (!shutdown_state.vhost_done)
		log_warn("front-ends still draining after %d ms: removing bdevs to release held I/O",
			 SHUTDOWN_GRACE_US / 1000);
	bdev_unregister_all(shutdown_bdevs_done, NULL);
}

static void shutdown_vhost_done(void *arg)
{
	shutdown_state.vhost_done = true;
	shutdown_bdevs(arg);
	shutdown_check_done();
}

static void shutdown_begin(void)
{
	rpc_server_stop();
	reactor_timer_add(SHUTDOWN_GRACE_US, false, shutdown_bdevs, NULL);
	vhost_shutdown(shutdown_vhost_done, NULL);
}

static void on_signal(void *arg, uint32_t events)
{
	int *fd = arg;
	struct signalfd_siginfo si;
	static bool stopping;

	(void)events;
	if (read(*fd, &si, sizeof(si)) != sizeof(si) || stopping)
		return;
	stopping = true;
	log_notice("signal %u: shutting down", si.ssi_signo);
	shutdown_begin();
}

static void config_loaded(int status, void *arg)
{
	const char *path = arg;

	if (status == 0) {
		log_notice("config %s loaded", path);
		return;
	}
	log_error("config %s failed: exiting", path);
	exit_status = 1;
	shutdown_begin();
}

int main(int argc, char **argv)
{
	struct options o = {
		.rpc_socket = RPC_DEFAULT_SOCKET,
		.socket_dir = ".",
		.cpumask = "0x1",
		.socket_mode = 0600,
		.socket_uid = -1,
		.socket_gid = -1,
	};
	struct reactor_fd *sig_rfd;
	sigset_t mask;
	int sigfd, rc;

	if (parse_options(argc, argv, &o))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	/* Block before any thread starts so the workers inherit the mask and only signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	rc = reactors_init(&o.reactor);
	if (rc || sigfd < 0) {
		log_error("cannot start: %s", strerror(rc ? -rc : errno));
		return 1;
	}
	rc = start_workers(o.cpumask);
	if (rc) {
		log_error("cannot start worker threads: %s", strerror(-rc));
		reactors_fini();
		return 1;
	}
	vhost_set_socket_dir(o.socket_dir);
	vhost_set_socket_perms(o.socket_mode, o.socket_uid, o.socket_gid);
	sig_rfd = reactor_fd_add(sigfd, EPOLLIN, on_signal, &sigfd);
	rc = rpc_server_start(o.rpc_socket, o.socket_mode);
	if (rc) {
		log_error("cannot serve JSON-RPC on %s: %s", o.rpc_socket, strerror(-rc));
		reactor_fd_remove(sig_rfd);
		reactors_fini();
		return 1;
	}
	if (o.config && rpc_config_load(o.config, config_loaded, (void *)o.config)) {
		log_error("cannot read config %s", o.config);
		rpc_server_stop();
		reactor_fd_remove(sig_rfd);
		reactors_fini();
		return 1;
	}
	log_notice("vhostd ready: RPC on %s, sockets in %s, workers on %s", o.rpc_socket, o.socket_dir, o.cpumask);
	reactors_run();
	reactor_fd_remove(sig_rfd);
	reactors_fini();
	close(sigfd);
	log_notice("vhostd stopped");
	return exit_status;
}

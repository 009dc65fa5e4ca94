/*
 * ipcfs: shows the live IPC objects of the machine as files.  Option
 * parsing, the daemon's state, the FUSE session and its loop, clean exit.
 */
#include <errno.h>
#include <limits.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "nodes.h"
#include "passthrough.h"

#ifndef IPCFS_VERSION
#define IPCFS_VERSION "unknown"
#endif

enum {
	KEY_SYSV_SIZE,
	KEY_PID,
	KEY_MAX_WAITERS,
	KEY_MAX_WAITERS_USER,
};

/* -o pid=PID: whose namespaces to serve (0: our own). */

static const struct fuse_opt own_opts[] = {
	FUSE_OPT_KEY("sysv_size=", KEY_SYSV_SIZE),
	FUSE_OPT_KEY("pid=", KEY_PID),
	FUSE_OPT_KEY("max_waiters=", KEY_MAX_WAITERS),
	FUSE_OPT_KEY("max_waiters_per_user=", KEY_MAX_WAITERS_USER),
	/* the kernel's mount option, which libfuse also wants from init */
	{ "max_read=%u", offsetof(struct fs_config, max_read), 0 },
	FUSE_OPT_KEY("max_read=", FUSE_OPT_KEY_KEEP),
	/*
	 * Meant for mount(8) and fstab, not for the filesystem: the one list
	 * of them (mount.fuse.ipcfs passes every option on to us).
	 */
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("group", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user=", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("comment=", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("dev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nodev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("suid", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nosuid", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("exec", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noexec", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("rw", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END
};

/* Decimal digits only, within unsigned: 0 or -EINVAL (sscanf's %u takes
 * "-1" and "1x"). */
static int parse_count(const char *s, unsigned *v)
{
	unsigned long n = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		n = n * 10 + (unsigned long)(*s - '0');
		if (n > UINT_MAX)
			return -EINVAL;
	}
	*v = (unsigned)n;
	return 0;
}

/* Decimal digits only, > 0, within pid_t: 0 or -EINVAL. */
static int parse_pid(const char *s, pid_t *pid)
{
	long v = 0;

	if (*s == '\0' || *s == '0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -EINVAL;
	}
	*pid = (pid_t)v;
	return 0;
}

/*
 * Takes hold of process pid's IPC namespace and /dev/shm for good (see
 * ipcc_ns_hold), before any thread exists: threads inherit the namespace
 * of the thread that starts them.  One line on stderr if refused.
 */
static int hold_namespaces(pid_t pid)
{
	int err = ipcc_ns_hold(pid);
	const char *why;

	switch (err) {
	case 0:
		return 0;
	case -ESRCH:
		why = "no such process";
		break;
	case -EPERM:
		why = geteuid() != 0 ? "only root may serve another process's "
		                       "namespaces" : "not permitted";
		break;
	case -EACCES:
		why = "not permitted to inspect that process";
		break;
	case -ENOENT:
	case -ENOTDIR:
	case -ELOOP:
		why = "the process has no /dev/shm directory (inside its root)";
		break;
	default:
		why = strerror(-err);
		break;
	}
	fprintf(stderr, "ipcfs: cannot serve the IPC of pid %d: %s\n",
	        (int)pid, why);
	return err;
}

static int opt_proc(void *data, const char *arg, int key,
                    struct fuse_args *outargs)
{
	struct fs_config *conf = data;
	const char *value;
	uint64_t size;

	(void)outargs;
	switch (key) {
	case KEY_SYSV_SIZE:
		value = arg + strlen("sysv_size=");
		if (ipcc_size_parse(value, &size) != 0 || size == 0) {
			fprintf(stderr, "ipcfs: bad sysv_size `%s': want a byte "
			        "count > 0 (K, M, G, T suffixes allowed)\n",
			        value);
			return -1;
		}
		conf->sysv_size = size;
		return 0;
	case KEY_MAX_WAITERS:
	case KEY_MAX_WAITERS_USER:
		value = strchr(arg, '=') + 1;
		if (parse_count(value, key == KEY_MAX_WAITERS ?
		                &conf->waiters_max :
		                &conf->waiters_user_max) != 0) {
			fprintf(stderr, "ipcfs: bad %.*s `%s': want a number "
			        "of operations\n", (int)(value - 1 - arg), arg,
			        value);
			return -1;
		}
		return 0;
	case KEY_PID:
		value = arg + strlen("pid=");
		if (parse_pid(value, &conf->pid) != 0) {
			fprintf(stderr, "ipcfs: bad pid `%s': want a process "
			        "id (a number > 0)\n", value);
			return -1;
		}
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* x-systemd.*, x-gvfs-*, ...: for other programs */
		if (strncmp(arg, "x-", 2) == 0)
			return 0;
		return 1;
	default:
		return 1;
	}
}

/* libfuse's messages, under our name: one clear line per problem. */
static void log_func(enum fuse_log_level level, const char *fmt, va_list ap)
{
	int saved = errno;      /* a caller may look at errno after logging */

	(void)level;
	if (fs_pt_log_drop(fmt))
		return;
	if (strncmp(fmt, "fuse: ", 6) == 0) {
		fputs("ipcfs: ", stderr);
		fmt += 6;
	}
	vfprintf(stderr, fmt, ap);
	errno = saved;
}

static void show_help(const char *prog)
{
	printf("usage: %s [options] MOUNTPOINT\n\n"
	       "Shows every live IPC object as a file:\n"
	       "  sysv/<key>, sysv/id/<shmid>     System V shared memory\n"
	       "  posix/<name>                    POSIX shared memory\n"
	       "  sem/<name>                      named semaphores\n"
	       "  sysv-sem/<key>, sysv-sem/id/<semid>   System V semaphore "
	       "sets\n"
	       "  posix-sem/<name>                POSIX named semaphores\n"
	       "  sysv-msg/<key>, sysv-msg/id/<msqid>   System V message "
	       "queues\n"
	       "  posix-mq/<name>                 POSIX message queues\n"
	       "(see man 8 ipcfs)\n\n", prog);
	printf("ipcfs options:\n"
	       "    -o sysv_size=BYTES     size of a SysV segment created "
	       "without a size\n"
	       "                           (default: the page size; K, M, "
	       "G, T suffixes)\n"
	       "    -o pid=PID             serve the IPC objects of process "
	       "PID's namespaces\n"
	       "                           (its IPC namespace, its /dev/shm): "
	       "a container\n"
	       "    -o max_waiters=N       blocked operations (waits, "
	       "receives) at once,\n"
	       "                           in total (default %u)\n"
	       "    -o max_waiters_per_user=N   ... and per user (default "
	       "%u); past either,\n"
	       "                           a blocking operation fails with "
	       "EBUSY\n"
	       "    -o max_read=BYTES      largest read request the kernel "
	       "sends\n"
	       "    -o ro                  read-only: nothing can be written, "
	       "created or removed\n"
	       "    (default_permissions is always on; fstab-only options "
	       "such as\n"
	       "     auto, noauto, user, _netdev, nofail, defaults, "
	       "x-systemd.* are ignored)\n\n", FS_WAITERS_MAX_DEFAULT,
	       FS_WAITERS_USER_MAX_DEFAULT);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

static void show_version(void)
{
	printf("ipcfs version %s\n", IPCFS_VERSION);
	printf("FUSE library version %s\n", fuse_pkgversion());
	fs_pt_version(stdout);
	/* it runs fusermount3, whose output must come after ours */
	fflush(stdout);
	fuse_lowlevel_version();
}

static int run_loop(struct fuse_session *se,
                    const struct fuse_cmdline_opts *opts)
{
	struct fuse_loop_config *cfg;
	int ret;

	if (opts->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, 1);
	/* UINT_MAX: not given, keep libfuse's default */
	if (opts->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(cfg, opts->max_idle_threads);
	if (opts->max_threads != UINT_MAX)
		fuse_loop_cfg_set_max_threads(cfg, opts->max_threads);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return ret;
}

static void state_free(struct fs_state *s)
{
	fs_waiters_free(s->waiters);
	fs_kinds_destroy(s);
	fs_nodes_free(s->nodes);
	fs_sem_names_free(s->sem_names);
	fs_bufs_free(s->bufs);
	fs_pt_free(s->pt);
}

/* Everything but conf, which the options filled in already. */
static int state_init(struct fs_state *s)
{
	int err;

	fs_opens_init(&s->opens);
	/* held from the start; if it cannot be, posix/ says why at each use */
	ipcc_shm_dir_open();
	err = fs_nodes_new(&s->nodes);
	if (!err)
		err = fs_sem_names_new(&s->sem_names);
	if (!err)
		err = fs_bufs_new(&s->bufs);
	if (!err)
		err = fs_waiters_new(&s->conf, &s->waiters);
	if (!err)
		err = fs_pt_new(s->conf.debug, &s->pt);
	if (!err)
		err = fs_kinds_init(s);
	if (err)
		state_free(s);
	return err;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_session *se;
	static struct fs_state state;
	long page = sysconf(_SC_PAGESIZE);
	int ret = 1, err;

	memset(&opts, 0, sizeof(opts));
#if defined(M_ARENA_MAX)
	/*
	 * glibc gives each new thread an arena that keeps what was freed in
	 * it: the daemon's memory then grew with every worker libfuse started.
	 * Our allocations are few and short-lived; one arena costs nothing
	 * we could measure (tests/bench/run).
	 */
	mallopt(M_ARENA_MAX, 1);
#endif
	fuse_set_log_func(log_func);
	state.conf.sysv_size = page > 0 ? (uint64_t)page : 4096;
	state.conf.start_time = (int64_t)time(NULL);
	state.conf.waiters_max = FS_WAITERS_MAX_DEFAULT;
	state.conf.waiters_user_max = FS_WAITERS_USER_MAX_DEFAULT;

	if (fuse_opt_parse(&args, &state.conf, own_opts, opt_proc) != 0)
		goto out_args;
	/*
	 * First, so that a user's fsname/subtype still wins; the kernel then
	 * checks every access against the IPC modes we report.
	 */
	if (fuse_opt_insert_arg(&args, 1, "-odefault_permissions,"
	                        "fsname=ipcfs,subtype=ipcfs") != 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	state.conf.debug = opts.debug;
	if (opts.show_help) {
		show_help(argv[0]);
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version) {
		show_version();
		ret = 0;
		goto out_opts;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "ipcfs: no mount point given (see %s --help)\n",
		        argv[0]);
		goto out_opts;
	}

	/* before any thread starts, and before anything opens /dev/shm */
	if (state.conf.pid > 0 && hold_namespaces(state.conf.pid) != 0)
		goto out_opts;

	/* the kernel applied the caller's umask already: modes are exact */
	umask(0);
	err = state_init(&state);
	if (err) {
		fprintf(stderr, "ipcfs: cannot start: %s\n", strerror(-err));
		goto out_opts;
	}
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &state);
	if (!se)
		goto out_state;
	fs_pt_set_session(state.pt, se);
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(opts.foreground);

	/* a signal's number (SIGTERM, SIGINT) is a clean exit; -errno is not */
	ret = run_loop(se, &opts) < 0 ? 1 : 0;

	/* blocked operations fail with EINTR before the unmount */
	fs_waiters_shutdown(state.waiters);
	/* files still open when a signal stopped us: no release will come */
	fs_open_drop_all(&state);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_state:
	state_free(&state);
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	return ret;
}

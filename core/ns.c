/*
 * Serving another process's IPC: its IPC namespace (SysV objects, POSIX
 * message queues) and its /dev/shm (POSIX shm and semaphores), reached
 * through /proc/PID/root.  Everything is taken hold of once, at start:
 * the namespace is entered by the calling thread (threads created later
 * inherit it) and the directory is held as an fd, so that the process
 * exiting or its PID being reused changes nothing afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ipcc_int.h"

#if IPCC_NAMESPACES

#include <linux/openat2.h>

static int held_ipc_fd = -1;
static int held_layout = IPCC_SEM_LAYOUT_OWN;

/*
 * Opens path below root as if root were "/": symlinks (absolute ones and
 * "..") resolve inside it, never out of it.  Without openat2 (Linux <
 * 5.6): each component with O_NOFOLLOW, so any symlink on the way fails.
 */
static int open_in_root(int root, const char *path, int flags)
{
	struct open_how how;
	char part[256];
	const char *p = path;
	int fd, dir;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;

	dir = fcntl(root, F_DUPFD_CLOEXEC, 0);
	if (dir < 0)
		return -1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		int last = slash == NULL;

		if (len == 0 || len >= sizeof(part) ||
		    (len <= 2 && strncmp(p, "..", len) == 0)) {
			close(dir);
			errno = EINVAL;
			return -1;
		}
		memcpy(part, p, len);
		part[len] = '\0';
		fd = openat(dir, part, last ? flags | O_NOFOLLOW | O_CLOEXEC
		                            : O_PATH | O_DIRECTORY | O_NOFOLLOW |
		                                      O_CLOEXEC);
		close(dir);
		if (fd < 0 || last)
			return fd;
		dir = fd;
		p = slash + 1;
	}
}

/* Whether directory path (below root) holds a name starting with prefix. */
static int has_prefixed(int root, const char *path, const char *prefix)
{
	int fd = open_in_root(root, path, O_RDONLY | O_DIRECTORY);
	struct dirent *de;
	DIR *d;
	int found = 0;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	while (!found && (de = readdir(d)))
		found = strncmp(de->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return found;
}

/*
 * Which C library the container's programs use, from its dynamic
 * loader: musl's is /lib/ld-musl-ARCH.so.1, glibc's /lib/ld-linux*.so.N
 * or /lib64/ld-linux*.so.N.  Both or neither: unknown.
 */
static int detect_layout(int root)
{
	int musl = has_prefixed(root, "lib", "ld-musl-");
	int glibc = has_prefixed(root, "lib", "ld-linux") ||
	            has_prefixed(root, "lib64", "ld-linux");

	if (musl && !glibc)
		return IPCC_SEM_LAYOUT_MUSL;
	if (glibc && !musl)
		return IPCC_SEM_LAYOUT_GLIBC;
	return IPCC_SEM_LAYOUT_UNKNOWN;
}

/* A /proc lookup that failed because the process is gone: ESRCH. */
static int proc_err(int err)
{
	return err == ENOENT ? -ESRCH : -err;
}

int ipcc_ns_hold(pid_t pid)
{
	char path[32];
	int proc = -1, ns = -1, root = -1, shm = -1, own = -1, layout, err;

	if (pid <= 0)
		return -EINVAL;
	if (held_ipc_fd >= 0)
		return -EBUSY;
	/* entering a namespace and reading another's root need root */
	if (geteuid() != 0)
		return -EPERM;
	/* one handle on the process: the PID cannot change meaning under us */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	proc = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return proc_err(errno);
	ns = openat(proc, "ns/ipc", O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		err = proc_err(errno);
		goto out;
	}
	root = openat(proc, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		err = proc_err(errno);
		goto out;
	}
	shm = open_in_root(root, "dev/shm", O_RDONLY | O_DIRECTORY);
	if (shm < 0) {
		err = -errno;
		goto out;
	}
	layout = detect_layout(root);
	own = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (own < 0) {
		err = -errno;
		goto out;
	}
	if (setns(ns, CLONE_NEWIPC) < 0) {
		err = -errno;
		goto out;
	}
	err = ipcc_shm_dir_set(shm);
	if (err) {
		/* back where we were: all or nothing */
		if (setns(own, CLONE_NEWIPC) < 0)
			err = -ENOTRECOVERABLE;
		goto out;
	}
	held_ipc_fd = ns;
	ns = -1;
	held_layout = layout;
	err = 0;
out:
	if (own >= 0)
		close(own);
	if (shm >= 0)
		close(shm);
	if (root >= 0)
		close(root);
	if (ns >= 0)
		close(ns);
	close(proc);
	return err;
}

int ipcc_ns_ipc_fd(void)
{
	return held_ipc_fd;
}

#else /* no namespaces */

int ipcc_ns_hold(pid_t pid)
{
	(void)pid;
	return -ENOTSUP;
}

int ipcc_ns_ipc_fd(void)
{
	return -1;
}

static const int held_layout = IPCC_SEM_LAYOUT_OWN;

#endif

int ipcc_ns_sem_layout(void)
{
	return held_layout;
}

int ipcc_ns_sem_ok(void)
{
	switch (held_layout) {
	case IPCC_SEM_LAYOUT_OWN:
		return 0;
	case IPCC_SEM_LAYOUT_GLIBC:
		return IPCC_OWN_SEM_LAYOUT == IPCC_SEM_LAYOUT_GLIBC ? 0 : -ENOTSUP;
	case IPCC_SEM_LAYOUT_MUSL:
		return IPCC_OWN_SEM_LAYOUT == IPCC_SEM_LAYOUT_MUSL ? 0 : -ENOTSUP;
	default:
		return -ENOTSUP;
	}
}

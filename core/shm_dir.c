/*
 * The /dev/shm directory every POSIX object (shm and semaphores) is found
 * in, held as a directory fd so that the daemon can serve another mount
 * namespace's /dev/shm (a container's, reached through /proc/PID/root)
 * and never follow a symlink out of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "ipcc_int.h"

static int dir_fd = -1;
static int dir_err;
static pthread_once_t dir_once = PTHREAD_ONCE_INIT;

static void open_default(void)
{
#ifdef IPCC_PSHM_DIR
	if (dir_fd >= 0)
		return;
	dir_fd = open(IPCC_PSHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		dir_err = -errno;
#else
	dir_err = -ENOTSUP;
#endif
}

int ipcc_shm_dir_set(int fd)
{
	int dup_fd;

	if (dir_fd >= 0)
		return -EBUSY;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return -errno;
	dir_fd = dup_fd;
	return 0;
}

int ipcc_shm_dir_fd(void)
{
	pthread_once(&dir_once, open_default);
	return dir_fd >= 0 ? dir_fd : dir_err;
}

int ipcc_shm_dir_open(void)
{
	int fd = ipcc_shm_dir_fd();

	return fd < 0 ? fd : 0;
}

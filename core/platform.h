/*
 * The one place that knows which system the core runs on.  Everything
 * else tests the IPCC_* macros defined here, never the system itself.
 */
#ifndef IPCC_PLATFORM_H
#define IPCC_PLATFORM_H

#include <fcntl.h>
#include <string.h>

#ifdef __APPLE__

/* darwin's struct ipc_perm names its key field differently. */
#define IPCC_PERM_KEY(perm) ((perm)._key)

/*
 * darwin's shm_open accepts only the POSIX flags; close-on-exec is set
 * with fcntl right after (not race-free, but nothing better exists).
 */
#define IPCC_PSHM_OFLAGS 0
#define IPCC_PSHM_NEED_FD_CLOEXEC 1

/* No file system view of POSIX shm: no listing, stat needs shm_open. */
#undef IPCC_PSHM_DIR

#define IPCC_COPY_TO_MAPPING(dst, src, len) memcpy((dst), (src), (len))

/* Credentials are the process's; no thread can act as another user. */
#define IPCC_THREAD_CREDS 0

/* No IPC_INFO / SHM_INFO limits and usage calls. */
#define IPCC_SYSV_INFO 0

/* No namespaces to look into. */
#define IPCC_NAMESPACES 0

#else /* Linux */

/* Credentials are each thread's own (through the raw syscalls). */
#define IPCC_THREAD_CREDS 1

/* IPC_INFO and SHM_INFO / SEM_INFO / MSG_INFO give limits and usage. */
#define IPCC_SYSV_INFO 1

/* setns, /proc/PID/ns, openat2: looking into a container. */
#define IPCC_NAMESPACES 1

/* The POSIX message queue limits, one number per file. */
#define IPCC_MQ_SYSCTL_DIR "/proc/sys/fs/mqueue"

#define IPCC_PERM_KEY(perm) ((perm).__key)

/*
 * O_NONBLOCK: a FIFO planted in /dev/shm must not hang an open (we reject
 * non-regular files right after); it changes nothing for tmpfs files.
 */
#define IPCC_PSHM_OFLAGS (O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
#define IPCC_PSHM_NEED_FD_CLOEXEC 0

/* Where glibc's shm_open keeps its objects. */
#define IPCC_PSHM_DIR "/dev/shm"

/*
 * A large copy into a fresh attachment: by the kernel, which fills in the
 * page tables a batch at a time and writes through its own mapping.  From
 * user space every page takes a fault, and on shadow-paging guests one
 * more exit to the hypervisor: 256 MiB written with memcpy ran at a tenth
 * of the speed measured for this.  Falls back to memcpy if refused.
 */
#include <sys/uio.h>
#include <unistd.h>
static inline void ipcc_copy_to_mapping(void *dst, const void *src, size_t len)
{
	struct iovec from = { (void *)src, len }, to = { dst, len };

	if (len < 64 * 1024 ||
	    process_vm_writev(getpid(), &from, 1, &to, 1, 0) != (ssize_t)len)
		memcpy(dst, src, len);
}
#define IPCC_COPY_TO_MAPPING(dst, src, len) ipcc_copy_to_mapping(dst, src, len)

#endif

#endif /* IPCC_PLATFORM_H */

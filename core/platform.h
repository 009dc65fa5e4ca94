/*
 * The one place that knows which system the core runs on.  Everything
 * else tests the IPCC_* macros defined here, never the system itself.
 */
#ifndef IPCC_PLATFORM_H
#define IPCC_PLATFORM_H

#include <fcntl.h>

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

#else /* Linux */

#define IPCC_PERM_KEY(perm) ((perm).__key)

/*
 * O_NONBLOCK: a FIFO planted in /dev/shm must not hang an open (we reject
 * non-regular files right after); it changes nothing for tmpfs files.
 */
#define IPCC_PSHM_OFLAGS (O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
#define IPCC_PSHM_NEED_FD_CLOEXEC 0

/* Where glibc's shm_open keeps its objects. */
#define IPCC_PSHM_DIR "/dev/shm"

#endif

#endif /* IPCC_PLATFORM_H */

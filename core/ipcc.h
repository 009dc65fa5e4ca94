/*
 * ipcc: the ipcfs core IPC library.
 *
 * FUSE-free and silent: every function that can fail returns 0 (or a
 * non-negative count) on success and a negative errno on failure, and
 * never logs.  Every public symbol starts with ipcc_ / IPCC_.
 *
 * Three kinds of object:
 *   - System V shared memory segments, by key or by shmid (ipcc_shm_*)
 *   - POSIX shared memory objects, by name (ipcc_pshm_*)
 *   - named counting semaphores (ipcc_sem_*): on Linux a System V set of
 *     one semaphore whose key is fnv1a32("/" name) as a signed 32-bit key;
 *     on darwin a POSIX named semaphore "/name".
 *
 * Names (POSIX shm and semaphores) are given without the leading '/'
 * (one leading '/' is accepted and ignored).
 */
#ifndef IPCC_H
#define IPCC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Names, keys, numbers                                               */
/* ------------------------------------------------------------------ */

/* Longest object name, in bytes, without the leading '/'. */
#define IPCC_NAME_MAX 251

/* "0x" + 8 hex digits + NUL */
#define IPCC_KEY_STRLEN 11

/*
 * Checks a POSIX shm or semaphore name.
 * 0 if valid; -EINVAL if empty, ".", "..", containing '/' (after one
 * optional leading '/'), or containing NUL; -ENAMETOOLONG if longer than
 * IPCC_NAME_MAX.  With for_create, names containing ".." anywhere are
 * also -EINVAL (shm_open's rule for new names).
 */
int ipcc_name_check(const char *name, int for_create);

/*
 * Parses a key name: "0x" or "0X" followed by 1 to 8 hex digits, any case,
 * nothing else.  Key 0 (IPC_PRIVATE) has no name: -EINVAL.  -EINVAL on
 * any syntax error.
 */
int ipcc_key_parse(const char *s, key_t *key);

/* Writes the canonical key name "0x%08x" (as ipcs prints it). */
void ipcc_key_format(key_t key, char buf[IPCC_KEY_STRLEN]);

/*
 * Parses a canonical non-negative decimal id (as used by sysv/id/):
 * digits only, no sign, no leading zero unless the id is 0, fits in int.
 * -EINVAL otherwise.
 */
int ipcc_id_parse(const char *s, int *id);

/*
 * Parses a byte count: decimal digits with an optional binary suffix
 * K, M, G, T (any case, optional trailing "iB"/"B" not accepted).
 * -EINVAL on syntax error, -ERANGE if it does not fit in 63 bits.
 */
int ipcc_size_parse(const char *s, uint64_t *size);

/* 32-bit FNV-1a of len bytes. */
uint32_t ipcc_fnv1a32(const void *data, size_t len);

/* ------------------------------------------------------------------ */
/* Blocking calls                                                     */
/* ------------------------------------------------------------------ */

/*
 * How a blocking call (a wait, a receive, a send to a full queue) is
 * cancelled from another thread: it asks cancelled(arg) before it blocks
 * and again at least every IPCC_CANCEL_POLL_MS while blocked, and returns
 * -EINTR having taken nothing once it answers nonzero.  A signal that
 * interrupts the syscall only makes it ask sooner (the daemon sends one
 * so that cancelling is prompt).  A NULL hook: an interrupting signal
 * gives -EINTR at once.
 */
struct ipcc_cancel {
	int (*cancelled)(void *arg);
	void *arg;
};

#define IPCC_CANCEL_POLL_MS 250

/* ------------------------------------------------------------------ */
/* System V shared memory                                             */
/* ------------------------------------------------------------------ */

struct ipcc_shm_stat {
	key_t key;          /* IPC_PRIVATE (0) for private or removed ones */
	int shmid;
	uint64_t size;
	mode_t mode;        /* permission bits only (0777) */
	uid_t uid, cuid;
	gid_t gid, cgid;
	pid_t cpid, lpid;
	uint64_t nattch;
	int64_t atime, dtime, ctime;   /* seconds since the epoch */
	int removed;        /* IPC_RMID done, still attached somewhere */
};

/* flags for ipcc_shm_create */
#define IPCC_SHM_EXCL      0x1u   /* fail with -EEXIST if the key exists */
#define IPCC_SHM_HUGETLB   0x2u   /* SHM_HUGETLB, passed through */
#define IPCC_SHM_NORESERVE 0x4u   /* SHM_NORESERVE, passed through */

/*
 * Creates (or, without IPCC_SHM_EXCL, opens an existing) segment with the
 * given key (IPC_PRIVATE allowed), size and permission bits; *shmid gets
 * its id.  *created (may be NULL) tells whether a new segment was made.
 * The new segment's mode is exactly mode & 0777.
 * -EINVAL for size 0 or out of the kernel's range, -EEXIST, -ENOSPC, ...
 */
int ipcc_shm_create(key_t key, uint64_t size, mode_t mode, unsigned flags,
                    int *shmid, int *created);

/* Finds the live segment with this key: -ENOENT if none. */
int ipcc_shm_find(key_t key, int *shmid);

/* IPC_STAT of a shmid: -ENOENT if no such segment. */
int ipcc_shm_stat_id(int shmid, struct ipcc_shm_stat *st);

/*
 * IPC_SET: new permission bits and owner.  (mode_t)-1, (uid_t)-1,
 * (gid_t)-1 leave that field unchanged.  -ENOENT if gone.
 */
int ipcc_shm_set(int shmid, mode_t mode, uid_t uid, gid_t gid);

/* IPC_RMID: -ENOENT if gone. */
int ipcc_shm_remove(int shmid);

/* An attachment of one segment. */
typedef struct ipcc_shm ipcc_shm;

/* flags for ipcc_shm_open */
#define IPCC_RDONLY 0x1u          /* attach with SHM_RDONLY */

/* Attaches segment shmid.  -ENOENT if gone. */
int ipcc_shm_open(int shmid, unsigned flags, ipcc_shm **out);
/* Attaches the live segment with this key.  -ENOENT if none. */
int ipcc_shm_open_key(key_t key, unsigned flags, ipcc_shm **out);
/* Detaches and frees; NULL is ignored. */
void ipcc_shm_close(ipcc_shm *shm);

int ipcc_shm_id(const ipcc_shm *shm);
uint64_t ipcc_shm_size(const ipcc_shm *shm);
int ipcc_shm_readonly(const ipcc_shm *shm);

/*
 * Gives direct access to [off, off+len) clamped to the segment: returns the
 * number of bytes available there (0 at or past the end) and sets *ptr.
 * For zero-copy replies; the memory is shared with other processes.
 */
size_t ipcc_shm_span(const ipcc_shm *shm, uint64_t off, size_t len,
                     void **ptr);

/* Copies out; 0 at or past the end, short at the end. */
ssize_t ipcc_shm_read(const ipcc_shm *shm, void *buf, size_t len,
                      uint64_t off);
/*
 * Copies in; -ENOSPC if off is at or past the end, short if it crosses the
 * end; -EBADF on a read-only attachment.
 */
ssize_t ipcc_shm_write(ipcc_shm *shm, const void *buf, size_t len,
                       uint64_t off);
/* Zero-fills the whole segment; -EBADF on a read-only attachment. */
int ipcc_shm_zero(ipcc_shm *shm);

/*
 * Gives the segment this handle is attached to a new size, for a segment
 * that nobody else has attached: removes it, creates one of the new size
 * under the same key with the same mode and owner, and moves the
 * attachment to it (ipcc_shm_id changes).  -EBUSY if another process is
 * attached, -EINVAL for a bad size or key IPC_PRIVATE, -EBADF if read-only.
 * The new segment's creator is the identity that calls this.
 * If creating the new one fails, the handle stays on the old (now
 * removed) segment and the error is returned.
 */
int ipcc_shm_replace(ipcc_shm *shm, uint64_t size);

/* Every live segment (including IPC_PRIVATE ones). */
typedef struct ipcc_shm_iter ipcc_shm_iter;
int ipcc_shm_iter_new(ipcc_shm_iter **out);
/* 1 and *st filled, 0 at the end, or a negative errno. */
int ipcc_shm_iter_next(ipcc_shm_iter *it, struct ipcc_shm_stat *st);
void ipcc_shm_iter_free(ipcc_shm_iter *it);

/*
 * A file descriptor of the memory this handle is attached to (Linux: the
 * segment's shmem file, reached through /proc/self/map_files), opened
 * O_RDONLY with IPCC_RDONLY, else O_RDWR, close-on-exec, whatever the
 * attachment's own mode; the caller closes it.  pread/pwrite on it reach
 * the segment like a shmat() mapping, but the fd neither counts in
 * shm_nattch nor keeps the id alive: after IPC_RMID and the last detach it
 * still holds the memory.  After ipcc_shm_replace it still refers to the
 * old segment.  Needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE): -EPERM
 * without; -ENOTSUP where there is no such path.
 */
int ipcc_shm_memfd(const ipcc_shm *shm, unsigned flags);

/* ------------------------------------------------------------------ */
/* Where POSIX objects live                                           */
/* ------------------------------------------------------------------ */

/*
 * Serves POSIX objects (shm, named semaphores) from directory fd instead
 * of the system's /dev/shm (the fd is duplicated; the caller keeps its
 * own).  Process-wide; call once, before any other ipcc_pshm_ / ipcc_psem_
 * call.  -EBUSY if a directory is already in use.
 */
int ipcc_shm_dir_set(int fd);
/*
 * Opens the directory now (the system's /dev/shm unless one was set)
 * rather than at the first use, so that a daemon holds the same
 * descriptors from its start.  0 or -errno.
 */
int ipcc_shm_dir_open(void);

/* ------------------------------------------------------------------ */
/* POSIX shared memory                                                */
/* ------------------------------------------------------------------ */

typedef struct ipcc_pshm ipcc_pshm;

/*
 * Opens object name.  oflag: O_RDONLY or O_RDWR, optionally O_CREAT,
 * O_EXCL, O_TRUNC.  A created object gets exactly mode & 07777 (no umask)
 * and size 0; an existing one is never resized except by O_TRUNC.
 * -EINVAL / -ENAMETOOLONG for bad names (ipcc_name_check with for_create
 * when O_CREAT is given), -ENOENT, -EEXIST, -EACCES.
 */
int ipcc_pshm_open(const char *name, int oflag, mode_t mode, ipcc_pshm **out);
void ipcc_pshm_close(ipcc_pshm *p);

/* Whether this open created the object. */
int ipcc_pshm_created(const ipcc_pshm *p);
int ipcc_pshm_fd(const ipcc_pshm *p);
/* Like pread/pwrite; write past the end grows the object. */
ssize_t ipcc_pshm_read(const ipcc_pshm *p, void *buf, size_t len,
                       uint64_t off);
ssize_t ipcc_pshm_write(ipcc_pshm *p, const void *buf, size_t len,
                        uint64_t off);
int ipcc_pshm_resize(ipcc_pshm *p, uint64_t size);
int ipcc_pshm_fstat(const ipcc_pshm *p, struct stat *st);
/* (mode_t)-1 / (uid_t)-1 / (gid_t)-1: unchanged. */
int ipcc_pshm_fset(ipcc_pshm *p, mode_t mode, uid_t uid, gid_t gid);

/* By name, without opening. */
int ipcc_pshm_stat(const char *name, struct stat *st);
int ipcc_pshm_set(const char *name, mode_t mode, uid_t uid, gid_t gid);
int ipcc_pshm_resize_name(const char *name, uint64_t size);
int ipcc_pshm_unlink(const char *name);

/* Live objects (Linux: /dev/shm, regular files, minus sem.*). */
typedef struct ipcc_pshm_iter ipcc_pshm_iter;
int ipcc_pshm_iter_new(ipcc_pshm_iter **out);
/* 1 with name (NUL-terminated, IPCC_NAME_MAX+1 bytes) and *st, 0 at end. */
int ipcc_pshm_iter_next(ipcc_pshm_iter *it, char name[IPCC_NAME_MAX + 1],
                        struct stat *st);
void ipcc_pshm_iter_free(ipcc_pshm_iter *it);

/* ------------------------------------------------------------------ */
/* Named semaphores                                                   */
/* ------------------------------------------------------------------ */

/* Largest semaphore value (SEMVMX on Linux). */
#define IPCC_SEM_VALUE_MAX 32767u

struct ipcc_sem_stat {
	key_t key;          /* Linux: the set's key; darwin: 0 */
	int semid;          /* Linux: the set's id; darwin: -1 */
	mode_t mode;
	uid_t uid, cuid;
	gid_t gid, cgid;
	unsigned value;
	unsigned ncnt;      /* processes waiting for the value to grow */
	unsigned zcnt;      /* processes waiting for zero */
	pid_t pid;          /* last operation */
	int64_t otime, ctime;
};

/* The key a name maps to on Linux: fnv1a32("/" name) as a signed key. */
key_t ipcc_sem_key(const char *name);

typedef struct ipcc_sem ipcc_sem;

/*
 * Creates a new semaphore with this value (0..IPCC_SEM_VALUE_MAX) and
 * exactly mode & 0777: -EEXIST if it exists.  Race-free: openers never see
 * it before its value is set.  -EINVAL for bad names or a name whose key
 * is 0, -ERANGE for a value past the maximum.
 */
int ipcc_sem_create(const char *name, mode_t mode, unsigned value,
                    ipcc_sem **out);
/*
 * Opens an existing one: -ENOENT if none.  Opening never waits; the first
 * use of the value (post, wait, set, value...) waits up to 200 ms for a
 * set younger than 2 s whose creator has not finished initialising it.
 */
int ipcc_sem_open(const char *name, ipcc_sem **out);
/*
 * Opens, creating with mode and value if missing (value applies only to a
 * real creation).  *created (may be NULL) tells which happened.
 */
int ipcc_sem_open_or_create(const char *name, mode_t mode, unsigned value,
                            int *created, ipcc_sem **out);
/* Linux: opens the one-semaphore set with this key.  darwin: -ENOTSUP. */
int ipcc_sem_open_key(key_t key, ipcc_sem **out);
/* Releases the handle; the semaphore stays.  NULL is ignored. */
void ipcc_sem_close(ipcc_sem *sem);

/* All operations below fail with -EIDRM once the semaphore was removed. */

/* Adds n (>= 1): -ERANGE past IPCC_SEM_VALUE_MAX, value unchanged. */
int ipcc_sem_post(ipcc_sem *sem, unsigned n);
/*
 * Takes n (>= 1) once it can, atomically.  timeout is relative; NULL waits
 * for ever.  -EINTR when a signal arrives (nothing taken), -ETIMEDOUT,
 * -EIDRM if removed meanwhile, -ERANGE if n > IPCC_SEM_VALUE_MAX.
 */
int ipcc_sem_wait(ipcc_sem *sem, unsigned n, const struct timespec *timeout);
/* Takes n now or fails with -EAGAIN. */
int ipcc_sem_trywait(ipcc_sem *sem, unsigned n);
/* Sets the value, waking waiters that can now proceed.  -ERANGE > max. */
int ipcc_sem_set(ipcc_sem *sem, unsigned value);
int ipcc_sem_value(const ipcc_sem *sem, unsigned *value);
int ipcc_sem_stat(const ipcc_sem *sem, struct ipcc_sem_stat *st);
/*
 * The same without value, ncnt, zcnt and pid (left 0): the kernel answers
 * GETNCNT and GETZCNT by walking every blocked waiter, so a stat that
 * runs per lookup must not pay for them.
 */
int ipcc_sem_stat_lite(const ipcc_sem *sem, struct ipcc_sem_stat *st);
/* IPC_SET; (mode_t)-1 etc.: unchanged.  darwin: -ENOTSUP. */
int ipcc_sem_set_perm(ipcc_sem *sem, mode_t mode, uid_t uid, gid_t gid);
/* Removes the semaphore this handle is on (waiters get -EIDRM). */
int ipcc_sem_remove(ipcc_sem *sem);
/* Removes by name: -ENOENT if none. */
int ipcc_sem_unlink(const char *name);

/* Linux: every live one-semaphore set.  darwin: -ENOTSUP from _new. */
typedef struct ipcc_sem_iter ipcc_sem_iter;
int ipcc_sem_iter_new(ipcc_sem_iter **out);
int ipcc_sem_iter_next(ipcc_sem_iter *it, struct ipcc_sem_stat *st);
void ipcc_sem_iter_free(ipcc_sem_iter *it);

/* ------------------------------------------------------------------ */
/* Semaphore command language (what is written to sem/<name>)         */
/* ------------------------------------------------------------------ */

enum ipcc_sem_op {
	IPCC_SEM_OP_POST,       /* post [N] */
	IPCC_SEM_OP_WAIT,       /* wait [N] */
	IPCC_SEM_OP_TRYWAIT,    /* trywait [N] */
	IPCC_SEM_OP_TIMEDWAIT,  /* timedwait SECONDS */
	IPCC_SEM_OP_SET,        /* set N */
};

struct ipcc_sem_cmd {
	enum ipcc_sem_op op;
	unsigned n;                 /* count, or the value for set */
	struct timespec timeout;    /* timedwait only */
};

/* Largest write accepted by the parser, and most commands in one write. */
#define IPCC_SEM_CMD_BYTES_MAX 4096
#define IPCC_SEM_CMD_MAX 64

/*
 * Parses one write: commands separated by '\n', one optional trailing
 * '\n'.  A command is a word, then for post/wait/trywait an optional
 * count, for timedwait a required SECONDS (digits with an optional
 * '.' and fraction), for set a required value; word and argument are
 * separated by one or more spaces or tabs, nothing else before or after.
 * Numbers: decimal digits only.  All or nothing: on any error nothing is
 * stored in *count.  -EINVAL: empty input, empty line, unknown word,
 * missing/extra argument, non-numeric or negative number, count 0, NUL
 * bytes, more than IPCC_SEM_CMD_MAX commands or IPCC_SEM_CMD_BYTES_MAX
 * bytes.  -ERANGE: a count or value above IPCC_SEM_VALUE_MAX, or seconds
 * above 1e9.
 */
int ipcc_sem_cmd_parse(const char *buf, size_t len, struct ipcc_sem_cmd *cmds,
                       size_t max, size_t *count);

/* Runs one parsed command (wait and timedwait block; see ipcc_sem_wait). */
int ipcc_sem_cmd_run(ipcc_sem *sem, const struct ipcc_sem_cmd *cmd);

/*
 * Runs parsed commands in order, stopping at the first that fails (its
 * error is returned; later ones are not run).  wait and timedwait block,
 * asking cancel (may be NULL) as struct ipcc_cancel says; a cancelled or
 * timed-out wait takes nothing.  *taken is what the commands that
 * succeeded took, for the caller to give back (ipcc_sem_post) if it
 * cannot tell its own caller that they ran.
 */
int ipcc_sem_cmds_run(ipcc_sem *sem, const struct ipcc_sem_cmd *cmds,
                      size_t count, const struct ipcc_cancel *cancel,
                      unsigned *taken);

/* ------------------------------------------------------------------ */
/* Acting as the caller                                               */
/* ------------------------------------------------------------------ */

/* Supplementary groups kept inside struct ipcc_cred_saved (more: heap). */
#define IPCC_CRED_GROUPS_INLINE 32

/* What ipcc_cred_leave restores; filled by ipcc_cred_enter. */
struct ipcc_cred_saved {
	uid_t euid;
	gid_t egid;
	int ngroups;
	int active;
	gid_t groups[IPCC_CRED_GROUPS_INLINE];
	gid_t *heap_groups;
};

/*
 * Makes the CALLING THREAD act as uid/gid with these supplementary groups
 * (effective and file-system ids; real and saved ids stay, so that it can
 * come back), until ipcc_cred_leave(saved).  Other threads are not
 * affected.  Objects created in between (shmget/semget/msgget IPC_CREAT,
 * open O_CREAT in /dev/shm, mq_open) get uid = cuid = uid and gid = cgid
 * = gid, and the kernel checks the create as that user.  Needs euid 0
 * (CAP_SETUID, CAP_SETGID); while switched the thread has no effective
 * capabilities, and leaving restores them from the permitted set.  Must
 * not be nested.  -EINVAL for bad arguments, -EPERM if not allowed,
 * -ENOTSUP where credentials are not per thread; on failure nothing is
 * changed.
 */
int ipcc_cred_enter(uid_t uid, gid_t gid, int ngroups, const gid_t *groups,
                    struct ipcc_cred_saved *saved);
/*
 * Restores what ipcc_cred_enter saved (uid first, so that the
 * capabilities the gid and groups need are back); 0 or the first -errno.
 * A saved state that is not active (enter failed): does nothing.
 */
int ipcc_cred_leave(struct ipcc_cred_saved *saved);

/* ------------------------------------------------------------------ */
/* System limits and usage                                            */
/* ------------------------------------------------------------------ */

/*
 * Each read fresh on every call, for the IPC namespace the calling thread
 * is in, with the numbers `ipcs -l`, `ipcs -u` and `lsipc` show.  0 or
 * -errno (-ENOTSUP where the system has no such call).
 */
struct ipcc_limits_shm {
	uint64_t shmmni;          /* most segments */
	uint64_t shmmax;          /* largest segment, bytes */
	uint64_t shmmin;          /* smallest segment, bytes */
	uint64_t shmall;          /* most pages in all segments */
	uint64_t segments;        /* in use ("segments allocated") */
	uint64_t pages;           /* in use ("pages allocated") */
	uint64_t pages_resident, pages_swapped;
};
int ipcc_limits_shm(struct ipcc_limits_shm *l);

struct ipcc_limits_sem {
	uint64_t semmni;          /* most sets */
	uint64_t semmsl;          /* most semaphores in one set */
	uint64_t semmns;          /* most semaphores in all sets */
	uint64_t semopm;          /* most operations in one semop */
	uint64_t semvmx;          /* largest value */
	uint64_t sets;            /* in use ("used arrays") */
	uint64_t semaphores;      /* in use ("allocated semaphores") */
};
int ipcc_limits_sem(struct ipcc_limits_sem *l);

struct ipcc_limits_msg {
	uint64_t msgmni;          /* most queues */
	uint64_t msgmax;          /* largest message, bytes */
	uint64_t msgmnb;          /* default queue capacity, bytes */
	uint64_t queues;          /* in use ("allocated queues") */
	uint64_t messages;        /* queued ("used headers") */
	uint64_t bytes;           /* queued ("used space") */
};
int ipcc_limits_msg(struct ipcc_limits_msg *l);

/* POSIX message queues: /proc/sys/fs/mqueue. */
struct ipcc_limits_mq {
	uint64_t queues_max, msg_max, msgsize_max, msg_default,
	         msgsize_default;
};
int ipcc_limits_mq(struct ipcc_limits_mq *l);

/*
 * What `df` shows of the mount.  Blocks are pages (page_size bytes):
 * SysV shared memory in use (as `ipcs -u` counts it) against SHMALL,
 * capped to the machine's RAM.  Files: SysV objects in use (segments,
 * sets, queues) against SHMMNI + SEMMNI + MSGMNI.
 */
struct ipcc_statfs {
	uint64_t page_size;
	uint64_t blocks, blocks_used, blocks_free;
	uint64_t files, files_used, files_free;
};
int ipcc_limits_statfs(struct ipcc_statfs *s);

/* ------------------------------------------------------------------ */
/* Looking into a container                                           */
/* ------------------------------------------------------------------ */

/*
 * Serves the IPC objects of process pid's namespaces instead of our own,
 * for the whole process and for good: the CALLING THREAD enters pid's IPC
 * namespace (SysV objects, POSIX message queues; threads created
 * afterwards inherit it, so call this before any other thread starts),
 * and pid's /dev/shm, opened through /proc/pid/root without ever
 * following a symlink out of that root, becomes the directory of POSIX
 * objects (ipcc_shm_dir_set: call before any ipcc_pshm_ call).  Both are
 * held, so pid exiting or being reused afterwards changes nothing.
 * -EINVAL for pid <= 0, -ESRCH if there is no such process, -EPERM when
 * not root (or setns refused), -EACCES if pid may not be inspected,
 * -ENOENT / -ENOTDIR if it has no /dev/shm, -EBUSY if already called or
 * if POSIX objects were already used.  On failure nothing changed.
 */
int ipcc_ns_hold(pid_t pid);

/* The held IPC namespace (an fd for setns), or -1 without ipcc_ns_hold. */
int ipcc_ns_ipc_fd(void);

/* How the served /dev/shm's named semaphores (sem.NAME) are laid out. */
#define IPCC_SEM_LAYOUT_OWN 0       /* ours: no container is served */
#define IPCC_SEM_LAYOUT_GLIBC 1     /* the container's programs use glibc */
#define IPCC_SEM_LAYOUT_MUSL 2      /* ... musl */
#define IPCC_SEM_LAYOUT_UNKNOWN 3   /* could not tell (static, or both) */

/* What was detected at ipcc_ns_hold (from the container's loader). */
int ipcc_ns_sem_layout(void);

/*
 * 0 if the served /dev/shm's named semaphores may be driven with our C
 * library's sem_* on a mapping; -ENOTSUP if their layout is another
 * library's or unknown: refuse rather than corrupt a semaphore.
 */
int ipcc_ns_sem_ok(void);

#ifdef __cplusplus
}
#endif

#endif /* IPCC_H */

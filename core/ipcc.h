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
 * interrupts the syscall makes it ask at once: a canceller that sends one
 * (and sends it again until the call returns, since one sent just before
 * the call blocks is lost) is prompt.  The poll is only the safety net,
 * long enough that thousands of blocked calls cost next to nothing (each
 * wake-up is a return to user space and a new syscall).  A NULL hook: an
 * interrupting signal gives -EINTR at once.
 */
struct ipcc_cancel {
	int (*cancelled)(void *arg);
	void *arg;
};

#define IPCC_CANCEL_POLL_MS 30000

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
	IPCC_SEM_OP_ZERO,       /* zero: wait for 0 (sysv-sem/ dialect only) */
};

struct ipcc_sem_cmd {
	enum ipcc_sem_op op;
	unsigned n;                 /* count, or the value for set */
	struct timespec timeout;    /* timedwait only */
	unsigned index;             /* semaphore of the set ("I:"), else 0 */
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

/*
 * The sysv-sem/ dialect of the same language: each command may start
 * with a semaphore index and a colon ("2:post 3"; digits only, no blanks
 * around the colon; none means 0), and there is one more word, "zero"
 * (wait for the value 0, no argument; n is 0).  "set N" must be the only
 * command of its write.  Errors as ipcc_sem_cmd_parse, and -EINVAL for an
 * index of more than IPCC_SEMSET_INDEX_MAX (no set can have it), an
 * empty or malformed index, or set with other commands.  Whether the
 * index exists in a given set is the runner's check (-EINVAL).
 */
#define IPCC_SEMSET_INDEX_MAX 65535u
int ipcc_semset_cmd_parse(const char *buf, size_t len,
                          struct ipcc_sem_cmd *cmds, size_t max,
                          size_t *count);

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

/* ------------------------------------------------------------------ */
/* Message streams: the NAME@T suffix                                 */
/* ------------------------------------------------------------------ */

/*
 * Splits a stream name "BASE@T" at its LAST '@' (so a POSIX queue whose
 * own name holds an '@' still has streams: "a@b@3").  T is canonical
 * decimal: digits with one leading '-' only when min < 0, no '+', no
 * blanks, no leading zero unless T is exactly "0", no "-0", and
 * min <= T <= max.
 * Returns 1 with *base_len = length of BASE and *t = T; 0 if name has no
 * '@' (a plain name); -EINVAL if it has one but BASE is empty or T is
 * not as above.  The outputs are written only when 1 is returned.
 */
int ipcc_stream_parse(const char *name, long min, long max, size_t *base_len,
                      long *t);

/* ------------------------------------------------------------------ */
/* System V message queues                                            */
/* ------------------------------------------------------------------ */

struct ipcc_msq_stat {
	key_t key;          /* IPC_PRIVATE (0) for private ones */
	int msqid;
	mode_t mode;        /* permission bits only (0777) */
	uid_t uid, cuid;
	gid_t gid, cgid;
	uint64_t qnum;      /* messages queued */
	uint64_t cbytes;    /* bytes queued (msg_cbytes) */
	uint64_t qbytes;    /* byte limit; 0 when listed from /proc */
	pid_t lspid, lrpid; /* last msgsnd / msgrcv */
	int64_t stime, rtime, ctime;   /* seconds; 0 = never */
};

/* flags for ipcc_msq_create */
#define IPCC_MSQ_EXCL 0x1u        /* fail with -EEXIST if the key exists */

/*
 * msgget(IPC_CREAT): creates (or, without IPCC_MSQ_EXCL, opens an
 * existing) queue with this key (IPC_PRIVATE always creates), mode exactly
 * mode & 0777, owner and creator the caller's effective ids.  *created
 * (may be NULL) tells whether a new queue was made.  -EEXIST, -ENOSPC
 * (msgmni reached), ...
 */
int ipcc_msq_create(key_t key, mode_t mode, unsigned flags, int *msqid,
                    int *created);
/* The live queue with this key: -ENOENT if none (IPC_PRIVATE: -EINVAL). */
int ipcc_msq_find(key_t key, int *msqid);
/*
 * IPC_STAT of a msqid (MSG_STAT_ANY where IPC_STAT is refused): -ENOENT if
 * no such queue.  One syscall.
 */
int ipcc_msq_stat_id(int msqid, struct ipcc_msq_stat *st);
/* IPC_SET; (mode_t)-1 / (uid_t)-1 / (gid_t)-1 leave a field. -ENOENT. */
int ipcc_msq_set(int msqid, mode_t mode, uid_t uid, gid_t gid);
/* IPC_RMID (blocked senders and receivers fail with -EIDRM). -ENOENT. */
int ipcc_msq_remove(int msqid);
/* The longest message the kernel takes now (msgmax). */
int ipcc_msq_max(size_t *max);

/* A queue, by msqid.  Holds no kernel resource: only the id. */
typedef struct ipcc_msq ipcc_msq;

/* -ENOENT if no such queue. */
int ipcc_msq_open(int msqid, ipcc_msq **out);
int ipcc_msq_open_key(key_t key, ipcc_msq **out);
/* NULL is ignored. */
void ipcc_msq_close(ipcc_msq *q);
int ipcc_msq_id(const ipcc_msq *q);

/* Operations on a handle fail with -EIDRM once its queue was removed. */
int ipcc_msq_stat(const ipcc_msq *q, struct ipcc_msq_stat *st);

/*
 * Copies message number index (0 = the oldest) without removing it
 * (msgrcv MSG_COPY | IPC_NOWAIT); returns its length, *type (may be NULL)
 * its type.  -ENOMSG past the end; -EMSGSIZE if cap is too small;
 * -ENOTSUP if the kernel has no MSG_COPY (CONFIG_CHECKPOINT_RESTORE);
 * -EOVERFLOW for a message longer than today's msgmax (MSG_COPY cannot
 * copy it).
 */
ssize_t ipcc_msq_copy(const ipcc_msq *q, size_t index, void *buf, size_t cap,
                      long *type);
/*
 * A snapshot: the bytes of every queued message, oldest first, one after
 * the other, in a malloc()ed buffer the caller free()s (*data is NULL for
 * an empty queue).  Takes nothing, never blocks.  Best effort on a busy
 * queue: if the queue changed while it was copied, copies again (a few
 * times), else returns the last copy.  Errors as ipcc_msq_copy.
 */
int ipcc_msq_snapshot(const ipcc_msq *q, void **data, size_t *len);

/* flags for send / receive */
#define IPCC_MSG_NOWAIT 0x1u      /* -EAGAIN instead of blocking */

/*
 * msgsnd of exactly len bytes with this type (>= 1, else -EINVAL).
 * Blocks while the queue is full (see struct ipcc_cancel; the block is
 * bounded by a timer signal, see ipcc_msq_tick_signal), or -EAGAIN with
 * IPCC_MSG_NOWAIT.  -EMSGSIZE if len is over msgmax or over the queue's
 * byte limit (it could never be sent), -EIDRM if removed, -EINTR if
 * cancelled (nothing sent).
 */
int ipcc_msq_send(ipcc_msq *q, long type, const void *data, size_t len,
                  unsigned flags, const struct ipcc_cancel *cancel);
/*
 * msgrcv by msgrcv's type rule (0 the oldest; > 0 the oldest of that type;
 * < 0 the oldest of the lowest type <= |type|); returns its length, *mtype
 * (may be NULL) its type.  -EMSGSIZE if it is longer than cap: nothing is
 * taken (never truncates).  Blocks while none matches, or -EAGAIN with
 * IPCC_MSG_NOWAIT; -EIDRM if removed, -EINTR if cancelled (nothing
 * taken).
 */
ssize_t ipcc_msq_receive(ipcc_msq *q, long type, void *buf, size_t cap,
                         long *mtype, unsigned flags,
                         const struct ipcc_cancel *cancel);
/*
 * Puts back a message taken by ipcc_msq_receive whose reader never got
 * it.  It lands at the END of the queue (msgsnd appends; System V has no
 * way to insert at the head).  If the queue is full meanwhile, retries for
 * up to 5 s, not cancellable; then -EAGAIN and the message is lost.
 */
int ipcc_msq_give_back(ipcc_msq *q, long type, const void *data, size_t len);

/*
 * The signal a blocking send / receive with a cancel hook sends to its own
 * thread every IPCC_CANCEL_POLL_MS (a POSIX timer, SIGEV_THREAD_ID), so
 * that a cancelling signal that landed just before the syscall started is
 * noticed in time (msgsnd / msgrcv have no timeout).  A real-time signal;
 * the core installs a handler that does nothing (unless the process
 * already has one) and unblocks it in the calling thread for the call.
 */
int ipcc_msq_tick_signal(void);

/* Every live queue (IPC_PRIVATE ones too): /proc/sysvipc/msg, one pass. */
typedef struct ipcc_msq_iter ipcc_msq_iter;
int ipcc_msq_iter_new(ipcc_msq_iter **out);
/* 1 and *st filled (qbytes may be 0), 0 at the end, or -errno. */
int ipcc_msq_iter_next(ipcc_msq_iter *it, struct ipcc_msq_stat *st);
void ipcc_msq_iter_free(ipcc_msq_iter *it);

/* ------------------------------------------------------------------ */
/* POSIX message queues                                               */
/* ------------------------------------------------------------------ */

/* Longest queue name (NAME_MAX), without the leading '/'. */
#define IPCC_MQ_NAME_MAX 255
/* Highest priority + 1 (Linux's MQ_PRIO_MAX). */
#define IPCC_MQ_PRIO_MAX 32768u

/*
 * 0 if name (one optional leading '/') is a queue name: -EINVAL if empty,
 * ".", "..", or holding '/'; -ENAMETOOLONG past IPCC_MQ_NAME_MAX.
 */
int ipcc_mq_name_check(const char *name);

/*
 * Takes the mqueue filesystem of the calling thread's IPC namespace as a
 * detached mount (fsopen, fsconfig CREATE, fsmount): seen by nobody else,
 * nothing added to /proc/mounts, and independent of any /dev/mqueue.
 * Call once, before starting threads (after a setns into another IPC
 * namespace if that is the one to serve); the mount is kept for the life
 * of the process.  -EPERM without CAP_SYS_ADMIN: then, if this thread's
 * IPC namespace has an mqueue mounted at /dev/mqueue, that is used
 * instead (0 returned); otherwise listing gives -ENOTSUP and everything
 * by name still works through mq_open.  -EBUSY if already done.
 */
int ipcc_mq_init(void);
/* Whether ipcc_mq_init found a way to list queues. */
int ipcc_mq_listable(void);

struct ipcc_mq_stat {
	uint64_t ino;       /* the queue's inode: tells a new queue of that name */
	mode_t mode;        /* permission bits (0777) */
	uid_t uid;
	gid_t gid;
	int64_t atime, mtime, ctime;   /* of the mqueue inode */
};

/* The status line is at most this long, NUL included. */
#define IPCC_MQ_STATUS_MAX 160

/*
 * By name, taking nothing: mode / owner / times (fstatat on the mount;
 * without one, mq_open + fstat), and the status line the mqueue
 * filesystem prints ("QSIZE:...  NOTIFY:... SIGNO:... NOTIFY_PID:...\n"),
 * NUL-terminated, its length returned.  -ENOENT, -EINVAL/-ENAMETOOLONG.
 */
int ipcc_mq_stat(const char *name, struct ipcc_mq_stat *st);
ssize_t ipcc_mq_status(const char *name, char buf[IPCC_MQ_STATUS_MAX]);

/* mq_unlink: the queue lives on for those who have it open.  -ENOENT. */
int ipcc_mq_unlink(const char *name);

/* An open queue (an mqd_t, opened read-write by the daemon). */
typedef struct ipcc_mq ipcc_mq;

/*
 * mq_open.  oflag: 0, O_CREAT or O_CREAT | O_EXCL; a created queue gets
 * exactly mode & 0777, the system's default limits (msg_default,
 * msgsize_default of the IPC namespace) and the caller's fsuid/fsgid as
 * owner.  -ENOENT, -EEXIST, -EACCES, -EINVAL (bad name), -ENAMETOOLONG,
 * -EMFILE / -ENOSPC (queues_max) ...
 */
int ipcc_mq_open(const char *name, int oflag, mode_t mode, ipcc_mq **out);
/* Whether this open created the queue. */
int ipcc_mq_created(const ipcc_mq *q);
/* NULL is ignored. */
void ipcc_mq_close(ipcc_mq *q);

struct ipcc_mq_attr {
	long maxmsg;        /* most messages */
	long msgsize;       /* longest message */
	long curmsgs;       /* messages queued */
};
int ipcc_mq_getattr(const ipcc_mq *q, struct ipcc_mq_attr *a);
int ipcc_mq_fstat(const ipcc_mq *q, struct ipcc_mq_stat *st);
ssize_t ipcc_mq_fstatus(const ipcc_mq *q, char buf[IPCC_MQ_STATUS_MAX]);
/* fchmod / fchown of the queue; (mode_t)-1 etc.: unchanged. */
int ipcc_mq_set(ipcc_mq *q, mode_t mode, uid_t uid, gid_t gid);

/*
 * mq_send with priority prio (< IPCC_MQ_PRIO_MAX, else -EINVAL).  Blocks
 * while the queue is full, in steps of IPCC_CANCEL_POLL_MS
 * (mq_timedsend), or -EAGAIN with IPCC_MSG_NOWAIT.  -EMSGSIZE if len is
 * over the queue's msgsize; -EINTR if cancelled (nothing sent).
 */
int ipcc_mq_send(ipcc_mq *q, const void *data, size_t len, unsigned prio,
                 unsigned flags, const struct ipcc_cancel *cancel);
/*
 * mq_receive: the oldest message of the highest priority; returns its
 * length, *prio (may be NULL) its priority.  cap may be smaller than the
 * queue's msgsize (the core receives into its own buffer): a message
 * longer than cap gives -EMSGSIZE and is sent back at once with its
 * priority, where it lands BEHIND the messages of that priority queued
 * meanwhile (mq_send appends within a priority).  Blocks while empty, or
 * -EAGAIN with IPCC_MSG_NOWAIT; -EINTR if cancelled (nothing taken).
 */
ssize_t ipcc_mq_receive(ipcc_mq *q, void *buf, size_t cap, unsigned *prio,
                        unsigned flags, const struct ipcc_cancel *cancel);
/*
 * Puts back a message whose reader never got it: mq_send with its
 * priority, so it lands behind the other messages of that priority.  A
 * full queue: retries for up to 5 s, not cancellable, then -EAGAIN.
 */
int ipcc_mq_give_back(ipcc_mq *q, const void *data, size_t len,
                      unsigned prio);

/*
 * Every queue of the IPC namespace (readdir of the mqueue mount):
 * -ENOTSUP from _new if ipcc_mq_init found none.
 */
typedef struct ipcc_mq_iter ipcc_mq_iter;
int ipcc_mq_iter_new(ipcc_mq_iter **out);
/* 1 with name (NUL-terminated, without '/') and *st, 0 at the end. */
int ipcc_mq_iter_next(ipcc_mq_iter *it, char name[IPCC_MQ_NAME_MAX + 1],
                      struct ipcc_mq_stat *st);
void ipcc_mq_iter_free(ipcc_mq_iter *it);
/* System V semaphore sets (sysv-sem/)                                 */
/* ------------------------------------------------------------------ */

/*
 * Any System V semaphore set, of any size, by key or by id.  Never
 * SEM_UNDO.  Operations on a handle whose set was removed fail with
 * -EIDRM.
 */
struct ipcc_semset_stat {
	key_t key;          /* IPC_PRIVATE (0) for private sets */
	int semid;
	unsigned nsems;
	mode_t mode;        /* permission bits only (0777) */
	uid_t uid, cuid;
	gid_t gid, cgid;
	int64_t otime, ctime;   /* seconds since the epoch; otime 0: no semop yet */
};

typedef struct ipcc_semset ipcc_semset;

/* flags for ipcc_semset_create */
#define IPCC_SEMSET_EXCL 0x1u     /* -EEXIST if the key has a set */

/*
 * Creates a set of nsems (1..SEMMSL) semaphores, all 0, with exactly
 * mode & 0777, under key (IPC_PRIVATE: always a new set).  Without
 * IPCC_SEMSET_EXCL an existing set under key is opened instead, whatever
 * its size.  *created (may be NULL) tells which.  The creator and owner
 * are the calling process's effective ids (as semget).  -EINVAL for nsems
 * 0 or above SEMMSL, -EEXIST, -ENOSPC, -EACCES (existing set).
 */
int ipcc_semset_create(key_t key, unsigned nsems, mode_t mode, unsigned flags,
                       int *created, ipcc_semset **out);
/* The live set with this key: -ENOENT if none, -EINVAL for IPC_PRIVATE. */
int ipcc_semset_open_key(key_t key, ipcc_semset **out);
/* The live set with this id: -ENOENT if none. */
int ipcc_semset_open_id(int semid, ipcc_semset **out);
/* NULL is ignored; the set stays. */
void ipcc_semset_close(ipcc_semset *s);

int ipcc_semset_id(const ipcc_semset *s);
unsigned ipcc_semset_nsems(const ipcc_semset *s);

/*
 * IPC_STAT (SEM_STAT_ANY when we may not read it).  Cheap: it never asks
 * for the per-semaphore waiter counts (the kernel walks every waiter for
 * those): see ipcc_semset_counts.
 */
int ipcc_semset_stat(const ipcc_semset *s, struct ipcc_semset_stat *st);
/* The same by id, without a handle: -ENOENT if no such set. */
int ipcc_semset_stat_id(int semid, struct ipcc_semset_stat *st);

/*
 * Per semaphore, for the first n (n >= nsems to get them all): ncnt
 * (waiting for the value to grow), zcnt (waiting for zero), pid (last
 * operation).  Any array may be NULL.  Returns nsems.
 */
int ipcc_semset_counts(const ipcc_semset *s, unsigned *ncnt, unsigned *zcnt,
                       pid_t *pid, size_t n);
/* GETALL: values of the first n semaphores, in one step.  Returns nsems. */
int ipcc_semset_values(const ipcc_semset *s, unsigned *values, size_t n);
/*
 * SETVAL of semaphore index: waiters that can now proceed wake.
 * -EINVAL for an index past the set, -ERANGE above IPCC_SEM_VALUE_MAX.
 */
int ipcc_semset_setval(ipcc_semset *s, unsigned index, unsigned value);
/* IPC_SET; (mode_t)-1, (uid_t)-1, (gid_t)-1: unchanged. */
int ipcc_semset_set_perm(ipcc_semset *s, mode_t mode, uid_t uid, gid_t gid);
/* IPC_RMID: waiters fail with -EIDRM. */
int ipcc_semset_remove(ipcc_semset *s);
/*
 * Gives a set nobody has used yet (otime 0) another number of semaphores:
 * removes it and creates one of nsems under the same key with the same
 * mode, moving the handle to it (the id changes; owner and creator are
 * the caller's, as for a create).  Same nsems: nothing done.  -EBUSY
 * once a semop was done on it, -EINVAL for IPC_PRIVATE or a bad nsems,
 * -EEXIST if another process took the key in between (the old set is
 * gone then; the handle answers -EIDRM).
 */
int ipcc_semset_resize(ipcc_semset *s, unsigned nsems);

/*
 * Performs parsed sysv-sem/ commands (ipcc_semset_cmd_parse) as ONE
 * semop, all or nothing, in the order written: post N adds N, wait N
 * and trywait N take N, timedwait takes 1, zero waits for 0.  It blocks
 * until all can proceed, except that a trywait makes the whole call
 * IPC_NOWAIT (-EAGAIN) and a timedwait bounds it (-ETIMEDOUT; with
 * several, the shortest wins; trywait wins over timedwait).  cancel
 * (may be NULL) is polled as struct ipcc_cancel says; -EINTR takes
 * nothing.  A single set command is a SETVAL instead (it must be alone).
 * -EINVAL: no commands, an index past the set, set with others;
 * -ERANGE: a value would pass IPCC_SEM_VALUE_MAX; -EIDRM: removed
 * (also while blocked); -EACCES.  Never SEM_UNDO.
 */
int ipcc_semset_run(ipcc_semset *s, const struct ipcc_sem_cmd *cmds,
                    size_t count, const struct ipcc_cancel *cancel);
/*
 * The same, never blocking: -EAGAIN where ipcc_semset_run would wait
 * (also for a timedwait), nothing done.  For answering the writes that
 * can go through at once without handing them to a thread.
 */
int ipcc_semset_try(ipcc_semset *s, const struct ipcc_sem_cmd *cmds,
                    size_t count);
/*
 * After a successful ipcc_semset_run whose result could not be delivered:
 * gives back what it took, i.e. for each semaphore whose net change was
 * negative, posts that much back (one semop, IPC_NOWAIT).  Posts are not
 * taken back: others may already have seen and used them.  A set never
 * takes anything back from others.  0 or -errno (-EIDRM if removed).
 */
int ipcc_semset_give_back(ipcc_semset *s, const struct ipcc_sem_cmd *cmds,
                          size_t count);

/*
 * Every live set (IPC_PRIVATE ones included): /proc/sysvipc/sem read in
 * one pass, or the SEM_STAT walk without /proc.  No semctl per set.
 */
typedef struct ipcc_semset_iter ipcc_semset_iter;
int ipcc_semset_iter_new(ipcc_semset_iter **out);
/* 1 and *st filled, 0 at the end, or a negative errno. */
int ipcc_semset_iter_next(ipcc_semset_iter *it, struct ipcc_semset_stat *st);
void ipcc_semset_iter_free(ipcc_semset_iter *it);

/* ------------------------------------------------------------------ */
/* POSIX named semaphores (posix-sem/)                                  */
/* ------------------------------------------------------------------ */

/*
 * The semaphores sem_open("/name") makes: on Linux (glibc) the file
 * sem.<name> in /dev/shm (or the directory given to ipcc_shm_dir_set),
 * holding one sem_t.  Found relative to that directory, never following
 * a symlink, regular files only; used through the C library's sem_*
 * calls on the mapped file, so programs using sem_open meet the same
 * semaphore.  Permissions are the kernel's file checks on that file.
 * A file whose size is not sizeof(sem_t) is not a semaphore this C
 * library made: -EINVAL, and it is never written.  A file cut short
 * while mapped (by anyone allowed to write it) makes every later call on
 * the handle fail with -EIO (a blocked wait too, within
 * IPCC_CANCEL_POLL_MS), never a SIGBUS.
 * Names as ipcc_name_check (for_create on O_CREAT).
 */
typedef struct ipcc_psem ipcc_psem;

/*
 * oflag: O_RDONLY (value and stat only: post/wait give -EBADF) or
 * O_RDWR, optionally O_CREAT and O_EXCL.  A created semaphore gets
 * value (<= IPCC_SEM_VALUE_MAX), exactly mode & 0777 (no umask) and the
 * process's fsuid/fsgid as owner; it appears complete (written, then
 * linked into place) or not at all.  -ENOENT, -EEXIST, -EACCES, -EINVAL,
 * -ENAMETOOLONG, -ERANGE; -ENOTSUP when the served /dev/shm's semaphores
 * are another C library's (ipcc_ns_sem_ok).
 */
int ipcc_psem_open(const char *name, int oflag, mode_t mode, unsigned value,
                   ipcc_psem **out);
void ipcc_psem_close(ipcc_psem *p);
/* A second handle on the same semaphore (even if unlinked meanwhile). */
int ipcc_psem_dup(const ipcc_psem *p, ipcc_psem **out);
/* Whether this open created the semaphore. */
int ipcc_psem_created(const ipcc_psem *p);

/* Adds n (1..IPCC_SEM_VALUE_MAX); -ERANGE past SEM_VALUE_MAX, unchanged. */
int ipcc_psem_post(ipcc_psem *p, unsigned n);
/*
 * Takes n (1..IPCC_SEM_VALUE_MAX) one at a time (POSIX has no atomic
 * multi-take); a failure midway gives back what it took.  timeout is
 * relative, NULL for ever: -ETIMEDOUT.  cancel (may be NULL) as struct
 * ipcc_cancel says: -EINTR, nothing taken.
 */
int ipcc_psem_wait(ipcc_psem *p, unsigned n, const struct timespec *timeout,
                   const struct ipcc_cancel *cancel);
/* Takes n now or fails with -EAGAIN, taking nothing. */
int ipcc_psem_trywait(ipcc_psem *p, unsigned n);
int ipcc_psem_value(const ipcc_psem *p, unsigned *value);
int ipcc_psem_fstat(const ipcc_psem *p, struct stat *st);
/* (mode_t)-1 / (uid_t)-1 / (gid_t)-1: unchanged. */
int ipcc_psem_fset(ipcc_psem *p, mode_t mode, uid_t uid, gid_t gid);

/*
 * Runs parsed sem/ commands (ipcc_sem_cmd_parse) in order, stopping at
 * the first that fails (what earlier ones did stays done); set:
 * -ENOTSUP.  *done (may be NULL) gets the number that succeeded.
 */
int ipcc_psem_run(ipcc_psem *p, const struct ipcc_sem_cmd *cmds, size_t count,
                  const struct ipcc_cancel *cancel, size_t *done);
/*
 * After a successful ipcc_psem_run whose result could not be delivered:
 * posts back everything its waits took.  Posts are not taken back
 * (others may have used them).
 */
int ipcc_psem_give_back(ipcc_psem *p, const struct ipcc_sem_cmd *cmds,
                        size_t count);

/* By name, without opening (no read permission needed). */
int ipcc_psem_stat(const char *name, struct stat *st);
int ipcc_psem_set(const char *name, mode_t mode, uid_t uid, gid_t gid);
/* sem_unlink: handles and waiters keep the nameless semaphore. */
int ipcc_psem_unlink(const char *name);

/* Every sem.* regular file of the directory, by name (without "sem."). */
typedef struct ipcc_psem_iter ipcc_psem_iter;
int ipcc_psem_iter_new(ipcc_psem_iter **out);
/* 1 with name and *st, 0 at the end, or a negative errno. */
int ipcc_psem_iter_next(ipcc_psem_iter *it, char name[IPCC_NAME_MAX + 1],
                        struct stat *st);
void ipcc_psem_iter_free(ipcc_psem_iter *it);

#ifdef __cplusplus
}
#endif

#endif /* IPCC_H */

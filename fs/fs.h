/*
 * The ipcfs daemon: what its source files share.
 *
 * fs/ maps FUSE operations onto core/ through one table of operations per
 * kind of IPC object (struct fs_kind, one file fs/kind_*.c each, listed in
 * fs/kinds.c).  ops.c is the FUSE operation table: it finds the kind of a
 * node (fs_kind_of) and forwards, with one shared default for what a kind
 * leaves out.  Around that:
 *   dir.c        the folders: lookup, listings, statfs
 *   nodes.c      the node table of kinds whose objects have no number
 *   waiter.c     the pool that runs blocking operations off the workers
 *   reply_buf.c  scratch buffers for replies
 *   util.c       every handle given out (dropped at exit), entry and
 *                reply helpers
 *   node_file.c  open files of kinds with a fresh node per lookup
 *   stream.c     queue files whose reads take and writes send messages
 *   sysv_ids.c   System V names: by key, and by id in id/
 *   sem_names.c  names of semaphores seen, for listing hashed keys
 *   xattr.c      user.ipc.* attributes, from each kind's xattrs hook
 *   limits.c     each folder's limits and usage (its dir_xattrs)
 *   perm.c       who may do what: the kernel's IPC rule, ownership, and
 *                running a create as the caller
 *   passthrough.c  FUSE passthrough (libfuse >= 3.17): backing files
 *   main.c       options, the session, clean exit
 * All mutable state is in one struct fs_state, libfuse's userdata.
 *
 * Node ids (FUSE inode numbers):
 *   1                    the root
 *   2*i, 2*i+1           kind i's folder and its id/ subfolder
 *   [i << 40, (i+1) << 40)   the files of kind i (fs_kind_base)
 */
#ifndef FS_H
#define FS_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif

#include <assert.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ipcc.h"

#define FS_INO_ROOT 1
#define FS_KIND_SHIFT 40
/* Below this every node id is a folder. */
#define FS_FILE_MIN (UINT64_C(1) << FS_KIND_SHIFT)

/* Block size reported for content files: cat/cp then use 1 MiB reads. */
#define FS_BLKSIZE (1u << 20)
#define FS_MAX_WRITE (1u << 20)
/* Seconds the kernel may cache the fixed folders, which never change. */
#define FS_FIXED_TIMEOUT 86400.0

/* Defaults of the bounds on blocked operations (-o max_waiters...). */
#define FS_WAITERS_MAX_DEFAULT 4096u
#define FS_WAITERS_USER_MAX_DEFAULT 1024u

struct fs_config {
	uint64_t sysv_size;     /* size of a segment created without one */
	int64_t start_time;     /* times of the fixed folders */
	size_t splice_max;      /* largest read reply libfuse can splice */
	unsigned max_read;      /* -o max_read, 0 if not given */
	unsigned waiters_max;           /* blocked operations in total */
	unsigned waiters_user_max;      /* ... and per user */
	pid_t pid;              /* -o pid: whose namespaces are served, or 0 */
	int debug;                      /* -d */
};

struct fs_state;
struct fs_dirbuf;
struct fs_xattrs;

/*
 * One kind of IPC object: its folder and what each operation does on its
 * files.  by_id: the name is in the kind's id/ subfolder.  A NULL entry
 * answers with the shared default (ops.c): lookup ENOENT, create and
 * unlink EPERM, setattr accepts times only, release and forget keep no
 * state, no xattrs.
 */
struct fs_kind {
	const char *name;               /* its folder under the root */
	int has_ids;                    /* an id/ subfolder, by number */

	void (*lookup)(fuse_req_t req, int by_id, const char *name);
	/* Adds every object's entry to d. */
	int (*list)(struct fs_state *s, struct fs_dirbuf *d, int by_id);
	void (*create)(fuse_req_t req, int by_id, const char *name,
	               mode_t mode, struct fuse_file_info *fi);
	void (*unlink)(fuse_req_t req, int by_id, const char *name);

	void (*getattr)(fuse_req_t req, fuse_ino_t ino,
	                struct fuse_file_info *fi);
	void (*setattr)(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
	                int to_set, struct fuse_file_info *fi);
	void (*open)(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
	void (*read)(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	             struct fuse_file_info *fi);
	void (*write)(fuse_req_t req, fuse_ino_t ino, const char *buf,
	              size_t size, off_t off, struct fuse_file_info *fi);
	void (*release)(fuse_req_t req, fuse_ino_t ino,
	                struct fuse_file_info *fi);
	/* Adds the user.ipc.* attributes of a file: 0 or -errno. */
	int (*xattrs)(fuse_req_t req, fuse_ino_t ino, struct fs_xattrs *x);
	/* Adds the kind's limits and usage, shown on its folder. */
	int (*dir_xattrs)(struct fs_xattrs *x);
	/* Frees what a node of this kind owns (fs_node.priv). */
	void (*node_free)(void *priv);
	/* The kind's own state (fs_kind_data), made before the session. */
	int (*init)(struct fs_state *s, void **data);
	void (*destroy)(void *data);
};

/* kinds.c: the table.  fs_kinds[0] is unused; NULL ends it. */
extern const struct fs_kind *const fs_kinds[];
/* The kind a file's node id belongs to (NULL: a folder or no file). */
const struct fs_kind *fs_kind_of(fuse_ino_t ino);
/* First node id of a kind's files. */
uint64_t fs_kind_base(const struct fs_kind *k);
/* A folder's kind and whether it is the id/ one: 0, or -ENOENT. */
int fs_folder(fuse_ino_t ino, const struct fs_kind **k, int *by_id);
/* The node id of kind k's folder (by_id: its id/ subfolder). */
fuse_ino_t fs_folder_ino(const struct fs_kind *k, int by_id);

extern const struct fs_kind fs_kind_sysv;
extern const struct fs_kind fs_kind_posix;
extern const struct fs_kind fs_kind_sem;
extern const struct fs_kind fs_kind_sysv_msg;
extern const struct fs_kind fs_kind_posix_mq;
extern const struct fs_kind fs_kind_sysv_sem;
extern const struct fs_kind fs_kind_posix_sem;

/* ops.c */
extern const struct fuse_lowlevel_ops fs_ops;

/*
 * open_files.c: every handle given out (files and folders) embeds one of
 * these first, so that those still open at exit are dropped.
 */
struct fs_open {
	struct fs_open *prev, *next;
	void (*drop)(struct fs_open *);  /* frees the handle, as release */
};
struct fs_opens {
	pthread_mutex_t lock;
	struct fs_open head;
};
void fs_opens_init(struct fs_opens *l);
void fs_open_add(struct fs_state *s, struct fs_open *o,
                 void (*drop)(struct fs_open *));
void fs_open_del(struct fs_state *s, struct fs_open *o);
void fs_open_drop_all(struct fs_state *s);

/* The daemon's state: libfuse's userdata, set up and torn down in main.c. */
struct fs_nodes;
struct fs_waiters;
struct fs_sem_names;
struct fs_bufs;
struct fs_pt;
#define FS_KINDS_MAX 16
struct fs_state {
	struct fs_config conf;
	void *kind_data[FS_KINDS_MAX];  /* by the kind's place in fs_kinds */
	struct fs_opens opens;
	struct fs_nodes *nodes;
	struct fs_waiters *waiters;
	struct fs_sem_names *sem_names;
	struct fs_bufs *bufs;
	struct fs_pt *pt;               /* passthrough.c: backing files */
};

static inline struct fs_state *fs_state_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The state kind k made at init. */
void *fs_kind_data(struct fs_state *s, const struct fs_kind *k);
/* Every kind's init, in order; on failure those done are destroyed. */
int fs_kinds_init(struct fs_state *s);
void fs_kinds_destroy(struct fs_state *s);

/* perm.c: who may do what */
/* Nonzero if the caller is root or one of the given owners. */
int fs_caller_owns(fuse_req_t req, uid_t uid, uid_t cuid);
/*
 * The kernel's own IPC rule (ipcperms): the owner's or creator's bits,
 * else the group's (owner's or creator's group), else the others'.  The
 * file shows one owner, so default_permissions treats a creator as
 * "other"; checked on top, it keeps ipcfs from granting more than IPC
 * does.  want: 4 read, 2 write.  0 or -EACCES.
 */
int fs_caller_ipc_may(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                      uid_t cuid, gid_t cgid, mode_t want);
/*
 * Whether the caller may open an object of this mode/owner with these
 * open flags, by the file rule default_permissions applies.  Only needed
 * where the kernel did not check: an object that appeared between the
 * kernel's lookup (no entry) and our create.  0 or -EACCES.
 */
int fs_caller_may_open(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                       int flags);
/* Permission bits (4 read, 2 write) an open with these flags needs. */
mode_t fs_open_want(int flags);
int fs_open_writable(int flags);
/*
 * Runs the calling thread as the request's caller (uid, gid, groups) for
 * one create call, so that owner and creator are the caller's and the
 * kernel's own create checks apply; fs_as_daemon goes back.  0 or -errno
 * (then nothing changed).
 */
struct fs_cred_saved {
	int switched;
	struct ipcc_cred_saved core;
};
int fs_as_caller(fuse_req_t req, struct fs_cred_saved *saved);
/* The same for given ids (e.g. an object's creator). */
int fs_as(uid_t uid, gid_t gid, size_t ngroups, const gid_t *groups,
          struct fs_cred_saved *saved);
void fs_as_daemon(struct fs_cred_saved *saved);
/*
 * The change of owner and mode shared by every kind's setattr: checks
 * that the caller owns the object and gives the new values to set (with
 * (mode_t)-1 etc. for what stays).  Returns 0 if nothing is to change,
 * 1 if set must be called, or -EPERM.
 */
int fs_setattr_owner(fuse_req_t req, const struct stat *attr, int to_set,
                     uid_t uid, uid_t cuid, mode_t *mode, uid_t *new_uid,
                     gid_t *new_gid);

/* util.c */
/* Zeroed entry reply with no caching of names or attributes. */
void fs_entry_init(struct fuse_entry_param *e, fuse_ino_t ino);
/* A time that never happened (0) shows as fallback (the ctime). */
void fs_time_set(struct timespec *ts, int64_t sec, int64_t fallback);
/* Largest read reply libfuse can splice from a file (0: none). */
size_t fs_splice_max(void);
/*
 * An object that went away between lookup and use: the file is gone.
 * Core answers -EIDRM (or the kernel -EINVAL) for a removed id.
 */
static inline int fs_gone(int err)
{
	return err == -EIDRM || err == -EINVAL ? -ENOENT : err;
}
/*
 * Gives handle o (a file's, with its drop) to fi, without page cache
 * (contents are shared memory or commands: every read and write must
 * reach the daemon), and replies to the open or create; if the caller is
 * gone, o is dropped and, for a create, the new entry forgotten.
 */
void fs_reply_open(fuse_req_t req, struct fuse_file_info *fi,
                   struct fs_open *o);
void fs_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
                     struct fuse_file_info *fi, struct fs_open *o);
/*
 * node_file.c: the open file of a kind whose every lookup makes a fresh
 * node (fs_node_new): a handle on the node, with what a read shows.
 * close (or NULL) ends the file's use of the node's object, at release.
 */
struct fs_node;
struct fs_file {
	struct fs_open open;    /* first: dropped at exit if open */
	struct fs_state *s;
	struct fs_node *node;
	void (*close)(struct fs_node *n);
	pthread_mutex_t lock;   /* text, len, have_text */
	char *text;             /* what a read at offset 0 took */
	size_t len;
	int have_text;
};
struct fs_file *fs_file_of(const struct fuse_file_info *fi);
/* Opens a file of node n and replies (ENOMEM: close(n) first). */
void fs_file_open(fuse_req_t req, struct fs_node *n,
                  struct fuse_file_info *fi, void (*close)(struct fs_node *));
/* A kind's release: frees the file. */
void fs_file_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
/*
 * Makes a node of kind k owning priv (freed by k->node_free on failure)
 * and replies to a lookup (fi NULL) or a create (with a file of it).
 */
void fs_reply_node(fuse_req_t req, const struct fs_kind *k, const char *name,
                   void *priv, const struct stat *attr,
                   struct fuse_file_info *fi, void (*close)(struct fs_node *));
/*
 * Replies to a read: at offset 0 (look_unread: or if none was taken yet)
 * look(node) gives a fresh malloc'd text; reads go on within it.
 */
void fs_file_read_text(fuse_req_t req, struct fs_file *f, size_t size,
                       off_t off, int look_unread,
                       int (*look)(struct fs_node *n, char **text,
                                   size_t *len));
/*
 * stream.c: reads that take one message and writes that send one, on a
 * queue's stream file; what must wait runs on the waiter pool, and a
 * message its reader cannot get goes back.  flags: IPCC_MSG_NOWAIT or 0.
 */
struct fs_stream_ops {
	/* Takes a message into buf: its length or -errno; *tag for give_back. */
	ssize_t (*take)(struct fs_node *n, void *buf, size_t size, long *tag,
	                int flags, const struct ipcc_cancel *cancel);
	int (*send)(struct fs_node *n, const void *buf, size_t size, int flags,
	            const struct ipcc_cancel *cancel);
	void (*give_back)(struct fs_node *n, const void *buf, size_t len,
	                  long tag);
	/* Optional: a blocked job's own use of the node's queue, and its end. */
	int (*use)(struct fs_node *n);
	void (*unuse)(struct fs_node *n);
};
void fs_stream_read(fuse_req_t req, struct fs_file *f, size_t size,
                    const struct fuse_file_info *fi,
                    const struct fs_stream_ops *ops);
void fs_stream_write(fuse_req_t req, struct fs_file *f, const char *buf,
                     size_t size, const struct fuse_file_info *fi,
                     const struct fs_stream_ops *ops);
/*
 * sysv_ids.c: a System V object's name, by key in the kind's folder or by
 * id in its id/.  parse: 0 and *id (by_id) or *key, else -ENOENT.
 * list_name: 1 and the name to list, or 0 (IPC_PRIVATE: by id only).
 */
#define FS_SYSV_NAME_MAX 32
int fs_sysv_parse(int by_id, const char *name, key_t *key, int *id);
int fs_sysv_list_name(int by_id, key_t key, int id,
                      char name[FS_SYSV_NAME_MAX]);
/* Whether name is one of glibc's named semaphores in /dev/shm. */
int fs_is_glibc_sem(const char *name);
/*
 * Whether the request's caller is being killed (SIGKILL pending): a reply
 * would reach nobody, though the kernel still accepts it.
 */
int fs_caller_dying(fuse_req_t req);

/*
 * reply_buf.c: a scratch buffer of at least size bytes for one reply (NULL
 * when out of memory), to give back with fs_buf_put once replied.
 */
int fs_bufs_new(struct fs_bufs **out);
void fs_bufs_free(struct fs_bufs *b);
void *fs_buf_get(struct fs_state *s, size_t size);
void fs_buf_put(struct fs_state *s, void *buf);

/* dir.c */
void fs_dir_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
int fs_dir_stat(struct fs_state *s, fuse_ino_t ino, struct stat *st);
void fs_dir_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_dir_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi);
void fs_dir_releasedir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi);
void fs_dir_statfs(fuse_req_t req, fuse_ino_t ino);
int fs_dirbuf_add(struct fs_dirbuf *d, const char *name, uint64_t ino,
                  mode_t type);

/* sem_names.c: names seen, so that ls can show a hashed key by name */
int fs_sem_names_new(struct fs_sem_names **out);
void fs_sem_names_free(struct fs_sem_names *t);
void fs_sem_names_remember(struct fs_sem_names *t, const char *name);
/* Copies the remembered name of key into buf; 0, or -ENOENT. */
int fs_sem_names_find(struct fs_sem_names *t, key_t key,
                      char buf[IPCC_NAME_MAX + 1]);

/*
 * waiter.c: operations that may block run on a pool of threads, so that
 * the FUSE workers stay free.  A job is started from a request; the pool
 * runs job->run in a thread of its own (it may block, polling the cancel
 * hook: FUSE_INTERRUPT cancels it), then job->reply, which replies to the
 * request and gives back what run took if that reply fails, then
 * job->free.  Blocked jobs are bounded in total and per user.
 */
struct fs_job {
	int (*run)(struct fs_job *job, const struct ipcc_cancel *cancel);
	void (*reply)(struct fs_job *job, fuse_req_t req, int result);
	void (*free)(struct fs_job *job);
};
int fs_waiters_new(const struct fs_config *conf, struct fs_waiters **out);
/*
 * Hands job to the pool, which then replies to req and frees the job:
 * 0.  Otherwise a negative errno (-EBUSY past a bound) and the caller
 * still owns both.
 */
int fs_job_start(fuse_req_t req, struct fs_job *job);
/* Cancels every blocked job (they fail with EINTR) and waits for them. */
void fs_waiters_shutdown(struct fs_waiters *w);
void fs_waiters_free(struct fs_waiters *w);

/* xattr.c */
struct fs_xattrs;
/* Adds one attribute; value as printf.  0 or -ENOMEM / -ERANGE. */
int fs_xattr_add(struct fs_xattrs *x, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int fs_xattr_add_key(struct fs_xattrs *x, key_t key);
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                 size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/*
 * limits.c: a kind's system limits and usage as its folder's user.ipc.*
 * attributes (dir_xattrs hooks), with lsipc's names, read fresh.
 */
int fs_dir_xattrs_shm(struct fs_xattrs *x);     /* sysv/ */
int fs_dir_xattrs_sem(struct fs_xattrs *x);     /* sysv-sem/, sem/ */
int fs_dir_xattrs_msg(struct fs_xattrs *x);     /* sysv-msg/ */
int fs_dir_xattrs_mq(struct fs_xattrs *x);      /* posix-mq/ */

#endif /* FS_H */

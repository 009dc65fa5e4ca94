/*
 * Declarations shared by the ipcfs daemon's source files.
 *
 * Inode numbers (FUSE node ids):
 *   1..5                 the fixed directories
 *   FS_SYSV_BASE | shmid a SysV segment (stateless: a key removed and made
 *                        again has a new shmid, hence a new node)
 *   FS_POSIX_BASE + n    a POSIX shm object, from the node table
 *   FS_SEM_BASE + n      a semaphore, from the node table (fresh per lookup)
 */
#ifndef FS_H
#define FS_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <stdint.h>
#include <sys/stat.h>

#include "ipcc.h"

enum {
	FS_INO_ROOT = 1,
	FS_INO_SYSV = 2,
	FS_INO_SYSV_ID = 3,
	FS_INO_POSIX = 4,
	FS_INO_SEM = 5,
};

#define FS_SYSV_BASE  (UINT64_C(1) << 40)
#define FS_POSIX_BASE (UINT64_C(1) << 41)
#define FS_SEM_BASE   (UINT64_C(1) << 42)

/*
 * st_ino shown for POSIX objects and semaphores: stable across lookups
 * (their node ids are not), so both names of one semaphore and every stat
 * of one object agree.
 */
#define FS_POSIX_STINO(ino) (FS_POSIX_BASE | ((uint64_t)(ino) & (FS_SYSV_BASE - 1)))
#define FS_SEM_STINO(semid) (FS_SEM_BASE | (uint32_t)(semid))

/* Block size reported for content files: cat/cp then use 1 MiB reads. */
#define FS_BLKSIZE (1u << 20)
#define FS_MAX_WRITE (1u << 20)
/* Seconds the kernel may cache the fixed directories, which never change. */
#define FS_FIXED_TIMEOUT 86400.0

enum fs_kind {
	FS_KIND_NONE,
	FS_KIND_DIR,
	FS_KIND_SYSV,
	FS_KIND_POSIX,
	FS_KIND_SEM,
};

struct fs_config {
	uint64_t sysv_size;     /* size of a segment created without one */
	int64_t start_time;     /* times of the fixed directories */
	size_t splice_max;      /* largest read reply libfuse can splice */
	unsigned max_read;      /* -o max_read, 0 if not given */
};

extern struct fs_config fs_conf;

/*
 * open_files.c: handles given out (files and directories), embedded first
 * in each handle's struct, so that those still open at exit are dropped.
 */
struct fs_open {
	struct fs_open *prev, *next;
	void (*drop)(struct fs_open *);  /* frees the handle, as release */
};
void fs_open_add(struct fs_open *o, void (*drop)(struct fs_open *));
void fs_open_del(struct fs_open *o);
void fs_open_drop_all(void);

/* ops.c: the operation table, dispatching on the kind of node */
extern const struct fuse_lowlevel_ops fs_ops;
enum fs_kind fs_kind_of(fuse_ino_t ino);

/* util.c */
/* Nonzero if the caller is root or one of the given owners. */
int fs_caller_owns(fuse_req_t req, uid_t uid, uid_t cuid);
/*
 * Whether the caller may open an object of this mode/owner with the
 * access mode of open flags (read/write bits checked like the kernel's
 * default_permissions).  0 or -EACCES.
 */
int fs_caller_may_open(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                       int flags);
/*
 * The kernel's own IPC rule (ipcperms): the creator counts as the owner
 * and the creator's group as the group.  The file shows one owner, so the
 * kernel's default_permissions treats a creator as "other"; this check,
 * made on top, keeps ipcfs from granting a creator more than IPC does.
 * want: 4 read, 2 write.  0 or -EACCES.
 */
int fs_caller_ipc_may(fuse_req_t req, mode_t mode, uid_t uid, gid_t gid,
                      uid_t cuid, gid_t cgid, mode_t want);
/* Permission bits (4 read, 2 write) an open with these flags needs. */
mode_t fs_open_want(int flags);
/* Largest read reply libfuse can splice from a file (0: none). */
size_t fs_splice_max(void);

/*
 * reply_buf.c: a scratch buffer of at least size bytes for one reply (NULL
 * when out of memory), to give back with fs_buf_put once replied.
 */
void *fs_buf_get(size_t size);
void fs_buf_put(void *buf);
/* At exit: frees the calling thread's buffer and the pool. */
void fs_buf_free_all(void);
/* Zeroed entry reply with no caching of names or attributes. */
void fs_entry_init(struct fuse_entry_param *e, fuse_ino_t ino);
void fs_time_set(struct timespec *ts, int64_t sec);
int fs_open_writable(int flags);

/* ops_dir.c */
void fs_dir_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
int fs_dir_stat(fuse_ino_t ino, struct stat *st);
void fs_dir_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_dir_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi);
void fs_dir_releasedir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi);
void fs_dir_statfs(fuse_req_t req, fuse_ino_t ino);
void fs_refuse_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode, dev_t rdev);
void fs_refuse_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode);
void fs_refuse_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void fs_refuse_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
                       const char *name);
void fs_refuse_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
                    const char *newname);
void fs_refuse_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                      fuse_ino_t newparent, const char *newname,
                      unsigned int flags);

/* Directory snapshots, filled by each kind's list function. */
struct fs_dirbuf;
int fs_dirbuf_add(struct fs_dirbuf *d, const char *name, uint64_t ino,
                  mode_t type);

/* ops_sysv.c */
void fs_sysv_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
int fs_sysv_list(struct fs_dirbuf *d, int by_id);
void fs_sysv_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_sysv_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                     int to_set, struct fuse_file_info *fi);
void fs_sysv_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                    mode_t mode, struct fuse_file_info *fi);
void fs_sysv_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_sysv_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                  struct fuse_file_info *fi);
void fs_sysv_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                   size_t size, off_t off, struct fuse_file_info *fi);
void fs_sysv_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_sysv_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
int fs_sysv_stat(fuse_ino_t ino, struct ipcc_shm_stat *st);

/* ops_posix.c */
void fs_posix_lookup(fuse_req_t req, const char *name);
int fs_posix_list(struct fs_dirbuf *d);
void fs_posix_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_posix_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                      int to_set, struct fuse_file_info *fi);
void fs_posix_create(fuse_req_t req, const char *name, mode_t mode,
                     struct fuse_file_info *fi);
void fs_posix_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_posix_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi);
void fs_posix_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                    size_t size, off_t off, struct fuse_file_info *fi);
void fs_posix_release(fuse_req_t req, fuse_ino_t ino,
                      struct fuse_file_info *fi);
void fs_posix_unlink(fuse_req_t req, const char *name);

/* ops_sem.c */
void fs_sem_lookup(fuse_req_t req, const char *name);
int fs_sem_list(struct fs_dirbuf *d);
void fs_sem_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_sem_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                    int to_set, struct fuse_file_info *fi);
void fs_sem_create(fuse_req_t req, const char *name, mode_t mode,
                   struct fuse_file_info *fi);
void fs_sem_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_sem_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 struct fuse_file_info *fi);
void fs_sem_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                  size_t size, off_t off, struct fuse_file_info *fi);
void fs_sem_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void fs_sem_unlink(fuse_req_t req, const char *name);
int fs_sem_stat(fuse_ino_t ino, struct ipcc_sem_stat *st);

/* sem_names.c: names seen, so that ls can show a hashed key by name */
void fs_sem_names_remember(const char *name);
/* Copies the remembered name of key into buf; 0, or -ENOENT. */
int fs_sem_names_find(key_t key, char buf[IPCC_NAME_MAX + 1]);
void fs_sem_names_clear(void);

/* sem_waiter.c: semaphore writes that may block, run off the FUSE workers */
struct fs_node;
int fs_waiters_init(void);
/*
 * Runs cmds on node's semaphore in a thread of its own, which replies to
 * req (size on success) and holds the node meanwhile.  0 if handed over;
 * otherwise a negative errno and the caller replies.
 */
int fs_waiter_start(fuse_req_t req, struct fs_node *node,
                    const struct ipcc_sem_cmd *cmds, size_t count,
                    size_t size);
/* Cancels every blocked write (they fail with EINTR) and waits for them. */
void fs_waiters_shutdown(void);

/* xattr.c */
void fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                 size_t size);
void fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

#endif /* FS_H */

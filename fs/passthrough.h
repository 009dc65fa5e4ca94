/*
 * FUSE passthrough (libfuse >= 3.17, Linux >= 6.9): the kernel sends the
 * reads, writes and mmap of an open file straight to a backing file, here
 * the object's own memory (a /dev/shm file, or a SysV segment's shmem file
 * reached through the daemon's attachment).  Every missing piece (old
 * libfuse or kernel, no CAP_SYS_ADMIN, a backing file the kernel refuses)
 * quietly leaves the open to the daemon, as without passthrough.
 *
 * The kernel allows one backing file per inode at a time, and once an
 * inode has one, every open of it must name that same backing (an open
 * without it fails with EIO).  So the backing is kept per node: the first
 * open registers it, the others share it, the last release drops it.
 */
#ifndef FS_PASSTHROUGH_H
#define FS_PASSTHROUGH_H

#include <stdio.h>

#include "fs.h"

/* How an open file's bytes travel. */
enum fs_pt_path {
	FS_PT_DAEMON,   /* read and write through the daemon; mmap: ENODEV */
	FS_PT_MMAP,     /* read and write through the daemon (which keeps
	                   its own rules, e.g. ENOSPC at a segment's end);
	                   mmap maps the backing file */
	FS_PT_FULL,     /* read, write and mmap go to the backing file */
};

/* --version: one line on whether this build has passthrough. */
void fs_pt_version(FILE *out);
/* The daemon's passthrough state (fs_state.pt); debug: log each open. */
int fs_pt_new(int debug, struct fs_pt **out);
void fs_pt_free(struct fs_pt *pt);
/* The session whose /dev/fuse backing files are registered on. */
void fs_pt_set_session(struct fs_pt *pt, struct fuse_session *se);
/* init: asks for passthrough when the kernel and our privileges allow. */
void fs_pt_init(struct fs_pt *pt, struct fuse_conn_info *conn);
/* Nonzero if libfuse's message fmt is about a failure we fall back from. */
int fs_pt_log_drop(const char *fmt);

/*
 * Sets up the reply of an open of node ino (fi->direct_io, backing_id,
 * keep_cache) for path want; returns the path taken, which the caller
 * keeps and gives to fs_pt_release.  memfd(arg) opens the object's memory
 * (O_RDWR if it can; the fd is closed here); it is called only when the
 * node has no backing file yet.  what names the open in the debug log.
 */
enum fs_pt_path fs_pt_open(fuse_req_t req, fuse_ino_t ino,
                           enum fs_pt_path want, int (*memfd)(void *arg),
                           void *arg, struct fuse_file_info *fi,
                           const char *what);
/* Drops an open's hold on its node's backing file (release, or drop). */
void fs_pt_release(struct fs_pt *pt, fuse_ino_t ino, enum fs_pt_path path);

/* Whether fs_pt_open gave fi a backing file (and so its direct_io). */
static inline int fs_pt_decided(const struct fuse_file_info *fi)
{
#if defined(IPCFS_HAVE_PASSTHROUGH)
	return fi->backing_id > 0;
#else
	(void)fi;
	return 0;
#endif
}

#endif /* FS_PASSTHROUGH_H */

/*
 * Internal helpers shared by the core's source files.  Not installed, not
 * part of the public API (symbols still carry the ipcc_ prefix).
 */
#ifndef IPCC_INT_H
#define IPCC_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcc.h"
#include "platform.h"

/* Strips the one optional leading '/' of an object name. */
static inline const char *ipcc_name_bare(const char *name)
{
	return name[0] == '/' ? name + 1 : name;
}

/* "/" + bare name into buf (IPCC_NAME_MAX + 2 bytes); name must be checked. */
void ipcc_name_slash(const char *name, char buf[IPCC_NAME_MAX + 2]);

/* Sleeps for ms milliseconds, ignoring signals' early wake-ups. */
void ipcc_sleep_ms(unsigned ms);

/*
 * A time that never happened (0: a segment never attached or detached, a
 * set never operated on) shows as the object's ctime, not as 1970.  Every
 * kind's stat goes through this one rule.
 */
static inline int64_t ipcc_time_or_ctime(int64_t t, int64_t ctime)
{
	return t != 0 ? t : ctime;
}

/* The segment's times as shown: called wherever a stat is filled. */
static inline void ipcc_shm_stat_times(struct ipcc_shm_stat *st)
{
	st->atime = ipcc_time_or_ctime(st->atime, st->ctime);
	st->dtime = ipcc_time_or_ctime(st->dtime, st->ctime);
}

/* struct ipcc_shm_stat from an IPC_STAT / SHM_STAT answer. */
struct shmid_ds;
void ipcc_shm_fill_stat(int shmid, const struct shmid_ds *ds,
                        struct ipcc_shm_stat *st);

/*
 * A table from /proc/sysvipc: a header line naming the columns, then one
 * row per object, fields separated by blanks.  Columns are looked up by
 * name so that a kernel adding or moving columns does not break us.
 */
struct ipcc_ptab;

/*
 * Opens path and finds each of the ncols names in its header.  -ENOENT
 * (or another errno) if the file cannot be read, -ENOTSUP if a column is
 * missing: the caller then falls back to syscalls.
 */
int ipcc_ptab_open(const char *path, const char *const *cols, size_t ncols,
                   struct ipcc_ptab **out);
/*
 * Next row: 1 and fields[i] = text of column cols[i] (valid until the next
 * call), 0 at the end, negative errno on a read error.  Rows with too few
 * fields are skipped.
 */
int ipcc_ptab_next(struct ipcc_ptab *t, const char **fields);
void ipcc_ptab_close(struct ipcc_ptab *t);

/* Whole-string integer conversions for table fields: 0 or -EINVAL. */
int ipcc_ptab_i64(const char *s, int64_t *v);
int ipcc_ptab_u64(const char *s, uint64_t *v);
int ipcc_ptab_octal(const char *s, unsigned *v);

/*
 * The directory fd POSIX objects are opened relative to (ipcc_shm_dir_set,
 * else /dev/shm opened once), or a negative errno.  Never closed.
 */
int ipcc_shm_dir_fd(void);

/*
 * sysv_ipc.c: the System V kinds' shared mechanics.  A get function is the
 * kind's xxxget with its other arguments in arg: flags 0 opens an existing
 * key; it answers the id, or -1 with errno set.
 */
typedef int ipcc_sysv_get_fn(key_t key, int flags, void *arg);
/*
 * Creates key's object exclusively (IPC_CREAT | IPC_EXCL | create_flags),
 * else, unless excl, opens the existing one: 0 with *id and *created (may
 * be NULL), or -errno (-EAGAIN if it kept vanishing in between).
 */
int ipcc_sysv_create_or_open(ipcc_sysv_get_fn *get, void *arg, key_t key,
                             int create_flags, int excl, int *id,
                             int *created);
/*
 * The kind's xxxctl(id, cmd, ds): 0 / an id, or -1 with errno set.  Two
 * commands stand for the kind's own: IPCC_SYSV_STAT_IDX (XXX_STAT, by
 * table index) and IPCC_SYSV_STAT_ANY (XXX_STAT_ANY, which needs no read
 * permission; EINVAL where the headers lack it).
 */
#define IPCC_SYSV_STAT_IDX (-1)
#define IPCC_SYSV_STAT_ANY (-2)
typedef int ipcc_sysv_ctl_fn(int id, int cmd, void *ds);
/*
 * IPC_STAT of id, falling back after EACCES on IPCC_SYSV_STAT_ANY: 0, or
 * IPC_STAT's -errno.
 */
int ipcc_sysv_stat(ipcc_sysv_ctl_fn *ctl, int id, void *ds);

/*
 * The kernel table's next used slot from *idx up to max_idx (STAT_IDX,
 * else STAT_ANY after EACCES): its id with ds filled, or -1 at the end.
 */
int ipcc_sysv_walk(ipcc_sysv_ctl_fn *ctl, int *idx, int max_idx, void *ds);
/* The kinds' ctl functions (msgctl, shmctl; semctl in sem_sysv.h). */
int ipcc_msq_ctl(int msqid, int cmd, void *ds);
int ipcc_shm_ctl(int shmid, int cmd, void *ds);

/* The layout of our own C library's sem_t (IPCC_SEM_LAYOUT_*). */
#ifdef __GLIBC__
#define IPCC_OWN_SEM_LAYOUT IPCC_SEM_LAYOUT_GLIBC
#else
#define IPCC_OWN_SEM_LAYOUT IPCC_SEM_LAYOUT_UNKNOWN
#endif

#endif /* IPCC_INT_H */

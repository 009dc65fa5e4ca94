/* Shared by the System V semaphore backend's files (Linux only). */
#ifndef IPCC_SEM_SYSV_H
#define IPCC_SEM_SYSV_H

#include <sys/sem.h>

#include "ipcc_int.h"

/* The caller defines semctl's fourth argument (glibc does not). */
union ipcc_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

/* semctl as an ipcc_sysv_ctl_fn (ds: the semid_ds of IPC_STAT). */
int ipcc_sem_ctl(int semid, int cmd, void *ds);
/* IPC_STAT, with SEM_STAT_ANY when we may not read the set: 0 or -errno. */
int ipcc_sem_stat_raw(int semid, struct semid_ds *ds);
/* The set's times as shown (see ipcc_time_or_ctime): wherever one is filled. */
static inline void ipcc_sem_stat_times(struct ipcc_sem_stat *st)
{
	st->otime = ipcc_time_or_ctime(st->otime, st->ctime);
}

/* The IPC_STAT part of struct ipcc_sem_stat (counts zeroed). */
void ipcc_sem_fill_stat(int semid, const struct semid_ds *ds,
                        struct ipcc_sem_stat *st);
/* value, ncnt, zcnt, pid: 0 or -errno of the failing semctl. */
int ipcc_sem_fill_counts(int semid, struct ipcc_sem_stat *st);

#endif /* IPCC_SEM_SYSV_H */

/*
 * Limits and usage (ipcc_limits_*) against the system's own tools:
 * `ipcs -l`, `ipcs -u` and `lsipc`, parsed here, and /proc/sys/fs/mqueue
 * read independently.  Other test suites may create objects while this
 * runs, so each usage comparison is taken between two reads of ours that
 * agree, retried a few times.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>

#include "check.h"
#include "fixture.h"
#include "ipcc.h"

static char *const ipcs_l[] = { "/usr/bin/ipcs", "-l", NULL };
static char *const ipcs_u[] = { "/usr/bin/ipcs", "-u", NULL };
static char *const lsipc_g[] = { "/usr/bin/lsipc", "-b", "--raw",
	                         "--noheadings", "-o", "RESOURCE,LIMIT,USED",
	                         NULL };

/* The number after "label" (and after an optional '=' or blanks); -1. */
static long long after(const char *out, const char *label)
{
	const char *p = strstr(out, label);

	if (!p)
		return -1;
	p += strlen(label);
	while (*p == ' ' || *p == '\t' || *p == '=')
		p++;
	return *p >= '0' && *p <= '9' ? (long long)strtoull(p, NULL, 10) : -1;
}

/* lsipc's LIMIT (col 1) or USED (col 2) of resource name (0 if "-"). */
static unsigned long long lsipc_u(const char *out, const char *name, int col)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "%s ", name);
	for (p = out; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, pat, strlen(pat)) == 0)
			break;
	}
	if (!p)
		return 0;
	p += strlen(pat);
	if (col == 2) {
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
	}
	return strtoull(p, NULL, 10);
}

static void test_limits_vs_ipcs_l_and_lsipc(void)
{
	struct ipcc_limits_shm shm;
	struct ipcc_limits_sem sem;
	struct ipcc_limits_msg msg;
	char out[8192], ls[4096];

	REQUIRE_OK(ipcc_limits_shm(&shm));
	REQUIRE_OK(ipcc_limits_sem(&sem));
	REQUIRE_OK(ipcc_limits_msg(&msg));
	REQUIRE_EQ(fx_run(ipcs_l, out, sizeof(out)), 0);
	REQUIRE_EQ(fx_run(lsipc_g, ls, sizeof(ls)), 0);

	CHECK_EQ(after(out, "max number of segments"), shm.shmmni);
	CHECK_EQ(after(out, "max seg size (kbytes)"), shm.shmmax >> 10);
	CHECK_EQ(after(out, "min seg size (bytes)"), shm.shmmin);
	CHECK_EQ(after(out, "max number of arrays"), sem.semmni);
	CHECK_EQ(after(out, "max semaphores per array"), sem.semmsl);
	CHECK_EQ(after(out, "max semaphores system wide"), sem.semmns);
	CHECK_EQ(after(out, "max ops per semop call"), sem.semopm);
	CHECK_EQ(after(out, "semaphore max value"), sem.semvmx);
	CHECK_EQ(sem.semvmx, 32767);
	CHECK_EQ(after(out, "max queues system wide"), msg.msgmni);
	CHECK_EQ(after(out, "max size of message (bytes)"), msg.msgmax);
	CHECK_EQ(after(out, "default max size of queue (bytes)"), msg.msgmnb);

	/* lsipc's numbers are unsigned 64-bit: compared as such */
	CHECK(lsipc_u(ls, "SHMMNI", 1) == shm.shmmni);
	CHECK(lsipc_u(ls, "SHMALL", 1) == shm.shmall);
	CHECK(lsipc_u(ls, "SHMMAX", 1) == shm.shmmax);
	CHECK(lsipc_u(ls, "SHMMIN", 1) == shm.shmmin);
	CHECK(lsipc_u(ls, "SEMMNI", 1) == sem.semmni);
	CHECK(lsipc_u(ls, "SEMMNS", 1) == sem.semmns);
	CHECK(lsipc_u(ls, "SEMMSL", 1) == sem.semmsl);
	CHECK(lsipc_u(ls, "SEMOPM", 1) == sem.semopm);
	CHECK(lsipc_u(ls, "SEMVMX", 1) == sem.semvmx);
	CHECK(lsipc_u(ls, "MSGMNI", 1) == msg.msgmni);
	CHECK(lsipc_u(ls, "MSGMAX", 1) == msg.msgmax);
	CHECK(lsipc_u(ls, "MSGMNB", 1) == msg.msgmnb);
}

static int same_usage(const struct ipcc_limits_shm *a,
                      const struct ipcc_limits_shm *b,
                      const struct ipcc_limits_sem *c,
                      const struct ipcc_limits_sem *d,
                      const struct ipcc_limits_msg *e,
                      const struct ipcc_limits_msg *f)
{
	return a->segments == b->segments && a->pages == b->pages &&
	       c->sets == d->sets && c->semaphores == d->semaphores &&
	       e->queues == f->queues && e->messages == f->messages &&
	       e->bytes == f->bytes;
}

/* Our usage and `ipcs -u`'s, taken while ours did not change: 1 if so. */
static int stable_usage(struct ipcc_limits_shm *shm,
                        struct ipcc_limits_sem *sem,
                        struct ipcc_limits_msg *msg, char *out, size_t len,
                        char *const *argv)
{
	for (int tries = 0; tries < 50; tries++) {
		struct ipcc_limits_shm shm2;
		struct ipcc_limits_sem sem2;
		struct ipcc_limits_msg msg2;

		if (ipcc_limits_shm(shm) || ipcc_limits_sem(sem) ||
		    ipcc_limits_msg(msg) || fx_run(argv, out, len) != 0 ||
		    ipcc_limits_shm(&shm2) || ipcc_limits_sem(&sem2) ||
		    ipcc_limits_msg(&msg2))
			return 0;
		if (same_usage(shm, &shm2, sem, &sem2, msg, &msg2))
			return 1;
		fx_sleep_ms(20);
	}
	return 0;
}

static void test_usage_vs_ipcs_u(void)
{
	struct ipcc_limits_shm shm0, shm;
	struct ipcc_limits_sem sem0, sem;
	struct ipcc_limits_msg msg0, msg;
	struct { long mtype; char text[100]; } m = { 1, "x" };
	char out[4096];
	key_t key = fx_key_all();
	int shmid, semid, msqid;

	REQUIRE(stable_usage(&shm0, &sem0, &msg0, out, sizeof(out), ipcs_u));
	/* 10000 bytes is 3 pages; 5 semaphores; 2 messages of 100 bytes */
	shmid = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
	semid = semget(key, 5, IPC_CREAT | IPC_EXCL | 0600);
	msqid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	REQUIRE(shmid >= 0 && semid >= 0 && msqid >= 0);
	REQUIRE_OK(msgsnd(msqid, &m, sizeof(m.text), 0));
	REQUIRE_OK(msgsnd(msqid, &m, sizeof(m.text), 0));

	REQUIRE(stable_usage(&shm, &sem, &msg, out, sizeof(out), ipcs_u));
	CHECK_EQ(after(out, "segments allocated"), shm.segments);
	CHECK_EQ(after(out, "pages allocated"), shm.pages);
	CHECK_EQ(after(out, "pages resident"), shm.pages_resident);
	CHECK_EQ(after(out, "pages swapped"), shm.pages_swapped);
	CHECK_EQ(after(out, "used arrays"), sem.sets);
	CHECK_EQ(after(out, "allocated semaphores"), sem.semaphores);
	CHECK_EQ(after(out, "allocated queues"), msg.queues);
	CHECK_EQ(after(out, "used headers"), msg.messages);
	CHECK_EQ(after(out, "used space"), msg.bytes);
	/* what we made shows (others may have come and gone meanwhile) */
	CHECK(shm.segments >= 1 && shm.pages >= 3);
	CHECK(sem.sets >= 1 && sem.semaphores >= 5);
	CHECK(msg.queues >= 1 && msg.messages >= 2 && msg.bytes >= 200);

	/*
	 * and lsipc's USED column agrees on the object counts (not SEMMNS:
	 * lsipc 2.38 prints the number of sets there, ipcs -u is right)
	 */
	REQUIRE(stable_usage(&shm, &sem, &msg, out, sizeof(out), lsipc_g));
	CHECK(lsipc_u(out, "SHMMNI", 2) == shm.segments);
	CHECK(lsipc_u(out, "SEMMNI", 2) == sem.sets);
	CHECK(lsipc_u(out, "MSGMNI", 2) == msg.queues);

	CHECK_OK(shmctl(shmid, IPC_RMID, NULL));
	CHECK_OK(semctl(semid, 0, IPC_RMID));
	CHECK_OK(msgctl(msqid, IPC_RMID, NULL));
}

static unsigned long long proc_num(const char *path)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoull(buf, NULL, 10);
}

static void test_mq(void)
{
	struct ipcc_limits_mq mq;

	REQUIRE_OK(ipcc_limits_mq(&mq));
	CHECK(mq.queues_max == proc_num("/proc/sys/fs/mqueue/queues_max"));
	CHECK(mq.msg_max == proc_num("/proc/sys/fs/mqueue/msg_max"));
	CHECK(mq.msgsize_max == proc_num("/proc/sys/fs/mqueue/msgsize_max"));
	CHECK(mq.msg_default == proc_num("/proc/sys/fs/mqueue/msg_default"));
	CHECK(mq.msgsize_default ==
	      proc_num("/proc/sys/fs/mqueue/msgsize_default"));
	CHECK(mq.msg_max > 0 && mq.msgsize_max > 0);
}

static void test_statfs(void)
{
	struct ipcc_statfs s;
	struct ipcc_limits_shm shm;
	struct ipcc_limits_sem sem;
	struct ipcc_limits_msg msg;
	char out[4096], lim[8192];
	unsigned long long ram_kb = 0, ram_pages;
	FILE *f = fopen("/proc/meminfo", "r");
	long page = sysconf(_SC_PAGESIZE);
	int ok = 0;

	REQUIRE(f != NULL);
	if (fscanf(f, "MemTotal: %llu kB", &ram_kb) != 1)
		ram_kb = 0;
	fclose(f);
	REQUIRE(ram_kb > 0);
	ram_pages = ram_kb * 1024 / (unsigned long long)page;
	REQUIRE_EQ(fx_run(ipcs_l, lim, sizeof(lim)), 0);

	for (int tries = 0; tries < 50 && !ok; tries++) {
		REQUIRE(stable_usage(&shm, &sem, &msg, out, sizeof(out), ipcs_u));
		REQUIRE_OK(ipcc_limits_statfs(&s));
		ok = s.blocks_used == shm.pages &&
		     s.files_used == shm.segments + sem.sets + msg.queues;
	}
	CHECK(ok);
	CHECK_EQ(s.page_size, page);
	CHECK(s.blocks == (shm.shmall < ram_pages ? shm.shmall : ram_pages));
	CHECK(s.blocks <= ram_pages);
	CHECK_EQ(s.blocks_used, after(out, "pages allocated"));
	CHECK_EQ(s.blocks_free, s.blocks - s.blocks_used);
	CHECK_EQ(s.files, after(lim, "max number of segments") +
	                  after(lim, "max number of arrays") +
	                  after(lim, "max queues system wide"));
	CHECK_EQ(s.files_used, after(out, "segments allocated") +
	                       after(out, "used arrays") +
	                       after(out, "allocated queues"));
	CHECK_EQ(s.files_free, s.files - s.files_used);
}

int main(void)
{
	fx_init();
	RUN(test_limits_vs_ipcs_l_and_lsipc);
	RUN(test_usage_vs_ipcs_u);
	RUN(test_mq);
	RUN(test_statfs);
	return check_exit();
}

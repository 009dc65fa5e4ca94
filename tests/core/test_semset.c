/*
 * System V semaphore sets of any size through core (ipcc_semset_*),
 * side by side with the kernel's own semget/semop/semctl as the same user,
 * `ipcmk -S` / `ipcs -s -i`, Python's sysv_ipc, blocked waiter threads,
 * the cancel hook, signals and a second user.
 *
 * Waiters are threads blocked in ipcc_semset_run; the test knows one is
 * asleep in the kernel by polling GETNCNT / GETZCNT (bounded), never by
 * sleeping a guessed time.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "ipcc.h"

#define POLL_MS 20000

union semun_ {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int raw_val(int semid, int i)
{
	return semctl(semid, i, GETVAL);
}

static int poll_cnt(int semid, int i, int cmd, int want)
{
	for (int k = 0; k < POLL_MS; k++) {
		int n = semctl(semid, i, cmd);

		if (n == want)
			return 1;
		if (n < 0)
			return 0;
		fx_sleep_ms(1);
	}
	return 0;
}

/* Parses a sysv-sem/ write; aborts the test program on a parse error. */
static size_t cmds_of(const char *text, struct ipcc_sem_cmd *cmds)
{
	size_t count = 0;
	int r = ipcc_semset_cmd_parse(text, strlen(text), cmds,
	                              IPCC_SEM_CMD_MAX, &count);

	if (r) {
		fprintf(stderr, "cannot parse \"%s\": %d\n", text, r);
		exit(1);
	}
	return count;
}

static int run_text(ipcc_semset *s, const char *text,
                    const struct ipcc_cancel *cancel)
{
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
	size_t n = cmds_of(text, cmds);

	return ipcc_semset_run(s, cmds, n, cancel);
}

/* "a b c" of the values, for messages and comparisons. */
static const char *vals(int semid, int nsems, char buf[256])
{
	size_t len = 0;

	buf[0] = '\0';
	for (int i = 0; i < nsems; i++)
		len += (size_t)snprintf(buf + len, 256 - len, "%s%d",
		                        i ? " " : "", raw_val(semid, i));
	return buf;
}

#define CHECK_VALS(semid, nsems, want)                                    \
	do {                                                              \
		char vb_[256];                                            \
		CHECK_STR(vals(semid, nsems, vb_), want);                 \
	} while (0)

/* A new keyed set of nsems through core, tracked; NULL on failure. */
static ipcc_semset *new_set(key_t *key, unsigned nsems, mode_t mode)
{
	ipcc_semset *s = NULL;
	int created = -1;

	*key = fx_key();
	if (ipcc_semset_create(*key, nsems, mode, IPCC_SEMSET_EXCL, &created,
	                       &s) != 0 || created != 1)
		return NULL;
	return s;
}

static void test_create_open_stat(void)
{
	struct ipcc_semset_stat st;
	struct semid_ds ds;
	union semun_ arg = { .buf = &ds };
	ipcc_semset *s, *s2 = NULL;
	key_t key;
	int id, created = -1;
	unsigned values[8];

	s = new_set(&key, 5, 0640);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	CHECK_EQ(semget(key, 0, 0), id);
	CHECK_EQ(ipcc_semset_nsems(s), 5);
	REQUIRE_OK(semctl(id, 0, IPC_STAT, arg));
	CHECK_EQ(ds.sem_nsems, 5);
	CHECK_EQ(ds.sem_perm.mode & 0777, 0640);
	CHECK_EQ(ds.sem_perm.uid, geteuid());
	CHECK_EQ(ds.sem_perm.cuid, geteuid());
	CHECK_EQ(ds.sem_otime, 0);

	REQUIRE_OK(ipcc_semset_stat(s, &st));
	CHECK_EQ(st.key, key);
	CHECK_EQ(st.semid, id);
	CHECK_EQ(st.nsems, 5);
	CHECK_EQ(st.mode, 0640);
	CHECK_EQ(st.uid, ds.sem_perm.uid);
	CHECK_EQ(st.gid, ds.sem_perm.gid);
	CHECK_EQ(st.cuid, ds.sem_perm.cuid);
	CHECK_EQ(st.cgid, ds.sem_perm.cgid);
	CHECK_EQ(st.otime, 0);
	CHECK_EQ(st.ctime, ds.sem_ctime);
	CHECK_OK(ipcc_semset_stat_id(id, &st));
	CHECK_EQ(st.nsems, 5);
	CHECK_EQ(ipcc_semset_values(s, values, 8), 5);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(values[i], 0);

	/* exists: EXCL refuses, plain create opens it whatever nsems asked */
	CHECK_ERR(ipcc_semset_create(key, 5, 0600, IPCC_SEMSET_EXCL, NULL, &s2),
	          EEXIST);
	CHECK_OK(ipcc_semset_create(key, 2, 0600, 0, &created, &s2));
	CHECK_EQ(created, 0);
	if (s2) {
		CHECK_EQ(ipcc_semset_id(s2), id);
		CHECK_EQ(ipcc_semset_nsems(s2), 5);
		ipcc_semset_close(s2);
		s2 = NULL;
	}
	/* by key and by id */
	CHECK_OK(ipcc_semset_open_key(key, &s2));
	if (s2) {
		CHECK_EQ(ipcc_semset_id(s2), id);
		ipcc_semset_close(s2);
		s2 = NULL;
	}
	CHECK_OK(ipcc_semset_open_id(id, &s2));
	if (s2) {
		CHECK_EQ(ipcc_semset_nsems(s2), 5);
		ipcc_semset_close(s2);
		s2 = NULL;
	}
	ipcc_semset_close(s);
	ipcc_semset_close(NULL);
	CHECK_EQ(semget(key, 0, 0), id);        /* close leaves it */
	CHECK_OK(semctl(id, 0, IPC_RMID));

	/* gone / never there */
	CHECK_ERR(ipcc_semset_open_key(key, &s2), ENOENT);
	CHECK_ERR(ipcc_semset_open_id(id, &s2), ENOENT);
	CHECK_ERR(ipcc_semset_stat_id(id, &st), ENOENT);
	CHECK_ERR(ipcc_semset_open_id(-1, &s2), ENOENT);
	CHECK_ERR(ipcc_semset_open_key(IPC_PRIVATE, &s2), EINVAL);
	CHECK(s2 == NULL);
}

static void test_create_sizes(void)
{
	struct seminfo info;
	union semun_ arg = { .buf = (struct semid_ds *)(void *)&info };
	ipcc_semset *s = NULL;
	key_t key = fx_key();
	int id;

	REQUIRE(semctl(0, 0, IPC_INFO, arg) >= 0);
	/* 0 and SEMMSL + 1: EINVAL, as semget says */
	CHECK_ERR(ipcc_semset_create(key, 0, 0600, 0, NULL, &s), EINVAL);
	CHECK_EQ(semget(key, 0, IPC_CREAT | 0600) < 0 ? errno : 0, EINVAL);
	CHECK_ERR(ipcc_semset_create(key, (unsigned)info.semmsl + 1, 0600, 0,
	                             NULL, &s), EINVAL);
	CHECK_EQ(semget(key, info.semmsl + 1, IPC_CREAT | 0600) < 0 ? errno : 0,
	         EINVAL);
	CHECK_ERR(ipcc_semset_create(key, 0xffffffffu, 0600, 0, NULL, &s),
	          EINVAL);
	CHECK(s == NULL);
	CHECK_EQ(semget(key, 0, 0) < 0 ? errno : 0, ENOENT);
	/* SEMMSL itself is fine */
	REQUIRE_OK(ipcc_semset_create(key, (unsigned)info.semmsl, 0600, 0, NULL,
	                              &s));
	id = ipcc_semset_id(s);
	CHECK_EQ(ipcc_semset_nsems(s), (unsigned)info.semmsl);
	CHECK_OK(ipcc_semset_setval(s, (unsigned)info.semmsl - 1, 3));
	CHECK_EQ(raw_val(id, info.semmsl - 1), 3);
	CHECK_ERR(ipcc_semset_setval(s, (unsigned)info.semmsl, 3), EINVAL);
	CHECK_OK(ipcc_semset_remove(s));
	ipcc_semset_close(s);
}

static void test_private(void)
{
	ipcc_semset *a = NULL, *b = NULL;
	struct ipcc_semset_stat st;
	int created = -1;

	REQUIRE_OK(ipcc_semset_create(IPC_PRIVATE, 3, 0600, 0, &created, &a));
	fx_track_sem_id(ipcc_semset_id(a));
	CHECK_EQ(created, 1);
	CHECK_OK(ipcc_semset_create(IPC_PRIVATE, 3, 0600, 0, &created, &b));
	if (b) {
		fx_track_sem_id(ipcc_semset_id(b));
		CHECK(ipcc_semset_id(a) != ipcc_semset_id(b));
		CHECK_OK(ipcc_semset_remove(b));
		ipcc_semset_close(b);
	}
	CHECK_OK(ipcc_semset_stat(a, &st));
	CHECK_EQ(st.key, IPC_PRIVATE);
	CHECK_EQ(st.nsems, 3);
	/* a private set cannot change size: that needs its key */
	CHECK_ERR(ipcc_semset_resize(a, 4), EINVAL);
	CHECK_OK(ipcc_semset_remove(a));
	ipcc_semset_close(a);
}

static void test_values_setval(void)
{
	unsigned values[4] = { 9, 9, 9, 9 };
	ipcc_semset *s;
	key_t key;
	int id;

	s = new_set(&key, 3, 0600);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	CHECK_OK(ipcc_semset_setval(s, 1, 7));
	CHECK_OK(ipcc_semset_setval(s, 2, 32767));
	CHECK_VALS(id, 3, "0 7 32767");
	CHECK_EQ(ipcc_semset_values(s, values, 4), 3);
	CHECK_EQ(values[0], 0);
	CHECK_EQ(values[1], 7);
	CHECK_EQ(values[2], 32767);
	CHECK_EQ(values[3], 9);         /* only nsems written */
	CHECK_EQ(ipcc_semset_values(s, values, 1), 3);

	/* past the maximum: ERANGE, as SETVAL says */
	CHECK_ERR(ipcc_semset_setval(s, 0, 32768), ERANGE);
	{
		union semun_ a = { .val = 32768 };

		CHECK_EQ(semctl(id, 0, SETVAL, a) < 0 ? errno : 0, ERANGE);
	}
	/* an index past the set */
	CHECK_ERR(ipcc_semset_setval(s, 3, 1), EINVAL);
	CHECK_VALS(id, 3, "0 7 32767");
	/* "set N" through the runner is a SETVAL, and must be alone */
	CHECK_OK(run_text(s, "1:set 4", NULL));
	CHECK_VALS(id, 3, "0 4 32767");
	{
		struct ipcc_sem_cmd two[2];

		memset(two, 0, sizeof(two));
		two[0].op = IPCC_SEM_OP_SET;
		two[0].n = 1;
		two[1].op = IPCC_SEM_OP_POST;
		two[1].n = 1;
		CHECK_ERR(ipcc_semset_run(s, two, 2, NULL), EINVAL);
		two[0] = two[1];
		two[1].op = IPCC_SEM_OP_SET;
		CHECK_ERR(ipcc_semset_run(s, two, 2, NULL), EINVAL);
		CHECK_ERR(ipcc_semset_run(s, two, 0, NULL), EINVAL);
	}
	CHECK_VALS(id, 3, "0 4 32767");
	ipcc_semset_close(s);
	CHECK_OK(semctl(id, 0, IPC_RMID));
}

static void test_run_basic(void)
{
	unsigned ncnt[3], zcnt[3];
	pid_t pid[3];
	struct ipcc_semset_stat st;
	ipcc_semset *s;
	key_t key;
	int id;

	s = new_set(&key, 3, 0600);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	CHECK_OK(run_text(s, "0:post 2\n2:post 3", NULL));
	CHECK_VALS(id, 3, "2 0 3");
	CHECK_OK(ipcc_semset_stat(s, &st));
	CHECK(st.otime != 0);
	CHECK_EQ(ipcc_semset_counts(s, ncnt, zcnt, pid, 3), 3);
	CHECK_EQ(pid[0], getpid());
	CHECK_EQ(pid[1], 0);            /* only the ones an op touched */
	CHECK_EQ(pid[2], getpid());
	CHECK_EQ(ncnt[0] + ncnt[1] + ncnt[2], 0);
	CHECK_EQ(zcnt[0] + zcnt[1] + zcnt[2], 0);
	CHECK_EQ(ipcc_semset_counts(s, NULL, NULL, NULL, 0), 3);

	/* no prefix: semaphore 0 */
	CHECK_OK(run_text(s, "post", NULL));
	CHECK_VALS(id, 3, "3 0 3");
	CHECK_OK(run_text(s, "wait 3\n2:wait", NULL));
	CHECK_VALS(id, 3, "0 0 2");
	/* in order: a post then a wait of the same one in one semop */
	CHECK_OK(run_text(s, "1:post\n1:wait", NULL));
	CHECK_VALS(id, 3, "0 0 2");
	/* zero: passes at 0 */
	CHECK_OK(run_text(s, "zero\n1:zero\n2:wait 2\n2:zero", NULL));
	CHECK_VALS(id, 3, "0 0 0");

	/* trywait makes it all IPC_NOWAIT: EAGAIN, nothing taken */
	CHECK_OK(run_text(s, "0:post 2", NULL));
	CHECK_ERR(run_text(s, "0:trywait\n1:trywait", NULL), EAGAIN);
	CHECK_ERR(run_text(s, "0:wait\n1:trywait", NULL), EAGAIN);
	CHECK_ERR(run_text(s, "0:trywait 3", NULL), EAGAIN);
	CHECK_ERR(run_text(s, "trywait\nzero", NULL), EAGAIN);
	CHECK_ERR(run_text(s, "1:post\n0:trywait 3", NULL), EAGAIN);
	CHECK_VALS(id, 3, "2 0 0");
	CHECK_OK(run_text(s, "0:trywait 2\n1:zero", NULL));
	CHECK_VALS(id, 3, "0 0 0");

	/* ERANGE past 32767, as semop says; nothing done */
	CHECK_OK(run_text(s, "1:post 32767", NULL));
	CHECK_ERR(run_text(s, "0:post\n1:post", NULL), ERANGE);
	{
		struct sembuf op = { 1, 1, IPC_NOWAIT };

		CHECK_EQ(semop(id, &op, 1) < 0 ? errno : 0, ERANGE);
	}
	CHECK_VALS(id, 3, "0 32767 0");
	/* many posts adding up past the maximum */
	CHECK_ERR(run_text(s, "2:post 20000\n2:post 20000", NULL), ERANGE);
	CHECK_VALS(id, 3, "0 32767 0");

	/* an index past the set: EINVAL, nothing done */
	CHECK_ERR(run_text(s, "0:post\n3:post", NULL), EINVAL);
	CHECK_ERR(run_text(s, "65535:zero", NULL), EINVAL);
	CHECK_VALS(id, 3, "0 32767 0");
	ipcc_semset_close(s);
	CHECK_OK(semctl(id, 0, IPC_RMID));
}

static void test_timedwait(void)
{
	struct timespec t0, t1;
	ipcc_semset *s;
	key_t key;
	int id;
	long ms;

	s = new_set(&key, 2, 0600);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	CHECK_OK(run_text(s, "0:post 2", NULL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_ERR(run_text(s, "0:wait\n1:timedwait 0.3", NULL), ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms >= 290 && ms < 3000);
	CHECK_VALS(id, 2, "2 0");
	/* the shortest of two timedwaits bounds the write */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_ERR(run_text(s, "1:timedwait 30\n1:timedwait 0.1", NULL),
	          ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms >= 90 && ms < 3000);
	/* timedwait 0: one try */
	CHECK_ERR(run_text(s, "1:timedwait 0", NULL), ETIMEDOUT);
	CHECK_OK(run_text(s, "0:timedwait 0", NULL));
	CHECK_VALS(id, 2, "1 0");
	/* trywait wins over timedwait */
	CHECK_ERR(run_text(s, "1:timedwait 5\n0:trywait", NULL), EAGAIN);
	/* succeeds once possible */
	CHECK_OK(run_text(s, "0:timedwait 5\n1:post", NULL));
	CHECK_VALS(id, 2, "0 1");
	ipcc_semset_close(s);
	CHECK_OK(semctl(id, 0, IPC_RMID));
}

/* ---- blocked waiters ---- */

struct waiter {
	pthread_t thread;
	ipcc_semset *s;
	char text[256];
	int use_hook;
	atomic_int cancel;
	int result;
};

static int hook(void *arg)
{
	return atomic_load((atomic_int *)arg);
}

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct ipcc_cancel c = { hook, &w->cancel };

	w->result = run_text(w->s, w->text, w->use_hook ? &c : NULL);
	return NULL;
}

static int waiter_start(struct waiter *w, ipcc_semset *s, const char *text,
                        int use_hook)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	snprintf(w->text, sizeof(w->text), "%s", text);
	w->use_hook = use_hook;
	atomic_init(&w->cancel, 0);
	w->result = 12345;
	return pthread_create(&w->thread, NULL, waiter_main, w) == 0 ? 0 : -1;
}

static int waiter_join(struct waiter *w)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 60;
	if (pthread_timedjoin_np(w->thread, NULL, &deadline) != 0) {
		fprintf(stderr, "%s: a waiter did not return; giving up\n",
		        __FILE__);
		check_failures++;
		exit(check_exit());
	}
	return w->result;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void test_atomic_multi(void)
{
	struct waiter w;
	ipcc_semset *s;
	key_t key;
	int id;

	s = new_set(&key, 2, 0600);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	CHECK_OK(run_text(s, "0:post", NULL));
	/* "0:wait\n1:wait" blocks on 1 and takes nothing from 0 meanwhile */
	REQUIRE_OK(waiter_start(&w, s, "0:wait\n1:wait", 1));
	CHECK(poll_cnt(id, 1, GETNCNT, 1));
	CHECK_VALS(id, 2, "1 0");
	/* someone else can take 0 meanwhile: it was never taken */
	CHECK_OK(run_text(s, "0:trywait", NULL));
	CHECK_OK(run_text(s, "1:post", NULL));
	fx_sleep_ms(50);
	CHECK_VALS(id, 2, "0 1");       /* still blocked: 0 is empty now */
	CHECK_OK(run_text(s, "0:post", NULL));
	CHECK_OK(waiter_join(&w));
	CHECK_VALS(id, 2, "0 0");

	/* zero waits until the value is 0 */
	CHECK_OK(run_text(s, "1:post 2", NULL));
	REQUIRE_OK(waiter_start(&w, s, "1:zero\n0:post", 0));
	CHECK(poll_cnt(id, 1, GETZCNT, 1));
	CHECK_VALS(id, 2, "0 2");
	CHECK_OK(run_text(s, "1:wait 2", NULL));
	CHECK_OK(waiter_join(&w));
	CHECK_VALS(id, 2, "1 0");
	ipcc_semset_close(s);
	CHECK_OK(semctl(id, 0, IPC_RMID));
}

static void test_cancel(void)
{
	struct sigaction sa;
	struct timespec t0, t1;
	struct waiter w;
	ipcc_semset *s;
	key_t key;
	int id;
	long ms;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	s = new_set(&key, 2, 0600);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	CHECK_OK(run_text(s, "0:post 3", NULL));

	/* the hook alone: noticed within a poll period, nothing taken */
	REQUIRE_OK(waiter_start(&w, s, "0:wait 2\n1:wait", 1));
	CHECK(poll_cnt(id, 1, GETNCNT, 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&w.cancel, 1);
	CHECK_ERR(waiter_join(&w), EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms < IPCC_CANCEL_POLL_MS + 500);
	CHECK_VALS(id, 2, "3 0");
	CHECK_EQ(semctl(id, 1, GETNCNT), 0);

	/* hook and signal: at once */
	REQUIRE_OK(waiter_start(&w, s, "0:wait 2\n1:wait", 1));
	CHECK(poll_cnt(id, 1, GETNCNT, 1));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&w.cancel, 1);
	pthread_kill(w.thread, SIGUSR1);
	CHECK_ERR(waiter_join(&w), EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(ms < 150);
	CHECK_VALS(id, 2, "3 0");

	/* a signal without the hook's word is not a cancel: still blocked */
	REQUIRE_OK(waiter_start(&w, s, "1:wait", 1));
	CHECK(poll_cnt(id, 1, GETNCNT, 1));
	pthread_kill(w.thread, SIGUSR1);
	fx_sleep_ms(50);
	CHECK(poll_cnt(id, 1, GETNCNT, 1));
	CHECK_OK(run_text(s, "1:post", NULL));
	CHECK_OK(waiter_join(&w));
	CHECK_VALS(id, 2, "3 0");

	/* no hook: the signal cancels (EINTR), nothing taken */
	REQUIRE_OK(waiter_start(&w, s, "0:wait\n1:wait", 0));
	CHECK(poll_cnt(id, 1, GETNCNT, 1));
	pthread_kill(w.thread, SIGUSR1);
	CHECK_ERR(waiter_join(&w), EINTR);
	CHECK_VALS(id, 2, "3 0");

	/* a hook already set: nothing happens at all */
	{
		atomic_int yes;
		struct ipcc_cancel c = { hook, &yes };

		atomic_init(&yes, 1);
		CHECK_ERR(run_text(s, "0:wait", &c), EINTR);
		CHECK_VALS(id, 2, "3 0");
	}
	/* a timedwait with a hook: still its own timeout, in chunks */
	{
		atomic_int no;
		struct ipcc_cancel c = { hook, &no };

		atomic_init(&no, 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		CHECK_ERR(run_text(s, "0:wait\n1:timedwait 0.6", &c), ETIMEDOUT);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1000 +
		     (t1.tv_nsec - t0.tv_nsec) / 1000000;
		CHECK(ms >= 590 && ms < 3000);
		CHECK_OK(run_text(s, "0:wait\n0:timedwait 1", &c));
		CHECK_VALS(id, 2, "1 0");
	}
	ipcc_semset_close(s);
	CHECK_OK(semctl(id, 0, IPC_RMID));
}

static void test_removed(void)
{
	struct waiter w[3];
	ipcc_semset *s, *s2 = NULL;
	struct ipcc_semset_stat st;
	unsigned v[2];
	key_t key;
	int id;

	s = new_set(&key, 2, 0600);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	REQUIRE_OK(ipcc_semset_open_id(id, &s2));
	REQUIRE_OK(waiter_start(&w[0], s, "0:wait", 1));
	REQUIRE_OK(waiter_start(&w[1], s, "1:zero\n0:wait", 0));
	REQUIRE_OK(waiter_start(&w[2], s, "1:timedwait 30", 1));
	/* a multi-op waits where it blocks: "1:zero" passes, 0 blocks */
	CHECK(poll_cnt(id, 0, GETNCNT, 2));
	CHECK(poll_cnt(id, 1, GETNCNT, 1));
	CHECK_OK(ipcc_semset_remove(s2));
	for (int i = 0; i < 3; i++)
		CHECK_ERR(waiter_join(&w[i]), EIDRM);
	/* every call on a handle of a removed set: EIDRM */
	CHECK_ERR(run_text(s, "post", NULL), EIDRM);
	CHECK_ERR(run_text(s, "trywait", NULL), EIDRM);
	CHECK_ERR(ipcc_semset_setval(s, 0, 1), EIDRM);
	CHECK_ERR(ipcc_semset_values(s, v, 2), EIDRM);
	CHECK_ERR(ipcc_semset_counts(s, v, NULL, NULL, 2), EIDRM);
	CHECK_ERR(ipcc_semset_stat(s, &st), EIDRM);
	CHECK_ERR(ipcc_semset_set_perm(s, 0666, (uid_t)-1, (gid_t)-1), EIDRM);
	CHECK_ERR(ipcc_semset_remove(s), EIDRM);
	CHECK_OK(ipcc_semset_give_back(s, NULL, 0));  /* nothing taken */
	ipcc_semset_close(s);
	ipcc_semset_close(s2);
	CHECK_EQ(semget(key, 0, 0) < 0 ? errno : 0, ENOENT);
}

static void test_give_back(void)
{
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];
	ipcc_semset *s;
	size_t n;
	key_t key;
	int id;

	s = new_set(&key, 3, 0600);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	CHECK_OK(run_text(s, "0:post 3\n1:post", NULL));
	n = cmds_of("0:wait 2\n0:post\n1:wait\n1:zero\n2:post 5", cmds);
	CHECK_OK(ipcc_semset_run(s, cmds, n, NULL));
	CHECK_VALS(id, 3, "2 0 5");
	/* net per semaphore: 0 took 1, 1 took 1, 2 only got */
	CHECK_OK(ipcc_semset_give_back(s, cmds, n));
	CHECK_VALS(id, 3, "3 1 5");
	/* timedwait and trywait take one / n */
	n = cmds_of("0:timedwait 1\n1:trywait", cmds);
	CHECK_OK(ipcc_semset_run(s, cmds, n, NULL));
	CHECK_VALS(id, 3, "2 0 5");
	CHECK_OK(ipcc_semset_give_back(s, cmds, n));
	CHECK_VALS(id, 3, "3 1 5");
	/* set and nothing taken: nothing to give back */
	n = cmds_of("2:set 1", cmds);
	CHECK_OK(ipcc_semset_run(s, cmds, n, NULL));
	CHECK_OK(ipcc_semset_give_back(s, cmds, n));
	CHECK_VALS(id, 3, "3 1 1");
	ipcc_semset_close(s);
	CHECK_OK(semctl(id, 0, IPC_RMID));
}

static void test_set_perm_resize(void)
{
	struct semid_ds ds;
	union semun_ arg = { .buf = &ds };
	ipcc_semset *s;
	key_t key;
	int id, id2;

	s = new_set(&key, 1, 0640);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	/* resize a fresh set: new id, same key and mode */
	CHECK_OK(ipcc_semset_resize(s, 1));
	CHECK_EQ(ipcc_semset_id(s), id);
	CHECK_ERR(ipcc_semset_resize(s, 0), EINVAL);
	CHECK_ERR(ipcc_semset_resize(s, 0x7fffffffu), EINVAL);
	CHECK_EQ(ipcc_semset_id(s), id);
	CHECK_EQ(semctl(id, 0, GETVAL), 0);     /* still there */
	CHECK_OK(ipcc_semset_resize(s, 5));
	id2 = ipcc_semset_id(s);
	CHECK(id2 != id);
	CHECK_EQ(semget(key, 0, 0), id2);
	CHECK_EQ(ipcc_semset_nsems(s), 5);
	REQUIRE_OK(semctl(id2, 0, IPC_STAT, arg));
	CHECK_EQ(ds.sem_nsems, 5);
	CHECK_EQ(ds.sem_perm.mode & 0777, 0640);
	CHECK_EQ(semctl(id, 0, GETVAL) < 0 ? errno : 0, EINVAL);
	/* once used, no more */
	CHECK_OK(run_text(s, "4:post", NULL));
	CHECK_ERR(ipcc_semset_resize(s, 2), EBUSY);
	CHECK_EQ(ipcc_semset_id(s), id2);

	/* IPC_SET */
	CHECK_OK(ipcc_semset_set_perm(s, 0606, (uid_t)-1, (gid_t)-1));
	REQUIRE_OK(semctl(id2, 0, IPC_STAT, arg));
	CHECK_EQ(ds.sem_perm.mode & 0777, 0606);
	CHECK_EQ(ds.sem_perm.uid, geteuid());
	CHECK_OK(ipcc_semset_set_perm(s, (mode_t)-1, FX_NOBODY, FX_NOBODY));
	REQUIRE_OK(semctl(id2, 0, IPC_STAT, arg));
	CHECK_EQ(ds.sem_perm.mode & 0777, 0606);
	CHECK_EQ(ds.sem_perm.uid, FX_NOBODY);
	CHECK_EQ(ds.sem_perm.gid, FX_NOBODY);
	CHECK_EQ(ds.sem_perm.cuid, geteuid());
	CHECK_OK(ipcc_semset_remove(s));
	ipcc_semset_close(s);
}

/* ---- a second user ---- */

struct as_nobody {
	key_t key;
	int id;
	const char *text;
	int what;
};

enum { DO_RUN, DO_VALUES, DO_STAT, DO_COUNTS, DO_SETVAL, DO_SET_PERM,
       DO_REMOVE, RAW_SEMOP, RAW_GETALL, RAW_SETVAL };

static int nobody_fn(void *arg)
{
	const struct as_nobody *a = arg;
	ipcc_semset *s = NULL;
	struct ipcc_semset_stat st;
	unsigned v[8];
	unsigned short raw[8];
	union semun_ u;
	int r;

	if (a->what >= RAW_SEMOP) {
		struct sembuf op = { 0, 1, IPC_NOWAIT };

		switch (a->what) {
		case RAW_SEMOP:
			r = semop(a->id, &op, 1);
			break;
		case RAW_GETALL:
			u.array = raw;
			r = semctl(a->id, 0, GETALL, u);
			break;
		default:
			u.val = 1;
			r = semctl(a->id, 0, SETVAL, u);
			break;
		}
		return r < 0 ? -errno : 0;
	}
	r = ipcc_semset_open_key(a->key, &s);
	if (r)
		return r;
	switch (a->what) {
	case DO_RUN:
		r = run_text(s, a->text, NULL);
		break;
	case DO_VALUES:
		r = ipcc_semset_values(s, v, 8);
		r = r > 0 ? 0 : r;
		break;
	case DO_STAT:
		r = ipcc_semset_stat(s, &st);
		break;
	case DO_COUNTS:
		r = ipcc_semset_counts(s, v, NULL, NULL, 8);
		r = r > 0 ? 0 : r;
		break;
	case DO_SETVAL:
		r = ipcc_semset_setval(s, 0, 1);
		break;
	case DO_SET_PERM:
		r = ipcc_semset_set_perm(s, 0666, (uid_t)-1, (gid_t)-1);
		break;
	case DO_REMOVE:
		r = ipcc_semset_remove(s);
		break;
	}
	ipcc_semset_close(s);
	return r;
}

static int nobody(key_t key, int id, int what, const char *text)
{
	struct as_nobody a = { key, id, text, what };

	return fx_as_nobody(nobody_fn, &a);
}

static void test_permissions(void)
{
	static const mode_t modes[] = { 0600, 0660, 0606, 0602, 0604, 0620,
	                                0644, 0400, 0666 };

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		ipcc_semset *s;
		key_t key;
		int id, post, kpost, getall, kgetall, setval, ksetval;

		s = new_set(&key, 2, modes[m]);
		REQUIRE(s != NULL);
		id = ipcc_semset_id(s);
		/* the kernel's answer for the same user, side by side */
		kpost = nobody(key, id, RAW_SEMOP, NULL);
		post = nobody(key, id, DO_RUN, "1:post\n0:post");
		CHECK_EQ(post, kpost);
		CHECK_EQ(post, (modes[m] & 02) ? 0 : -EACCES);
		kgetall = nobody(key, id, RAW_GETALL, NULL);
		getall = nobody(key, id, DO_VALUES, NULL);
		CHECK_EQ(getall, kgetall);
		CHECK_EQ(getall, (modes[m] & 04) ? 0 : -EACCES);
		ksetval = nobody(key, id, RAW_SETVAL, NULL);
		setval = nobody(key, id, DO_SETVAL, NULL);
		CHECK_EQ(setval, ksetval);
		CHECK_EQ(nobody(key, id, DO_COUNTS, NULL),
		         (modes[m] & 04) ? 0 : -EACCES);
		/* stat always works (SEM_STAT_ANY), like ipcs */
		CHECK_OK(nobody(key, id, DO_STAT, NULL));
		/* only the owner or creator may IPC_SET / IPC_RMID */
		CHECK_ERR(nobody(key, id, DO_SET_PERM, NULL), EPERM);
		CHECK_ERR(nobody(key, id, DO_REMOVE, NULL), EPERM);
		if (m == 0) {
			/* a failed write took nothing */
			char vb[256];

			CHECK_STR(vals(id, 2, vb), "0 0");
		}
		if (modes[m] == 0606) {
			/* "post" as nobody: a real change */
			CHECK_EQ(raw_val(id, 0) > 0, 1);
		}
		ipcc_semset_close(s);
		CHECK_OK(semctl(id, 0, IPC_RMID));
	}
	/* once made the owner, nobody may IPC_SET and remove */
	{
		ipcc_semset *s;
		key_t key;
		int id;

		s = new_set(&key, 1, 0600);
		REQUIRE(s != NULL);
		id = ipcc_semset_id(s);
		CHECK_OK(ipcc_semset_set_perm(s, (mode_t)-1, FX_NOBODY,
		                              (gid_t)-1));
		CHECK_OK(nobody(key, id, DO_SET_PERM, NULL));
		CHECK_OK(nobody(key, id, DO_REMOVE, NULL));
		CHECK_EQ(semget(key, 0, 0) < 0 ? errno : 0, ENOENT);
		ipcc_semset_close(s);
	}
}

/* ---- listing, and other tools' views ---- */

static int find_in_iter(int semid, struct ipcc_semset_stat *found)
{
	ipcc_semset_iter *it;
	struct ipcc_semset_stat st;
	int r, n = 0;

	if (ipcc_semset_iter_new(&it) != 0)
		return -1;
	while ((r = ipcc_semset_iter_next(it, &st)) == 1)
		if (st.semid == semid) {
			*found = st;
			n++;
		}
	ipcc_semset_iter_free(it);
	return r < 0 ? -1 : n;
}

static void test_iter(void)
{
	struct ipcc_semset_stat st, got;
	ipcc_semset *a, *b = NULL;
	key_t key;
	int ida, idb = -1;

	a = new_set(&key, 4, 0604);
	REQUIRE(a != NULL);
	ida = ipcc_semset_id(a);
	CHECK_OK(ipcc_semset_create(IPC_PRIVATE, 1, 0600, 0, NULL, &b));
	if (b) {
		idb = ipcc_semset_id(b);
		fx_track_sem_id(idb);
	}
	CHECK_OK(run_text(a, "3:post", NULL));
	REQUIRE_OK(ipcc_semset_stat(a, &st));
	CHECK_EQ(find_in_iter(ida, &got), 1);
	CHECK_EQ(got.key, key);
	CHECK_EQ(got.nsems, 4);
	CHECK_EQ(got.mode, 0604);
	CHECK_EQ(got.uid, st.uid);
	CHECK_EQ(got.gid, st.gid);
	CHECK_EQ(got.cuid, st.cuid);
	CHECK_EQ(got.cgid, st.cgid);
	CHECK_EQ(got.otime, st.otime);
	CHECK_EQ(got.ctime, st.ctime);
	CHECK_EQ(find_in_iter(idb, &got), 1);
	CHECK_EQ(got.key, IPC_PRIVATE);
	CHECK_EQ(got.nsems, 1);
	/* the named-semaphore listing still shows only one-semaphore sets */
	{
		ipcc_sem_iter *it;
		struct ipcc_sem_stat ss;
		int sawa = 0, sawb = 0;

		REQUIRE_OK(ipcc_sem_iter_new(&it));
		while (ipcc_sem_iter_next(it, &ss) == 1) {
			sawa += ss.semid == ida;
			sawb += ss.semid == idb;
		}
		ipcc_sem_iter_free(it);
		CHECK_EQ(sawa, 0);
		CHECK_EQ(sawb, 1);
	}
	CHECK_OK(ipcc_semset_remove(a));
	CHECK_EQ(find_in_iter(ida, &got), 0);
	ipcc_semset_close(a);
	if (b) {
		CHECK_OK(ipcc_semset_remove(b));
		ipcc_semset_close(b);
	}
}

/* One made by ipcmk -S, seen through core; values seen by ipcs -s -i. */
static void test_ipcmk_ipcs(void)
{
	char out[8192], idbuf[32], *p;
	char *mk[] = { "/usr/bin/ipcmk", "-S", "3", "-p", "0640", NULL };
	ipcc_semset *s = NULL;
	struct ipcc_semset_stat st;
	int id = -1;

	REQUIRE_EQ(fx_run(mk, out, sizeof(out)), 0);
	p = strstr(out, "Semaphore id: ");
	REQUIRE(p != NULL);
	id = atoi(p + 14);
	fx_track_sem_id(id);    /* ipcmk keys are random: remove by id */
	REQUIRE_OK(ipcc_semset_open_id(id, &s));
	CHECK_EQ(ipcc_semset_nsems(s), 3);
	CHECK_OK(ipcc_semset_stat(s, &st));
	CHECK_EQ(st.mode, 0640);
	CHECK_OK(run_text(s, "1:post 4\n2:post 9", NULL));
	{
		char *argv[] = { "/usr/bin/ipcs", "-s", "-i", idbuf, NULL };
		char line[64];

		snprintf(idbuf, sizeof(idbuf), "%d", id);
		REQUIRE_EQ(fx_run(argv, out, sizeof(out)), 0);
		CHECK(strstr(out, "nsems = 3") != NULL);
		CHECK(strstr(out, "mode=0640") != NULL);
		/* "semnum value ncount zcount pid" rows */
		snprintf(line, sizeof(line), "\n1          4          0          0"
		         "          %d", (int)getpid());
		CHECK(strstr(out, line) != NULL);
		snprintf(line, sizeof(line), "\n2          9          0          0"
		         "          %d", (int)getpid());
		CHECK(strstr(out, line) != NULL);
		if (strstr(out, line) == NULL)
			fprintf(stderr, "%s\n", out);
	}
	CHECK_OK(ipcc_semset_remove(s));
	ipcc_semset_close(s);
}

static void test_python(void)
{
	char script[512], out[256];
	ipcc_semset *s;
	key_t key;
	int id;

	if (!fx_python_has("sysv_ipc"))
		SKIP(FX_PYTHON " has no sysv_ipc");
	/* a one-semaphore set: sysv_ipc's Semaphore sees our posts */
	s = new_set(&key, 1, 0600);
	REQUIRE(s != NULL);
	id = ipcc_semset_id(s);
	CHECK_OK(run_text(s, "post 6", NULL));
	snprintf(script, sizeof(script),
	         "import sysv_ipc\n"
	         "s = sysv_ipc.Semaphore(%d)\n"
	         "print(s.value, s.id)\n"
	         "s.acquire(); s.acquire()\n"
	         "s.release(); s.release(); s.release()\n", (int)key);
	REQUIRE_EQ(fx_python(script, out, sizeof(out)), 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "6 %d\n", id);
		CHECK_STR(out, want);
	}
	CHECK_VALS(id, 1, "7");
	/* and a set sysv_ipc makes is one of ours */
	ipcc_semset_close(s);
	CHECK_OK(semctl(id, 0, IPC_RMID));
	key = fx_key();
	snprintf(script, sizeof(script),
	         "import sysv_ipc\n"
	         "s = sysv_ipc.Semaphore(%d, sysv_ipc.IPC_CREX, 0o604, 5)\n"
	         "print(s.id)\n", (int)key);
	REQUIRE_EQ(fx_python(script, out, sizeof(out)), 0);
	REQUIRE_OK(ipcc_semset_open_key(key, &s));
	CHECK_EQ(ipcc_semset_id(s), atoi(out));
	CHECK_EQ(ipcc_semset_nsems(s), 1);
	{
		unsigned v = 0;

		CHECK_EQ(ipcc_semset_values(s, &v, 1), 1);
		CHECK_EQ(v, 5);
	}
	CHECK_OK(ipcc_semset_remove(s));
	ipcc_semset_close(s);
}

int main(void)
{
	fx_init();
	RUN(test_create_open_stat);
	RUN(test_create_sizes);
	RUN(test_private);
	RUN(test_values_setval);
	RUN(test_run_basic);
	RUN(test_timedwait);
	RUN(test_atomic_multi);
	RUN(test_cancel);
	RUN(test_removed);
	RUN(test_give_back);
	RUN(test_set_perm_resize);
	RUN(test_permissions);
	RUN(test_iter);
	RUN(test_ipcmk_ipcs);
	RUN(test_python);
	return check_exit();
}

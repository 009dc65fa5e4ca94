/*
 * Named semaphores through core (Linux: one-semaphore System V sets keyed
 * by FNV-1a of "/name"), checked against semctl(), `ipcs -s`, Python's
 * sysv_ipc, blocked waiter threads, signals and a second user.
 *
 * Waiters are threads blocked in ipcc_sem_wait; the test knows one is
 * asleep in the kernel by polling GETNCNT (bounded), never by sleeping a
 * guessed time.
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

#define POLL_MS 20000           /* give up waiting for a state after 20 s */

static int raw_semid(const char *name)
{
	return semget(fx_sem_key(name), 0, 0);
}

static int raw_val(int semid)
{
	return semctl(semid, 0, GETVAL);
}

/* Waits (bounded) until GETNCNT or GETZCNT of semid reaches want. */
static int poll_cnt(int semid, int cmd, int want)
{
	for (int i = 0; i < POLL_MS; i++) {
		int n = semctl(semid, 0, cmd);

		if (n == want)
			return 1;
		if (n < 0)
			return 0;
		fx_sleep_ms(1);
	}
	return 0;
}

static unsigned value_of(const ipcc_sem *s)
{
	unsigned v = 99999;

	if (ipcc_sem_value(s, &v) < 0)
		return 88888;
	return v;
}

/* A thread blocked in ipcc_sem_wait. */
struct waiter {
	pthread_t thread;
	ipcc_sem *sem;
	unsigned n;
	int timed;
	struct timespec timeout;
	int result;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->result = ipcc_sem_wait(w->sem, w->n, w->timed ? &w->timeout : NULL);
	return NULL;
}

static int waiter_start(struct waiter *w, ipcc_sem *sem, unsigned n)
{
	memset(w, 0, sizeof(*w));
	w->sem = sem;
	w->n = n;
	w->result = 12345;
	return pthread_create(&w->thread, NULL, waiter_main, w) == 0 ? 0 : -1;
}

/*
 * Joins a waiter that must return now.  If it does not within a long
 * bound, the test cannot go on: fail and exit (the atexit cleanup removes
 * the semaphores, which releases the thread).
 */
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

static void test_create_open(void)
{
	char name[IPCC_NAME_MAX + 1], slashed[IPCC_NAME_MAX + 2];
	char other[IPCC_NAME_MAX + 1], missing[IPCC_NAME_MAX + 1];
	ipcc_sem *s = NULL, *s2 = NULL;
	struct ipcc_sem_stat st;
	struct semid_ds ds;
	union { int val; struct semid_ds *buf; } arg;
	int semid, created = -1;

	fx_name("create", name);
	snprintf(slashed, sizeof(slashed), "/%s", name);
	REQUIRE_OK(ipcc_sem_create(name, 0640, 3, &s));
	semid = raw_semid(name);
	REQUIRE(semid >= 0);
	arg.buf = &ds;
	REQUIRE_OK(semctl(semid, 0, IPC_STAT, arg));
	CHECK_EQ(ds.sem_nsems, 1);
	CHECK_EQ(ds.sem_perm.mode & 07777, 0640);
	CHECK_EQ(ds.sem_perm.__key, ipcc_sem_key(name));
	CHECK_EQ(raw_val(semid), 3);
	CHECK_EQ(value_of(s), 3);
	REQUIRE_OK(ipcc_sem_stat(s, &st));
	CHECK_EQ(st.semid, semid);
	CHECK_EQ(st.key, fx_sem_key(name));

	/* exists: create refuses and changes nothing */
	CHECK_ERR(ipcc_sem_create(name, 0600, 5, &s2), EEXIST);
	CHECK_ERR(ipcc_sem_create(slashed, 0600, 5, &s2), EEXIST);
	CHECK_EQ(raw_val(semid), 3);
	REQUIRE_OK(semctl(semid, 0, IPC_STAT, arg));
	CHECK_EQ(ds.sem_perm.mode & 07777, 0640);

	/* open by name, by "/name" and by key: the same set */
	CHECK_OK(ipcc_sem_open(name, &s2));
	if (s2) {
		CHECK_EQ(value_of(s2), 3);
		CHECK_OK(ipcc_sem_stat(s2, &st));
		CHECK_EQ(st.semid, semid);
		ipcc_sem_close(s2);
		s2 = NULL;
	}
	CHECK_OK(ipcc_sem_open(slashed, &s2));
	if (s2) {
		CHECK_OK(ipcc_sem_stat(s2, &st));
		CHECK_EQ(st.semid, semid);
		ipcc_sem_close(s2);
		s2 = NULL;
	}
	CHECK_OK(ipcc_sem_open_key(fx_sem_key(name), &s2));
	if (s2) {
		CHECK_OK(ipcc_sem_stat(s2, &st));
		CHECK_EQ(st.semid, semid);
		CHECK_OK(ipcc_sem_post(s2, 1));
		ipcc_sem_close(s2);
		s2 = NULL;
	}
	CHECK_EQ(value_of(s), 4);
	ipcc_sem_close(s);
	ipcc_sem_close(NULL);
	/* closing leaves it there */
	CHECK_EQ(raw_semid(name), semid);
	CHECK_EQ(raw_val(semid), 4);

	/* missing ones */
	fx_name("missing", missing);
	CHECK_ERR(ipcc_sem_open(missing, &s2), ENOENT);
	CHECK_ERR(ipcc_sem_open_key(fx_sem_key(missing), &s2), ENOENT);
	CHECK_ERR(ipcc_sem_unlink(missing), ENOENT);
	CHECK(s2 == NULL);

	/* open_or_create: the value applies only to a real creation */
	fx_name("ooc", other);
	CHECK_OK(ipcc_sem_open_or_create(other, 0600, 5, &created, &s2));
	CHECK_EQ(created, 1);
	if (s2) {
		CHECK_EQ(value_of(s2), 5);
		CHECK_OK(ipcc_sem_stat(s2, &st));
		CHECK_EQ(st.mode, 0600);
		ipcc_sem_close(s2);
		s2 = NULL;
	}
	created = -1;
	CHECK_OK(ipcc_sem_open_or_create(other, 0644, 9, &created, &s2));
	CHECK_EQ(created, 0);
	if (s2) {
		CHECK_EQ(value_of(s2), 5);
		CHECK_OK(ipcc_sem_stat(s2, &st));
		CHECK_EQ(st.mode, 0600);
		ipcc_sem_close(s2);
		s2 = NULL;
	}
	CHECK_OK(ipcc_sem_open_or_create(other, 0644, 9, NULL, &s2));
	ipcc_sem_close(s2);
	s2 = NULL;
	CHECK_EQ(raw_val(raw_semid(other)), 5);

	CHECK_OK(ipcc_sem_unlink(name));
	CHECK_OK(ipcc_sem_unlink(other));
	CHECK(raw_semid(name) < 0 && errno == ENOENT);
	CHECK(raw_semid(other) < 0 && errno == ENOENT);
}

/* Opens name as soon as it exists and reports the first value it sees. */
struct opener {
	const char *name;
	atomic_int stop;
	atomic_int spinning;
	int result;
	unsigned value;
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;
	ipcc_sem *s = NULL;
	int r;

	do {
		r = ipcc_sem_open(o->name, &s);
		o->spinning = 1;
	} while (r == -ENOENT && !o->stop);
	o->result = r;
	if (r == 0) {
		r = ipcc_sem_value(s, &o->value);
		if (r < 0)
			o->result = r;
		ipcc_sem_close(s);
	}
	return NULL;
}

/*
 * Race-free creation: an opener spinning on the name while it is created
 * must never see the set before its value is in.  A race shows up only
 * sometimes; a correct core never fails this.
 */
#define RACE_ROUNDS 1000

static void test_create_race(void)
{
	char name[IPCC_NAME_MAX + 1];
	int bad = 0;

	fx_name("race", name);
	for (int i = 0; i < RACE_ROUNDS; i++) {
		struct opener o = { .result = 12345 };
		ipcc_sem *s = NULL;
		pthread_t t;

		o.name = name;
		REQUIRE_OK(pthread_create(&t, NULL, opener_main, &o));
		while (!o.spinning)
			;
		CHECK_OK(ipcc_sem_create(name, 0600, 7, &s));
		if (!s)
			o.stop = 1;
		REQUIRE_OK(pthread_join(t, NULL));
		if (o.result != 0 || o.value != 7) {
			if (bad++ < 5)
				fprintf(stderr, "%s:%d: opener saw result %d "
				        "value %u, want 0 and 7\n", __FILE__,
				        __LINE__, o.result, o.value);
		}
		ipcc_sem_close(s);
		CHECK_OK(ipcc_sem_unlink(name));
	}
	CHECK_EQ(bad, 0);
}

static void test_create_bad(void)
{
	char name[IPCC_NAME_MAX + 1], longname[IPCC_NAME_MAX + 2];
	ipcc_sem *s = NULL;
	int created = -1;

	/* a value past the maximum creates nothing */
	fx_name("range", name);
	CHECK_ERR(ipcc_sem_create(name, 0600, IPCC_SEM_VALUE_MAX + 1, &s),
	          ERANGE);
	CHECK(raw_semid(name) < 0 && errno == ENOENT);
	CHECK_ERR(ipcc_sem_open_or_create(name, 0600, IPCC_SEM_VALUE_MAX + 1,
	                                  &created, &s), ERANGE);
	CHECK(raw_semid(name) < 0 && errno == ENOENT);
	CHECK_ERR(ipcc_sem_open(name, &s), ENOENT);
	CHECK_OK(ipcc_sem_create(name, 0600, IPCC_SEM_VALUE_MAX, &s));
	if (s) {
		CHECK_EQ(value_of(s), IPCC_SEM_VALUE_MAX);
		ipcc_sem_close(s);
		s = NULL;
	}
	CHECK_OK(ipcc_sem_unlink(name));

	CHECK_ERR(ipcc_sem_create("", 0600, 0, &s), EINVAL);
	CHECK_ERR(ipcc_sem_create("a/b", 0600, 0, &s), EINVAL);
	CHECK_ERR(ipcc_sem_create("..", 0600, 0, &s), EINVAL);
	CHECK_ERR(ipcc_sem_open_or_create("a/b", 0600, 0, NULL, &s), EINVAL);
	memset(longname, 'x', sizeof(longname));
	longname[IPCC_NAME_MAX + 1] = '\0';
	CHECK_ERR(ipcc_sem_create(longname, 0600, 0, &s), ENAMETOOLONG);
	CHECK_ERR(ipcc_sem_open(longname, &s), ENAMETOOLONG);
	/* "/d1dcca" hashes to key 0 (IPC_PRIVATE): never a named semaphore */
	CHECK_EQ(fx_sem_key("d1dcca"), 0);
	CHECK_ERR(ipcc_sem_create("d1dcca", 0600, 0, &s), EINVAL);
	CHECK_ERR(ipcc_sem_open_or_create("d1dcca", 0600, 0, &created, &s),
	          EINVAL);
	CHECK(s == NULL);
}

static void test_post_wait(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct timespec ms = { 0, 1000000 };
	ipcc_sem *s = NULL;
	int semid;

	fx_name("ops", name);
	REQUIRE_OK(ipcc_sem_create(name, 0600, 0, &s));
	semid = raw_semid(name);

	CHECK_ERR(ipcc_sem_trywait(s, 1), EAGAIN);
	CHECK_EQ(raw_val(semid), 0);
	CHECK_OK(ipcc_sem_post(s, 1));
	CHECK_EQ(raw_val(semid), 1);
	CHECK_OK(ipcc_sem_trywait(s, 1));
	CHECK_EQ(raw_val(semid), 0);
	CHECK_OK(ipcc_sem_post(s, 5));
	CHECK_EQ(raw_val(semid), 5);
	CHECK_EQ(value_of(s), 5);
	CHECK_OK(ipcc_sem_wait(s, 2, NULL));
	CHECK_EQ(raw_val(semid), 3);
	CHECK_OK(ipcc_sem_wait(s, 1, &ms));
	CHECK_EQ(raw_val(semid), 2);
	CHECK_OK(ipcc_sem_post(s, 1));

	/* N at once or nothing */
	CHECK_ERR(ipcc_sem_trywait(s, 4), EAGAIN);
	CHECK_EQ(raw_val(semid), 3);
	CHECK_ERR(ipcc_sem_wait(s, 4, &ms), ETIMEDOUT);
	CHECK_EQ(raw_val(semid), 3);
	CHECK_OK(ipcc_sem_trywait(s, 3));
	CHECK_EQ(raw_val(semid), 0);
	CHECK_ERR(ipcc_sem_wait(s, 1, &ms), ETIMEDOUT);
	CHECK_EQ(raw_val(semid), 0);

	/* a raw semop is seen by core and the other way round */
	{
		struct sembuf op = { 0, 7, 0 };

		CHECK_OK(semop(semid, &op, 1));
	}
	CHECK_EQ(value_of(s), 7);

	/* the maximum */
	CHECK_OK(ipcc_sem_set(s, IPCC_SEM_VALUE_MAX));
	CHECK_EQ(raw_val(semid), IPCC_SEM_VALUE_MAX);
	CHECK_ERR(ipcc_sem_post(s, 1), ERANGE);
	CHECK_EQ(raw_val(semid), IPCC_SEM_VALUE_MAX);
	CHECK_OK(ipcc_sem_set(s, 32760));
	CHECK_ERR(ipcc_sem_post(s, 8), ERANGE);
	CHECK_EQ(raw_val(semid), 32760);
	CHECK_OK(ipcc_sem_post(s, 7));
	CHECK_EQ(raw_val(semid), IPCC_SEM_VALUE_MAX);
	CHECK_ERR(ipcc_sem_set(s, IPCC_SEM_VALUE_MAX + 1), ERANGE);
	CHECK_EQ(raw_val(semid), IPCC_SEM_VALUE_MAX);
	CHECK_OK(ipcc_sem_set(s, 10));
	CHECK_ERR(ipcc_sem_post(s, IPCC_SEM_VALUE_MAX + 1), ERANGE);
	CHECK_ERR(ipcc_sem_post(s, 40000), ERANGE);
	CHECK_ERR(ipcc_sem_post(s, 65536 + 1), ERANGE);
	CHECK_ERR(ipcc_sem_post(s, UINT32_MAX), ERANGE);
	CHECK_EQ(raw_val(semid), 10);
	CHECK_ERR(ipcc_sem_wait(s, IPCC_SEM_VALUE_MAX + 1, NULL), ERANGE);
	CHECK_ERR(ipcc_sem_wait(s, 65536 + 1, &ms), ERANGE);
	CHECK_EQ(raw_val(semid), 10);
	CHECK_OK(ipcc_sem_wait(s, 10, NULL));
	CHECK_OK(ipcc_sem_set(s, 0));
	CHECK_EQ(raw_val(semid), 0);

	ipcc_sem_close(s);
	CHECK_OK(ipcc_sem_unlink(name));
}

static void test_wait_n_atomic(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct waiter w;
	ipcc_sem *s = NULL;
	int semid;

	fx_name("atomic", name);
	REQUIRE_OK(ipcc_sem_create(name, 0600, 3, &s));
	semid = raw_semid(name);
	REQUIRE_OK(waiter_start(&w, s, 5));
	CHECK(poll_cnt(semid, GETNCNT, 1));
	/* 4 of 5: the waiter takes nothing yet */
	CHECK_OK(ipcc_sem_post(s, 1));
	CHECK_EQ(raw_val(semid), 4);
	CHECK(poll_cnt(semid, GETNCNT, 1));
	CHECK_OK(ipcc_sem_trywait(s, 1));       /* others may still take */
	CHECK_EQ(raw_val(semid), 3);
	CHECK_OK(ipcc_sem_post(s, 2));
	CHECK_EQ(waiter_join(&w), 0);
	CHECK_EQ(raw_val(semid), 0);
	CHECK_EQ(semctl(semid, 0, GETNCNT), 0);
	ipcc_sem_close(s);
	CHECK_OK(ipcc_sem_unlink(name));
}

static void on_signal(int sig)
{
	(void)sig;
}

static void test_eintr(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct sigaction sa, old;
	struct waiter w;
	ipcc_sem *s = NULL;
	int semid;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = 0;                        /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	REQUIRE_OK(sigaction(SIGUSR1, &sa, &old));

	fx_name("eintr", name);
	REQUIRE_OK(ipcc_sem_create(name, 0600, 0, &s));
	semid = raw_semid(name);

	/* untimed */
	REQUIRE_OK(waiter_start(&w, s, 1));
	CHECK(poll_cnt(semid, GETNCNT, 1));
	CHECK_OK(pthread_kill(w.thread, SIGUSR1));
	CHECK_ERR(waiter_join(&w), EINTR);
	CHECK_EQ(raw_val(semid), 0);
	CHECK_EQ(semctl(semid, 0, GETNCNT), 0);

	/* timed, with a timeout that never comes */
	memset(&w, 0, sizeof(w));
	w.sem = s;
	w.n = 2;
	w.timed = 1;
	w.timeout.tv_sec = 100000;
	w.result = 12345;
	REQUIRE_OK(pthread_create(&w.thread, NULL, waiter_main, &w));
	CHECK(poll_cnt(semid, GETNCNT, 1));
	CHECK_OK(ipcc_sem_post(s, 1));          /* half of what it wants */
	CHECK(poll_cnt(semid, GETNCNT, 1));
	CHECK_OK(pthread_kill(w.thread, SIGUSR1));
	CHECK_ERR(waiter_join(&w), EINTR);
	/* the cancelled wait took nothing */
	CHECK_EQ(raw_val(semid), 1);
	CHECK_OK(ipcc_sem_trywait(s, 1));

	ipcc_sem_close(s);
	CHECK_OK(ipcc_sem_unlink(name));
	sigaction(SIGUSR1, &old, NULL);
}

/* Every operation on a handle whose semaphore is gone: -EIDRM. */
static void check_all_eidrm(ipcc_sem *s)
{
	struct timespec ms = { 0, 1000000 };
	struct ipcc_sem_stat st;
	unsigned v;

	CHECK_ERR(ipcc_sem_post(s, 1), EIDRM);
	CHECK_ERR(ipcc_sem_wait(s, 1, NULL), EIDRM);
	CHECK_ERR(ipcc_sem_wait(s, 1, &ms), EIDRM);
	CHECK_ERR(ipcc_sem_trywait(s, 1), EIDRM);
	CHECK_ERR(ipcc_sem_set(s, 1), EIDRM);
	CHECK_ERR(ipcc_sem_value(s, &v), EIDRM);
	CHECK_ERR(ipcc_sem_stat(s, &st), EIDRM);
	CHECK_ERR(ipcc_sem_set_perm(s, 0600, (uid_t)-1, (gid_t)-1), EIDRM);
	CHECK_ERR(ipcc_sem_remove(s), EIDRM);
}

static void test_eidrm_unlink(void)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_sem *s = NULL, *again = NULL;
	struct waiter w;
	int semid;

	fx_name("eidrm", name);
	REQUIRE_OK(ipcc_sem_create(name, 0600, 0, &s));
	semid = raw_semid(name);
	REQUIRE_OK(waiter_start(&w, s, 1));
	CHECK(poll_cnt(semid, GETNCNT, 1));
	CHECK_OK(ipcc_sem_unlink(name));
	CHECK_ERR(waiter_join(&w), EIDRM);
	CHECK(raw_semid(name) < 0 && errno == ENOENT);
	CHECK_ERR(ipcc_sem_unlink(name), ENOENT);
	CHECK_ERR(ipcc_sem_open(name, &again), ENOENT);
	check_all_eidrm(s);

	/* a new semaphore under the name is not reached by the old handle */
	REQUIRE_OK(ipcc_sem_create(name, 0600, 0, &again));
	CHECK(raw_semid(name) != semid);
	check_all_eidrm(s);
	CHECK_EQ(value_of(again), 0);
	ipcc_sem_close(s);
	ipcc_sem_close(again);
	CHECK_OK(ipcc_sem_unlink(name));
}

static void test_eidrm_remove(void)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_sem *s = NULL, *other = NULL;
	struct waiter w;
	int semid;

	fx_name("remove", name);
	REQUIRE_OK(ipcc_sem_create(name, 0600, 0, &s));
	REQUIRE_OK(ipcc_sem_open(name, &other));
	semid = raw_semid(name);
	REQUIRE_OK(waiter_start(&w, other, 3));
	CHECK(poll_cnt(semid, GETNCNT, 1));
	CHECK_OK(ipcc_sem_remove(s));
	CHECK_ERR(waiter_join(&w), EIDRM);
	CHECK(raw_semid(name) < 0 && errno == ENOENT);
	check_all_eidrm(s);
	check_all_eidrm(other);
	ipcc_sem_close(s);
	ipcc_sem_close(other);
}

static void test_set_wakes(void)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_sem *s = NULL;
	struct waiter w1, w2;
	int semid;

	fx_name("setwake", name);
	REQUIRE_OK(ipcc_sem_create(name, 0600, 0, &s));
	semid = raw_semid(name);
	REQUIRE_OK(waiter_start(&w1, s, 2));
	REQUIRE_OK(waiter_start(&w2, s, 2));
	CHECK(poll_cnt(semid, GETNCNT, 2));
	/* enough for one of them */
	CHECK_OK(ipcc_sem_set(s, 3));
	CHECK(poll_cnt(semid, GETNCNT, 1));
	CHECK_EQ(raw_val(semid), 1);
	/* and the other */
	CHECK_OK(ipcc_sem_set(s, 7));
	CHECK_EQ(waiter_join(&w1), 0);
	CHECK_EQ(waiter_join(&w2), 0);
	CHECK_EQ(raw_val(semid), 5);
	ipcc_sem_close(s);
	CHECK_OK(ipcc_sem_unlink(name));
}

/* Raw "wait for zero" in a thread, for zcnt. */
static void *zero_waiter(void *arg)
{
	struct sembuf op = { 0, 0, 0 };

	return (void *)(intptr_t)(semop(*(int *)arg, &op, 1) == 0 ? 0 : -errno);
}

/* "name=<number>" (base 8 for mode) in `ipcs -s -i` output */
static long long ipcs_field(const char *out, const char *name, int base)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "%s=", name);
	for (p = strstr(out, pat); p; p = strstr(p + 1, pat))
		if (p == out || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n')
			return strtoll(p + strlen(pat), NULL, base);
	return -1;
}

/* The row of semaphore 0 in `ipcs -s -i semid`. */
static int ipcs_sem_row(int semid, long long row[5], char *out, size_t len)
{
	char id[16];
	char *argv[] = { "/usr/bin/ipcs", "-s", "-i", id, NULL };
	const char *p;

	snprintf(id, sizeof(id), "%d", semid);
	if (fx_run(argv, out, len) != 0)
		return 0;
	p = strstr(out, "semnum");
	if (!p || !(p = strchr(p, '\n')))
		return 0;
	return sscanf(p + 1, "%lld %lld %lld %lld %lld", &row[0], &row[1],
	              &row[2], &row[3], &row[4]) == 5;
}

static void test_stat(void)
{
	char name[IPCC_NAME_MAX + 1], out[2048];
	union { int val; struct semid_ds *buf; } arg;
	struct ipcc_sem_stat st;
	struct semid_ds ds;
	struct waiter w;
	pthread_t zt;
	void *zres;
	ipcc_sem *s = NULL;
	long long row[5];
	int semid;

	fx_name("stat", name);
	REQUIRE_OK(ipcc_sem_create(name, 0640, 2, &s));
	semid = raw_semid(name);
	CHECK_OK(ipcc_sem_post(s, 1));
	memset(&st, 0x5a, sizeof(st));
	REQUIRE_OK(ipcc_sem_stat(s, &st));
	arg.buf = &ds;
	REQUIRE_OK(semctl(semid, 0, IPC_STAT, arg));
	CHECK_EQ(st.key, fx_sem_key(name));
	CHECK_EQ(st.key, ds.sem_perm.__key);
	CHECK_EQ(st.semid, semid);
	CHECK_EQ(st.mode, 0640);
	CHECK_EQ(st.uid, geteuid());
	CHECK_EQ(st.cuid, geteuid());
	CHECK_EQ(st.gid, getegid());
	CHECK_EQ(st.cgid, getegid());
	CHECK_EQ(st.value, 3);
	CHECK_EQ(st.ncnt, 0);
	CHECK_EQ(st.zcnt, 0);
	CHECK_EQ(st.pid, getpid());
	CHECK(st.otime > 0);
	CHECK_EQ(st.otime, ds.sem_otime);
	CHECK_EQ(st.ctime, ds.sem_ctime);

	if (ipcs_sem_row(semid, row, out, sizeof(out))) {
		CHECK_EQ(row[0], 0);
		CHECK_EQ(row[1], st.value);
		CHECK_EQ(row[2], st.ncnt);
		CHECK_EQ(row[3], st.zcnt);
		CHECK_EQ(row[4], st.pid);
		CHECK_EQ(ipcs_field(out, "mode", 8), st.mode);
		CHECK_EQ(ipcs_field(out, "uid", 10), st.uid);
		CHECK(strstr(out, "nsems = 1\n") != NULL);
	} else {
		fprintf(stderr, "%s:%d: ipcs -s -i %d: no row\n%s\n", __FILE__,
		        __LINE__, semid, out);
		check_failures++;
	}

	/* a waiter for more than there is: ncnt */
	REQUIRE_OK(waiter_start(&w, s, 5));
	CHECK(poll_cnt(semid, GETNCNT, 1));
	REQUIRE_OK(ipcc_sem_stat(s, &st));
	CHECK_EQ(st.ncnt, 1);
	CHECK_EQ(st.zcnt, 0);
	CHECK_EQ(st.value, 3);
	if (ipcs_sem_row(semid, row, out, sizeof(out)))
		CHECK_EQ(row[2], 1);
	/* a waiter for zero: zcnt */
	REQUIRE_OK(pthread_create(&zt, NULL, zero_waiter, &semid));
	CHECK(poll_cnt(semid, GETZCNT, 1));
	REQUIRE_OK(ipcc_sem_stat(s, &st));
	CHECK_EQ(st.ncnt, 1);
	CHECK_EQ(st.zcnt, 1);
	if (ipcs_sem_row(semid, row, out, sizeof(out)))
		CHECK_EQ(row[3], 1);
	/* 5 wakes the first, who leaves 0, which wakes the second */
	CHECK_OK(ipcc_sem_post(s, 2));
	CHECK_EQ(waiter_join(&w), 0);
	CHECK_OK(pthread_join(zt, &zres));
	CHECK_EQ((intptr_t)zres, 0);
	REQUIRE_OK(ipcc_sem_stat(s, &st));
	CHECK_EQ(st.ncnt, 0);
	CHECK_EQ(st.zcnt, 0);
	CHECK_EQ(st.value, 0);
	CHECK_EQ(st.pid, getpid());

	ipcc_sem_close(s);
	CHECK_OK(ipcc_sem_unlink(name));
}

static void test_set_perm(void)
{
	char name[IPCC_NAME_MAX + 1];
	union { int val; struct semid_ds *buf; } arg;
	struct ipcc_sem_stat st;
	struct semid_ds ds;
	ipcc_sem *s = NULL;
	int semid;

	fx_name("perm", name);
	REQUIRE_OK(ipcc_sem_create(name, 0640, 1, &s));
	semid = raw_semid(name);
	arg.buf = &ds;

	CHECK_OK(ipcc_sem_set_perm(s, 0600, (uid_t)-1, (gid_t)-1));
	REQUIRE_OK(semctl(semid, 0, IPC_STAT, arg));
	CHECK_EQ(ds.sem_perm.mode & 0777, 0600);
	CHECK_EQ(ds.sem_perm.uid, 0);
	CHECK_EQ(ds.sem_perm.gid, 0);
	CHECK_OK(ipcc_sem_set_perm(s, (mode_t)-1, FX_NOBODY, (gid_t)-1));
	REQUIRE_OK(semctl(semid, 0, IPC_STAT, arg));
	CHECK_EQ(ds.sem_perm.mode & 0777, 0600);
	CHECK_EQ(ds.sem_perm.uid, FX_NOBODY);
	CHECK_EQ(ds.sem_perm.gid, 0);
	CHECK_OK(ipcc_sem_set_perm(s, (mode_t)-1, (uid_t)-1, FX_NOBODY));
	REQUIRE_OK(ipcc_sem_stat(s, &st));
	CHECK_EQ(st.mode, 0600);
	CHECK_EQ(st.uid, FX_NOBODY);
	CHECK_EQ(st.gid, FX_NOBODY);
	CHECK_EQ(st.cuid, 0);
	CHECK_EQ(st.cgid, 0);
	CHECK_OK(ipcc_sem_set_perm(s, 0666, 0, 0));
	REQUIRE_OK(ipcc_sem_stat(s, &st));
	CHECK_EQ(st.mode, 0666);
	CHECK_EQ(st.uid, 0);
	CHECK_EQ(st.gid, 0);
	/* the value is untouched by all that */
	CHECK_EQ(value_of(s), 1);

	ipcc_sem_close(s);
	CHECK_OK(ipcc_sem_unlink(name));
}

static int nobody_open(void *name)
{
	ipcc_sem *s = NULL;
	int r = ipcc_sem_open(name, &s);

	ipcc_sem_close(s);
	return r;
}

/* 1000 + open's errno if open fails, else post's result */
static int nobody_post(void *name)
{
	ipcc_sem *s = NULL;
	int r = ipcc_sem_open(name, &s);

	if (r < 0)
		return 1000 - r;
	r = ipcc_sem_post(s, 1);
	ipcc_sem_close(s);
	return r;
}

/* the value, or 1000 + open's errno, or the error of ipcc_sem_value */
static int nobody_value(void *name)
{
	ipcc_sem *s = NULL;
	unsigned v;
	int r = ipcc_sem_open(name, &s);

	if (r < 0)
		return 1000 - r;
	r = ipcc_sem_value(s, &v);
	ipcc_sem_close(s);
	return r < 0 ? r : (int)v;
}

static int nobody_set_perm(void *name)
{
	ipcc_sem *s = NULL;
	int r = ipcc_sem_open(name, &s);

	if (r < 0)
		return 1000 - r;
	r = ipcc_sem_set_perm(s, 0666, (uid_t)-1, (gid_t)-1);
	ipcc_sem_close(s);
	return r;
}

/* the value seen by stat, or the error */
static int nobody_stat(void *name)
{
	struct ipcc_sem_stat st;
	ipcc_sem *s = NULL;
	int r = ipcc_sem_open(name, &s);

	if (r < 0)
		return 1000 - r;
	r = ipcc_sem_stat(s, &st);
	ipcc_sem_close(s);
	return r < 0 ? r : (int)st.value;
}

static int nobody_unlink(void *name)
{
	return ipcc_sem_unlink(name);
}

static void test_second_user(void)
{
	char priv[IPCC_NAME_MAX + 1], pub[IPCC_NAME_MAX + 1];
	ipcc_sem *a = NULL, *b = NULL;
	struct ipcc_sem_stat st;

	if (geteuid() != 0)
		SKIP("needs root to become a second user");
	fx_name("priv", priv);
	fx_name("pub", pub);
	REQUIRE_OK(ipcc_sem_create(priv, 0600, 1, &a));
	REQUIRE_OK(ipcc_sem_create(pub, 0644, 1, &b));

	/*
	 * 0600 of root: opening needs no permission (like semget), but every
	 * operation on it is refused.
	 */
	CHECK_OK(fx_as_nobody(nobody_open, priv));
	CHECK_ERR(fx_as_nobody(nobody_post, priv), EACCES);
	CHECK_ERR(fx_as_nobody(nobody_value, priv), EACCES);
	/* stat includes the value, which needs read permission */
	CHECK_ERR(fx_as_nobody(nobody_stat, priv), EACCES);
	CHECK_ERR(fx_as_nobody(nobody_set_perm, priv), EPERM);
	CHECK_ERR(fx_as_nobody(nobody_unlink, priv), EPERM);

	/* 0644: may open and read, not operate, not change or remove */
	CHECK_OK(fx_as_nobody(nobody_open, pub));
	CHECK_EQ(fx_as_nobody(nobody_value, pub), 1);
	CHECK_EQ(fx_as_nobody(nobody_stat, pub), 1);
	CHECK_ERR(fx_as_nobody(nobody_post, pub), EACCES);
	CHECK_ERR(fx_as_nobody(nobody_set_perm, pub), EPERM);
	CHECK_ERR(fx_as_nobody(nobody_unlink, pub), EPERM);

	REQUIRE_OK(ipcc_sem_stat(a, &st));
	CHECK_EQ(st.value, 1);
	CHECK_EQ(st.mode, 0600);
	REQUIRE_OK(ipcc_sem_stat(b, &st));
	CHECK_EQ(st.value, 1);
	CHECK_EQ(st.mode, 0644);
	ipcc_sem_close(a);
	ipcc_sem_close(b);
	CHECK_OK(ipcc_sem_unlink(priv));
	CHECK_OK(ipcc_sem_unlink(pub));
}

FX_DEFINE_ITERATE(sem, struct ipcc_sem_stat, semid)

static void test_iter(void)
{
	char name[IPCC_NAME_MAX + 1];
	key_t k2 = fx_key(), k1 = fx_key();
	struct seen s[3];
	ipcc_sem *a = NULL;

	fx_name("iter", name);
	REQUIRE_OK(ipcc_sem_create(name, 0640, 4, &a));
	s[0].id = raw_semid(name);
	s[1].id = semget(k2, 2, IPC_CREAT | IPC_EXCL | 0600);
	s[2].id = semget(k1, 1, IPC_CREAT | IPC_EXCL | 0604);
	REQUIRE(s[0].id >= 0 && s[1].id >= 0 && s[2].id >= 0);

	iterate(s, 3);
	CHECK_EQ(s[0].times, 1);
	CHECK_EQ(s[0].st.key, fx_sem_key(name));
	CHECK_EQ(s[0].st.value, 4);
	CHECK_EQ(s[0].st.mode, 0640);
	CHECK_EQ(s[0].st.uid, geteuid());
	CHECK_EQ(s[0].st.ncnt, 0);
	CHECK_EQ(s[1].times, 0);               /* two semaphores: not ours */
	CHECK_EQ(s[2].times, 1);               /* any one-semaphore set */
	CHECK_EQ(s[2].st.key, k1);
	CHECK_EQ(s[2].st.mode, 0604);
	CHECK_EQ(s[2].st.value, 0);

	CHECK_OK(ipcc_sem_unlink(name));
	CHECK_OK(semctl(s[2].id, 0, IPC_RMID));
	iterate(s, 3);
	CHECK_EQ(s[0].times, 0);
	CHECK_EQ(s[2].times, 0);
	CHECK_OK(semctl(s[1].id, 0, IPC_RMID));
	ipcc_sem_close(a);
}

/* A creator in the classic style: semget now, its first semop later. */
struct late_creator {
	int semid;
	int done;
};

static void *late_creator_main(void *arg)
{
	struct late_creator *c = arg;
	struct sembuf op = { .sem_num = 0, .sem_op = 5, .sem_flg = 0 };

	fx_sleep_ms(30);
	c->done = semop(c->semid, &op, 1) == 0;
	return NULL;
}

/*
 * Opening a young set whose creator has not yet done its first semop
 * succeeds at once; the first look at the value waits for the creator.
 * A set that never sees a semop (ipcmk -S 1) still works, showing 0.
 */
static void test_open_before_creator_done(void)
{
	struct late_creator c = { .semid = -1 };
	struct ipcc_sem_stat st;
	key_t k = fx_key(), k2 = fx_key();
	ipcc_sem *s = NULL, *s2 = NULL;
	pthread_t t;
	int semid2;

	c.semid = semget(k, 1, IPC_CREAT | IPC_EXCL | 0600);
	REQUIRE(c.semid >= 0);
	REQUIRE_OK(ipcc_sem_open_key(k, &s));
	CHECK_OK(ipcc_sem_stat(s, &st));
	CHECK_EQ(st.semid, c.semid);
	REQUIRE_OK(pthread_create(&t, NULL, late_creator_main, &c));
	CHECK_EQ(value_of(s), 5);
	REQUIRE_OK(pthread_join(t, NULL));
	CHECK(c.done);
	CHECK_OK(ipcc_sem_post(s, 1));
	CHECK_EQ(raw_val(c.semid), 6);
	ipcc_sem_close(s);
	CHECK_OK(semctl(c.semid, 0, IPC_RMID));

	semid2 = semget(k2, 1, IPC_CREAT | IPC_EXCL | 0600);
	REQUIRE(semid2 >= 0);
	REQUIRE_OK(ipcc_sem_open_key(k2, &s2));
	CHECK_EQ(value_of(s2), 0);
	{
		/* never operated on: otime shows as ctime, here and listed */
		union { int val; struct semid_ds *buf; } arg;
		struct semid_ds ds;
		ipcc_sem_iter *it = NULL;
		int seen = 0;

		arg.buf = &ds;
		REQUIRE_OK(semctl(semid2, 0, IPC_STAT, arg));
		CHECK_EQ(ds.sem_otime, 0);
		CHECK_OK(ipcc_sem_stat(s2, &st));
		CHECK_EQ(st.ctime, ds.sem_ctime);
		CHECK_EQ(st.otime, ds.sem_ctime);
		REQUIRE_OK(ipcc_sem_iter_new(&it));
		while (ipcc_sem_iter_next(it, &st) == 1) {
			if (st.semid != semid2)
				continue;
			seen++;
			CHECK_EQ(st.otime, ds.sem_ctime);
		}
		ipcc_sem_iter_free(it);
		CHECK_EQ(seen, 1);
	}
	CHECK_OK(ipcc_sem_post(s2, 2));
	CHECK_EQ(raw_val(semid2), 2);
	ipcc_sem_close(s2);
	CHECK_OK(semctl(semid2, 0, IPC_RMID));
}

static void test_key_collision(void)
{
	char name[IPCC_NAME_MAX + 1];
	ipcc_sem *s = NULL;
	int created = -1, semid;

	/* a set of two under the name's key is not a named semaphore */
	fx_name("collide", name);
	semid = semget(fx_sem_key(name), 2, IPC_CREAT | IPC_EXCL | 0600);
	REQUIRE(semid >= 0);
	CHECK_ERR(ipcc_sem_open(name, &s), EINVAL);
	CHECK_ERR(ipcc_sem_open_key(fx_sem_key(name), &s), EINVAL);
	CHECK_ERR(ipcc_sem_open_or_create(name, 0600, 1, &created, &s), EINVAL);
	CHECK_ERR(ipcc_sem_create(name, 0600, 1, &s), EEXIST);
	CHECK(s == NULL);
	/* and it is left alone */
	CHECK_EQ(raw_semid(name), semid);
	CHECK_OK(semctl(semid, 0, IPC_RMID));
}

static void test_ipcs_and_python(void)
{
	char name[IPCC_NAME_MAX + 1], script[512], out[16384], line[64];
	char *argv[] = { "/usr/bin/ipcs", "-s", NULL };
	char keystr[IPCC_KEY_STRLEN];
	ipcc_sem *s = NULL;
	key_t key;
	int semid;

	fx_name("py", name);
	key = ipcc_sem_key(name);
	REQUIRE_OK(ipcc_sem_create(name, 0640, 2, &s));
	semid = raw_semid(name);

	/* ipcs -s lists "key semid owner perms nsems" */
	REQUIRE_EQ(fx_run(argv, out, sizeof(out)), 0);
	ipcc_key_format(key, keystr);
	{
		int rows = 0;

		for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
			char k[32], owner[64];
			unsigned perms;
			int id, nsems;

			if (sscanf(l, "%31s %d %63s %o %d", k, &id, owner, &perms,
			           &nsems) != 5 || id != semid)
				continue;
			rows++;
			CHECK_STR(k, keystr);
			CHECK_EQ(perms, 0640);
			CHECK_EQ(nsems, 1);
		}
		CHECK_EQ(rows, 1);
	}

	if (!fx_python_has("sysv_ipc")) {
		ipcc_sem_close(s);
		CHECK_OK(ipcc_sem_unlink(name));
		SKIP(FX_PYTHON " has no sysv_ipc");
	}
	/* Python finds it by the key and sees the same value */
	snprintf(script, sizeof(script),
	         "import sysv_ipc\n"
	         "s = sysv_ipc.Semaphore(%d)\n"
	         "print(s.id, s.value, oct(s.mode))\n"
	         "s.release()\n"
	         "s.release()\n", (int)key);
	CHECK_EQ(fx_python(script, out, sizeof(out)), 0);
	snprintf(line, sizeof(line), "%d 2 0o640\n", semid);
	CHECK_STR(out, line);
	CHECK_EQ(value_of(s), 4);
	CHECK_OK(ipcc_sem_trywait(s, 3));
	snprintf(script, sizeof(script),
	         "import sysv_ipc\n"
	         "s = sysv_ipc.Semaphore(%d)\n"
	         "print(s.value)\n"
	         "try:\n"
	         "    s.acquire(0)\n"
	         "    s.acquire(0)\n"
	         "except sysv_ipc.BusyError:\n"
	         "    print('busy', s.value)\n", (int)key);
	CHECK_EQ(fx_python(script, out, sizeof(out)), 0);
	CHECK_STR(out, "1\nbusy 0\n");
	CHECK_EQ(value_of(s), 0);
	ipcc_sem_close(s);
	s = NULL;
	CHECK_OK(ipcc_sem_unlink(name));
	snprintf(script, sizeof(script),
	         "import sysv_ipc\n"
	         "try:\n"
	         "    sysv_ipc.Semaphore(%d)\n"
	         "    print('exists')\n"
	         "except sysv_ipc.ExistentialError:\n"
	         "    print('gone')\n", (int)key);
	CHECK_EQ(fx_python(script, out, sizeof(out)), 0);
	CHECK_STR(out, "gone\n");

	/* made by Python under the name's key: core opens it as that name */
	snprintf(script, sizeof(script),
	         "import sysv_ipc\n"
	         "s = sysv_ipc.Semaphore(%d, sysv_ipc.IPC_CREX, 0o600, 6)\n"
	         "print(s.id)\n", (int)key);
	CHECK_EQ(fx_python(script, out, sizeof(out)), 0);
	CHECK_OK(ipcc_sem_open(name, &s));
	if (s) {
		struct ipcc_sem_stat st;

		CHECK_OK(ipcc_sem_stat(s, &st));
		CHECK_EQ(st.semid, atoi(out));
		CHECK_EQ(st.value, 6);
		CHECK_EQ(st.mode, 0600);
		ipcc_sem_close(s);
	}
	CHECK_OK(ipcc_sem_unlink(name));
}

static void test_cmd_run(void)
{
	char name[IPCC_NAME_MAX + 1];
	struct ipcc_sem_cmd c;
	struct ipcc_sem_cmd parsed[IPCC_SEM_CMD_MAX];
	ipcc_sem *s = NULL;
	size_t count = 0;
	int semid;

	fx_name("cmd", name);
	REQUIRE_OK(ipcc_sem_create(name, 0600, 0, &s));
	semid = raw_semid(name);

	memset(&c, 0, sizeof(c));
	c.op = IPCC_SEM_OP_TRYWAIT;
	c.n = 1;
	CHECK_ERR(ipcc_sem_cmd_run(s, &c), EAGAIN);
	c.op = IPCC_SEM_OP_POST;
	c.n = 3;
	CHECK_OK(ipcc_sem_cmd_run(s, &c));
	CHECK_EQ(raw_val(semid), 3);
	c.op = IPCC_SEM_OP_TRYWAIT;
	c.n = 2;
	CHECK_OK(ipcc_sem_cmd_run(s, &c));
	CHECK_EQ(raw_val(semid), 1);
	c.op = IPCC_SEM_OP_WAIT;
	c.n = 1;
	CHECK_OK(ipcc_sem_cmd_run(s, &c));
	CHECK_EQ(raw_val(semid), 0);
	c.op = IPCC_SEM_OP_TIMEDWAIT;
	c.n = 1;
	c.timeout.tv_sec = 0;
	c.timeout.tv_nsec = 1000000;
	CHECK_ERR(ipcc_sem_cmd_run(s, &c), ETIMEDOUT);
	CHECK_EQ(raw_val(semid), 0);
	c.op = IPCC_SEM_OP_SET;
	c.n = 7;
	CHECK_OK(ipcc_sem_cmd_run(s, &c));
	CHECK_EQ(raw_val(semid), 7);
	c.op = IPCC_SEM_OP_TIMEDWAIT;
	c.n = 1;
	c.timeout.tv_sec = 5;
	CHECK_OK(ipcc_sem_cmd_run(s, &c));
	CHECK_EQ(raw_val(semid), 6);
	c.op = IPCC_SEM_OP_POST;
	c.n = IPCC_SEM_VALUE_MAX - 5;
	CHECK_ERR(ipcc_sem_cmd_run(s, &c), ERANGE);
	CHECK_EQ(raw_val(semid), 6);
	c.op = IPCC_SEM_OP_SET;
	c.n = IPCC_SEM_VALUE_MAX + 1;
	CHECK_ERR(ipcc_sem_cmd_run(s, &c), ERANGE);
	CHECK_EQ(raw_val(semid), 6);

	/* what the parser makes, the runner runs */
	{
		const char *in = "set 2\npost 3\ntrywait 4\ntimedwait 0.001";

		REQUIRE_OK(ipcc_sem_cmd_parse(in, strlen(in), parsed,
		                              IPCC_SEM_CMD_MAX, &count));
		REQUIRE_EQ(count, 4);
		CHECK_OK(ipcc_sem_cmd_run(s, &parsed[0]));
		CHECK_OK(ipcc_sem_cmd_run(s, &parsed[1]));
		CHECK_OK(ipcc_sem_cmd_run(s, &parsed[2]));
		CHECK_EQ(raw_val(semid), 1);
		CHECK_OK(ipcc_sem_cmd_run(s, &parsed[3]));
		CHECK_EQ(raw_val(semid), 0);
		CHECK_ERR(ipcc_sem_cmd_run(s, &parsed[3]), ETIMEDOUT);
	}

	CHECK_OK(ipcc_sem_remove(s));
	c.op = IPCC_SEM_OP_POST;
	c.n = 1;
	CHECK_ERR(ipcc_sem_cmd_run(s, &c), EIDRM);
	ipcc_sem_close(s);
}

int main(void)
{
	fx_init();
	RUN(test_create_open);
	RUN(test_create_race);
	RUN(test_create_bad);
	RUN(test_post_wait);
	RUN(test_wait_n_atomic);
	RUN(test_eintr);
	RUN(test_eidrm_unlink);
	RUN(test_eidrm_remove);
	RUN(test_set_wakes);
	RUN(test_stat);
	RUN(test_set_perm);
	RUN(test_second_user);
	RUN(test_iter);
	RUN(test_open_before_creator_done);
	RUN(test_key_collision);
	RUN(test_ipcs_and_python);
	RUN(test_cmd_run);
	return check_exit();
}

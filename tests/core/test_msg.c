/*
 * System V message queues through core, side by side with the kernel's
 * own msgsnd / msgrcv, `ipcmk -Q`, `ipcs -q`, Python's sysv_ipc, blocked
 * threads, cancelling and a second user.
 *
 * A thread is known to be asleep in msgrcv / msgsnd by polling
 * /proc/self/task/TID/syscall (bounded), never by sleeping a guessed time.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "check.h"
#include "fixture.h"
#include "ipcc.h"

#define POLL_MS 20000

struct raw_msg {
	long mtype;
	char mtext[65536];
};

static struct raw_msg rbuf;

static int raw_send(int id, long type, const void *p, size_t n)
{
	rbuf.mtype = type;
	memcpy(rbuf.mtext, p, n);
	return msgsnd(id, &rbuf, n, IPC_NOWAIT) < 0 ? -errno : 0;
}

/* Raw msgrcv, IPC_NOWAIT: the length, or -errno. */
static ssize_t raw_recv(int id, long type, size_t cap, long *mtype)
{
	ssize_t n = msgrcv(id, &rbuf, cap, type, IPC_NOWAIT);

	if (n < 0)
		return -errno;
	if (mtype)
		*mtype = rbuf.mtype;
	return n;
}

static int raw_stat(int id, struct msqid_ds *ds)
{
	return msgctl(id, IPC_STAT, ds) < 0 ? -errno : 0;
}

static uint64_t qnum_of(int id)
{
	struct msqid_ds ds;

	return raw_stat(id, &ds) == 0 ? ds.msg_qnum : 999999;
}

/* A fresh queue by key, made with raw msgget. */
static int new_queue(key_t *keyp, int mode)
{
	key_t key = fx_key();
	int id = msgget(key, IPC_CREAT | IPC_EXCL | mode);

	if (keyp)
		*keyp = key;
	return id;
}

/* Whether thread tid is asleep in syscall nr (bounded poll). */
static int poll_in_syscall(pid_t tid, long nr)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	for (int i = 0; i < POLL_MS; i++) {
		FILE *f = fopen(path, "r");
		long got = -2;

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				got = strtol(buf, NULL, 10);
			fclose(f);
		}
		if (got == nr)
			return 1;
		fx_sleep_ms(1);
	}
	return 0;
}

/* ---- a blocked sender or receiver in a thread ----------------------- */

struct worker {
	pthread_t thread;
	atomic_int tid;
	ipcc_msq *q;
	int send;               /* else receive */
	long type;
	char data[256];
	size_t len;             /* send: bytes; receive: cap */
	long got_type;
	atomic_int cancel;
	struct ipcc_cancel hook;
	int use_hook;
	ssize_t result;
	struct timespec ended;
};

static int worker_cancelled(void *arg)
{
	return atomic_load(&((struct worker *)arg)->cancel);
}

static void noop_handler(int sig)
{
	(void)sig;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct ipcc_cancel *c = w->use_hook ? &w->hook : NULL;

	atomic_store(&w->tid, (int)gettid());
	if (w->send)
		w->result = ipcc_msq_send(w->q, w->type, w->data, w->len, 0, c);
	else
		w->result = ipcc_msq_receive(w->q, w->type, w->data, w->len,
		                             &w->got_type, 0, c);
	clock_gettime(CLOCK_MONOTONIC, &w->ended);
	return NULL;
}

static int worker_start(struct worker *w, ipcc_msq *q, int send, long type,
                        const char *data, size_t len)
{
	memset(w, 0, sizeof(*w));
	w->q = q;
	w->send = send;
	w->type = type;
	w->len = len;
	if (send && data)
		memcpy(w->data, data, len);
	w->hook.cancelled = worker_cancelled;
	w->hook.arg = w;
	w->use_hook = 1;
	w->result = 12345;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -1;
	for (int i = 0; i < POLL_MS && !atomic_load(&w->tid); i++)
		fx_sleep_ms(1);
	return poll_in_syscall(atomic_load(&w->tid),
	                       send ? SYS_msgsnd : SYS_msgrcv) ? 0 : -1;
}

static ssize_t worker_join(struct worker *w)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 60;
	if (pthread_timedjoin_np(w->thread, NULL, &deadline) != 0) {
		fprintf(stderr, "%s: a worker did not return; giving up\n",
		        __FILE__);
		check_failures++;
		exit(check_exit());
	}
	return w->result;
}

static double since_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* ---- tests ---------------------------------------------------------- */

static void test_create_find_stat(void)
{
	key_t key = fx_key();
	struct ipcc_msq_stat st;
	struct msqid_ds ds;
	int id = -1, id2 = -1, created = -1, priv1 = -1, priv2 = -1;

	REQUIRE_OK(ipcc_msq_create(key, 0640, 0, &id, &created));
	CHECK_EQ(created, 1);
	CHECK_EQ(msgget(key, 0), id);
	REQUIRE_OK(raw_stat(id, &ds));
	CHECK_EQ(ds.msg_perm.mode & 0777, 0640);
	CHECK_EQ(ds.msg_perm.cuid, geteuid());
	CHECK_EQ(ds.msg_perm.uid, geteuid());

	/* exists: opened, mode untouched; EXCL refuses */
	CHECK_OK(ipcc_msq_create(key, 0600, 0, &id2, &created));
	CHECK_EQ(created, 0);
	CHECK_EQ(id2, id);
	CHECK_ERR(ipcc_msq_create(key, 0600, IPCC_MSQ_EXCL, &id2, NULL), EEXIST);
	CHECK_ERR(ipcc_msq_create(key, 0600, 0x80, &id2, NULL), EINVAL);
	REQUIRE_OK(raw_stat(id, &ds));
	CHECK_EQ(ds.msg_perm.mode & 0777, 0640);

	/* odd modes are exact too (msgget has no umask) */
	{
		key_t k2 = fx_key();
		int i3 = -1;

		umask(022);
		CHECK_OK(ipcc_msq_create(k2, 0606, 0, &i3, NULL));
		CHECK_OK(raw_stat(i3, &ds));
		CHECK_EQ(ds.msg_perm.mode & 0777, 0606);
		CHECK_OK(ipcc_msq_remove(i3));
	}

	CHECK_OK(ipcc_msq_find(key, &id2));
	CHECK_EQ(id2, id);
	CHECK_ERR(ipcc_msq_find(IPC_PRIVATE, &id2), EINVAL);

	REQUIRE_OK(ipcc_msq_stat_id(id, &st));
	CHECK_EQ(st.key, key);
	CHECK_EQ(st.msqid, id);
	CHECK_EQ(st.mode, 0640);
	CHECK_EQ(st.qnum, 0);
	CHECK_EQ(st.cbytes, 0);
	CHECK_EQ(st.qbytes, ds.msg_qbytes);
	CHECK_EQ(st.stime, 0);
	CHECK_EQ(st.rtime, 0);
	CHECK_EQ(st.ctime, ds.msg_ctime);

	/* IPC_PRIVATE: a new queue every time */
	CHECK_OK(ipcc_msq_create(IPC_PRIVATE, 0600, 0, &priv1, &created));
	fx_track_msq_id(priv1);
	CHECK_EQ(created, 1);
	CHECK_OK(ipcc_msq_create(IPC_PRIVATE, 0600, 0, &priv2, NULL));
	fx_track_msq_id(priv2);
	CHECK(priv1 != priv2);
	CHECK_OK(ipcc_msq_stat_id(priv1, &st));
	CHECK_EQ(st.key, IPC_PRIVATE);

	CHECK_OK(ipcc_msq_remove(priv1));
	CHECK_OK(ipcc_msq_remove(priv2));
	CHECK_ERR(ipcc_msq_remove(priv2), ENOENT);
	CHECK_ERR(ipcc_msq_stat_id(priv2, &st), ENOENT);
	CHECK_ERR(ipcc_msq_stat_id(-1, &st), ENOENT);
	CHECK_OK(ipcc_msq_remove(id));
	CHECK_ERR(ipcc_msq_find(key, &id2), ENOENT);
	CHECK_EQ(msgget(key, 0), -1);
}

static void test_send_exact_bytes(void)
{
	static const char bin[] = { 0, 1, 2, '\n', (char)0xff, 0 };
	ipcc_msq *q = NULL;
	int id = new_queue(NULL, 0600);
	long t = 0;

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_msq_open(id, &q));
	CHECK_EQ(ipcc_msq_id(q), id);
	CHECK_OK(ipcc_msq_send(q, 1, "hello\n", 6, 0, NULL));
	CHECK_OK(ipcc_msq_send(q, 7, bin, sizeof(bin), 0, NULL));
	CHECK_OK(ipcc_msq_send(q, 2, "", 0, 0, NULL));
	CHECK_EQ(raw_recv(id, 0, 100, &t), 6);
	CHECK_EQ(t, 1);
	CHECK_MEM(rbuf.mtext, "hello\n", 6);
	CHECK_EQ(raw_recv(id, 0, 100, &t), sizeof(bin));
	CHECK_EQ(t, 7);
	CHECK_MEM(rbuf.mtext, bin, sizeof(bin));
	CHECK_EQ(raw_recv(id, 0, 100, &t), 0);
	CHECK_EQ(t, 2);

	/* type < 1: EINVAL, as msgsnd says, nothing sent */
	CHECK_ERR(ipcc_msq_send(q, 0, "x", 1, 0, NULL), EINVAL);
	CHECK_ERR(ipcc_msq_send(q, -3, "x", 1, 0, NULL), EINVAL);
	CHECK_ERR(raw_send(id, 0, "x", 1), EINVAL);
	CHECK_EQ(qnum_of(id), 0);
	ipcc_msq_close(q);
	ipcc_msq_close(NULL);
	CHECK_OK(msgctl(id, IPC_RMID, NULL));
}

/* Same operations on two queues, one through core, one raw: same results. */
static void test_type_rules_vs_kernel(void)
{
	static const long types[] = { 5, 2, 9, 2, 1, 7, 3 };
	static const long rules[] = { 2, -4, 0, 9, -1, 8, -100, 0, 0, 0, 0 };
	int a = new_queue(NULL, 0600), b = new_queue(NULL, 0600);
	ipcc_msq *q = NULL;

	REQUIRE(a >= 0 && b >= 0);
	REQUIRE_OK(ipcc_msq_open(a, &q));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char m[32];
		int n = snprintf(m, sizeof(m), "m%zu-t%ld", i, types[i]);

		CHECK_OK(ipcc_msq_send(q, types[i], m, (size_t)n, 0, NULL));
		CHECK_OK(raw_send(b, types[i], m, (size_t)n));
	}
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		char got[64];
		long gt = -1, wt = -1;
		ssize_t n = ipcc_msq_receive(q, rules[i], got, sizeof(got), &gt,
		                             IPCC_MSG_NOWAIT, NULL);
		ssize_t w = raw_recv(b, rules[i], sizeof(got), &wt);

		if (w == -ENOMSG)
			w = -EAGAIN;        /* core's word for "would block" */
		CHECK_EQ(n, w);
		if (n >= 0 && n == w) {
			CHECK_EQ(gt, wt);
			CHECK_MEM(got, rbuf.mtext, (size_t)n);
		}
	}
	CHECK_EQ(qnum_of(a), 0);
	ipcc_msq_close(q);
	msgctl(a, IPC_RMID, NULL);
	msgctl(b, IPC_RMID, NULL);
}

static void test_snapshot_takes_nothing(void)
{
	static const char bin[] = { 'a', 0, 'b', '\n' };
	struct msqid_ds before, after;
	ipcc_msq *q = NULL;
	int id = new_queue(NULL, 0600);
	char want[256], cbuf[64];
	size_t wlen = 0, len = 99;
	void *data = (void *)1;
	long t = 0;

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_msq_open(id, &q));
	/* empty: at once, nothing */
	CHECK_OK(ipcc_msq_snapshot(q, &data, &len));
	CHECK(data == NULL);
	CHECK_EQ(len, 0);
	CHECK_ERR(ipcc_msq_copy(q, 0, cbuf, sizeof(cbuf), &t), ENOMSG);

	CHECK_OK(raw_send(id, 3, "first\n", 6));
	CHECK_OK(raw_send(id, 1, bin, sizeof(bin)));
	CHECK_OK(raw_send(id, 9, "", 0));
	CHECK_OK(raw_send(id, 2, "last", 4));
	memcpy(want, "first\n", 6);
	memcpy(want + 6, bin, sizeof(bin));
	memcpy(want + 10, "last", 4);
	wlen = 14;

	REQUIRE_OK(raw_stat(id, &before));
	for (int round = 0; round < 3; round++) {
		CHECK_OK(ipcc_msq_snapshot(q, &data, &len));
		CHECK_EQ(len, wlen);
		if (data && len == wlen)
			CHECK_MEM(data, want, wlen);
		free(data);
		data = NULL;
	}
	/* by index, with types, in msgrcv's order */
	CHECK_EQ(ipcc_msq_copy(q, 1, cbuf, sizeof(cbuf), &t), sizeof(bin));
	CHECK_EQ(t, 1);
	CHECK_MEM(cbuf, bin, sizeof(bin));
	CHECK_EQ(ipcc_msq_copy(q, 2, cbuf, sizeof(cbuf), &t), 0);
	CHECK_EQ(t, 9);
	CHECK_ERR(ipcc_msq_copy(q, 4, cbuf, sizeof(cbuf), &t), ENOMSG);
	CHECK_ERR(ipcc_msq_copy(q, (size_t)-1, cbuf, sizeof(cbuf), &t), ENOMSG);
	/* too small: EMSGSIZE, nothing changed */
	CHECK_ERR(ipcc_msq_copy(q, 0, cbuf, 5, &t), EMSGSIZE);

	/* nothing taken: the queue is exactly as it was */
	REQUIRE_OK(raw_stat(id, &after));
	CHECK_EQ(after.msg_qnum, 4);
	CHECK_EQ(after.__msg_cbytes, before.__msg_cbytes);
	CHECK_EQ(after.msg_lrpid, before.msg_lrpid);
	CHECK_EQ(after.msg_rtime, before.msg_rtime);

	/* and the order is msgrcv's own */
	{
		size_t off = 0;
		ssize_t n;

		while ((n = raw_recv(id, 0, sizeof(rbuf.mtext), NULL)) >= 0) {
			CHECK(off + (size_t)n <= wlen);
			if (off + (size_t)n <= wlen)
				CHECK_MEM(rbuf.mtext, want + off, (size_t)n);
			off += (size_t)n;
		}
		CHECK_EQ(off, wlen);
	}
	ipcc_msq_close(q);
	msgctl(id, IPC_RMID, NULL);
}

static void test_snapshot_big(void)
{
	ipcc_msq *q = NULL;
	int id = new_queue(NULL, 0600);
	size_t max = 0, len = 0;
	void *data = NULL;
	char *big;

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_msq_max(&max));
	REQUIRE(max > 0 && max <= sizeof(rbuf.mtext));
	big = malloc(max);
	REQUIRE(big != NULL);
	for (size_t i = 0; i < max; i++)
		big[i] = (char)(i * 7);
	REQUIRE_OK(ipcc_msq_open(id, &q));
	CHECK_OK(ipcc_msq_send(q, 1, big, max, 0, NULL));
	CHECK_OK(ipcc_msq_send(q, 1, "z", 1, 0, NULL));
	CHECK_OK(ipcc_msq_snapshot(q, &data, &len));
	CHECK_EQ(len, max + 1);
	if (data && len == max + 1) {
		CHECK_MEM(data, big, max);
		CHECK_EQ(((char *)data)[max], 'z');
	}
	free(data);
	/* one byte over msgmax: EMSGSIZE (the kernel: EINVAL), nothing sent */
	{
		char *over = calloc(1, max + 1);

		REQUIRE(over != NULL);
		CHECK_ERR(ipcc_msq_send(q, 1, over, max + 1, 0, NULL), EMSGSIZE);
		CHECK_ERR(ipcc_msq_send(q, 1, over, max + 1, IPCC_MSG_NOWAIT,
		                        NULL), EMSGSIZE);
		rbuf.mtype = 1;
		CHECK_EQ(msgsnd(id, &rbuf, max + 1, IPC_NOWAIT), -1);
		CHECK_EQ(errno, EINVAL);
		free(over);
	}
	CHECK_EQ(qnum_of(id), 2);
	free(big);
	ipcc_msq_close(q);
	msgctl(id, IPC_RMID, NULL);
}

static void test_emsgsize_keeps_message(void)
{
	ipcc_msq *q = NULL;
	int id = new_queue(NULL, 0600);
	char buf[64];
	long t = 0;

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_msq_open(id, &q));
	CHECK_OK(raw_send(id, 4, "0123456789", 10));
	CHECK_ERR(ipcc_msq_receive(q, 0, buf, 9, &t, IPCC_MSG_NOWAIT, NULL),
	          EMSGSIZE);
	CHECK_ERR(ipcc_msq_receive(q, 0, buf, 9, &t, 0, NULL), EMSGSIZE);
	/* the kernel's own word for it, and nothing taken there either */
	CHECK_ERR(raw_recv(id, 0, 9, NULL), E2BIG);
	CHECK_EQ(qnum_of(id), 1);
	CHECK_EQ(ipcc_msq_receive(q, 0, buf, 10, &t, IPCC_MSG_NOWAIT, NULL), 10);
	CHECK_EQ(t, 4);
	CHECK_MEM(buf, "0123456789", 10);
	CHECK_EQ(qnum_of(id), 0);

	/* a message over the queue's own limit would wait for ever */
	{
		struct msqid_ds ds;

		REQUIRE_OK(raw_stat(id, &ds));
		ds.msg_qbytes = 16;
		REQUIRE_OK(msgctl(id, IPC_SET, &ds));
		CHECK_ERR(ipcc_msq_send(q, 1, "01234567890123456", 17, 0, NULL),
		          EMSGSIZE);
		CHECK_OK(ipcc_msq_send(q, 1, "0123456789012345", 16, 0, NULL));
		/* full now: EAGAIN without waiting, as msgsnd */
		CHECK_ERR(ipcc_msq_send(q, 1, "x", 1, IPCC_MSG_NOWAIT, NULL),
		          EAGAIN);
		CHECK_ERR(raw_send(id, 1, "x", 1), EAGAIN);
		CHECK_EQ(qnum_of(id), 1);
	}
	/* empty queue, nowait: EAGAIN (msgrcv says ENOMSG) */
	CHECK_EQ(ipcc_msq_receive(q, 0, buf, sizeof(buf), NULL, 0, NULL), 16);
	CHECK_ERR(ipcc_msq_receive(q, 0, buf, sizeof(buf), NULL,
	                           IPCC_MSG_NOWAIT, NULL), EAGAIN);
	CHECK_ERR(raw_recv(id, 0, sizeof(buf), NULL), ENOMSG);
	ipcc_msq_close(q);
	msgctl(id, IPC_RMID, NULL);
}

static void test_blocked_receive_released(void)
{
	struct worker w;
	ipcc_msq *q = NULL;
	int id = new_queue(NULL, 0600);

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_msq_open(id, &q));
	/* type 5 only: a type 3 message does not release it */
	REQUIRE_OK(worker_start(&w, q, 0, 5, NULL, 64));
	CHECK_OK(raw_send(id, 3, "three", 5));
	CHECK_OK(raw_send(id, 5, "five", 4));
	CHECK_EQ(worker_join(&w), 4);
	CHECK_EQ(w.got_type, 5);
	CHECK_MEM(w.data, "five", 4);
	CHECK_EQ(qnum_of(id), 1);
	ipcc_msq_close(q);
	msgctl(id, IPC_RMID, NULL);
}

static void test_cancel_takes_nothing(void)
{
	struct sigaction sa;
	struct worker w;
	struct timespec t0;
	ipcc_msq *q = NULL;
	int id = new_queue(NULL, 0600);

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_msq_open(id, &q));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = noop_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	/* cancel + signal: prompt */
	REQUIRE_OK(worker_start(&w, q, 0, 0, NULL, 64));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&w.cancel, 1);
	pthread_kill(w.thread, SIGUSR1);
	CHECK_ERR(worker_join(&w), EINTR);
	CHECK(since_ms(&t0, &w.ended) < 100);

	/* cancel and the signal lost: the tick notices within a poll */
	REQUIRE_OK(worker_start(&w, q, 0, 0, NULL, 64));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	atomic_store(&w.cancel, 1);
	CHECK_ERR(worker_join(&w), EINTR);
	CHECK(since_ms(&t0, &w.ended) < 2.0 * IPCC_CANCEL_POLL_MS + 100);

	/* a signal without cancel: it goes on waiting, then gets its message */
	REQUIRE_OK(worker_start(&w, q, 0, 0, NULL, 64));
	pthread_kill(w.thread, SIGUSR1);
	fx_sleep_ms(50);
	CHECK(poll_in_syscall(atomic_load(&w.tid), SYS_msgrcv));
	CHECK_OK(raw_send(id, 1, "after", 5));
	CHECK_EQ(worker_join(&w), 5);
	CHECK_EQ(qnum_of(id), 0);

	/* nothing was taken by the cancelled ones: a message sent now stays */
	CHECK_OK(raw_send(id, 1, "kept", 4));
	CHECK_EQ(qnum_of(id), 1);

	/* cancelled before it starts: takes nothing although one is there */
	atomic_store(&w.cancel, 1);
	CHECK_ERR(ipcc_msq_receive(q, 0, w.data, 64, NULL, 0, &w.hook), EINTR);
	CHECK_EQ(qnum_of(id), 1);

	/* a blocked send into a full queue, cancelled: nothing sent */
	{
		struct msqid_ds ds;

		REQUIRE_OK(raw_stat(id, &ds));
		ds.msg_qbytes = 4;
		REQUIRE_OK(msgctl(id, IPC_SET, &ds));
		REQUIRE_OK(worker_start(&w, q, 1, 1, "more", 4));
		atomic_store(&w.cancel, 1);
		pthread_kill(w.thread, SIGUSR1);
		CHECK_ERR(worker_join(&w), EINTR);
		CHECK_EQ(qnum_of(id), 1);
		/* and one released by a receive */
		REQUIRE_OK(worker_start(&w, q, 1, 2, "next", 4));
		CHECK_EQ(raw_recv(id, 0, 64, NULL), 4);
		CHECK_MEM(rbuf.mtext, "kept", 4);
		CHECK_OK(worker_join(&w));
		CHECK_EQ(raw_recv(id, 0, 64, NULL), 4);
		CHECK_MEM(rbuf.mtext, "next", 4);
	}
	ipcc_msq_close(q);
	msgctl(id, IPC_RMID, NULL);
}

static void test_eidrm(void)
{
	struct worker r[3], s;
	struct msqid_ds ds;
	ipcc_msq *q = NULL;
	int id = new_queue(NULL, 0600);
	void *data = NULL;
	size_t len = 0;
	char buf[8];

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_msq_open(id, &q));
	for (int i = 0; i < 3; i++)
		REQUIRE_OK(worker_start(&r[i], q, 0, i == 2 ? -3 : i, NULL, 64));
	/* and a sender blocked on a full queue, on another queue handle */
	{
		int id2 = new_queue(NULL, 0600);
		ipcc_msq *q2 = NULL;

		REQUIRE(id2 >= 0);
		REQUIRE_OK(raw_stat(id2, &ds));
		ds.msg_qbytes = 1;
		REQUIRE_OK(msgctl(id2, IPC_SET, &ds));
		REQUIRE_OK(raw_send(id2, 1, "a", 1));
		REQUIRE_OK(ipcc_msq_open(id2, &q2));
		REQUIRE_OK(worker_start(&s, q2, 1, 1, "b", 1));
		CHECK_OK(ipcc_msq_remove(id2));
		CHECK_ERR(worker_join(&s), EIDRM);
		CHECK_ERR(ipcc_msq_send(q2, 1, "c", 1, 0, NULL), EIDRM);
		ipcc_msq_close(q2);
	}
	CHECK_OK(ipcc_msq_remove(id));
	for (int i = 0; i < 3; i++)
		CHECK_ERR(worker_join(&r[i]), EIDRM);
	/* and every later use of the handle */
	CHECK_ERR(ipcc_msq_send(q, 1, "x", 1, 0, NULL), EIDRM);
	CHECK_ERR(ipcc_msq_receive(q, 0, buf, sizeof(buf), NULL, 0, NULL), EIDRM);
	CHECK_ERR(ipcc_msq_snapshot(q, &data, &len), EIDRM);
	CHECK_ERR(ipcc_msq_copy(q, 0, buf, sizeof(buf), NULL), EIDRM);
	{
		struct ipcc_msq_stat st;

		CHECK_ERR(ipcc_msq_stat(q, &st), EIDRM);
	}
	CHECK_ERR(ipcc_msq_open(id, &q), ENOENT);
	ipcc_msq_close(q);
}

static void test_give_back_lands_last(void)
{
	ipcc_msq *q = NULL;
	int id = new_queue(NULL, 0600);
	char buf[16];
	long t = 0;
	ssize_t n;

	REQUIRE(id >= 0);
	REQUIRE_OK(ipcc_msq_open(id, &q));
	CHECK_OK(raw_send(id, 6, "A", 1));
	CHECK_OK(raw_send(id, 1, "B", 1));
	n = ipcc_msq_receive(q, 0, buf, sizeof(buf), &t, 0, NULL);
	CHECK_EQ(n, 1);
	CHECK_OK(ipcc_msq_give_back(q, t, buf, 1));
	CHECK_EQ(raw_recv(id, 0, 16, &t), 1);
	CHECK_EQ(rbuf.mtext[0], 'B');
	CHECK_EQ(raw_recv(id, 0, 16, &t), 1);
	CHECK_EQ(rbuf.mtext[0], 'A');
	CHECK_EQ(t, 6);
	ipcc_msq_close(q);
	msgctl(id, IPC_RMID, NULL);
}

static void test_set_perm(void)
{
	struct msqid_ds ds;
	int id = new_queue(NULL, 0600);
	unsigned long qbytes;

	REQUIRE(id >= 0);
	REQUIRE_OK(raw_stat(id, &ds));
	qbytes = ds.msg_qbytes;
	CHECK_OK(ipcc_msq_set(id, 0604, (uid_t)-1, (gid_t)-1));
	CHECK_OK(ipcc_msq_set(id, (mode_t)-1, 65534, 65534));
	REQUIRE_OK(raw_stat(id, &ds));
	CHECK_EQ(ds.msg_perm.mode & 0777, 0604);
	CHECK_EQ(ds.msg_perm.uid, 65534);
	CHECK_EQ(ds.msg_perm.gid, 65534);
	CHECK_EQ(ds.msg_perm.cuid, geteuid());
	CHECK_EQ(ds.msg_qbytes, qbytes);
	msgctl(id, IPC_RMID, NULL);
	CHECK_ERR(ipcc_msq_set(id, 0600, (uid_t)-1, (gid_t)-1), ENOENT);
}

/* ---- a second user --------------------------------------------------- */

struct perm_probe {
	int id;
	int op;         /* 0 send, 1 receive, 2 snapshot, 3 stat */
	int raw;
};

static int perm_probe(void *arg)
{
	struct perm_probe *p = arg;
	struct ipcc_msq_stat st;
	ipcc_msq *q = NULL;
	char buf[64];
	void *data = NULL;
	size_t len = 0;
	int err;

	if (p->raw) {
		switch (p->op) {
		case 0:
			rbuf.mtype = 1;
			memcpy(rbuf.mtext, "np", 2);
			return msgsnd(p->id, &rbuf, 2, IPC_NOWAIT) < 0 ? -errno : 0;
		case 1:
			return msgrcv(p->id, &rbuf, 64, 0, IPC_NOWAIT) < 0 ? -errno
			                                                  : 0;
		case 2:
			return msgrcv(p->id, &rbuf, 64, 0,
			              IPC_NOWAIT | MSG_COPY) < 0 ? -errno : 0;
		default:
			return msgctl(p->id, IPC_STAT, (struct msqid_ds *)buf) < 0
			       ? -errno : 0;
		}
	}
	err = ipcc_msq_open(p->id, &q);
	if (err)
		return err;
	switch (p->op) {
	case 0:
		err = ipcc_msq_send(q, 1, "np", 2, IPCC_MSG_NOWAIT, NULL);
		break;
	case 1:
		err = (int)ipcc_msq_receive(q, 0, buf, sizeof(buf), NULL,
		                            IPCC_MSG_NOWAIT, NULL);
		err = err > 0 ? 0 : err;
		break;
	case 2:
		err = ipcc_msq_snapshot(q, &data, &len);
		free(data);
		break;
	default:
		err = ipcc_msq_stat(q, &st);
		break;
	}
	ipcc_msq_close(q);
	return err;
}

static void test_second_user(void)
{
	static const int modes[] = { 0600, 0602, 0604, 0606, 0620, 0660 };

	if (geteuid() != 0)
		SKIP("needs root to become uid 65534");
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		int id = new_queue(NULL, modes[m]);

		REQUIRE(id >= 0);
		REQUIRE_OK(raw_send(id, 1, "msg", 3));
		for (int op = 0; op < 3; op++) {
			struct perm_probe core = { id, op, 0 }, raw = { id, op, 1 };
			int c = fx_as_nobody(perm_probe, &core);
			int r;

			/* undo what core did, then let the kernel try the same */
			while (qnum_of(id) > 1)
				raw_recv(id, 0, 64, NULL);
			if (qnum_of(id) == 0)
				raw_send(id, 1, "msg", 3);
			r = fx_as_nobody(perm_probe, &raw);
			while (qnum_of(id) > 1)
				raw_recv(id, 0, 64, NULL);
			if (qnum_of(id) == 0)
				raw_send(id, 1, "msg", 3);
			if (c != r)
				fprintf(stderr, "mode %04o op %d\n", modes[m], op);
			CHECK_EQ(c, r);
		}
		/* looking at the queue's state needs no permission */
		{
			struct perm_probe st = { id, 3, 0 };

			CHECK_OK(fx_as_nobody(perm_probe, &st));
		}
		msgctl(id, IPC_RMID, NULL);
	}
}

/* ---- other clients ---------------------------------------------------- */

static void test_ipcmk_ipcs(void)
{
	char out[65536], *line;
	char *const mk[] = { (char *)"/usr/bin/ipcmk", (char *)"-Q",
	                     (char *)"-p", (char *)"0620", NULL };
	char *const ls[] = { (char *)"/usr/bin/ipcs", (char *)"-q", NULL };
	struct ipcc_msq_stat st;
	ipcc_msq_iter *it = NULL;
	int id = -1, found = 0, mine = -1;
	key_t key;

	if (access(mk[0], X_OK) != 0)
		SKIP("no ipcmk");
	REQUIRE_EQ(fx_run(mk, out, sizeof(out)), 0);
	line = strstr(out, "id: ");
	REQUIRE(line != NULL);
	id = atoi(line + 4);
	fx_track_msq_id(id);
	REQUIRE_OK(ipcc_msq_stat_id(id, &st));
	CHECK_EQ(st.mode, 0620);
	key = st.key;

	/* a queue of ours, seen by ipcs with what we sent */
	mine = new_queue(&key, 0640);
	REQUIRE(mine >= 0);
	{
		ipcc_msq *q = NULL;

		REQUIRE_OK(ipcc_msq_open(mine, &q));
		CHECK_OK(ipcc_msq_send(q, 1, "12345", 5, 0, NULL));
		CHECK_OK(ipcc_msq_send(q, 1, "678", 3, 0, NULL));
		ipcc_msq_close(q);
	}
	REQUIRE_EQ(fx_run(ls, out, sizeof(out)), 0);
	{
		char kbuf[IPCC_KEY_STRLEN];

		/* key msqid owner perms used-bytes messages */
		ipcc_key_format(key, kbuf);
		line = strstr(out, kbuf);
		CHECK(line != NULL);
		if (line) {
			char k[32], owner[64];
			int i = -1, perms = -1, bytes = -1, msgs = -1;

			CHECK_EQ(sscanf(line, "%31s %d %63s %o %d %d", k, &i, owner,
			                (unsigned *)&perms, &bytes, &msgs), 6);
			CHECK_EQ(i, mine);
			CHECK_EQ(perms, 0640);
			CHECK_EQ(bytes, 8);
			CHECK_EQ(msgs, 2);
		}
	}
	/* the iterator lists both, with what IPC_STAT says */
	REQUIRE_OK(ipcc_msq_iter_new(&it));
	for (;;) {
		struct ipcc_msq_stat s, w;
		int r = ipcc_msq_iter_next(it, &s);

		CHECK(r >= 0);
		if (r <= 0)
			break;
		if (s.msqid != id && s.msqid != mine)
			continue;
		found++;
		REQUIRE_OK(ipcc_msq_stat_id(s.msqid, &w));
		CHECK_EQ(s.key, w.key);
		CHECK_EQ(s.mode, w.mode);
		CHECK_EQ(s.uid, w.uid);
		CHECK_EQ(s.cuid, w.cuid);
		CHECK_EQ(s.qnum, w.qnum);
		CHECK_EQ(s.cbytes, w.cbytes);
		CHECK_EQ(s.lspid, w.lspid);
		CHECK_EQ(s.stime, w.stime);
		CHECK_EQ(s.ctime, w.ctime);
	}
	ipcc_msq_iter_free(it);
	CHECK_EQ(found, 2);
	CHECK_OK(ipcc_msq_remove(id));
	CHECK_OK(ipcc_msq_remove(mine));
}

static void test_python_sysv_ipc(void)
{
	char script[1024], out[256];
	ipcc_msq *q = NULL;
	key_t key;
	int id = new_queue(&key, 0600);
	char buf[64];
	long t = 0;

	REQUIRE(id >= 0);
	if (!fx_python_has("sysv_ipc")) {
		msgctl(id, IPC_RMID, NULL);
		SKIP("python3 has no sysv_ipc");
	}
	REQUIRE_OK(ipcc_msq_open(id, &q));
	snprintf(script, sizeof(script),
	         "import sysv_ipc\n"
	         "q = sysv_ipc.MessageQueue(%d)\n"
	         "q.send(b'from python', type=3)\n", (int)key);
	REQUIRE_EQ(fx_python(script, out, sizeof(out)), 0);
	CHECK_EQ(ipcc_msq_receive(q, 0, buf, sizeof(buf), &t, IPCC_MSG_NOWAIT,
	                          NULL), 11);
	CHECK_EQ(t, 3);
	CHECK_MEM(buf, "from python", 11);
	CHECK_OK(ipcc_msq_send(q, 9, "to\npython", 9, 0, NULL));
	snprintf(script, sizeof(script),
	         "import sysv_ipc\n"
	         "q = sysv_ipc.MessageQueue(%d)\n"
	         "m, t = q.receive(block=False)\n"
	         "print(repr(m), t)\n", (int)key);
	REQUIRE_EQ(fx_python(script, out, sizeof(out)), 0);
	CHECK_STR(out, "b'to\\npython' 9\n");
	ipcc_msq_close(q);
	msgctl(id, IPC_RMID, NULL);
}

int main(void)
{
	fx_init();
	RUN(test_create_find_stat);
	RUN(test_send_exact_bytes);
	RUN(test_type_rules_vs_kernel);
	RUN(test_snapshot_takes_nothing);
	RUN(test_snapshot_big);
	RUN(test_emsgsize_keeps_message);
	RUN(test_blocked_receive_released);
	RUN(test_cancel_takes_nothing);
	RUN(test_eidrm);
	RUN(test_give_back_lands_last);
	RUN(test_set_perm);
	RUN(test_second_user);
	RUN(test_ipcmk_ipcs);
	RUN(test_python_sysv_ipc);
	return check_exit();
}

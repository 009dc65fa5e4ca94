/*
 * System V message queues: by key or msqid, snapshots that take nothing
 * (msgrcv MSG_COPY), and sends / receives that block cancellably.
 *
 * msgsnd and msgrcv have no timeout, so a blocking call cannot simply
 * wake up every IPCC_CANCEL_POLL_MS to look at its cancel hook.  It blocks
 * in the syscall and lets signals interrupt it: the canceller's own signal
 * (prompt), and a tick from a POSIX timer aimed at this thread alone
 * (SIGEV_THREAD_ID), which bounds the time a cancelling signal that landed
 * just before the syscall started can go unnoticed.  The timer exists only
 * while a call is actually blocked: the first attempt is always
 * IPC_NOWAIT, so a message that is there costs one syscall.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include "ipcc_int.h"

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

struct ipcc_msq {
	int msqid;
	size_t msgmax;          /* at open: first guess for receive buffers */
};

/* What msgsnd / msgrcv take: the type, then the bytes. */
struct frame {
	long mtype;
	char mtext[];
};

/* Retries of a give-back into a full queue, GIVE_BACK_STEP_MS apart. */
#define GIVE_BACK_MS 5000
#define GIVE_BACK_STEP_MS 5
/* Copies of a snapshot before a busy queue gets the last one. */
#define SNAPSHOT_TRIES 3

/* ---- ids, stat, create ---------------------------------------------- */

/* An id that was valid once reads EINVAL or EIDRM when gone. */
static int gone_to(int err, int as)
{
	return (err == EINVAL || err == EIDRM) ? -as : -err;
}


int ipcc_msq_ctl(int id, int cmd, void *ds)
{
	if (cmd == IPCC_SYSV_STAT_IDX) {
		cmd = MSG_STAT;
	} else if (cmd == IPCC_SYSV_STAT_ANY) {
#ifdef MSG_STAT_ANY
		cmd = MSG_STAT_ANY;
#else
		errno = EINVAL;
		return -1;
#endif
	}
	return msgctl(id, cmd, ds);
}

/* 0, -ENOENT if no such queue, or another -errno. */
static int stat_raw(int msqid, struct msqid_ds *ds)
{
	int err;

	if (msqid < 0)
		return -ENOENT;
	err = ipcc_sysv_stat(ipcc_msq_ctl, msqid, ds);
	return err ? gone_to(-err, ENOENT) : 0;
}

static void fill_stat(int msqid, const struct msqid_ds *ds,
                      struct ipcc_msq_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->key = IPCC_PERM_KEY(ds->msg_perm);
	st->msqid = msqid;
	st->mode = ds->msg_perm.mode & 0777;
	st->uid = ds->msg_perm.uid;
	st->gid = ds->msg_perm.gid;
	st->cuid = ds->msg_perm.cuid;
	st->cgid = ds->msg_perm.cgid;
	st->qnum = ds->msg_qnum;
	st->cbytes = ds->__msg_cbytes;
	st->qbytes = ds->msg_qbytes;
	st->lspid = ds->msg_lspid;
	st->lrpid = ds->msg_lrpid;
	st->stime = ds->msg_stime;
	st->rtime = ds->msg_rtime;
	st->ctime = ds->msg_ctime;
}

static int msq_get(key_t key, int flags, void *arg)
{
	(void)arg;
	return msgget(key, flags);
}

int ipcc_msq_create(key_t key, mode_t mode, unsigned flags, int *msqid,
                    int *created)
{
	if (flags & ~IPCC_MSQ_EXCL)
		return -EINVAL;
	return ipcc_sysv_create_or_open(msq_get, NULL, key, (int)(mode & 0777),
	                                (flags & IPCC_MSQ_EXCL) != 0, msqid,
	                                created);
}

int ipcc_msq_find(key_t key, int *msqid)
{
	int id;

	/* msgget(IPC_PRIVATE) would create a queue */
	if (key == IPC_PRIVATE)
		return -EINVAL;
	id = msgget(key, 0);
	if (id < 0)
		return -errno;
	*msqid = id;
	return 0;
}

int ipcc_msq_stat_id(int msqid, struct ipcc_msq_stat *st)
{
	struct msqid_ds ds;
	int err = stat_raw(msqid, &ds);

	if (err)
		return err;
	fill_stat(msqid, &ds, st);
	return 0;
}

int ipcc_msq_set(int msqid, mode_t mode, uid_t uid, gid_t gid)
{
	struct msqid_ds ds;
	int err = stat_raw(msqid, &ds);

	if (err)
		return err;
	if (mode != (mode_t)-1)
		ds.msg_perm.mode = (ds.msg_perm.mode & ~0777u) | (mode & 0777);
	if (uid != (uid_t)-1)
		ds.msg_perm.uid = uid;
	if (gid != (gid_t)-1)
		ds.msg_perm.gid = gid;
	/* msg_qbytes goes back as it was: IPC_SET sets it too */
	return msgctl(msqid, IPC_SET, &ds) < 0 ? gone_to(errno, ENOENT) : 0;
}

int ipcc_msq_remove(int msqid)
{
	if (msqid < 0)
		return -ENOENT;
	return msgctl(msqid, IPC_RMID, NULL) < 0 ? gone_to(errno, ENOENT) : 0;
}

int ipcc_msq_max(size_t *max)
{
	struct msginfo info;

	if (msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&info) < 0)
		return -errno;
	*max = info.msgmax > 0 ? (size_t)info.msgmax : 0;
	return 0;
}

/* ---- handles --------------------------------------------------------- */

int ipcc_msq_open(int msqid, ipcc_msq **out)
{
	struct msqid_ds ds;
	struct ipcc_msq *q;
	int err = stat_raw(msqid, &ds);

	if (err)
		return err;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->msqid = msqid;
	if (ipcc_msq_max(&q->msgmax) < 0 || q->msgmax == 0)
		q->msgmax = 8192;
	*out = q;
	return 0;
}

int ipcc_msq_open_key(key_t key, ipcc_msq **out)
{
	int msqid = -1;
	int err = ipcc_msq_find(key, &msqid);

	return err ? err : ipcc_msq_open(msqid, out);
}

void ipcc_msq_close(ipcc_msq *q)
{
	free(q);
}

int ipcc_msq_id(const ipcc_msq *q)
{
	return q->msqid;
}

int ipcc_msq_stat(const ipcc_msq *q, struct ipcc_msq_stat *st)
{
	int err = ipcc_msq_stat_id(q->msqid, st);

	return err == -ENOENT ? -EIDRM : err;
}

/* ---- snapshots -------------------------------------------------------- */

/* msgrcv(MSG_COPY)'s errno, as ipcc_msq_copy documents it. */
static int copy_err(int msqid, int err)
{
	struct msqid_ds ds;

	switch (err) {
	case ENOMSG:
		return -ENOMSG;
	case E2BIG:
		return -EMSGSIZE;
	case ENOSYS:
		return -ENOTSUP;
	case EIDRM:
		return -EIDRM;
	case EINVAL:
		/* still there: a message longer than today's msgmax */
		return stat_raw(msqid, &ds) == 0 ? -EOVERFLOW : -EIDRM;
	default:
		return -err;
	}
}

static struct frame *frame_new(size_t cap)
{
	return malloc(sizeof(struct frame) + (cap ? cap : 1));
}

ssize_t ipcc_msq_copy(const ipcc_msq *q, size_t index, void *buf, size_t cap,
                      long *type)
{
	struct frame *f;
	ssize_t n;

	if (index > LONG_MAX)
		return -ENOMSG;
	if (cap > INT_MAX)
		cap = INT_MAX;
	f = frame_new(cap);
	if (!f)
		return -ENOMEM;
	n = msgrcv(q->msqid, f, cap, (long)index, IPC_NOWAIT | MSG_COPY);
	if (n < 0) {
		n = copy_err(q->msqid, errno);
	} else {
		memcpy(buf, f->mtext, (size_t)n);
		if (type)
			*type = f->mtype;
	}
	free(f);
	return n;
}

static int same_queue_state(const struct msqid_ds *a, const struct msqid_ds *b)
{
	return a->msg_qnum == b->msg_qnum &&
	       a->__msg_cbytes == b->__msg_cbytes &&
	       a->msg_stime == b->msg_stime && a->msg_rtime == b->msg_rtime &&
	       a->msg_lspid == b->msg_lspid && a->msg_lrpid == b->msg_lrpid;
}

/* Appends n bytes to *out (length *len, room *cap). */
static int append(char **out, size_t *len, size_t *cap, const void *p,
                  size_t n)
{
	if (*len + n > *cap) {
		size_t want = *cap ? *cap : 256;
		char *grown;

		while (want < *len + n)
			want *= 2;
		grown = realloc(*out, want);
		if (!grown)
			return -ENOMEM;
		*out = grown;
		*cap = want;
	}
	memcpy(*out + *len, p, n);
	*len += n;
	return 0;
}

/* One pass over the queue, MSG_COPY by index, into *out. */
static int copy_all(const ipcc_msq *q, struct frame **f, size_t *fcap,
                    char **out, size_t *len, size_t *cap)
{
	*len = 0;
	for (long i = 0;; i++) {
		ssize_t n = msgrcv(q->msqid, *f, *fcap, i,
		                   IPC_NOWAIT | MSG_COPY);
		int err;

		if (n < 0 && errno == ENOMSG)
			return 0;
		if (n < 0 && errno == E2BIG && *fcap < INT_MAX / 2) {
			struct frame *g = realloc(*f, sizeof(struct frame) +
			                          *fcap * 2);

			if (!g)
				return -ENOMEM;
			*f = g;
			*fcap *= 2;
			i--;
			continue;
		}
		if (n < 0)
			return copy_err(q->msqid, errno);
		err = append(out, len, cap, (*f)->mtext, (size_t)n);
		if (err)
			return err;
	}
}

int ipcc_msq_snapshot(const ipcc_msq *q, void **data, size_t *len)
{
	struct msqid_ds before, after;
	size_t fcap = q->msgmax, cap = 0, n = 0;
	struct frame *f = frame_new(fcap);
	char *out = NULL;
	int err = 0;

	if (!f)
		return -ENOMEM;
	for (int tries = 0; tries < SNAPSHOT_TRIES; tries++) {
		err = stat_raw(q->msqid, &before);
		if (err)
			break;
		err = copy_all(q, &f, &fcap, &out, &n, &cap);
		if (err)
			break;
		err = stat_raw(q->msqid, &after);
		if (err || same_queue_state(&before, &after))
			break;
	}
	free(f);
	if (err == -ENOENT)
		err = -EIDRM;
	if (err) {
		free(out);
		return err;
	}
	if (n == 0) {
		free(out);
		out = NULL;
	}
	*data = out;
	*len = n;
	return 0;
}

/* ---- blocking -------------------------------------------------------- */

static pthread_once_t tick_once = PTHREAD_ONCE_INIT;
static int tick_ready;

int ipcc_msq_tick_signal(void)
{
	/* away from SIGRTMIN, where applications' own real-time signals go */
	return SIGRTMAX - 3;
}

static void tick_handler(int sig)
{
	(void)sig;
}

static void tick_install(void)
{
	int sig = ipcc_msq_tick_signal();
	struct sigaction old, sa;

	if (sigaction(sig, NULL, &old) < 0)
		return;
	if (!(old.sa_flags & SA_SIGINFO) &&
	    (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = tick_handler;
		sigemptyset(&sa.sa_mask);
		/* msgsnd / msgrcv never restart after a handler anyway */
		sa.sa_flags = 0;
		if (sigaction(sig, &sa, NULL) < 0)
			return;
	}
	tick_ready = 1;
}

struct tick {
	timer_t timer;
	sigset_t old_mask;
};

static int tick_start(struct tick *t)
{
	struct itimerspec its = {
		.it_interval = { IPCC_CANCEL_POLL_MS / 1000,
		                 (IPCC_CANCEL_POLL_MS % 1000) * 1000000L },
		.it_value = { IPCC_CANCEL_POLL_MS / 1000,
		              (IPCC_CANCEL_POLL_MS % 1000) * 1000000L },
	};
	struct sigevent sev;
	sigset_t set;

	pthread_once(&tick_once, tick_install);
	if (!tick_ready)
		return -ENOTSUP;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = ipcc_msq_tick_signal();
	sev.sigev_notify_thread_id = gettid();
	if (timer_create(CLOCK_MONOTONIC, &sev, &t->timer) < 0)
		return -errno;
	if (timer_settime(t->timer, 0, &its, NULL) < 0) {
		int err = -errno;

		timer_delete(t->timer);
		return err;
	}
	sigemptyset(&set);
	sigaddset(&set, ipcc_msq_tick_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, &t->old_mask);
	return 0;
}

static void tick_stop(struct tick *t)
{
	timer_delete(t->timer);
	/* a tick still pending is delivered, harmlessly, later */
	pthread_sigmask(SIG_SETMASK, &t->old_mask, NULL);
}

static int is_cancelled(const struct ipcc_cancel *c)
{
	return c && c->cancelled && c->cancelled(c->arg);
}

/*
 * One attempt of a send or receive: >= 0 done, -EAGAIN would block,
 * -EINTR interrupted, another -errno final.
 */
typedef ssize_t (*attempt_fn)(void *ctx, int nowait);

/* The blocking part, once an IPC_NOWAIT attempt said -EAGAIN. */
static ssize_t block(attempt_fn fn, void *ctx, const struct ipcc_cancel *c)
{
	struct tick t;
	ssize_t r;

	if (!c || !c->cancelled)
		return fn(ctx, 0);      /* a signal gives -EINTR at once */
	if (tick_start(&t) < 0) {
		/* no timer to be had: poll, the last resort */
		for (;;) {
			if (is_cancelled(c))
				return -EINTR;
			r = fn(ctx, 1);
			if (r != -EAGAIN)
				return r;
			ipcc_sleep_ms(20);
		}
	}
	for (;;) {
		if (is_cancelled(c)) {
			r = -EINTR;
			break;
		}
		r = fn(ctx, 0);
		if (r != -EINTR)
			break;
	}
	tick_stop(&t);
	return r;
}

/* ---- send ------------------------------------------------------------ */

struct send_ctx {
	int msqid;
	struct frame *f;
	size_t len;
};

static ssize_t send_attempt(void *arg, int nowait)
{
	struct send_ctx *s = arg;
	size_t max;

	if (msgsnd(s->msqid, s->f, s->len, nowait ? IPC_NOWAIT : 0) == 0)
		return 0;
	switch (errno) {
	case EAGAIN:
	case EINTR:
	case EIDRM:
		return -errno;
	case EINVAL:
		/* the type is checked before: too long, or no such queue */
		if (ipcc_msq_max(&max) == 0 && s->len > max)
			return -EMSGSIZE;
		return -EIDRM;
	default:
		return -errno;
	}
}

static int send_frame(int msqid, long type, const void *data, size_t len,
                      struct send_ctx *s)
{
	if (type < 1)
		return -EINVAL;
	if (len > INT_MAX)
		return -EMSGSIZE;
	s->msqid = msqid;
	s->len = len;
	s->f = frame_new(len);
	if (!s->f)
		return -ENOMEM;
	s->f->mtype = type;
	if (len)
		memcpy(s->f->mtext, data, len);
	return 0;
}

int ipcc_msq_send(ipcc_msq *q, long type, const void *data, size_t len,
                  unsigned flags, const struct ipcc_cancel *cancel)
{
	struct send_ctx s;
	struct msqid_ds ds;
	ssize_t r;
	int err;

	if (is_cancelled(cancel))
		return -EINTR;
	err = send_frame(q->msqid, type, data, len, &s);
	if (err)
		return err;
	r = send_attempt(&s, 1);
	if (r == -EAGAIN) {
		/* a message over the queue's limit would wait for ever */
		err = stat_raw(q->msqid, &ds);
		if (err)
			r = err == -ENOENT ? -EIDRM : err;
		else if (len > ds.msg_qbytes)
			r = -EMSGSIZE;
		else if (!(flags & IPCC_MSG_NOWAIT))
			r = block(send_attempt, &s, cancel);
	}
	free(s.f);
	return (int)r;
}

int ipcc_msq_give_back(ipcc_msq *q, long type, const void *data, size_t len)
{
	struct send_ctx s;
	ssize_t r;
	int err = send_frame(q->msqid, type, data, len, &s);

	if (err)
		return err;
	for (unsigned waited = 0;; waited += GIVE_BACK_STEP_MS) {
		r = send_attempt(&s, 1);
		if ((r != -EAGAIN && r != -EINTR) || waited >= GIVE_BACK_MS)
			break;
		ipcc_sleep_ms(GIVE_BACK_STEP_MS);
	}
	free(s.f);
	return (int)r;
}

/* ---- receive --------------------------------------------------------- */

struct recv_ctx {
	int msqid;
	long type;
	struct frame *f;
	size_t fcap;
};

static ssize_t recv_attempt(void *arg, int nowait)
{
	struct recv_ctx *r = arg;
	ssize_t n = msgrcv(r->msqid, r->f, r->fcap, r->type,
	                   nowait ? IPC_NOWAIT : 0);

	if (n >= 0)
		return n;
	switch (errno) {
	case ENOMSG:
		return -EAGAIN;
	case E2BIG:
		return -EMSGSIZE;
	case EINVAL:
	case EIDRM:
		return -EIDRM;
	default:
		return -errno;
	}
}

ssize_t ipcc_msq_receive(ipcc_msq *q, long type, void *buf, size_t cap,
                         long *mtype, unsigned flags,
                         const struct ipcc_cancel *cancel)
{
	struct recv_ctx r = { .msqid = q->msqid, .type = type };
	ssize_t n;

	if (is_cancelled(cancel))
		return -EINTR;
	if (cap > INT_MAX)
		cap = INT_MAX;
	/*
	 * A buffer as big as the longest message the kernel takes today is
	 * enough but for a message sent before msgmax was lowered: E2BIG
	 * then sends us round once more with all of cap.
	 */
	r.fcap = cap < q->msgmax ? cap : q->msgmax;
	for (;;) {
		r.f = frame_new(r.fcap);
		if (!r.f)
			return -ENOMEM;
		n = recv_attempt(&r, 1);
		if (n == -EAGAIN && !(flags & IPCC_MSG_NOWAIT))
			n = block(recv_attempt, &r, cancel);
		if (n != -EMSGSIZE || r.fcap == cap)
			break;
		free(r.f);
		r.fcap = cap;
	}
	if (n >= 0) {
		memcpy(buf, r.f->mtext, (size_t)n);
		if (mtype)
			*mtype = r.f->mtype;
	}
	free(r.f);
	return n;
}

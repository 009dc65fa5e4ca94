/*
 * Operations that may block (semaphore waits, queue receives and sends)
 * run in pooled threads of their own, so that the FUSE workers stay free
 * for everything else; the job replies from there.
 *
 * Cancelling: the kernel's FUSE_INTERRUPT (Ctrl-C, SIGTERM, SIGKILL of
 * the caller) reaches interrupt_cb, which marks the job and sends SIGUSR1
 * to its thread; the handler does nothing, but the blocking call returns
 * EINTR having taken nothing, and core then asks the cancel hook.  A
 * signal that lands just before the call blocks is lost, so the kicker
 * thread sends it again every KICK_MS to each job marked and not done.
 * Nothing polls while nothing is cancelled: thousands of blocked jobs
 * cost no CPU (core's own poll, IPCC_CANCEL_POLL_MS, is a safety net).
 *
 * Bounds: each blocked job holds a thread, so one user could otherwise
 * take every PID of the machine through an allow_other mount.  Jobs are
 * counted in total and per user (root: in total only); past a bound a
 * job is refused (EBUSY) before it takes anything.
 *
 * The threads are pooled: starting one costs about as much as a FUSE
 * round trip, and a ping-pong between two processes waits twice per
 * exchange.  Idle ones linger a little, then end.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

/* How often a cancelled job still running is signalled again. */
#define KICK_MS 100

/* Idle pool threads kept at most, and how long each stays idle. */
#define POOL_IDLE_MAX 4
#define POOL_IDLE_SEC 2

#if defined(__SANITIZE_ADDRESS__)
#define WAITER_STACK (1u << 20)         /* sanitizers need more room */
#else
#define WAITER_STACK (128u << 10)
#endif

struct user_count {
	uid_t uid;
	unsigned count;
	struct user_count *next;
};

struct waiter {
	struct fs_waiters *pool;
	struct fs_job *job;
	fuse_req_t req;
	struct user_count *user;        /* counted against this user */

	pthread_mutex_t lock;   /* guards thread, started, done */
	pthread_t thread;
	int started;            /* thread is valid */
	int done;               /* no more signals: the thread replies */
	atomic_int cancelled;

	struct waiter *prev, *next;     /* in all */
	struct waiter *queued;          /* in the run queue */
};

struct fs_waiters {
	unsigned max, user_max;

	pthread_mutex_t all_lock;       /* the fields down to the kicker's */
	pthread_cond_t all_gone;
	struct waiter *all;
	unsigned count;
	struct user_count *users;
	int shutting_down;
	unsigned cancelled;             /* jobs in all marked cancelled */
	pthread_cond_t kick;            /* cancelled went above 0, or stop */
	pthread_t kicker;
	int kicker_started, kicker_stop;

	pthread_mutex_t pool_lock;      /* the queue and the thread counts */
	pthread_cond_t work;
	pthread_cond_t threads_gone;
	struct waiter *head, *tail;
	unsigned queued, idle, threads;
	int stopping;
};

static void wake_handler(int sig)
{
	(void)sig;
}

int fs_waiters_new(const struct fs_config *conf, struct fs_waiters **out)
{
	struct fs_waiters *p;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: the blocking call must return EINTR */
	sa.sa_flags = 0;
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return -errno;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->max = conf->waiters_max;
	p->user_max = conf->waiters_user_max;
	pthread_mutex_init(&p->all_lock, NULL);
	pthread_cond_init(&p->all_gone, NULL);
	pthread_mutex_init(&p->pool_lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->threads_gone, NULL);
	pthread_cond_init(&p->kick, NULL);
	*out = p;
	return 0;
}

/* all_lock and w->lock held. */
static void cancel_locked(struct fs_waiters *p, struct waiter *w)
{
	if (!atomic_exchange(&w->cancelled, 1) && p->cancelled++ == 0)
		pthread_cond_signal(&p->kick);
	if (w->started && !w->done)
		pthread_kill(w->thread, SIGUSR1);
}

/* Called by libfuse with the request's lock held. */
static void interrupt_cb(fuse_req_t req, void *data)
{
	struct waiter *w = data;
	struct fs_waiters *p = w->pool;

	(void)req;
	pthread_mutex_lock(&p->all_lock);
	pthread_mutex_lock(&w->lock);
	cancel_locked(p, w);
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_unlock(&p->all_lock);
}

/* Signals again, every KICK_MS, the cancelled jobs still running. */
static void *kicker_main(void *arg)
{
	struct fs_waiters *p = arg;
	struct timespec until;
	sigset_t set;

	sigfillset(&set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	pthread_mutex_lock(&p->all_lock);
	while (!p->kicker_stop) {
		if (p->cancelled == 0) {
			pthread_cond_wait(&p->kick, &p->all_lock);
			continue;
		}
		for (struct waiter *w = p->all; w; w = w->next) {
			if (!atomic_load(&w->cancelled))
				continue;
			pthread_mutex_lock(&w->lock);
			if (w->started && !w->done)
				pthread_kill(w->thread, SIGUSR1);
			pthread_mutex_unlock(&w->lock);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += KICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->kick, &p->all_lock, &until);
	}
	pthread_mutex_unlock(&p->all_lock);
	return NULL;
}

static int is_cancelled(void *arg)
{
	return atomic_load(&((struct waiter *)arg)->cancelled);
}

/* all_lock held: counts w in, or -EBUSY past a bound. */
static int count_in(struct fs_waiters *p, struct waiter *w, uid_t uid)
{
	struct user_count *u;

	for (u = p->users; u; u = u->next)
		if (u->uid == uid)
			break;
	/* root, who could stop the daemon anyway, has the total bound only */
	if (p->count >= p->max || (uid != 0 && u && u->count >= p->user_max))
		return -EBUSY;
	if (!u) {
		if (uid != 0 && p->user_max == 0)
			return -EBUSY;
		u = calloc(1, sizeof(*u));
		if (!u)
			return -ENOMEM;
		u->uid = uid;
		u->next = p->users;
		p->users = u;
	}
	u->count++;
	p->count++;
	w->user = u;
	w->next = p->all;
	if (p->all)
		p->all->prev = w;
	p->all = w;
	return 0;
}

/* all_lock held. */
static void count_out(struct fs_waiters *p, struct waiter *w)
{
	struct user_count **pp;

	if (w->prev)
		w->prev->next = w->next;
	else
		p->all = w->next;
	if (w->next)
		w->next->prev = w->prev;
	assert(p->count > 0 && w->user->count > 0);
	p->count--;
	if (atomic_load(&w->cancelled)) {
		assert(p->cancelled > 0);
		p->cancelled--;
	}
	if (--w->user->count == 0) {
		for (pp = &p->users; *pp != w->user; pp = &(*pp)->next)
			;
		*pp = w->user->next;
		free(w->user);
	}
	if (!p->all)
		pthread_cond_broadcast(&p->all_gone);
}

static void waiter_free(struct waiter *w)
{
	struct fs_waiters *p = w->pool;

	pthread_mutex_lock(&p->all_lock);
	count_out(p, w);
	pthread_mutex_unlock(&p->all_lock);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

/* In a pool thread, with every signal blocked: runs w, replies, frees w. */
static void waiter_run(struct waiter *w)
{
	struct ipcc_cancel cancel = { is_cancelled, w };
	sigset_t set;
	int result;

	pthread_mutex_lock(&w->lock);
	w->thread = pthread_self();
	w->started = 1;
	pthread_mutex_unlock(&w->lock);
	/*
	 * Only our wake-up signal: the daemon's own go to other threads.  One
	 * meant for the previous job of this thread, still pending, is taken
	 * here, before anything blocks.
	 */
	sigfillset(&set);
	sigdelset(&set, SIGUSR1);
	pthread_sigmask(SIG_SETMASK, &set, NULL);

	result = w->job->run(w->job, &cancel);

	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_mutex_unlock(&w->lock);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	/*
	 * Takes the request's lock, so an interrupt_cb still running on w
	 * has finished, and none can start: w may go after the reply.
	 */
	fuse_req_interrupt_func(w->req, NULL, NULL);
	w->job->reply(w->job, w->req, result);
	w->job->free(w->job);
	waiter_free(w);
}

static void *pool_main(void *arg)
{
	struct fs_waiters *p = arg;
	struct timespec until;
	sigset_t set;
	struct waiter *w;

	sigfillset(&set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	pthread_mutex_lock(&p->pool_lock);
	for (;;) {
		while (!p->head && !p->stopping) {
			int rc;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += POOL_IDLE_SEC;
			p->idle++;
			rc = pthread_cond_timedwait(&p->work, &p->pool_lock,
			                            &until);
			p->idle--;
			if (rc == ETIMEDOUT && !p->head)
				goto out;
		}
		w = p->head;
		if (!w)
			break;
		p->head = w->queued;
		if (!p->head)
			p->tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->pool_lock);
		waiter_run(w);
		pthread_mutex_lock(&p->pool_lock);
		if (p->idle >= POOL_IDLE_MAX)
			break;
	}
out:
	if (--p->threads == 0)
		pthread_cond_broadcast(&p->threads_gone);
	pthread_mutex_unlock(&p->pool_lock);
	return NULL;
}

/* Queues w for a pool thread, starting one if none is free to take it. */
static int pool_submit(struct fs_waiters *p, struct waiter *w)
{
	pthread_attr_t attr;
	pthread_t t;
	int err = 0;

	pthread_mutex_lock(&p->pool_lock);
	w->queued = NULL;
	if (p->tail)
		p->tail->queued = w;
	else
		p->head = w;
	p->tail = w;
	p->queued++;
	if (p->idle >= p->queued) {
		pthread_cond_signal(&p->work);
		goto out;
	}
	err = pthread_attr_init(&attr);
	if (!err) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, WAITER_STACK);
		err = pthread_create(&t, &attr, pool_main, p);
		pthread_attr_destroy(&attr);
	}
	if (!err) {
		p->threads++;
		goto out;
	}
	/* nobody would take it: a busy thread may block for ever */
	if (p->head == w) {
		p->head = p->tail = NULL;
	} else {
		struct waiter *q = p->head;

		while (q->queued != w)
			q = q->queued;
		q->queued = NULL;
		p->tail = q;
	}
	p->queued--;
out:
	pthread_mutex_unlock(&p->pool_lock);
	return -err;
}

int fs_job_start(fuse_req_t req, struct fs_job *job)
{
	struct fs_waiters *p = fs_state_of(req)->waiters;
	struct waiter *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->pool = p;
	w->job = job;
	w->req = req;
	pthread_mutex_init(&w->lock, NULL);

	pthread_mutex_lock(&p->all_lock);
	err = p->shutting_down ? -EINTR :
	      count_in(p, w, fuse_req_ctx(req)->uid);
	/* the first blocking job starts the kicker, which stays */
	if (!err && !p->kicker_started) {
		err = -pthread_create(&p->kicker, NULL, kicker_main, p);
		if (err)
			count_out(p, w);
		else
			p->kicker_started = 1;
	}
	pthread_mutex_unlock(&p->all_lock);
	if (err) {
		pthread_mutex_destroy(&w->lock);
		free(w);
		return err;
	}

	/* may call interrupt_cb at once if the interrupt came already */
	fuse_req_interrupt_func(req, interrupt_cb, w);

	err = pool_submit(p, w);
	if (!err)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_mutex_unlock(&w->lock);
	fuse_req_interrupt_func(req, NULL, NULL);
	waiter_free(w);
	return err;
}

void fs_waiters_shutdown(struct fs_waiters *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->all_lock);
	p->shutting_down = 1;
	for (struct waiter *w = p->all; w; w = w->next) {
		pthread_mutex_lock(&w->lock);
		cancel_locked(p, w);
		pthread_mutex_unlock(&w->lock);
	}
	while (p->all)
		pthread_cond_wait(&p->all_gone, &p->all_lock);
	p->kicker_stop = 1;
	pthread_cond_signal(&p->kick);
	pthread_mutex_unlock(&p->all_lock);
	if (p->kicker_started)
		pthread_join(p->kicker, NULL);

	pthread_mutex_lock(&p->pool_lock);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	while (p->threads)
		pthread_cond_wait(&p->threads_gone, &p->pool_lock);
	pthread_mutex_unlock(&p->pool_lock);
}

void fs_waiters_free(struct fs_waiters *p)
{
	if (!p)
		return;
	assert(!p->all && !p->threads && !p->users);
	pthread_mutex_destroy(&p->all_lock);
	pthread_cond_destroy(&p->all_gone);
	pthread_mutex_destroy(&p->pool_lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->threads_gone);
	pthread_cond_destroy(&p->kick);
	free(p);
}

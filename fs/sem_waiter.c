/*
 * Semaphore writes that may block run in a thread of their own, so that
 * the FUSE workers stay free for everything else; the thread replies.
 *
 * Cancelling: the kernel's FUSE_INTERRUPT (Ctrl-C, SIGTERM, SIGKILL of the
 * writer) reaches interrupt_cb, which marks the waiter and sends SIGUSR1
 * to its thread; the signal's handler does nothing, but the semop in
 * progress returns EINTR having taken nothing.  A signal that lands just
 * before the semop starts is not lost for long: the thread waits in short
 * chunks and looks at the mark between them.
 *
 * The threads are pooled: starting one costs about as much as a FUSE round
 * trip, and a ping-pong between two processes waits twice per exchange.
 * Idle ones linger a little, then end, so a burst of waiters leaves no
 * threads behind.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "nodes.h"

/* Longest single wait before the cancel mark is looked at again. */
#define CHUNK_NS 250000000L

/* Idle pool threads kept at most, and how long each stays idle. */
#define POOL_IDLE_MAX 4
#define POOL_IDLE_SEC 2

#if defined(__SANITIZE_ADDRESS__)
#define WAITER_STACK (1u << 20)         /* sanitizers need more room */
#else
#define WAITER_STACK (128u << 10)
#endif

struct waiter {
	fuse_req_t req;
	struct fs_node *node;   /* held: the writer may be gone before us */
	ipcc_sem *sem;
	size_t size;            /* replied on success */
	size_t count;
	struct ipcc_sem_cmd cmds[IPCC_SEM_CMD_MAX];

	pthread_mutex_t lock;   /* guards the three flags and thread */
	pthread_t thread;
	int started;            /* thread is valid */
	int done;               /* no more signals: the thread replies */
	int cancelled;

	struct waiter *prev, *next;     /* in all_waiters */
	struct waiter *queued;          /* in the pool's queue */
};

static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_gone = PTHREAD_COND_INITIALIZER;
static struct waiter *all_waiters;
static int shutting_down;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_gone = PTHREAD_COND_INITIALIZER;
static struct waiter *queue_head, *queue_tail;
static unsigned pool_queued, pool_idle, pool_threads;
static int pool_stopping;

static void wake_handler(int sig)
{
	(void)sig;
}

int fs_waiters_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_handler;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: the semop must return EINTR */
	sa.sa_flags = 0;
	return sigaction(SIGUSR1, &sa, NULL) < 0 ? -errno : 0;
}

/* w->lock held. */
static void cancel_locked(struct waiter *w)
{
	w->cancelled = 1;
	if (w->started && !w->done)
		pthread_kill(w->thread, SIGUSR1);
}

/* Called by libfuse with the request's lock held. */
static void interrupt_cb(fuse_req_t req, void *data)
{
	struct waiter *w = data;

	(void)req;
	pthread_mutex_lock(&w->lock);
	cancel_locked(w);
	pthread_mutex_unlock(&w->lock);
}

static int is_cancelled(struct waiter *w)
{
	int c;

	pthread_mutex_lock(&w->lock);
	c = w->cancelled;
	pthread_mutex_unlock(&w->lock);
	return c;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * wait / timedwait in chunks.  deadline_ns < 0: no limit.  A cancelled or
 * timed-out wait takes nothing: each chunk is one atomic semop.
 */
static int chunked_wait(struct waiter *w, unsigned n, int64_t deadline_ns)
{
	for (;;) {
		struct timespec chunk = { 0, CHUNK_NS };
		int err;

		if (is_cancelled(w))
			return -EINTR;
		if (deadline_ns >= 0) {
			int64_t left = deadline_ns - now_ns();

			if (left <= 0) {
				err = ipcc_sem_trywait(w->sem, n);
				return err == -EAGAIN ? -ETIMEDOUT : err;
			}
			if (left < CHUNK_NS)
				chunk.tv_nsec = (long)left;
		}
		err = ipcc_sem_wait(w->sem, n, &chunk);
		if (err != -ETIMEDOUT && err != -EAGAIN && err != -EINTR)
			return err;
	}
}

static int run_cmd(struct waiter *w, const struct ipcc_sem_cmd *c)
{
	int64_t deadline;

	switch (c->op) {
	case IPCC_SEM_OP_WAIT:
		return chunked_wait(w, c->n, -1);
	case IPCC_SEM_OP_TIMEDWAIT:
		deadline = now_ns() + (int64_t)c->timeout.tv_sec * 1000000000 +
		           c->timeout.tv_nsec;
		return chunked_wait(w, 1, deadline);
	default:
		return ipcc_sem_cmd_run(w->sem, c);
	}
}

static unsigned taken_by(const struct ipcc_sem_cmd *c)
{
	switch (c->op) {
	case IPCC_SEM_OP_WAIT:
	case IPCC_SEM_OP_TRYWAIT:
		return c->n;
	case IPCC_SEM_OP_TIMEDWAIT:
		return 1;
	default:
		return 0;
	}
}

static void waiter_free(struct waiter *w)
{
	pthread_mutex_lock(&all_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		all_waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	if (!all_waiters)
		pthread_cond_broadcast(&all_gone);
	pthread_mutex_unlock(&all_lock);
	pthread_mutex_destroy(&w->lock);
	fs_node_put(w->node);
	free(w);
}

/* In a pool thread, with every signal blocked: runs w, replies, frees w. */
static void waiter_run(struct waiter *w)
{
	sigset_t set;
	unsigned taken = 0;
	int err = 0;

	pthread_mutex_lock(&w->lock);
	w->thread = pthread_self();
	w->started = 1;
	pthread_mutex_unlock(&w->lock);
	/*
	 * Only our wake-up signal: the daemon's own go to other threads.  One
	 * meant for the previous waiter of this thread, still pending, is
	 * taken here, before any semop.
	 */
	sigfillset(&set);
	sigdelset(&set, SIGUSR1);
	pthread_sigmask(SIG_SETMASK, &set, NULL);

	for (size_t i = 0; i < w->count && !err; i++) {
		err = run_cmd(w, &w->cmds[i]);
		if (!err)
			taken += taken_by(&w->cmds[i]);
	}

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

	if (err) {
		fuse_reply_err(w->req, -err);
	} else if (fuse_reply_write(w->req, w->size) != 0 && taken) {
		/* the writer is gone and never learns it took: give it back */
		ipcc_sem_post(w->sem, taken);
	}
	waiter_free(w);
}

static void *pool_main(void *arg)
{
	sigset_t set;
	struct timespec until;
	struct waiter *w;

	(void)arg;
	sigfillset(&set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		while (!queue_head && !pool_stopping) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += POOL_IDLE_SEC;
			pool_idle++;
			int rc = pthread_cond_timedwait(&pool_work, &pool_lock,
			                                &until);
			pool_idle--;
			if (rc == ETIMEDOUT && !queue_head)
				goto out;
		}
		w = queue_head;
		if (!w)
			break;
		queue_head = w->queued;
		if (!queue_head)
			queue_tail = NULL;
		pool_queued--;
		pthread_mutex_unlock(&pool_lock);
		waiter_run(w);
		pthread_mutex_lock(&pool_lock);
		if (pool_idle >= POOL_IDLE_MAX)
			break;
	}
out:
	if (--pool_threads == 0)
		pthread_cond_broadcast(&pool_gone);
	pthread_mutex_unlock(&pool_lock);
	return NULL;
}

/* Queues w for a pool thread, starting one if none is free to take it. */
static int pool_submit(struct waiter *w)
{
	pthread_attr_t attr;
	pthread_t t;
	int err = 0;

	pthread_mutex_lock(&pool_lock);
	w->queued = NULL;
	if (queue_tail)
		queue_tail->queued = w;
	else
		queue_head = w;
	queue_tail = w;
	pool_queued++;
	if (pool_idle >= pool_queued) {
		pthread_cond_signal(&pool_work);
		goto out;
	}
	err = pthread_attr_init(&attr);
	if (!err) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, WAITER_STACK);
		err = pthread_create(&t, &attr, pool_main, NULL);
		pthread_attr_destroy(&attr);
	}
	if (!err) {
		pool_threads++;
		goto out;
	}
	/* nobody would take it: a busy thread may block for ever */
	if (queue_head == w) {
		queue_head = queue_tail = NULL;
	} else {
		struct waiter *p = queue_head;

		while (p->queued != w)
			p = p->queued;
		p->queued = NULL;
		queue_tail = p;
	}
	pool_queued--;
out:
	pthread_mutex_unlock(&pool_lock);
	return -err;
}

int fs_waiter_start(fuse_req_t req, struct fs_node *node,
                    const struct ipcc_sem_cmd *cmds, size_t count,
                    size_t size)
{
	struct waiter *w;
	int err;

	if (count > IPCC_SEM_CMD_MAX)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->req = req;
	w->node = node;
	w->sem = node->sem;
	w->size = size;
	w->count = count;
	memcpy(w->cmds, cmds, count * sizeof(*cmds));
	pthread_mutex_init(&w->lock, NULL);
	fs_node_hold(node);

	pthread_mutex_lock(&all_lock);
	if (shutting_down) {
		pthread_mutex_unlock(&all_lock);
		pthread_mutex_destroy(&w->lock);
		fs_node_put(node);
		free(w);
		return -EINTR;
	}
	w->next = all_waiters;
	if (all_waiters)
		all_waiters->prev = w;
	all_waiters = w;
	pthread_mutex_unlock(&all_lock);

	/* may call interrupt_cb at once if the interrupt came already */
	fuse_req_interrupt_func(req, interrupt_cb, w);

	err = pool_submit(w);
	if (!err)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	pthread_mutex_unlock(&w->lock);
	fuse_req_interrupt_func(req, NULL, NULL);
	waiter_free(w);
	return err;
}

void fs_waiters_shutdown(void)
{
	pthread_mutex_lock(&all_lock);
	shutting_down = 1;
	for (struct waiter *w = all_waiters; w; w = w->next) {
		pthread_mutex_lock(&w->lock);
		cancel_locked(w);
		pthread_mutex_unlock(&w->lock);
	}
	while (all_waiters)
		pthread_cond_wait(&all_gone, &all_lock);
	pthread_mutex_unlock(&all_lock);

	pthread_mutex_lock(&pool_lock);
	pool_stopping = 1;
	pthread_cond_broadcast(&pool_work);
	while (pool_threads)
		pthread_cond_wait(&pool_gone, &pool_lock);
	pthread_mutex_unlock(&pool_lock);
}

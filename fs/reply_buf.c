/*
 * Scratch buffers for replies that cannot come straight from an object's
 * memory (POSIX reads without splice, reads of a segment still being
 * created, directory listings).
 *
 * Small ones are kept per worker thread.  Large ones (up to max_write, a
 * MiB) come from a pool of at most POOL_MAX kept buffers, beyond that from
 * mmap and back to munmap: a per-thread MiB would leave the daemon's
 * private memory growing with every worker that ever served a large read,
 * and malloc keeps what it is given back.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "fs.h"

#define SMALL_MAX (128u << 10)
#define BIG_MAX FS_MAX_WRITE
#define POOL_MAX 2

enum { BUF_SMALL, BUF_BIG, BUF_MAPPED };

/* In front of every buffer; 64 bytes keep the data aligned for anything. */
union hdr {
	struct {
		size_t len;     /* of the whole allocation */
		int kind;
	} h;
	char pad[64];
};

static pthread_key_t small_key;
static pthread_once_t small_once = PTHREAD_ONCE_INIT;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static union hdr *pool[POOL_MAX];
static unsigned pool_count;

static void small_key_init(void)
{
	pthread_key_create(&small_key, free);
}

static void *small_get(void)
{
	union hdr *b;

	pthread_once(&small_once, small_key_init);
	b = pthread_getspecific(small_key);
	if (!b) {
		b = malloc(sizeof(*b) + SMALL_MAX);
		if (!b)
			return NULL;
		b->h.len = sizeof(*b) + SMALL_MAX;
		b->h.kind = BUF_SMALL;
		pthread_setspecific(small_key, b);
	}
	return b + 1;
}

static union hdr *map(size_t len, int kind)
{
	union hdr *b = mmap(NULL, len, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (b == MAP_FAILED)
		return NULL;
	b->h.len = len;
	b->h.kind = kind;
	return b;
}

void *fs_buf_get(size_t size)
{
	union hdr *b = NULL;

	if (size <= SMALL_MAX)
		return small_get();
	if (size > BIG_MAX) {
		b = map(sizeof(*b) + size, BUF_MAPPED);
		return b ? b + 1 : NULL;
	}
	pthread_mutex_lock(&pool_lock);
	if (pool_count)
		b = pool[--pool_count];
	pthread_mutex_unlock(&pool_lock);
	if (!b)
		b = map(sizeof(*b) + BIG_MAX, BUF_BIG);
	return b ? b + 1 : NULL;
}

void fs_buf_put(void *buf)
{
	union hdr *b;

	if (!buf)
		return;
	b = (union hdr *)buf - 1;
	if (b->h.kind == BUF_SMALL)
		return;
	if (b->h.kind == BUF_BIG) {
		pthread_mutex_lock(&pool_lock);
		if (pool_count < POOL_MAX) {
			pool[pool_count++] = b;
			b = NULL;
		}
		pthread_mutex_unlock(&pool_lock);
	}
	if (b)
		munmap(b, b->h.len);
}

void fs_buf_free_all(void)
{
	pthread_once(&small_once, small_key_init);
	free(pthread_getspecific(small_key));
	pthread_setspecific(small_key, NULL);
	pthread_mutex_lock(&pool_lock);
	while (pool_count) {
		union hdr *b = pool[--pool_count];

		munmap(b, b->h.len);
	}
	pthread_mutex_unlock(&pool_lock);
}

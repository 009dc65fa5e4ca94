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
#include <errno.h>
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

struct fs_bufs {
	pthread_key_t small_key;        /* each worker's small buffer */
	pthread_mutex_t lock;
	union hdr *pool[POOL_MAX];
	unsigned pool_count;
};

int fs_bufs_new(struct fs_bufs **out)
{
	struct fs_bufs *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	err = pthread_key_create(&b->small_key, free);
	if (err) {
		free(b);
		return -err;
	}
	pthread_mutex_init(&b->lock, NULL);
	*out = b;
	return 0;
}

static void *small_get(struct fs_bufs *bufs)
{
	union hdr *b;

	b = pthread_getspecific(bufs->small_key);
	if (!b) {
		b = malloc(sizeof(*b) + SMALL_MAX);
		if (!b)
			return NULL;
		b->h.len = sizeof(*b) + SMALL_MAX;
		b->h.kind = BUF_SMALL;
		pthread_setspecific(bufs->small_key, b);
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

void *fs_buf_get(struct fs_state *s, size_t size)
{
	struct fs_bufs *bufs = s->bufs;
	union hdr *b = NULL;

	if (size <= SMALL_MAX)
		return small_get(bufs);
	if (size > BIG_MAX) {
		b = map(sizeof(*b) + size, BUF_MAPPED);
		return b ? b + 1 : NULL;
	}
	pthread_mutex_lock(&bufs->lock);
	if (bufs->pool_count)
		b = bufs->pool[--bufs->pool_count];
	pthread_mutex_unlock(&bufs->lock);
	if (!b)
		b = map(sizeof(*b) + BIG_MAX, BUF_BIG);
	return b ? b + 1 : NULL;
}

void fs_buf_put(struct fs_state *s, void *buf)
{
	struct fs_bufs *bufs = s->bufs;
	union hdr *b;

	if (!buf)
		return;
	b = (union hdr *)buf - 1;
	if (b->h.kind == BUF_SMALL)
		return;
	if (b->h.kind == BUF_BIG) {
		pthread_mutex_lock(&bufs->lock);
		if (bufs->pool_count < POOL_MAX) {
			bufs->pool[bufs->pool_count++] = b;
			b = NULL;
		}
		pthread_mutex_unlock(&bufs->lock);
	}
	if (b)
		munmap(b, b->h.len);
}

/* At exit, from the thread that ran the session. */
void fs_bufs_free(struct fs_bufs *bufs)
{
	if (!bufs)
		return;
	free(pthread_getspecific(bufs->small_key));
	pthread_setspecific(bufs->small_key, NULL);
	while (bufs->pool_count) {
		union hdr *b = bufs->pool[--bufs->pool_count];

		munmap(b, b->h.len);
	}
	pthread_key_delete(bufs->small_key);
	pthread_mutex_destroy(&bufs->lock);
	free(bufs);
}

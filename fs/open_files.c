/*
 * Every file and directory handle ipcfs has handed out.  The kernel
 * releases them all before an unmount, but not when the daemon is stopped
 * by a signal with files still open: those are dropped here at exit, so
 * that no attachment or descriptor outlives the session (and leak checks
 * stay clean).
 */
#include <pthread.h>

#include "fs.h"

static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fs_open head = { &head, &head, NULL };

void fs_open_add(struct fs_open *o, void (*drop)(struct fs_open *))
{
	o->drop = drop;
	pthread_mutex_lock(&open_lock);
	o->next = &head;
	o->prev = head.prev;
	head.prev->next = o;
	head.prev = o;
	pthread_mutex_unlock(&open_lock);
}

void fs_open_del(struct fs_open *o)
{
	pthread_mutex_lock(&open_lock);
	o->prev->next = o->next;
	o->next->prev = o->prev;
	o->prev = o->next = o;
	pthread_mutex_unlock(&open_lock);
}

void fs_open_drop_all(void)
{
	for (;;) {
		struct fs_open *o;

		pthread_mutex_lock(&open_lock);
		o = head.next;
		pthread_mutex_unlock(&open_lock);
		if (o == &head)
			return;
		/* drop unlinks it (through fs_open_del) and frees it */
		o->drop(o);
	}
}

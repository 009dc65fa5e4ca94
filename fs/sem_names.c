/*
 * Names of semaphores seen through ipcfs, by key.  The name-to-key hash
 * works one way only; this lets `ls sem/` show a set by the name it was
 * reached with instead of its key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define NBUCKETS 1024u

struct sem_name {
	key_t key;
	struct sem_name *next;
	char name[];
};

struct fs_sem_names {
	pthread_mutex_t lock;
	struct sem_name *buckets[NBUCKETS];
};

int fs_sem_names_new(struct fs_sem_names **out)
{
	struct fs_sem_names *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

static unsigned bucket(key_t key)
{
	return (uint32_t)key % NBUCKETS;
}

void fs_sem_names_remember(struct fs_sem_names *t, const char *name)
{
	key_t key = ipcc_sem_key(name);
	size_t len = strlen(name);
	struct sem_name **pp, *e;

	pthread_mutex_lock(&t->lock);
	for (pp = &t->buckets[bucket(key)]; *pp; pp = &(*pp)->next) {
		if ((*pp)->key != key)
			continue;
		if (strcmp((*pp)->name, name) == 0)
			goto out;
		/* another name with the same hash: the latest one wins */
		e = *pp;
		*pp = e->next;
		free(e);
		break;
	}
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		goto out;       /* only a nicer listing is lost */
	e->key = key;
	memcpy(e->name, name, len + 1);
	e->next = t->buckets[bucket(key)];
	t->buckets[bucket(key)] = e;
out:
	pthread_mutex_unlock(&t->lock);
}

int fs_sem_names_find(struct fs_sem_names *t, key_t key,
                      char buf[IPCC_NAME_MAX + 1])
{
	struct sem_name *e;
	int err = -ENOENT;

	pthread_mutex_lock(&t->lock);
	for (e = t->buckets[bucket(key)]; e; e = e->next) {
		if (e->key == key) {
			strcpy(buf, e->name);
			err = 0;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void fs_sem_names_free(struct fs_sem_names *t)
{
	if (!t)
		return;
	for (unsigned b = 0; b < NBUCKETS; b++) {
		while (t->buckets[b]) {
			struct sem_name *e = t->buckets[b];

			t->buckets[b] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

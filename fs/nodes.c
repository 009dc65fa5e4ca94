/*
 * The node table: two chained hash indexes over the same nodes, by id
 * (every node) and by name (POSIX nodes, whose id must be found again from
 * a name at the next lookup).  One mutex: every operation is short.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nodes.h"

#define NBUCKETS 4096u

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fs_node *by_id[NBUCKETS];
static struct fs_node *by_name[NBUCKETS];
static uint64_t next_posix = FS_POSIX_BASE;
static uint64_t next_sem = FS_SEM_BASE;

static unsigned id_bucket(uint64_t id)
{
	return (unsigned)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 52) % NBUCKETS;
}

static unsigned name_bucket(const char *name)
{
	return ipcc_fnv1a32(name, strlen(name)) % NBUCKETS;
}

static struct fs_node *node_alloc(const char *name)
{
	size_t len = strlen(name);
	struct fs_node *n = calloc(1, sizeof(*n) + len + 1);

	if (n)
		memcpy(n->name, name, len + 1);
	return n;
}

/* Table lock held. */
static void link_id(struct fs_node *n)
{
	unsigned b = id_bucket(n->id);

	n->id_next = by_id[b];
	by_id[b] = n;
}

struct fs_node *fs_node_posix_get(const char *name, ino_t ino)
{
	unsigned b = name_bucket(name);
	struct fs_node *n;

	pthread_mutex_lock(&table_lock);
	for (n = by_name[b]; n; n = n->name_next) {
		if (n->ino == ino && strcmp(n->name, name) == 0) {
			n->nlookup++;
			goto out;
		}
	}
	n = node_alloc(name);
	if (!n)
		goto out;
	n->kind = FS_KIND_POSIX;
	n->ino = ino;
	n->nlookup = 1;
	n->id = next_posix++;
	n->name_next = by_name[b];
	by_name[b] = n;
	link_id(n);
out:
	pthread_mutex_unlock(&table_lock);
	return n;
}

struct fs_node *fs_node_sem_new(const char *name, int by_key, ipcc_sem *sem)
{
	struct fs_node *n = node_alloc(name);

	if (!n)
		return NULL;
	n->kind = FS_KIND_SEM;
	n->sem = sem;
	n->by_key = by_key;
	n->nlookup = 1;
	pthread_mutex_lock(&table_lock);
	n->id = next_sem++;
	link_id(n);
	pthread_mutex_unlock(&table_lock);
	return n;
}

struct fs_node *fs_node_find(uint64_t id)
{
	struct fs_node *n;

	pthread_mutex_lock(&table_lock);
	for (n = by_id[id_bucket(id)]; n; n = n->id_next)
		if (n->id == id)
			break;
	pthread_mutex_unlock(&table_lock);
	return n;
}

/* Table lock held: takes n out of both indexes. */
static void unlink_node(struct fs_node *n)
{
	struct fs_node **pp;

	for (pp = &by_id[id_bucket(n->id)]; *pp; pp = &(*pp)->id_next) {
		if (*pp == n) {
			*pp = n->id_next;
			break;
		}
	}
	if (n->kind != FS_KIND_POSIX)
		return;
	for (pp = &by_name[name_bucket(n->name)]; *pp; pp = &(*pp)->name_next) {
		if (*pp == n) {
			*pp = n->name_next;
			break;
		}
	}
}

static void node_free(struct fs_node *n)
{
	ipcc_sem_close(n->sem);
	free(n);
}

void fs_node_forget(uint64_t id, uint64_t count)
{
	struct fs_node *n;

	pthread_mutex_lock(&table_lock);
	for (n = by_id[id_bucket(id)]; n; n = n->id_next)
		if (n->id == id)
			break;
	if (!n) {
		pthread_mutex_unlock(&table_lock);
		return;
	}
	if (n->nlookup > count) {
		n->nlookup -= count;
		pthread_mutex_unlock(&table_lock);
		return;
	}
	unlink_node(n);
	n->unlinked = 1;
	n->nlookup = 0;
	if (n->refs) {
		n = NULL;       /* the last fs_node_put frees it */
	}
	pthread_mutex_unlock(&table_lock);
	if (n)
		node_free(n);
}

void fs_node_hold(struct fs_node *n)
{
	pthread_mutex_lock(&table_lock);
	n->refs++;
	pthread_mutex_unlock(&table_lock);
}

void fs_node_put(struct fs_node *n)
{
	int last;

	pthread_mutex_lock(&table_lock);
	last = --n->refs == 0 && n->unlinked;
	pthread_mutex_unlock(&table_lock);
	if (last)
		node_free(n);
}

void fs_nodes_clear(void)
{
	pthread_mutex_lock(&table_lock);
	for (unsigned b = 0; b < NBUCKETS; b++) {
		struct fs_node *n = by_id[b];

		while (n) {
			struct fs_node *next = n->id_next;

			node_free(n);
			n = next;
		}
		by_id[b] = NULL;
		by_name[b] = NULL;
	}
	pthread_mutex_unlock(&table_lock);
}

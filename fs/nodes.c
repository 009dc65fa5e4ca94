/*
 * The node table: two chained hash indexes over the same nodes, by id
 * (every node) and by name (nodes found again from a name at the next
 * lookup).  One mutex: every operation is short.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nodes.h"

#define NBUCKETS 4096u
/* Kinds with a counter of their own; fs_kinds is far shorter. */
#define KINDS_MAX 16

struct fs_nodes {
	pthread_mutex_t lock;
	struct fs_node *by_id[NBUCKETS];
	struct fs_node *by_name[NBUCKETS];
	uint64_t next[KINDS_MAX];       /* ids handed out, per kind */
};

static unsigned id_bucket(uint64_t id)
{
	return (unsigned)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 52) % NBUCKETS;
}

static unsigned name_bucket(const struct fs_kind *k, const char *name)
{
	return (ipcc_fnv1a32(name, strlen(name)) ^ (uint32_t)(uintptr_t)k) %
	       NBUCKETS;
}

int fs_nodes_new(struct fs_nodes **out)
{
	struct fs_nodes *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	*out = t;
	return 0;
}

static struct fs_node *node_alloc(const struct fs_kind *k, const char *name)
{
	size_t len = strlen(name);
	struct fs_node *n = calloc(1, sizeof(*n) + len + 1);

	if (!n)
		return NULL;
	memcpy(n->name, name, len + 1);
	n->kind = k;
	n->nlookup = 1;
	return n;
}

/* Table lock held: gives n the kind's next id and indexes it by id. */
static void link_id(struct fs_nodes *t, struct fs_node *n)
{
	uint64_t base = fs_kind_base(n->kind);
	unsigned i = (unsigned)(base >> FS_KIND_SHIFT), b;

	assert(i < KINDS_MAX);
	n->id = base + t->next[i]++;
	assert(n->id < base + FS_FILE_MIN);
	b = id_bucket(n->id);
	n->id_next = t->by_id[b];
	t->by_id[b] = n;
}

struct fs_node *fs_node_get(struct fs_nodes *t, const struct fs_kind *k,
                            const char *name, uint64_t tag)
{
	unsigned b = name_bucket(k, name);
	struct fs_node *n;

	pthread_mutex_lock(&t->lock);
	for (n = t->by_name[b]; n; n = n->name_next) {
		if (n->kind == k && n->tag == tag &&
		    strcmp(n->name, name) == 0) {
			n->nlookup++;
			goto out;
		}
	}
	n = node_alloc(k, name);
	if (!n)
		goto out;
	n->tag = tag;
	n->named = 1;
	n->name_next = t->by_name[b];
	t->by_name[b] = n;
	link_id(t, n);
out:
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct fs_node *fs_node_new(struct fs_nodes *t, const struct fs_kind *k,
                            const char *name, void *priv)
{
	struct fs_node *n = node_alloc(k, name);

	if (!n)
		return NULL;
	n->priv = priv;
	pthread_mutex_lock(&t->lock);
	link_id(t, n);
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* Table lock held. */
static struct fs_node *find_locked(struct fs_nodes *t, uint64_t id)
{
	struct fs_node *n;

	for (n = t->by_id[id_bucket(id)]; n; n = n->id_next)
		if (n->id == id)
			break;
	return n;
}

struct fs_node *fs_node_find(struct fs_nodes *t, uint64_t id)
{
	struct fs_node *n;

	pthread_mutex_lock(&t->lock);
	n = find_locked(t, id);
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* Table lock held: takes n out of both indexes. */
static void unlink_node(struct fs_nodes *t, struct fs_node *n)
{
	struct fs_node **pp;

	for (pp = &t->by_id[id_bucket(n->id)]; *pp; pp = &(*pp)->id_next) {
		if (*pp == n) {
			*pp = n->id_next;
			break;
		}
	}
	if (!n->named)
		return;
	for (pp = &t->by_name[name_bucket(n->kind, n->name)]; *pp;
	     pp = &(*pp)->name_next) {
		if (*pp == n) {
			*pp = n->name_next;
			break;
		}
	}
}

static void node_free(struct fs_node *n)
{
	if (n->priv && n->kind->node_free)
		n->kind->node_free(n->priv);
	free(n);
}

void fs_node_forget(struct fs_nodes *t, uint64_t id, uint64_t count)
{
	struct fs_node *n;

	pthread_mutex_lock(&t->lock);
	n = find_locked(t, id);
	if (!n) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (n->nlookup > count) {
		n->nlookup -= count;
		pthread_mutex_unlock(&t->lock);
		return;
	}
	unlink_node(t, n);
	n->unlinked = 1;
	n->nlookup = 0;
	if (n->refs)
		n = NULL;       /* the last fs_node_put frees it */
	pthread_mutex_unlock(&t->lock);
	if (n)
		node_free(n);
}

void fs_node_hold(struct fs_nodes *t, struct fs_node *n)
{
	pthread_mutex_lock(&t->lock);
	assert(!n->unlinked || n->refs > 0);
	n->refs++;
	pthread_mutex_unlock(&t->lock);
}

void fs_node_put(struct fs_nodes *t, struct fs_node *n)
{
	int last;

	pthread_mutex_lock(&t->lock);
	assert(n->refs > 0);
	last = --n->refs == 0 && n->unlinked;
	pthread_mutex_unlock(&t->lock);
	if (last)
		node_free(n);
}

void fs_nodes_free(struct fs_nodes *t)
{
	if (!t)
		return;
	for (unsigned b = 0; b < NBUCKETS; b++) {
		struct fs_node *n = t->by_id[b];

		while (n) {
			struct fs_node *next = n->id_next;

			node_free(n);
			n = next;
		}
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/*
 * The node table, for kinds whose objects cannot be named by a number
 * alone (POSIX objects, semaphores, queues by name).  A node lives while
 * the kernel holds lookups on it (nlookup) or the daemon holds it (refs),
 * and owns its kind's priv, freed by kind->node_free.
 */
#ifndef FS_NODES_H
#define FS_NODES_H

#include <stdint.h>
#include <sys/types.h>

#include "fs.h"

struct fs_node {
	uint64_t id;
	const struct fs_kind *kind;
	uint64_t tag;           /* found again by (kind, name, tag) */
	void *priv;             /* the kind's, owned by the node */
	uint64_t nlookup;       /* table lock */
	unsigned refs;          /* holds beyond the kernel's (table lock) */
	int unlinked;           /* forgotten, freed at the last put */
	int named;              /* in the by-name index */
	struct fs_node *id_next, *name_next;
	char name[];
};

int fs_nodes_new(struct fs_nodes **out);
/* Frees every node (at exit). */
void fs_nodes_free(struct fs_nodes *t);

/*
 * The node of (kind, name, tag), made if needed (priv then NULL); counts
 * one lookup.  NULL when out of memory.
 */
struct fs_node *fs_node_get(struct fs_nodes *t, const struct fs_kind *k,
                            const char *name, uint64_t tag);
/*
 * Always a new node owning priv (a fresh inode for every lookup, so that
 * a write blocked on one inode never holds up another); counts one
 * lookup.  NULL when out of memory (priv is then left to the caller).
 */
struct fs_node *fs_node_new(struct fs_nodes *t, const struct fs_kind *k,
                            const char *name, void *priv);
/*
 * The node with this id, or NULL.  The pointer stays valid while the
 * kernel holds the inode, i.e. for the whole of any request on it.
 */
struct fs_node *fs_node_find(struct fs_nodes *t, uint64_t id);
/* Drops n lookups; the node goes when none is left and none holds it. */
void fs_node_forget(struct fs_nodes *t, uint64_t id, uint64_t n);
/* Keeps n alive past the kernel's forget; fs_node_put releases it. */
void fs_node_hold(struct fs_nodes *t, struct fs_node *n);
void fs_node_put(struct fs_nodes *t, struct fs_node *n);

/* The node of a request's inode, or NULL. */
static inline struct fs_node *fs_node_of(fuse_req_t req, fuse_ino_t ino)
{
	return fs_node_find(fs_state_of(req)->nodes, ino);
}

#endif /* FS_NODES_H */

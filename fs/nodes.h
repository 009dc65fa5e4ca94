/*
 * The node table: POSIX shm objects and semaphores, which (unlike SysV
 * segments) cannot be named by a number alone.  Nodes live while the
 * kernel holds lookups on them (nlookup) and are dropped by forget.
 */
#ifndef FS_NODES_H
#define FS_NODES_H

#include <stdint.h>
#include <sys/types.h>

#include "fs.h"

struct fs_node {
	uint64_t id;
	uint64_t nlookup;       /* guarded by the table lock */
	unsigned refs;          /* holds beyond the kernel's (table lock) */
	int unlinked;           /* forgotten, freed at the last put */
	enum fs_kind kind;      /* FS_KIND_POSIX or FS_KIND_SEM */
	ino_t ino;              /* POSIX: st_ino of the object's file */
	ipcc_sem *sem;          /* semaphore: the handle, owned by the node */
	int by_key;             /* semaphore: name is its key, "0x%08x" */
	struct fs_node *id_next, *name_next;
	char name[];
};

/*
 * POSIX: the node of (name, ino), made if needed; counts one lookup.
 * NULL when out of memory.
 */
struct fs_node *fs_node_posix_get(const char *name, ino_t ino);
/*
 * Semaphore: always a new node (a fresh inode for every lookup, so that a
 * write blocked on one inode never holds up another), owning sem; counts
 * one lookup.  NULL when out of memory (sem is then left to the caller).
 */
struct fs_node *fs_node_sem_new(const char *name, int by_key, ipcc_sem *sem);
/*
 * The node with this id, or NULL.  The pointer stays valid while the
 * kernel holds the inode, i.e. for the whole of any request on it.
 */
struct fs_node *fs_node_find(uint64_t id);
/* Drops n lookups; the node goes when none is left. */
void fs_node_forget(uint64_t id, uint64_t n);
/*
 * Keeps n alive past the kernel's forget (for work that may outlive the
 * request, e.g. a semaphore waiter); fs_node_put releases it.
 */
void fs_node_hold(struct fs_node *n);
void fs_node_put(struct fs_node *n);
/* Frees every node (at exit). */
void fs_nodes_clear(void);

#endif /* FS_NODES_H */

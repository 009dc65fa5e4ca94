/*
 * The open files of name-based kinds whose every lookup makes a fresh node
 * (sem/, sysv-sem/, sysv-msg/, posix-mq/): the handle, the entry or create
 * reply for a new node, and the read of what a file shows, taken fresh at
 * offset 0 and kept for the reads that continue it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "nodes.h"

struct fs_file *fs_file_of(const struct fuse_file_info *fi)
{
	return (struct fs_file *)(uintptr_t)fi->fh;
}

static void file_free(struct fs_file *f)
{
	if (f->close)
		f->close(f->node);
	fs_open_del(f->s, &f->open);
	pthread_mutex_destroy(&f->lock);
	free(f->text);
	free(f);
}

static void drop_file(struct fs_open *o)
{
	file_free((struct fs_file *)o);
}

static struct fs_file *file_new(struct fs_state *s, struct fs_node *n,
                                void (*close)(struct fs_node *))
{
	struct fs_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->node = n;
	f->s = s;
	f->close = close;
	pthread_mutex_init(&f->lock, NULL);
	fs_open_add(s, &f->open, drop_file);
	return f;
}

void fs_file_open(fuse_req_t req, struct fs_node *n,
                  struct fuse_file_info *fi, void (*close)(struct fs_node *))
{
	struct fs_file *f = file_new(fs_state_of(req), n, close);

	if (!f) {
		if (close)
			close(n);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_reply_open(req, fi, &f->open);
}

void fs_file_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	file_free(fs_file_of(fi));
	fuse_reply_err(req, 0);
}

void fs_reply_node(fuse_req_t req, const struct fs_kind *k, const char *name,
                   void *priv, const struct stat *attr,
                   struct fuse_file_info *fi, void (*close)(struct fs_node *))
{
	struct fs_state *fs = fs_state_of(req);
	struct fuse_entry_param e;
	struct fs_file *f;
	struct fs_node *n = fs_node_new(fs->nodes, k, name, priv);

	if (!n) {
		k->node_free(priv);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_entry_init(&e, n->id);
	e.attr = *attr;
	if (!fi) {
		if (fuse_reply_entry(req, &e) != 0)
			fs_node_forget(fs->nodes, n->id, 1);
		return;
	}
	f = file_new(fs, n, close);
	if (!f) {
		fs_node_forget(fs->nodes, n->id, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fs_reply_create(req, &e, fi, &f->open);
}

void fs_file_read_text(fuse_req_t req, struct fs_file *f, size_t size,
                       off_t off, int look_unread,
                       int (*look)(struct fs_node *n, char **text,
                                   size_t *len))
{
	struct fs_state *fs = f->s;
	char *out = NULL;
	size_t len = 0;
	int err = 0;

	pthread_mutex_lock(&f->lock);
	if (off == 0 || (look_unread && !f->have_text)) {
		char *text = NULL;
		size_t tlen = 0;

		err = look(f->node, &text, &tlen);
		if (!err) {
			free(f->text);
			f->text = text;
			f->len = tlen;
			f->have_text = 1;
		}
	}
	if (!err && off >= 0 && (uint64_t)off < f->len) {
		len = f->len - (size_t)off;
		if (len > size)
			len = size;
		out = fs_buf_get(fs, len);
		if (out)
			memcpy(out, f->text + off, len);
		else
			err = -ENOMEM;
	}
	/* f may be released as soon as the reply is out: not used after */
	pthread_mutex_unlock(&f->lock);
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_buf(req, out, len);
	fs_buf_put(fs, out);
}

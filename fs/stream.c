/*
 * Stream files of message queues (sysv-msg/NAME@T, posix-mq/NAME@P): each
 * read(2) takes one message, each write(2) sends one.  What can be done
 * at once is done on the FUSE worker; what must wait runs on the waiter
 * pool.  A message taken for a reader that cannot get it (gone, or
 * interrupted meanwhile) goes back to its queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "nodes.h"

/*
 * Replies with a message taken for a reader.  If the reader cannot get
 * it (gone, or interrupted meanwhile: it will not look at what it read),
 * the message goes back.
 */
static void reply_taken(fuse_req_t req, const struct fs_stream_ops *ops,
                        struct fs_node *n, const void *buf, size_t len,
                        long tag, int waited)
{
	/* after a wait, the reader may have been killed meanwhile */
	if (fuse_req_interrupted(req) || (waited && fs_caller_dying(req))) {
		ops->give_back(n, buf, len, tag);
		fuse_reply_err(req, EINTR);
		return;
	}
	if (fuse_reply_buf(req, buf, len) != 0)
		ops->give_back(n, buf, len, tag);
}

/* One blocking read or write on the pool; holds its node meanwhile. */
struct stream_job {
	struct fs_job job;      /* first */
	const struct fs_stream_ops *ops;
	struct fs_state *s;
	struct fs_node *node;
	int write;
	size_t size;            /* write: bytes to send; read: room */
	ssize_t got;
	long got_tag;
	char data[];
};

static int job_run(struct fs_job *job, const struct ipcc_cancel *cancel)
{
	struct stream_job *j = (struct stream_job *)job;

	if (j->write)
		return j->ops->send(j->node, j->data, j->size, 0, cancel);
	j->got = j->ops->take(j->node, j->data, j->size, &j->got_tag, 0,
	                      cancel);
	return j->got < 0 ? (int)j->got : 0;
}

static void job_reply(struct fs_job *job, fuse_req_t req, int result)
{
	struct stream_job *j = (struct stream_job *)job;

	/* a queue removed under a blocked call: EIDRM, as msgrcv says */
	if (result)
		fuse_reply_err(req, -result);
	else if (j->write)
		fuse_reply_write(req, j->size);
	else
		reply_taken(req, j->ops, j->node, j->data, (size_t)j->got,
		            j->got_tag, 1);
}

static void job_free(struct fs_job *job)
{
	struct stream_job *j = (struct stream_job *)job;

	if (j->ops->unuse)
		j->ops->unuse(j->node);
	fs_node_put(j->s->nodes, j->node);
	free(j);
}

static int start_job(fuse_req_t req, const struct fs_stream_ops *ops,
                     struct fs_node *node, int write, const char *buf,
                     size_t size)
{
	struct fs_state *fs = fs_state_of(req);
	struct stream_job *j = malloc(sizeof(*j) + (size ? size : 1));
	int err;

	if (!j)
		return -ENOMEM;
	memset(j, 0, sizeof(*j));
	j->job.run = job_run;
	j->job.reply = job_reply;
	j->job.free = job_free;
	j->ops = ops;
	j->s = fs;
	j->node = node;
	j->write = write;
	j->size = size;
	if (write && size)
		memcpy(j->data, buf, size);
	/* the job's own use of the queue (the file's is there already) */
	if (ops->use) {
		err = ops->use(node);
		if (err) {
			free(j);
			return err;
		}
	}
	/* the caller may be gone, and the kernel's lookups with it */
	fs_node_hold(fs->nodes, node);
	err = fs_job_start(req, &j->job);
	if (err)
		job_free(&j->job);
	return err;
}

void fs_stream_read(fuse_req_t req, struct fs_file *f, size_t size,
                    const struct fuse_file_info *fi,
                    const struct fs_stream_ops *ops)
{
	struct fs_state *fs = f->s;
	long tag = 0;
	ssize_t n;
	void *buf;
	int err;

	/* a message that is there is taken here, without a thread */
	buf = fs_buf_get(fs, size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = ops->take(f->node, buf, size, &tag, IPCC_MSG_NOWAIT, NULL);
	if (n >= 0) {
		reply_taken(req, ops, f->node, buf, (size_t)n, tag, 0);
		fs_buf_put(fs, buf);
		return;
	}
	fs_buf_put(fs, buf);
	err = (int)n;
	if (err == -EAGAIN && !(fi->flags & O_NONBLOCK)) {
		err = start_job(req, ops, f->node, 0, NULL, size);
		if (!err)
			return;         /* the pool replies */
	}
	fuse_reply_err(req, -err);
}

void fs_stream_write(fuse_req_t req, struct fs_file *f, const char *buf,
                     size_t size, const struct fuse_file_info *fi,
                     const struct fs_stream_ops *ops)
{
	int err = ops->send(f->node, buf, size, IPCC_MSG_NOWAIT, NULL);

	if (err == -EAGAIN && !(fi->flags & O_NONBLOCK)) {
		err = start_job(req, ops, f->node, 1, buf, size);
		if (!err)
			return;
	}
	if (err)
		fuse_reply_err(req, -err);
	else
		fuse_reply_write(req, size);
}

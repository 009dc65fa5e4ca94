"""posix-mq/<name>: POSIX message queues (mq_open).

Looking shows the queue's status line and takes nothing; NAME@P streams
take (reads, highest priority first) and send (writes, priority P) one
message per call.  The kernel's side is a small C program using mq_open /
mq_send / mq_receive, compiled here, run as root or as the second user.
"""

import errno
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import util


def one_call(procs, path, arg, flags=0, survive=False, **kw):
    return util.one_call(procs, path, arg, flags, survive, **kw)


def blocked(mnt, n=1, nrs=(util.SYS_MSGRCV,), timeout=util.PROMPT):
    """Waits until n calls sit blocked in the daemon ."""
    util.wait_daemon_blocked(mnt.pid, n, nrs, timeout)


result = util.call_result
read_errno = util.read_once
write_once = util.write_once
getfattr = util.getfattr_d


MQTOOL_C = r'''
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mqtool OP /NAME [ARG...]: prints OK [...] or the errno's name */
static int fail(void)
{
	printf("%s\n", strerrorname_np(errno));
	return 0;
}

static int hex(const char *s, char *out)
{
	int n = 0;

	for (; s[0] && s[1]; s += 2)
		sscanf(s, "%2hhx", &out[n++]);
	return n;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	const char *op = argv[1], *name = argv[2];
	struct mq_attr a;
	unsigned prio;
	mqd_t m;

	if (argc < 3)
		return 2;
	if (!strcmp(op, "create")) {            /* create NAME MODE */
		m = mq_open(name, O_RDWR | O_CREAT | O_EXCL,
		            (mode_t)strtol(argv[3], NULL, 8), NULL);
		if (m == (mqd_t)-1)
			return fail();
		fchmod(m, (mode_t)strtol(argv[3], NULL, 8));
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "unlink"))
		return mq_unlink(name) ? fail() : (printf("OK\n"), 0);
	if (!strcmp(op, "send")) {              /* send NAME PRIO HEX */
		int n = hex(argv[4], buf);

		m = mq_open(name, O_WRONLY | O_NONBLOCK);
		if (m == (mqd_t)-1)
			return fail();
		if (mq_send(m, buf, (size_t)n, (unsigned)atoi(argv[3])))
			return fail();
		printf("OK\n");
		return 0;
	}
	if (!strcmp(op, "recv")) {              /* recv NAME: PRIO HEX */
		ssize_t n;

		m = mq_open(name, O_RDONLY | O_NONBLOCK);
		if (m == (mqd_t)-1)
			return fail();
		n = mq_receive(m, buf, sizeof(buf), &prio);
		if (n < 0)
			return fail();
		printf("OK %u ", prio);
		for (ssize_t i = 0; i < n; i++)
			printf("%02x", (unsigned char)buf[i]);
		printf("\n");
		return 0;
	}
	if (!strcmp(op, "attr")) {              /* attr NAME: MAX SIZE CUR */
		m = mq_open(name, O_RDONLY);
		if (m == (mqd_t)-1)
			m = mq_open(name, O_WRONLY);
		if (m == (mqd_t)-1 || mq_getattr(m, &a))
			return fail();
		printf("OK %ld %ld %ld\n", a.mq_maxmsg, a.mq_msgsize,
		       a.mq_curmsgs);
		return 0;
	}
	if (!strcmp(op, "status")) {            /* the mqueue fs's line */
		ssize_t n;

		m = mq_open(name, O_RDONLY);
		if (m == (mqd_t)-1)
			return fail();
		n = read(m, buf, sizeof(buf) - 1);
		if (n < 0)
			return fail();
		buf[n] = 0;
		printf("%s", buf);
		return 0;
	}
	if (!strcmp(op, "stat")) {              /* MODE UID GID */
		struct stat st;

		m = mq_open(name, O_RDONLY);
		if (m == (mqd_t)-1 || fstat(m, &st))
			return fail();
		printf("OK %o %u %u %ld %ld %ld\n", st.st_mode & 07777,
		       st.st_uid, st.st_gid, (long)st.st_atime,
		       (long)st.st_mtime, (long)st.st_ctime);
		return 0;
	}
	return 2;
}
'''


@pytest.fixture(scope='module')
def mqtool():
    # where the second user can run it too
    d = tempfile.mkdtemp(prefix='ipcfs-mqtool-', dir='/tmp')
    os.chmod(d, 0o755)
    src, exe = os.path.join(d, 'mqtool.c'), os.path.join(d, 'mqtool')
    with open(src, 'w') as f:
        f.write(MQTOOL_C)
    util.run(['cc', '-D_GNU_SOURCE', '-O1', '-Wall', '-Werror', '-o', exe,
              src])

    def tool(op, name, *args, uid=None):
        res = util.run([exe, op, '/' + name] + [str(a) for a in args],
                       uid=uid)
        return res.text.strip('\n')
    yield tool
    shutil.rmtree(d, ignore_errors=True)


def mpath(mnt, name, stream=None):
    p = mnt.p('posix-mq', name)
    return p if stream is None else '%s@%s' % (p, stream)


def new_queue(ipc, mqtool, mode=0o600):
    n = ipc.mq_name()
    assert mqtool('create', n, '%o' % mode) == 'OK'
    return n


def send(mqtool, name, data, prio=0):
    assert mqtool('send', name, prio, data.hex()) == 'OK'


def recv(mqtool, name):
    """(data, prio), or the errno name."""
    r = mqtool('recv', name)
    if not r.startswith('OK '):
        return r
    _, p, *h = r.split(' ')
    return bytes.fromhex(h[0] if h else ''), int(p)


def drain(mqtool, name):
    out = []
    while True:
        r = recv(mqtool, name)
        if r == 'EAGAIN':
            return out
        out.append(r)


def curmsgs(mqtool, name):
    return int(mqtool('attr', name).split()[3])


# ------------------------------------------------------------------
# Names, listing, status
# ------------------------------------------------------------------

def test_listing_live_without_any_mqueue_mount(mnt, ipc, mqtool):
    assert not any(line.split()[2] == 'mqueue'
                   for line in open('/proc/self/mounts'))
    n = new_queue(ipc, mqtool)
    names = os.listdir(mnt.p('posix-mq'))
    assert n in names
    assert not any('@' in x for x in names if x.startswith('ipcfs-'))
    assert stat.S_IMODE(os.stat(mnt.p('posix-mq')).st_mode) == 0o1777
    assert mqtool('unlink', n) == 'OK'
    assert n not in os.listdir(mnt.p('posix-mq'))
    # the daemon's detached mount is in nobody's mount table
    assert 'mqueue' not in open('/proc/%d/mounts' % mnt.pid).read()
    assert 'mqueue' not in open('/proc/self/mountinfo').read()


def test_status_line_takes_nothing(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    send(mqtool, n, b'hello', 0)
    send(mqtool, n, b'abc', 7)
    want = mqtool('status', n).encode() + b'\n'
    assert want.startswith(b'QSIZE:8 ')
    for _ in range(2):
        assert util.run(['cat', mpath(mnt, n)]).out == want
    st = os.stat(mpath(mnt, n))
    assert st.st_size == 0
    assert curmsgs(mqtool, n) == 2
    # a status line that follows the queue
    fd = os.open(mpath(mnt, n), os.O_RDONLY)
    try:
        assert os.read(fd, 6) == b'QSIZE:'
        recv(mqtool, n)
        assert os.pread(fd, 100, 0).startswith(b'QSIZE:5 ')
    finally:
        os.close(fd)
    assert drain(mqtool, n) == [(b'hello', 0)]


def test_grep_r_takes_nothing_never_blocks(mnt, ipc, mqtool):
    full, empty = new_queue(ipc, mqtool), new_queue(ipc, mqtool)
    send(mqtool, full, b'needle', 3)
    res = util.run(['grep', '-r', 'QSIZE:6 ', mnt.p('posix-mq')], rc=None,
                   timeout=30)
    assert res.rc in (0, 2), res
    assert mpath(mnt, full) in res.text
    assert mpath(mnt, empty) not in res.text
    util.run(['grep', '-r', 'needle', mnt.p('posix-mq'), mnt.p('sysv-msg')],
             rc=None, timeout=30)
    assert curmsgs(mqtool, full) == 1
    assert curmsgs(mqtool, empty) == 0


def test_name_too_long(mnt, mqtool):
    util.expect_errno(errno.ENAMETOOLONG, os.stat, mpath(mnt, 'a' * 256))
    util.expect_errno(errno.ENAMETOOLONG, os.open, mpath(mnt, 'a' * 256),
                      os.O_CREAT | os.O_WRONLY, 0o600)
    # 255 bytes is a queue name; with '@0' it is too long for a file name
    n = 'ipcfs-long-' + 'l' * 244
    assert len(n) == 255
    util.expect_errno(errno.ENOENT, os.stat, mpath(mnt, n))
    util.expect_errno(errno.ENAMETOOLONG, os.stat, mpath(mnt, n, 0))


@pytest.mark.parametrize('suffix', ['@', '@x', '@1x', '@+1', '@01', '@-1',
                                    '@32768', '@ 1', '@-0'])
def test_bad_stream_suffixes_enoent(mnt, ipc, mqtool, suffix):
    n = new_queue(ipc, mqtool)
    util.expect_errno(errno.ENOENT, os.stat, mpath(mnt, n) + suffix)
    util.expect_errno(errno.ENOENT, os.open, mpath(mnt, n) + suffix,
                      os.O_RDONLY)


def test_queue_name_with_at_sign(mnt, ipc, mqtool):
    # a queue whose own name ends like a stream: the queue wins
    base = ipc.mq_name()
    n = ipc.add_mq_name(base + '@3')
    assert mqtool('create', n, '600') == 'OK'
    send(mqtool, n, b'own')
    assert util.read_file(mpath(mnt, n)).startswith(b'QSIZE:3 ')
    assert n in os.listdir(mnt.p('posix-mq'))
    # and its streams are NAME@P of the whole name
    assert read_errno(mpath(mnt, n, 0)) == b'own'
    util.expect_errno(errno.ENOENT, os.stat, mpath(mnt, base))


def test_stat_owner_mode_times(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool, 0o640)
    send(mqtool, n, b'x')
    _, mode, uid, gid, at, mt, ct = mqtool('stat', n).split()
    st = os.stat(mpath(mnt, n))
    assert stat.S_ISREG(st.st_mode)
    assert '%o' % stat.S_IMODE(st.st_mode) == mode == '640'
    assert (st.st_uid, st.st_gid) == (int(uid), int(gid))
    assert (int(st.st_atime), int(st.st_mtime), int(st.st_ctime)) == \
        (int(at), int(mt), int(ct))
    assert os.stat(mpath(mnt, n, 4)).st_size == 0
    assert stat.S_IMODE(os.stat(mpath(mnt, n, 4)).st_mode) == 0o640


# ------------------------------------------------------------------
# Writing and streams
# ------------------------------------------------------------------

def test_write_sends_priority_0_exact_bytes(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    util.sh('echo hello > %s' % mpath(mnt, n))
    util.sh('printf "x\\0y" >> %s' % mpath(mnt, n))
    assert drain(mqtool, n) == [(b'hello\n', 0), (b'x\x00y', 0)]


def test_stream_write_sends_priority_p(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    assert write_once(mpath(mnt, n, 5), b'five') == 4
    assert write_once(mpath(mnt, n, 32767), b'top') == 3
    assert write_once(mpath(mnt, n, 0), b'zero') == 4
    assert drain(mqtool, n) == [(b'top', 32767), (b'five', 5),
                                (b'zero', 0)]


def test_zero_byte_write_sends_nothing(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    assert write_once(mpath(mnt, n), b'') == 0
    assert curmsgs(mqtool, n) == 0


def test_stream_reads_highest_priority_first(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    twin = new_queue(ipc, mqtool)
    msgs = [(b'a', 1), (b'b', 5), (b'c', 3), (b'd', 5), (b'e', 0)]
    for d, p in msgs:
        send(mqtool, n, d, p)
        send(mqtool, twin, d, p)
    for _ in msgs:
        # any P reads the same way: P only matters for writes
        got = read_errno(mpath(mnt, n, random.choice([0, 1, 9])))
        assert got == recv(mqtool, twin)[0]
    assert read_errno(mpath(mnt, n, 0), flags=os.O_NONBLOCK) == errno.EAGAIN


def test_too_long_write_emsgsize(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    size = int(open('/proc/sys/fs/mqueue/msgsize_default').read())
    assert write_once(mpath(mnt, n), b'm' * (size + 1)) == errno.EMSGSIZE
    assert write_once(mpath(mnt, n, 2), b'm' * (4 << 20)) == errno.EMSGSIZE
    # the kernel's answer for the same
    assert mqtool('send', n, 0, (b'm' * (size + 1)).hex()) == 'EMSGSIZE'
    assert write_once(mpath(mnt, n), b'm' * size) == size
    assert curmsgs(mqtool, n) == 1


def test_small_buffer_emsgsize_keeps_message(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    send(mqtool, n, b'0123456789', 4)
    send(mqtool, n, b'other', 4)
    send(mqtool, n, b'low', 1)
    assert read_errno(mpath(mnt, n, 0), size=9) == errno.EMSGSIZE
    assert curmsgs(mqtool, n) == 3
    # it went back with its priority, behind "other" (mq_send appends)
    assert drain(mqtool, n) == [(b'other', 4), (b'0123456789', 4),
                                (b'low', 1)]


def test_nonblock_eagain_both_ways(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    assert read_errno(mpath(mnt, n, 0), flags=os.O_NONBLOCK) == errno.EAGAIN
    maxmsg = int(mqtool('attr', n).split()[1])
    for i in range(maxmsg):
        send(mqtool, n, b'%d' % i)
    assert write_once(mpath(mnt, n), b'x', os.O_NONBLOCK) == errno.EAGAIN
    assert write_once(mpath(mnt, n, 3), b'x', os.O_NONBLOCK) == errno.EAGAIN
    assert mqtool('send', n, 0, b'x'.hex()) == 'EAGAIN'
    assert curmsgs(mqtool, n) == maxmsg


MQ_RECV = (util.SYS_MQ_TIMEDRECEIVE,)
MQ_SEND = (util.SYS_MQ_TIMEDSEND,)


def test_blocked_read_released_by_write(mnt, ipc, procs, mqtool):
    n = new_queue(ipc, mqtool)
    r = one_call(procs, mpath(mnt, n, 0), 100)
    blocked(mnt, nrs=MQ_RECV)
    send(mqtool, n, b'wake', 6)
    assert result(r) == 'OK ' + b'wake'.hex()
    r = one_call(procs, mpath(mnt, n, 0), 100)
    blocked(mnt, nrs=MQ_RECV)
    util.sh('printf again > %s' % mpath(mnt, n, 2))
    assert result(r) == 'OK ' + b'again'.hex()
    assert curmsgs(mqtool, n) == 0


def test_blocked_write_released_by_read(mnt, ipc, procs, mqtool):
    n = new_queue(ipc, mqtool)
    maxmsg = int(mqtool('attr', n).split()[1])
    for i in range(maxmsg):
        send(mqtool, n, b'f')
    w = one_call(procs, mpath(mnt, n, 9), 'w:' + b'next'.hex())
    blocked(mnt, nrs=MQ_SEND)
    assert w.poll() is None
    assert recv(mqtool, n) == (b'f', 0)
    assert result(w) == 'OK 4'
    assert recv(mqtool, n) == (b'next', 9)


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGKILL])
def test_ctrl_c_blocked_cat_takes_nothing(mnt, ipc, procs, mqtool, sig):
    n = new_queue(ipc, mqtool)
    c = procs.spawn(['cat', mpath(mnt, n, 0)])
    blocked(mnt, nrs=MQ_RECV)
    os.killpg(c.pid, sig)
    assert c.wait(timeout=util.PROMPT) in (-sig, 128 + sig)
    util.wait_until(lambda: util.daemon_in_syscall(mnt.pid, MQ_RECV) == 0,
                    what='no receive left')
    send(mqtool, n, b'later')
    time.sleep(1.0)
    assert drain(mqtool, n) == [(b'later', 0)]


def test_interrupted_writer_sends_nothing(mnt, ipc, procs, mqtool):
    n = new_queue(ipc, mqtool)
    maxmsg = int(mqtool('attr', n).split()[1])
    for i in range(maxmsg):
        send(mqtool, n, b'f')
    w = one_call(procs, mpath(mnt, n), 'w:' + b'nope'.hex(), survive=True)
    blocked(mnt, nrs=MQ_SEND)
    w.send_signal(signal.SIGINT)
    assert result(w) == 'EINTR'
    recv(mqtool, n)
    time.sleep(1.0)
    assert curmsgs(mqtool, n) == maxmsg - 1


def test_rm_unlinks_blocked_reader_keeps_waiting(mnt, ipc, procs, mqtool):
    n = new_queue(ipc, mqtool)
    r = one_call(procs, mpath(mnt, n, 0), 100, survive=True)
    blocked(mnt, nrs=MQ_RECV)
    util.run(['rm', mpath(mnt, n)])
    assert mqtool('attr', n) == 'ENOENT'
    assert n not in os.listdir(mnt.p('posix-mq'))
    # POSIX: the nameless queue lives on for those who have it open
    time.sleep(0.5)
    assert r.poll() is None
    r.send_signal(signal.SIGINT)
    assert result(r) == 'EINTR'


def test_killing_readers_while_a_writer_counts(mnt, ipc, procs, mqtool):
    n = new_queue(ipc, mqtool)
    N = 200
    writer = procs.spawn(['sh', '-c', 'i=0; while [ $i -lt %d ]; do '
                          'printf "%%06d\\n" $i > %s; i=$((i+1)); done'
                          % (N, mpath(mnt, n))])
    outs, kills = [], 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = procs.spawn(['cat', mpath(mnt, n, 0)], stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0.005, 0.05))
        os.killpg(r.pid, signal.SIGKILL)
        kills += 1
        outs.append(r.communicate(timeout=util.PROMPT)[0])
        if writer.poll() is not None and curmsgs(mqtool, n) == 0:
            break
    assert writer.wait(timeout=60) == 0
    rest = [d.rstrip(b'\n') for d, _ in drain(mqtool, n)]
    seen = [int(x) for x in b''.join(outs).split(b'\n')[:-1] + rest]
    assert len(seen) == len(set(seen)), 'a message arrived twice'
    missing = set(range(N)) - set(seen)
    assert len(missing) <= kills, (len(missing), kills)


# ------------------------------------------------------------------
# Create, remove, permissions, metadata
# ------------------------------------------------------------------

def test_touch_creates_with_defaults_mode_owner(mnt, ipc, mqtool, umask022):
    n = ipc.mq_name()
    util.run(['touch', mpath(mnt, n)])
    _, mode, uid, gid, *_ = mqtool('stat', n).split()
    assert (mode, uid, gid) == ('644', '0', '0')
    _, maxmsg, msgsize, cur = mqtool('attr', n).split()
    assert maxmsg == open('/proc/sys/fs/mqueue/msg_default').read().strip()
    assert msgsize == \
        open('/proc/sys/fs/mqueue/msgsize_default').read().strip()
    n2 = ipc.mq_name()
    util.sh('umask 0; : > %s' % mpath(mnt, n2), uid=util.NOBODY)
    _, mode, uid, gid, *_ = mqtool('stat', n2).split()
    assert (mode, uid, gid) == ('666', str(util.NOBODY), str(util.NOGROUP))


def test_odd_create_modes_exact(mnt, ipc, mqtool):
    old = os.umask(0)
    try:
        for mode in (0o602, 0o620, 0o606, 0o400):
            n = ipc.mq_name()
            os.close(os.open(mpath(mnt, n), os.O_CREAT | os.O_RDONLY, mode))
            assert mqtool('stat', n).split()[1] == '%o' % mode
    finally:
        os.umask(old)


def test_create_through_stream_and_existing(mnt, ipc, mqtool):
    n = ipc.mq_name()
    util.sh('echo hi > %s' % mpath(mnt, n, 3))
    assert drain(mqtool, n) == [(b'hi\n', 3)]
    util.expect_errno(errno.EEXIST, os.open, mpath(mnt, n),
                      os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)


def test_rm_and_rm_of_stream(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool, 0o666)
    util.expect_errno(errno.EPERM, os.unlink, mpath(mnt, n, 0))
    # sticky folder: another user may not remove it
    assert util.op_as('os.unlink(%r)' % mpath(mnt, n)) == 'EPERM'
    assert mqtool('attr', n).startswith('OK')
    os.unlink(mpath(mnt, n))
    assert mqtool('attr', n) == 'ENOENT'
    util.expect_errno(errno.ENOENT, os.unlink, mpath(mnt, n))


def test_chmod_chown(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool, 0o600)
    os.chmod(mpath(mnt, n), 0o604)
    os.chown(mpath(mnt, n), util.NOBODY, util.NOGROUP)
    assert mqtool('stat', n).split()[1:4] == \
        ['604', str(util.NOBODY), str(util.NOGROUP)]
    n2 = new_queue(ipc, mqtool, 0o666)
    assert util.op_as('os.chmod(%r, 0o600)' % mpath(mnt, n2)) == 'EPERM'


@pytest.mark.parametrize('mode', [0o600, 0o602, 0o604, 0o606, 0o660, 0o644])
def test_permissions_match_the_kernel(mnt, ipc, mqtool, mode):
    n = new_queue(ipc, mqtool, mode)
    send(mqtool, n, b'seed')
    k_send = mqtool('send', n, 0, b'k'.hex(), uid=util.NOBODY)
    k_recv = mqtool('recv', n, uid=util.NOBODY)
    k_recv = 'OK' if k_recv.startswith('OK') else k_recv
    drain(mqtool, n)
    send(mqtool, n, b'seed')
    m_send = [util.op_as('''
        fd = os.open(%r, os.O_WRONLY)
        os.write(fd, b'w')
    ''' % p) for p in (mpath(mnt, n), mpath(mnt, n, 1))]
    m_recv = [util.op_as('''
        fd = os.open(%r, os.O_RDONLY | os.O_NONBLOCK)
        os.read(fd, 100)
    ''' % p) for p in (mpath(mnt, n), mpath(mnt, n, 0))]
    assert m_send == [k_send, k_send], (oct(mode), m_send, k_send)
    assert m_recv == [k_recv, k_recv], (oct(mode), m_recv, k_recv)


def test_xattrs(mnt, ipc, mqtool):
    n = new_queue(ipc, mqtool)
    send(mqtool, n, b'one')
    send(mqtool, n, b'two')
    _, maxmsg, msgsize, cur = mqtool('attr', n).split()
    assert getfattr(mpath(mnt, n)) == {
        'user.ipc.maxmsg': maxmsg, 'user.ipc.msgsize': msgsize,
        'user.ipc.curmsgs': '2'}
    d = getfattr(mnt.p('posix-mq'))
    for k in ('queues_max', 'msg_max', 'msgsize_max', 'msg_default',
              'msgsize_default'):
        assert d['user.ipc.' + k] == \
            open('/proc/sys/fs/mqueue/' + k).read().strip()


def test_c_client_and_mount_meet(mnt, ipc, mqtool):
    n = ipc.mq_name()
    util.run(['touch', mpath(mnt, n)])
    send(mqtool, n, b'from C', 8)
    assert read_errno(mpath(mnt, n, 0)) == b'from C'
    util.sh('printf "to C" > %s' % mpath(mnt, n, 2))
    assert recv(mqtool, n) == (b'to C', 2)
    status = util.read_file(mpath(mnt, n)).decode()
    assert re.match(r'QSIZE:0 +NOTIFY:0 +SIGNO:0 +NOTIFY_PID:0', status)


def test_container_queues_with_pid_option(mount_factory, container):
    """-o pid=PID: the queues of PID's IPC namespace, both kinds, listed
    through the daemon's detached mqueue mount of that namespace."""
    box = container()
    box.py('''
        import ctypes, os, sysv_ipc
        libc = ctypes.CDLL(None)
        fd = libc.mq_open(b'/boxed', os.O_RDWR | os.O_CREAT, 0o600, None)
        assert fd >= 0 and libc.mq_send(fd, b'in box', 6, 2) == 0
        sysv_ipc.MessageQueue(0x1234, sysv_ipc.IPC_CREX).send(b'boxed')
    ''')
    m = mount_factory(opts=['pid=%d' % box.pid])
    assert 'boxed' in os.listdir(m.p('posix-mq'))
    assert '0x00001234' in os.listdir(m.p('sysv-msg'))
    assert util.read_file(m.p('sysv-msg', '0x00001234')) == b'boxed'
    assert util.read_file(m.p('posix-mq', 'boxed')).startswith(b'QSIZE:6 ')
    assert read_errno(m.p('posix-mq', 'boxed@0')) == b'in box'
    util.sh('echo out > %s' % m.p('posix-mq', 'made-here'))
    # made in the container's namespace
    assert box.py('''
        import ctypes, os
        print(ctypes.CDLL(None).mq_open(b'/made-here', os.O_RDONLY) >= 0)
    ''').text.strip() == 'True'
    # the host has none of them
    assert util.mq_exists('boxed') is False
    assert util.mq_exists('made-here') is False

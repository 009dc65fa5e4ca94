"""Usage and limits at a glance (issue 15): `df` of the mount and the
folders' extended attributes, against `ipcs -u`, `ipcs -l`, `lsipc` and
/proc/sys/fs/mqueue.

The daemon runs in an IPC namespace of its own (ns_mount_factory), so
that nothing else on the machine changes the counts under the test, and
the namespace's limits can be changed (sysctl inside it) to show that
every answer is read fresh.
"""

import os
import re

import pytest

import util
from test_xattr import getfattr


def ns_text(m, cmd):
    return util.run(m.nsenter(cmd)).text


def ns_number(text, label):
    """The number after label (and blanks or '=') in a tool's output."""
    hit = re.search(re.escape(label) + r'[ \t=]*(\d+)', text)
    assert hit, (label, text)
    return int(hit.group(1))


def ns_lsipc(m):
    """lsipc's RESOURCE -> (LIMIT, USED) inside the daemon's namespace."""
    out = ns_text(m, ['lsipc', '-b', '--raw', '--noheadings', '-o',
                      'RESOURCE,LIMIT,USED'])
    rows = {}
    for line in out.splitlines():
        res, limit, used = line.split()
        rows[res] = (int(limit), None if used == '-' else int(used))
    return rows


def ns_sysctl(m, path):
    return int(ns_text(m, ['cat', path]).strip())


def mem_pages():
    with open('/proc/meminfo') as f:
        kb = int(f.readline().split()[1])
    return kb * 1024 // util.PAGE_SIZE


def make_inside(m):
    """3 + 5 pages in two segments, a set of 4, a queue holding 2 x 100 B."""
    m.py('''
        import sysv_ipc
        for size in (10000, 5 * %d):
            sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=size).detach()
        sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX)
        ''' % util.PAGE_SIZE)
    util.run(m.nsenter(['ipcmk', '-S', '4']))
    m.py('''
        import sysv_ipc
        q = sysv_ipc.MessageQueue(None, sysv_ipc.IPC_CREX)
        q.send(b'x' * 100)
        q.send(b'y' * 100)
        ''')


def test_df_counts_sysv_memory_and_objects(ns_mount_factory):
    m = ns_mount_factory()
    v = os.statvfs(m.path)
    assert v.f_bsize == v.f_frsize == util.PAGE_SIZE
    shmall = ns_sysctl(m, '/proc/sys/kernel/shmall')
    assert v.f_blocks == min(shmall, mem_pages())
    assert v.f_blocks - v.f_bfree == 0 and v.f_bavail == v.f_bfree
    ls = ns_lsipc(m)
    assert v.f_files == ls['SHMMNI'][0] + ls['SEMMNI'][0] + ls['MSGMNI'][0]
    assert v.f_files - v.f_ffree == 0

    make_inside(m)
    v = os.statvfs(m.path)
    u = ns_text(m, ['ipcs', '-u'])
    assert v.f_blocks - v.f_bfree == ns_number(u, 'pages allocated') == 8
    used = (ns_number(u, 'segments allocated') + ns_number(u, 'used arrays') +
            ns_number(u, 'allocated queues'))
    assert v.f_files - v.f_ffree == used == 5
    ls = ns_lsipc(m)
    assert used == ls['SHMMNI'][1] + ls['SEMMNI'][1] + ls['MSGMNI'][1]

    # what `df` prints agrees
    df = util.run(['df', '-P', '-B', str(util.PAGE_SIZE), m.path]).text
    size, usedb, avail = df.splitlines()[1].split()[1:4]
    assert (int(size), int(usedb), int(avail)) == (v.f_blocks, 8,
                                                   v.f_blocks - 8)
    dfi = util.run(['df', '-i', '-P', m.path]).text
    inodes, iused = dfi.splitlines()[1].split()[1:3]
    assert (int(inodes), int(iused)) == (v.f_files, 5)


def test_df_reads_limits_fresh(ns_mount_factory):
    m = ns_mount_factory()
    util.run(m.nsenter(['sh', '-c', 'echo 1000 > /proc/sys/kernel/shmall '
                        '&& echo 77 > /proc/sys/kernel/shmmni']))
    v = os.statvfs(m.path)
    ls = ns_lsipc(m)
    assert ls['SHMALL'][0] == 1000 and ls['SHMMNI'][0] == 77
    assert v.f_blocks == min(1000, mem_pages())
    assert v.f_files == 77 + ls['SEMMNI'][0] + ls['MSGMNI'][0]
    # SHMALL past the machine's memory: capped to it
    util.run(m.nsenter(['sh', '-c', 'echo %d > /proc/sys/kernel/shmall'
                        % (mem_pages() * 4)]))
    assert os.statvfs(m.path).f_blocks == mem_pages()


def folder_xattrs(path):
    return {n: os.getxattr(path, n).decode() for n in os.listxattr(path)}


def want_sysv(m):
    ls, u = ns_lsipc(m), ns_text(m, ['ipcs', '-u'])
    return {'shmmni': ls['SHMMNI'][0], 'shmmax': ls['SHMMAX'][0],
            'shmmin': ls['SHMMIN'][0], 'shmall': ls['SHMALL'][0],
            'segments': ns_number(u, 'segments allocated'),
            'pages': ns_number(u, 'pages allocated')}


def want_sem(m):
    ls, u = ns_lsipc(m), ns_text(m, ['ipcs', '-u'])
    lim = ns_text(m, ['ipcs', '-s', '-l'])
    return {'semmni': ls['SEMMNI'][0], 'semmsl': ls['SEMMSL'][0],
            'semmns': ls['SEMMNS'][0], 'semopm': ls['SEMOPM'][0],
            'semvmx': ns_number(lim, 'semaphore max value'),
            'sets': ns_number(u, 'used arrays'),
            'semaphores': ns_number(u, 'allocated semaphores')}


def want_msg(m):
    ls, u = ns_lsipc(m), ns_text(m, ['ipcs', '-u'])
    return {'msgmni': ls['MSGMNI'][0], 'msgmax': ls['MSGMAX'][0],
            'msgmnb': ls['MSGMNB'][0],
            'queues': ns_number(u, 'allocated queues'),
            'messages': ns_number(u, 'used headers'),
            'bytes': ns_number(u, 'used space')}


def want_mq(m):
    return {f: ns_sysctl(m, '/proc/sys/fs/mqueue/' + f)
            for f in ('queues_max', 'msg_max', 'msgsize_max', 'msg_default',
                      'msgsize_default')}


FOLDERS = {'sysv': want_sysv, 'sysv-sem': want_sem, 'sem': want_sem,
           'sysv-msg': want_msg, 'posix-mq': want_mq}


@pytest.mark.parametrize('folder', sorted(FOLDERS))
def test_folder_xattrs_are_limits_and_usage(ns_mount_factory, folder):
    m = ns_mount_factory()
    path = m.p(folder)
    for step in range(2):
        want = {'user.ipc.' + k: str(v) for k, v in FOLDERS[folder](m).items()}
        assert folder_xattrs(path) == want, step
        assert getfattr(path) == want
        if step == 0:
            make_inside(m)
            util.run(m.nsenter(['sh', '-c',
                                'echo 55 > /proc/sys/kernel/msgmni; '
                                'echo 66 > /proc/sys/kernel/shmmni; '
                                'echo "250 32000 32 99" > '
                                '/proc/sys/kernel/sem; '
                                'echo 7 > /proc/sys/fs/mqueue/msg_max']))
    # the second look saw the changes: fresh on every call
    got = folder_xattrs(path)
    changed = {'sysv': ('user.ipc.shmmni', '66'),
               'sysv-sem': ('user.ipc.semmni', '99'),
               'sem': ('user.ipc.semmni', '99'),
               'sysv-msg': ('user.ipc.msgmni', '55'),
               'posix-mq': ('user.ipc.msg_max', '7')}[folder]
    assert got[changed[0]] == changed[1]
    # read-only, like every other attribute
    for fn in (lambda: os.setxattr(path, 'user.ipc.shmmni', b'1'),
               lambda: os.removexattr(path, list(got)[0])):
        try:
            fn()
        except OSError as e:
            assert e.errno in (1, 95), e     # EPERM / ENOTSUP
        else:
            raise AssertionError('folder attribute was writable')

"""Looking into a container: `ipcfs -o pid=PID` (issue 15).

Each test makes real namespaces (`unshare --ipc --mount --fork`, a tmpfs
on /dev/shm inside), makes objects inside with ipcmk, python3 and the
shell through nsenter, and mounts a view of that container.  The mount
must show exactly the container's objects and none of the machine's, act
on them (writes, creates, removals are seen inside), keep its view when
the container's first process exits while another holds the namespaces,
never follow a symlink planted in the container's /dev/shm, and refuse a
PID it cannot serve with one line on stderr.  Whatever the container
holds dies with its namespaces at the end of each test.
"""

import errno
import os
import stat
import subprocess
import tempfile

import pytest

import util
from test_cli import assert_one_error_line, run_daemon
from conftest import DAEMON, is_mounted


def inside_segment(c, key, data=b'inside', size=8192, mode=0o600):
    """Makes a segment with key inside c; returns its shmid there."""
    out = c.py('''
        import sysv_ipc
        m = sysv_ipc.SharedMemory(%d, sysv_ipc.IPC_CREX, mode=%d, size=%d,
                                  init_character=b'\\0')
        m.write(%r)
        m.detach()
        print(m.id)
        ''' % (key, mode, size, data)).text
    return int(out)


def inside_read_segment(c, key, n, pid=None):
    return eval(c.py('''
        import sysv_ipc
        m = sysv_ipc.SharedMemory(%d)
        print(repr(m.read(%d)))
        m.detach()
        ''' % (key, n), pid=pid).text)


def inside_shm_keys(c, pid=None):
    out = c.run(['cat', '/proc/sysvipc/shm'], pid=pid).text.splitlines()[1:]
    return {int(line.split()[0]) for line in out if line.strip()}


def inside_file(c, name, pid=None):
    return c.run(['cat', '/dev/shm/' + name], pid=pid).out


def populate(ipc, c):
    """The same few objects inside every container of these tests."""
    o = {'key': ipc.key(), 'name': ipc.name('inside'),
         'sem': ipc.name('isem')}
    o['shmid'] = inside_segment(c, o['key'])
    o['private'] = int(c.run(['ipcmk', '-M', '4096']).text.split(':')[-1])
    c.sh('printf "inside data" > /dev/shm/%s' % o['name'])
    c.py('''
        import sysv_ipc
        s = sysv_ipc.Semaphore(%d, sysv_ipc.IPC_CREX, mode=0o644,
                               initial_value=3)
        s.release(); s.acquire()
        ''' % util.sem_key(o['sem']))
    return o


def host_objects(ipc):
    """Objects of the machine's own, which no container view may show."""
    seg = ipc.shm(mode=0o644)
    seg.write(b'host')
    name = ipc.name('host')
    with open('/dev/shm/' + name, 'wb') as f:
        f.write(b'host data')
    sem = ipc.name('hsem')
    ipc.sem(name=sem, value=7, mode=0o644)
    return {'key': seg.key, 'shmid': seg.id, 'name': name, 'sem': sem}


def test_shows_exactly_the_inside_objects(mount_factory, ipc, container):
    host = host_objects(ipc)
    c = container()
    o = populate(ipc, c)
    m = mount_factory(opts=['pid=%d' % c.pid])

    inside = inside_shm_keys(c)
    assert o['key'] in inside and len(inside) == 2     # ours and ipcmk's
    assert sorted(os.listdir(m.sysv)) == \
        sorted(['id'] + [util.keyname(k) for k in inside if k])
    assert sorted(os.listdir(m.ids)) == sorted([str(o['shmid']),
                                               str(o['private'])])
    assert os.listdir(m.posix) == [o['name']]
    assert os.listdir(m.sem) in ([o['sem']],
                                 [util.keyname(util.sem_key(o['sem']))])
    assert util.read_file(os.path.join(m.sysv, util.keyname(o['key'])))[:6] \
        == b'inside'
    assert util.read_file(os.path.join(m.ids, str(o['private']))) == \
        b'\0' * 4096
    assert util.read_file(os.path.join(m.posix, o['name'])) == b'inside data'
    assert util.read_file(os.path.join(m.sem, o['sem'])) == b'3\n'
    # none of the machine's
    for path in (os.path.join(m.sysv, util.keyname(host['key'])),
                 os.path.join(m.ids, str(host['shmid'])),
                 os.path.join(m.posix, host['name']),
                 os.path.join(m.sem, host['sem'])):
        util.expect_errno(errno.ENOENT, os.stat, path)
    # stat agrees with the kernel inside
    st = os.stat(os.path.join(m.sysv, util.keyname(o['key'])))
    assert (st.st_size, stat.S_IMODE(st.st_mode)) == (8192, 0o600)
    # and `ls -l` of every folder answers
    util.run(['ls', '-l', m.sysv, m.ids, m.posix, m.sem])


def test_write_through_mount_is_read_inside(mount_factory, ipc, container):
    c = container()
    o = populate(ipc, c)
    m = mount_factory(opts=['pid=%d' % c.pid])
    seg = os.path.join(m.sysv, util.keyname(o['key']))
    with open(seg, 'r+b') as f:
        f.write(b'from outside')
    assert inside_read_segment(c, o['key'], 12) == b'from outside'
    with open(os.path.join(m.posix, o['name']), 'wb') as f:
        f.write(b'rewritten')
    assert inside_file(c, o['name']) == b'rewritten'
    util.sh('echo post > %s' % os.path.join(m.sem, o['sem']))
    assert c.py('import sysv_ipc; print(sysv_ipc.Semaphore(%d).value)'
                % util.sem_key(o['sem'])).text.strip() == '4'
    # and the other way round: written inside, read through the mount
    c.sh('printf again > /dev/shm/%s' % o['name'])
    assert util.read_file(os.path.join(m.posix, o['name'])) == b'again'


def test_made_through_mount_is_seen_inside(mount_factory, ipc, container):
    c = container()
    populate(ipc, c)
    m = mount_factory(opts=['pid=%d' % c.pid])
    k, n, s = ipc.key(), ipc.name('made'), ipc.name('msem')
    util.run(['truncate', '-s', '12288', os.path.join(m.sysv,
                                                      util.keyname(k))])
    util.sh('printf made > %s' % os.path.join(m.posix, n))
    util.run(['touch', os.path.join(m.sem, s)])
    # inside: there, with what was written
    assert k in inside_shm_keys(c)
    assert c.py('import sysv_ipc; print(sysv_ipc.SharedMemory(%d).size)'
                % k).text.strip() == '12288'
    assert inside_file(c, n) == b'made'
    assert c.py('import sysv_ipc; print(sysv_ipc.Semaphore(%d).value)'
                % util.sem_key(s)).text.strip() == '0'
    # the machine's own namespace and /dev/shm got nothing
    assert util.shm_by_key(k) is None
    assert util.sem_by_key(util.sem_key(s)) is None
    assert not os.path.exists('/dev/shm/' + n)
    # removed through the mount: gone inside
    for path in (os.path.join(m.sysv, util.keyname(k)),
                 os.path.join(m.posix, n), os.path.join(m.sem, s)):
        os.unlink(path)
    assert k not in inside_shm_keys(c)
    c.run(['test', '!', '-e', '/dev/shm/' + n])


def test_view_outlives_the_first_process(mount_factory, ipc, container):
    c = container()
    o = populate(ipc, c)
    holder = c.hold()
    m = mount_factory(opts=['pid=%d' % c.pid])
    c.stop_first()
    # the PID is gone; the view is not
    assert util.keyname(o['key']) in os.listdir(m.sysv)
    assert os.listdir(m.posix) == [o['name']]
    assert util.read_file(os.path.join(m.posix, o['name'])) == b'inside data'
    with open(os.path.join(m.sysv, util.keyname(o['key'])), 'r+b') as f:
        f.write(b'still here')
    assert inside_read_segment(c, o['key'], 10, pid=holder) == b'still here'
    n = ipc.name('late')
    util.sh('printf late > %s' % os.path.join(m.posix, n))
    assert inside_file(c, n, pid=holder) == b'late'
    assert not os.path.exists('/dev/shm/' + n)


def test_planted_symlink_is_not_followed(mount_factory, ipc, container):
    host = host_objects(ipc)
    fd, target = tempfile.mkstemp(prefix='ipcfs-test-target-', dir='/tmp')
    try:
        os.write(fd, b'host secret')
        os.close(fd)
        os.chmod(target, 0o666)
        c = container()
        o = populate(ipc, c)
        # a way out to a file of the machine, to one of its /dev/shm
        # objects (dangling inside the container, not from the daemon),
        # and a FIFO
        c.sh('ln -s %s /dev/shm/evil && ln -s /dev/shm/%s /dev/shm/evil2 '
             '&& ln -s ../../../../tmp /dev/shm/up && '
             'mkfifo -m 666 /dev/shm/fifo' % (target, host['name']))
        m = mount_factory(opts=['pid=%d' % c.pid])
        assert os.listdir(m.posix) == [o['name']]
        for link in ('evil', 'evil2', 'up', 'fifo'):
            p = os.path.join(m.posix, link)
            util.expect_errno(errno.ENOENT, os.stat, p)
            util.expect_errno(errno.ENOENT, os.open, p, os.O_RDONLY)
            util.expect_errno(errno.ENOENT, os.open, p,
                              os.O_WRONLY | os.O_TRUNC)
            util.expect_errno(errno.ENOENT, os.truncate, p, 0)
            util.expect_errno(errno.ENOENT, os.chmod, p, 0o777)
            util.expect_errno(errno.ENOENT, os.unlink, p)
            # a create on the name does not go through the link either
            util.expect_errno((errno.EEXIST, errno.ENOENT, errno.EACCES),
                              os.open, p, os.O_WRONLY | os.O_CREAT, 0o600)
            res = util.sh('echo overwritten > %s' % p, rc='nonzero')
            assert res.err
        # the links are still there inside, the targets untouched
        c.run(['test', '-L', '/dev/shm/evil'])
        c.run(['test', '-L', '/dev/shm/evil2'])
        c.run(['test', '-p', '/dev/shm/fifo'])
        assert util.read_file(target) == b'host secret'
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o666
        assert util.read_file('/dev/shm/' + host['name']) == b'host data'
    finally:
        os.unlink(target)


def gone_pid():
    p = subprocess.Popen(['true'])
    p.wait()
    return p.pid


@pytest.mark.parametrize('value', ['gone', '0', '-1', 'abc', '', '1x',
                                   '99999999999'])
def test_daemon_refuses_bad_pid(scratch_dir, value):
    pid = str(gone_pid()) if value == 'gone' else value
    res = run_daemon(['-f', '-o', 'pid=' + pid, scratch_dir])
    assert_one_error_line(res)
    assert not is_mounted(scratch_dir)


def run_daemon_as_nobody(args, timeout=20):
    """The daemon as uid 65534, expected to exit by itself; never left
    running or mounted."""
    p = subprocess.Popen(util.as_user([DAEMON] + args),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd='/',
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        util.kill_tree(p)
        out, err = p.communicate()
        raise AssertionError('ipcfs %r as nobody did not exit' % args)
    return util.Result(args, p.returncode, out, err.decode(errors='replace'))


def test_daemon_refuses_pid_when_not_root(scratch_dir, container):
    c = container()
    os.chmod(scratch_dir, 0o777)
    for pid in (c.pid, os.getpid()):
        try:
            res = run_daemon_as_nobody(['-f', '-o', 'pid=%d' % pid,
                                        scratch_dir])
        finally:
            if is_mounted(scratch_dir):
                subprocess.run(['fusermount3', '-uz', scratch_dir])
        assert_one_error_line(res)
        assert not is_mounted(scratch_dir)


def test_without_pid_nothing_changes(mount_factory, ipc, container):
    """A container running beside an ordinary mount changes nothing."""
    host = host_objects(ipc)
    c = container()
    o = populate(ipc, c)
    m = mount_factory()
    assert util.keyname(host['key']) in os.listdir(m.sysv)
    assert host['name'] in os.listdir(m.posix)
    assert util.keyname(o['key']) not in os.listdir(m.sysv)
    assert o['name'] not in os.listdir(m.posix)

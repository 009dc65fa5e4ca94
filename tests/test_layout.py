"""The tree: folders, their modes, live listings of every kind of object."""

import errno
import os
import re
import stat

import pytest
import sysv_ipc

import util


def test_root_listing(mnt):
    want = util.ROOT_FOLDERS
    assert sorted(os.listdir(mnt.path)) == want
    assert 'id' in os.listdir(mnt.sysv)
    assert 'id' in os.listdir(mnt.p('sysv-sem'))
    assert 'id' in os.listdir(mnt.p('sysv-msg'))
    res = util.run(['ls', mnt.path])
    assert res.text.split() == want


@pytest.mark.parametrize('sub,mode', [
    ('sysv', 0o1777), ('posix', 0o1777), ('sem', 0o1777),
    ('sysv/id', 0o555), ('sysv-sem', 0o1777), ('sysv-sem/id', 0o555),
    ('posix-sem', 0o1777), ('sysv-msg', 0o1777), ('sysv-msg/id', 0o555),
    ('posix-mq', 0o1777)])
def test_folder_modes(mnt, sub, mode):
    st = os.stat(mnt.p(sub))
    assert stat.S_ISDIR(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == mode, oct(st.st_mode)
    res = util.run(['stat', '-c', '%a %F', mnt.p(sub)])
    assert res.text.strip() == '%o directory' % mode


def test_root_is_a_directory(mnt):
    st = os.stat(mnt.path)
    assert stat.S_ISDIR(st.st_mode)


def test_missing_names_enoent(mnt):
    for p in ('nosuch', 'sysv/id/nosuch', 'posix/' + util.unique_name(),
              'sysv/0x7', 'sem/nosuch/x'):
        util.expect_errno((errno.ENOENT,), os.stat, mnt.p(p))


# ------------------------------------------------------------------
# Listings are live, with no caching delay.
# ------------------------------------------------------------------

def test_sysv_ipcmk_ipcrm_live(mnt, ipc):
    for _ in range(3):
        shmid, key = util.ipcmk_shm(4096)
        ipc.add_shmid(shmid)
        name = util.keyname(key)
        assert name in os.listdir(mnt.sysv)
        assert str(shmid) in os.listdir(mnt.ids)
        assert os.stat(mnt.p('sysv', name)).st_size == 4096
        assert os.stat(mnt.p('sysv', 'id', str(shmid))).st_size == 4096
        assert name in util.run(['ls', mnt.sysv]).text.split()
        util.run(['ipcrm', '-m', str(shmid)])
        assert name not in os.listdir(mnt.sysv)
        assert str(shmid) not in os.listdir(mnt.ids)
        util.expect_errno(errno.ENOENT, os.stat, mnt.p('sysv', name))
        util.expect_errno(errno.ENOENT, os.stat,
                          mnt.p('sysv', 'id', str(shmid)))
        util.run(['ls', mnt.p('sysv', name)], rc='nonzero')


def test_sysv_no_negative_caching(mnt, ipc):
    k = ipc.key()
    path = mnt.p('sysv', util.keyname(k))
    for _ in range(3):
        util.expect_errno(errno.ENOENT, os.stat, path)
        seg = ipc.shm(key=k, size=8192)
        assert os.stat(path).st_size == 8192
        seg.detach()
        seg.remove()
        util.expect_errno(errno.ENOENT, os.stat, path)


def test_sysv_listing_matches_kernel(mnt, ipc):
    ipc.shm(size=4096)
    ipc.shm(size=4096)
    ipc.shm(size=4096, private=True)

    def kernel():
        return {util.keyname(r['key']) for r in util.shm_table()
                if r['key'] != 0 and not r['dest']}

    before = kernel()
    listed = set(os.listdir(mnt.sysv))
    after = kernel()
    assert 'id' in listed
    listed.discard('id')
    # Other processes may come and go meanwhile: bracket the listing.
    assert before & after <= listed <= before | after, (listed, before)
    assert '0x00000000' not in listed


def test_id_listing_matches_kernel(mnt, ipc):
    priv = ipc.shm(size=4096, private=True)
    keyed = ipc.shm(size=4096)

    def kernel():
        return {str(r['shmid']) for r in util.shm_table() if not r['dest']}

    before = kernel()
    listed = set(os.listdir(mnt.ids))
    after = kernel()
    assert str(priv.id) in listed and str(keyed.id) in listed
    # removed-but-attached segments may or may not be listed
    dest = {str(r['shmid']) for r in util.shm_table() if r['dest']}
    assert before & after <= listed <= before | after | dest, listed


def test_posix_live(mnt, ipc):
    for _ in range(3):
        n = ipc.name()
        s = ipc.pshm(n, create=True, size=100)
        assert n in os.listdir(mnt.posix)
        assert os.stat(mnt.p('posix', n)).st_size == os.fstat(s._fd).st_size
        s.close()
        os.unlink('/dev/shm/' + n)
        assert n not in os.listdir(mnt.posix)
        util.expect_errno(errno.ENOENT, os.stat, mnt.p('posix', n))


def test_posix_no_negative_caching(mnt, ipc):
    n = ipc.name()
    path = mnt.p('posix', n)
    util.expect_errno(errno.ENOENT, os.stat, path)
    fd = os.open('/dev/shm/' + n, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    assert os.stat(path).st_size == 0
    os.unlink('/dev/shm/' + n)
    util.expect_errno(errno.ENOENT, os.stat, path)


def test_posix_listing_matches_dev_shm(mnt, ipc):
    n = ipc.name()
    ipc.pshm(n, create=True, size=10)
    # a POSIX named semaphore's file is not a shm object
    semfile = ipc.name('semfile')
    ipc.names.add('sem.' + semfile)
    with open('/dev/shm/sem.' + semfile, 'wb') as f:
        f.write(b'\0' * 32)

    def kernel():
        return {e for e in os.listdir('/dev/shm')
                if not e.startswith('sem.') and
                os.path.isfile('/dev/shm/' + e)}

    before = kernel()
    listed = set(os.listdir(mnt.posix))
    after = kernel()
    assert n in listed
    assert 'sem.' + semfile not in listed
    assert before & after <= listed <= before | after, listed


def test_sem_live_by_key(mnt, ipc):
    for _ in range(3):
        s = ipc.sem(value=2)
        name = util.keyname(s.key)
        assert name in os.listdir(mnt.sem)
        assert util.read_file(mnt.p('sem', name)) == b'2\n'
        s.remove()
        assert name not in os.listdir(mnt.sem)
        util.expect_errno(errno.ENOENT, os.stat, mnt.p('sem', name))


def test_sem_ipcmk_live(mnt, ipc):
    out = util.run(['ipcmk', '-S', '1']).text
    semid = ipc.add_semid(int(out.strip().split(':')[-1]))
    key = util.sem_by_id(semid)['key']
    assert util.keyname(key) in os.listdir(mnt.sem)
    util.run(['ipcrm', '-s', str(semid)])
    assert util.keyname(key) not in os.listdir(mnt.sem)


def test_sem_only_one_semaphore_sets_listed(mnt, ipc):
    out = util.run(['ipcmk', '-S', '2']).text
    semid = ipc.add_semid(int(out.strip().split(':')[-1]))
    key = util.sem_by_id(semid)['key']
    assert util.keyname(key) not in os.listdir(mnt.sem)


def test_sem_no_negative_caching(mnt, ipc):
    n = ipc.name()
    path = mnt.p('sem', n)
    util.expect_errno(errno.ENOENT, os.stat, path)
    s = sysv_ipc.Semaphore(util.sem_key(n), sysv_ipc.IPC_CREX, 0o600, 4)
    assert util.read_file(path) == b'4\n'
    s.remove()
    util.expect_errno(errno.ENOENT, os.stat, path)


def test_sem_listing_matches_kernel(mnt, ipc):
    named = ipc.name()
    util.run(['touch', mnt.p('sem', named)])
    ipc.sem()

    def kernel():
        return {r['key'] for r in util.sem_table() if r['nsems'] == 1}

    before = kernel()
    listed = os.listdir(mnt.sem)
    after = kernel()
    assert named in listed
    keys = [util.signed32(int(e, 16)) if re.fullmatch('0x[0-9a-f]{8}', e)
            else util.sem_key(e) for e in listed]
    # one entry per set
    assert len(keys) == len(set(keys)), listed
    assert before & after <= set(keys) <= before | after, listed

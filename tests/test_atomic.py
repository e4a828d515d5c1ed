"""Atomic writes: whole files or none, and a write that fails names its path (OutputError).

Tests run as root, and root writes into a chmod-read-only folder, so "a folder that cannot be
written" is made here as a path under a regular file (ENOTDIR), a monkeypatched ENOSPC, or a
real 64 KiB tmpfs filled up (``tiny_disk``, when a tmpfs can be mounted).
"""
import errno
import io
import json
import os
import pickle

import numpy as np
import pytest

from numser import OutputError
from numser import atomic
from numser.atomic import atomic_open, check_writable, save_npy, write_json


def test_write_json_round_trip_leaves_no_temp_file(tmp_path):
    write_json(tmp_path / "a.json", {"x": 1})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}
    assert os.listdir(tmp_path) == ["a.json"]


def test_written_files_get_the_mode_open_would_give_them(tmp_path):
    with atomic_open(tmp_path / "a.txt", "w") as f:
        f.write("x")
    with open(tmp_path / "b.txt", "w") as f:
        f.write("x")
    mode = (tmp_path / "a.txt").stat().st_mode & 0o777
    assert mode == (tmp_path / "b.txt").stat().st_mode & 0o777 and mode != 0o600   # mkstemp's


def test_path_under_a_regular_file_is_an_output_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError, match=r"file/out/run.json: cannot write \(Not a directory\)"):
        write_json(tmp_path / "file" / "out" / "run.json", {})
    with pytest.raises(OutputError, match=r"file/out: cannot write"):
        check_writable(tmp_path / "file" / "out")
    assert sorted(os.listdir(tmp_path)) == ["file"]


def test_check_writable_creates_missing_parents_and_removes_them_on_failure(tmp_path,
                                                                             monkeypatch):
    check_writable(tmp_path / "a" / "b")
    assert os.listdir(tmp_path / "a" / "b") == []              # the probe is gone
    monkeypatch.setattr(atomic.os, "fsync", _no_space)
    with pytest.raises(OutputError, match=r"x/y: cannot write \(No space left on device\); "
                                          r"free some space"):
        check_writable(tmp_path / "x" / "y")
    assert sorted(os.listdir(tmp_path)) == ["a"]               # x/ and x/y/ removed again


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullDiskFile(io.FileIO):
    """A file whose writes fail as on a full disk."""

    def write(self, data):
        _no_space()


def test_full_disk_keeps_the_old_file_and_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "run.json"
    write_json(target, {"old": True})
    real_fdopen = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        f = _FullDiskFile(fd, "w")
        return io.TextIOWrapper(f, encoding="utf-8") if "b" not in mode else f

    monkeypatch.setattr(atomic.os, "fdopen", fdopen)
    with pytest.raises(OutputError) as info:
        write_json(target, {"new": list(range(10000))})
    monkeypatch.setattr(atomic.os, "fdopen", real_fdopen)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert str(info.value).startswith(f"{target}: cannot write (No space left on device)")
    assert json.loads(target.read_text()) == {"old": True}
    assert os.listdir(tmp_path) == ["run.json"]


def test_an_error_of_the_caller_is_not_called_a_write_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_open(tmp_path / "x.bin") as f:
            f.write(b"partial")
            open(tmp_path / "missing")                         # a read inside the block
    assert os.listdir(tmp_path) == []


def test_real_full_disk(tiny_disk):
    with pytest.raises(OutputError, match="No space left on device") as info:
        save_npy(tiny_disk / "big.npy", np.zeros(100_000, dtype=np.float32))   # 400 KB > 64 KiB
    assert info.value.filename == str(tiny_disk / "big.npy")
    assert os.listdir(tiny_disk) == []
    save_npy(tiny_disk / "small.npy", np.zeros(10, dtype=np.float32))   # space was freed again
    assert os.listdir(tiny_disk) == ["small.npy"]


def test_output_error_survives_pickling():
    e = OutputError("out/x.json", OSError(errno.ENOSPC, "No space left on device"))
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is OutputError and str(again) == str(e) and again.errno == errno.ENOSPC

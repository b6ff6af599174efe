"""The one atomic writer of the application: whole files, normal permissions, real paths."""

import errno
import os

import pytest
from glassgrad.models.atomic import atomic_dir, atomic_file, write_atomic, write_text_atomic


def test_writes_whole_files_with_the_permissions_of_any_new_file(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_text_atomic(tmp_path / "sub" / "a.txt", "héllo\n")
    finally:
        os.umask(old)
    assert path.read_text(encoding="utf-8") == "héllo\n"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert os.listdir(path.parent) == ["a.txt"]


def test_an_error_inside_the_block_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")

    def interrupted_write():
        with atomic_file(path) as f:
            f.write(b"half a new")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted_write()
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["model.npz"]


def test_errors_name_the_target_never_the_temporary_file(tmp_path):
    def full_disk(f):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left") as info:
        write_atomic(tmp_path / "summary.json", full_disk)
    assert info.value.filename == str(tmp_path / "summary.json")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(FileExistsError) as info:  # the folder to make is a file
        write_text_atomic(tmp_path / "file" / "sub.json", "{}")
    assert info.value.filename == str(tmp_path / "file" / "sub.json")
    assert os.listdir(tmp_path) == ["file"]


def test_a_folder_replacing_a_link_to_a_folder_leaves_the_link_s_target_and_nothing_hidden(tmp_path):
    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "model.npz").write_text("earlier run")
    (tmp_path / "latest").symlink_to("earlier")
    with atomic_dir(tmp_path / "latest") as folder:
        (folder / "model.npz").write_text("new run")
    assert sorted(os.listdir(tmp_path)) == ["earlier", "latest"]  # no hidden link left beside them
    assert (tmp_path / "latest" / "model.npz").read_text() == "new run"
    assert (tmp_path / "earlier" / "model.npz").read_text() == "earlier run"


def test_an_error_inside_a_folder_names_the_file_s_place_in_the_target_never_the_hidden_folder(tmp_path):
    def full_disk(f):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left") as info, atomic_dir(tmp_path / "run") as folder:
        write_atomic(folder / "weights.png", full_disk)
    assert info.value.filename == str(tmp_path / "run" / "weights.png")
    assert os.listdir(tmp_path) == []

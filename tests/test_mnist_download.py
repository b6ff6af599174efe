"""The verified download, against a local HTTP server serving small files the test makes."""

import functools
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from glassgrad.models.data import download as download_module
from glassgrad.models.mnist import OFFICIAL_FILES, DataError, download, load_dir
from mnist_files import random_digits, write_idx_pair

FILES = {
    "a-images.gz": b"first file " * 20000,  # several chunks
    "b-labels.gz": b"second file",
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


HASHES = {name: _sha(data) for name, data in FILES.items()}


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the folder; /error/... answers 500, /cut/... promises more bytes than it sends,
    /huge/... promises a terabyte, /endless/... sends 3 MB without saying how much."""

    def do_GET(self):
        self.server.requests.append((self.path, self.headers["User-Agent"]))
        if self.path.startswith("/error/"):
            self.send_error(500, "boom")
        elif self.path.startswith(("/huge/", "/endless/")):  # more than any MNIST file, announced or not
            self.send_response(200)
            if self.path.startswith("/huge/"):
                self.send_header("Content-Length", str(10**12))
            self.end_headers()
            for _ in range(1 if self.path.startswith("/huge/") else 48):
                self.wfile.write(bytes(1 << 16))
            self.close_connection = True
        elif self.path.startswith("/cut/"):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"only a part")
            self.close_connection = True
        else:
            super().do_GET()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    for name, data in FILES.items():
        (root / name).write_bytes(data)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.root = root
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _get(server, cache, files=HASHES, url=None, **kw):
    return download(cache, url or server.url, timeout=5.0, files=files, **kw)


def test_downloads_every_file_verified(server, tmp_path):
    cache = tmp_path / "cache" / "mnist"
    seen = []
    assert _get(server, cache, progress=lambda *e: seen.append(e)) == cache
    for name, data in FILES.items():
        assert (cache / name).read_bytes() == data
    assert sorted(os.listdir(cache)) == sorted(FILES)
    size = len(FILES["a-images.gz"])
    assert seen[-1] == ("b-labels.gz", 11, 11)
    firsts = [done for name, done, total in seen if name == "a-images.gz"]
    assert firsts == sorted(firsts) and firsts[-1] == size


def test_downloaded_files_get_the_permissions_of_any_new_file(server, tmp_path):
    old = os.umask(0o022)
    try:
        _get(server, tmp_path)
    finally:
        os.umask(old)
    assert {oct(os.stat(tmp_path / name).st_mode & 0o777) for name in FILES} == {"0o644"}


def test_a_killed_downloads_temporary_file_is_removed_by_the_next_one(server, tmp_path):
    stale, live = tmp_path / ".a-images.gz.0badc0de.tmp", tmp_path / ".b-labels.gz.1234abcd.tmp"
    for leftover in (stale, live):
        leftover.write_bytes(b"half")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    _get(server, tmp_path)
    assert not stale.exists()
    assert live.exists()  # young: perhaps another download still writing it
    assert sorted(os.listdir(tmp_path)) == sorted([*FILES, live.name])


def test_files_already_there_are_not_fetched_again(server, tmp_path):
    _get(server, tmp_path)
    assert [path for path, _ in server.requests] == ["/a-images.gz", "/b-labels.gz"]
    assert {agent for _, agent in server.requests} == {"glassgrad-mnist-download"}
    _get(server, tmp_path, url=server.url.rstrip("/"))  # a base URL without the slash works
    assert len(server.requests) == 2


def test_damaged_cached_file_is_replaced(server, tmp_path):
    (tmp_path / "a-images.gz").write_bytes(b"damaged")
    _get(server, tmp_path)
    assert (tmp_path / "a-images.gz").read_bytes() == FILES["a-images.gz"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    cache = tmp_path / "cache"
    wrong = _sha(b"something else")
    with pytest.raises(DataError) as info:
        _get(server, cache, files={"a-images.gz": wrong})
    message = str(info.value)
    assert f"{server.url}a-images.gz: SHA-256 mismatch" in message
    assert f"expected {wrong}, got {HASHES['a-images.gz']}" in message
    assert os.listdir(cache) == []


@pytest.mark.parametrize("path", ["huge/", "endless/"])
def test_a_server_sending_more_than_any_mnist_file_is_cut_off(server, tmp_path, monkeypatch, path):
    monkeypatch.setattr(download_module, "MAX_BYTES", 1 << 20)
    with pytest.raises(DataError, match="more than 1,048,576 bytes"):
        _get(server, tmp_path, url=server.url + path)
    assert os.listdir(tmp_path) == []


def test_good_files_stay_when_a_later_one_fails(server, tmp_path):
    (server.root / "b-labels.gz").write_bytes(b"tampered")
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        _get(server, tmp_path)
    assert os.listdir(tmp_path) == ["a-images.gz"]


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("missing.gz", "missing.gz: cannot download, HTTP 404"),
        ("error/x.gz", "error/x.gz: cannot download, HTTP 500"),
        ("cut/x.gz", "cut/x.gz: the connection closed after 11 of 1,000 bytes"),
    ],
)
def test_server_errors_leave_nothing(server, tmp_path, path, match):
    with pytest.raises(DataError, match=match):
        _get(
            server,
            tmp_path,
            files={path.split("/")[-1]: HASHES["b-labels.gz"]},
            url=server.url + path.rpartition("/")[0],
        )
    assert os.listdir(tmp_path) == []


def test_interrupt_midway_leaves_nothing(server, tmp_path):
    partial = []

    def interrupt(name, done, total):
        if done < total:
            partial.extend(os.listdir(tmp_path))  # the temporary file, half written
        else:
            raise KeyboardInterrupt  # Ctrl-C after the last byte, before the rename

    with pytest.raises(KeyboardInterrupt):
        _get(server, tmp_path, progress=interrupt)
    assert partial and all(p.startswith(".a-images.gz.") and p.endswith(".tmp") for p in partial)
    assert os.listdir(tmp_path) == []


def test_downloaded_folder_loads_with_the_official_names(server, tmp_path):
    """Small IDX files under the official names, their hashes in place of the official ones."""
    train, test = random_digits(5, seed=1), random_digits(3, seed=2)
    served = write_idx_pair(server.root, *train, "train", gz=True)
    served += write_idx_pair(server.root, *test, "t10k", gz=True)
    files = {p.name: _sha(p.read_bytes()) for p in served}
    assert sorted(files) == sorted(OFFICIAL_FILES)
    cache = download(tmp_path / "mnist", server.url, timeout=5.0, files=files)
    for split, (images, labels) in {"train": train, "test": test}.items():
        d = load_dir(cache, split)
        np.testing.assert_array_equal(d.images, images)
        np.testing.assert_array_equal(d.labels, labels)


def test_unreachable_server(tmp_path):
    with socket.socket() as s:  # a port that was free a moment ago: nobody listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataError, match=f"127.0.0.1:{port}/a-images.gz: cannot download"):
        download(tmp_path, f"http://127.0.0.1:{port}/", timeout=5.0, files=HASHES)
    assert os.listdir(tmp_path) == []


def test_cache_that_cannot_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match="cannot create the cache folder"):
        download(tmp_path / "file" / "mnist", files=HASHES)


def test_default_cache_follows_xdg_cache_home(tmp_path):
    code = "from glassgrad.models.mnist import DEFAULT_CACHE; print(DEFAULT_CACHE)"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == str(tmp_path / "glassgrad" / "mnist")


def test_a_fifo_in_the_cache_under_a_file_s_name_is_refused_not_read(server, tmp_path):
    os.mkfifo(tmp_path / "a-images.gz")
    outcome = []

    def fetch():
        try:
            _get(server, tmp_path)
        except DataError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=fetch, daemon=True)  # reading the FIFO would wait for ever
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and len(outcome) == 1
    assert "a-images.gz" in outcome[0] and "not a regular file" in outcome[0]
    assert (tmp_path / "a-images.gz").is_fifo()


@pytest.mark.parametrize("mirror", ["", " "])
def test_a_blank_mirror_is_refused_not_taken_for_the_official_server(mirror, tmp_path, monkeypatch, capsys):
    from glassgrad.models import mnist
    from glassgrad.models.cli import main

    def no_download(*args, **kwargs):
        raise AssertionError("a blank --mirror downloaded from the official server")

    monkeypatch.setattr(mnist, "download", no_download)
    with pytest.raises(SystemExit) as caught:
        main(
            [
                "train",
                "--download",
                "--mirror",
                mirror,
                "--cache-dir",
                str(tmp_path / "cache"),
                "--out",
                str(tmp_path / "run"),
            ]
        )
    err = capsys.readouterr().err
    assert caught.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith("glassgrad train: error: argument --mirror: ") and "URL" in err, err
    assert os.listdir(tmp_path) == []

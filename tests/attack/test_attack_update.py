"""``update``: fetch, verify, install atomically, become the default; failures change nothing;
hostile sources (endless, oversize, gzip bombs, plain http, wrong digests) are refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import time
import tracemalloc
import urllib.request
from email.message import Message
from http.client import HTTPMessage
from pathlib import Path
from typing import Any

import pytest
from attack_helpers import find

from attackmap.attack import _update, cache_dir, load_attack, update
from attackmap.cli import main
from attackmap.errors import UpdateError

Objects = list[dict[str, Any]]
CaptureStr = pytest.CaptureFixture[str]


@pytest.fixture
def release(slice_objects: Objects, write_bundle: Any) -> Path:
    """A stand-in official release: the slice's objects plus a collection object (19.0)."""
    find(slice_objects, "T1611")["name"] = "Escape to Host (19.0)"
    path: Path = write_bundle(slice_objects, "enterprise-attack.json", collection="19.0")
    return path


def test_update_from_file_url_becomes_the_default(release: Path) -> None:
    assert load_attack().version == "18.1"
    result = update(url=release.as_uri())
    assert (result.version, result.previous, result.techniques) == ("19.0", None, 48)
    kb = load_attack()
    assert (kb.version, kb.source.origin, kb.source.kind) == ("19.0", "cache", "slice")
    assert kb.technique("T1611").name == "Escape to Host (19.0)"
    installed = Path(result.path)
    assert installed.parent == cache_dir()
    # the full bundle is kept beside the slice for users who want descriptions
    assert (installed / "enterprise-attack-19.0.json").read_bytes() == release.read_bytes()
    assert not [p for p in cache_dir().iterdir() if p.name.startswith(".")]  # no leftovers
    again = update(url=release.as_uri())  # reinstalling the same release replaces it cleanly
    assert (again.path, again.previous) == (result.path, "19.0")
    assert load_attack().technique("T1611").name == "Escape to Host (19.0)"


def test_env_var_still_wins_over_the_update(release: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    update(url=release.as_uri())
    monkeypatch.setenv("ATTACKMAP_ATTACK_BUNDLE", str(release))
    assert load_attack().source.origin == "env"


def _install_first(release: Path) -> str:
    first = update(url=release.as_uri())
    assert load_attack().version == "19.0"
    return first.path


def test_failed_fetch_keeps_the_previous_release(release: Path) -> None:
    _install_first(release)

    def broken(url: str, dest: Path, sha256: str | None) -> None:
        dest.write_bytes(b"partial")
        raise ConnectionError("no route to host")

    with pytest.raises(UpdateError, match="download failed: no route to host") as err:
        update(version="18.1", fetch=broken)
    assert "previous release 19.0 kept" in (err.value.hint or "")
    assert load_attack().version == "19.0"
    assert not [p for p in cache_dir().iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>rate limited</html>", "not a readable JSON STIX bundle"),
        (
            b'{"type": "bundle", "id": "bundle--x", "objects": []}',
            "fails sanity checks: no Containers techniques",
        ),
    ],
)
def test_unusable_release_changes_nothing(release: Path, content: bytes, message: str) -> None:
    _install_first(release)

    def fetch(url: str, dest: Path, sha256: str | None) -> None:
        dest.write_bytes(content)

    with pytest.raises(UpdateError, match=message):
        update(version="18.1", fetch=fetch)
    assert load_attack().version == "19.0"


def test_official_release_uses_mitre_location_and_known_hash(
    release: Path, slice_objects: Objects, write_bundle: Any
) -> None:
    from mitreattack import release_info

    seen: list[tuple[str, str | None]] = []
    official = write_bundle(slice_objects, "official.json", collection="18.1")

    def fetch(url: str, dest: Path, sha256: str | None) -> None:
        seen.append((url, sha256))
        shutil.copyfile(official, dest)

    update(version="18.1", fetch=fetch)
    update(version="18.1", stix21=True, fetch=fetch)
    assert seen == [
        (
            "https://raw.githubusercontent.com/mitre/cti/ATT%26CK-v18.1/enterprise-attack/enterprise-attack.json",
            release_info.STIX20["enterprise"]["18.1"],
        ),
        (
            "https://raw.githubusercontent.com/mitre-attack/attack-stix-data/master/enterprise-attack/enterprise-attack-18.1.json",
            release_info.STIX21["enterprise"]["18.1"],
        ),
    ]
    assert load_attack().version == "18.1"


def test_version_mismatch_and_unknown_version(release: Path) -> None:
    with pytest.raises(UpdateError, match=r"is ATT&CK 19\.0, not the requested 18\.1"):
        update(version="18.1", url=release.as_uri())
    with pytest.raises(UpdateError, match=r"unknown ATT&CK release 1\.9"):
        update(version="1.9")
    assert load_attack().source.origin == "bundled"


def test_default_fetch_checks_the_digest(release: Path) -> None:
    with pytest.raises(UpdateError, match="sha256 mismatch"):
        _update._default_fetch(release.as_uri(), release.parent / "x.json", "0" * 64)
    with pytest.raises(UpdateError, match="unsupported URL scheme"):
        _update._default_fetch("ftp://example.org/x.json", release.parent / "x.json", None)
    assert sorted(p.name for p in release.parent.iterdir()) == [release.name]  # no x.json, no .part


# --------------------------------------------------------------------------- hostile sources

MiB = 1024 * 1024


def _leftovers() -> list[str]:
    """Temporary files or directories an update left in the cache (none, ever)."""
    root = cache_dir()
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".")) if root.exists() else []


class _Response:
    """A fake https response: endless zeros (or as many as ``length`` declares), recording every
    read size; raises KeyboardInterrupt on read number ``interrupt_at`` when given."""

    def __init__(self, length: int | None = None, interrupt_at: int | None = None) -> None:
        self.headers = Message()
        if length is not None:
            self.headers["Content-Length"] = str(length)
        self.interrupt_at = interrupt_at
        self.requested: list[int] = []
        self.closed = False

    def read(self, size: int) -> bytes:
        self.requested.append(size)
        if len(self.requested) == self.interrupt_at:
            raise KeyboardInterrupt
        return bytes(size)

    def close(self) -> None:
        self.closed = True


def _serve(monkeypatch: pytest.MonkeyPatch, response: _Response) -> list[str]:
    opened: list[str] = []

    def fake_open(url: str) -> _Response:
        opened.append(url)
        return response

    monkeypatch.setattr(_update, "_open", fake_open)
    return opened


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_is_refused_after_the_limit_with_bounded_memory(release: Path) -> None:
    _install_first(release)
    tracemalloc.start()
    try:
        with pytest.raises(UpdateError, match="more than the 128 MiB limit") as err:
            update(url="file:///dev/zero")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB  # streamed in 1 MiB reads, not held (it took 22 GB before)
    assert "previous release 19.0 kept" in (err.value.hint or "")
    assert load_attack().version == "19.0"
    assert _leftovers() == []


def test_oversize_file_is_refused_by_its_size_before_reading(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: CaptureStr
) -> None:
    _install_first(release)
    sparse = tmp_path / "enterprise-attack-20.0.json"
    with sparse.open("wb") as f:
        f.truncate(_update.MAX_BUNDLE_BYTES + 1)  # sparse: no disk space, no time
    reads: list[int] = []
    real_open = _update._open

    class Spy:
        def __init__(self, url: str) -> None:
            self.inner = real_open(url)
            self.headers = self.inner.headers

        def read(self, size: int) -> bytes:
            reads.append(size)
            return self.inner.read(size)

        def close(self) -> None:
            self.inner.close()

    monkeypatch.setattr(_update, "_open", Spy)
    assert main(["attack", "update", "--from", sparse.as_uri()]) == 2
    err = capsys.readouterr().err
    assert "more than the 128 MiB limit" in err and "Traceback" not in err
    assert reads == []
    assert load_attack().version == "19.0"
    assert _leftovers() == []


def test_endless_download_reads_at_most_one_byte_past_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_update, "MAX_BUNDLE_BYTES", 3 * MiB + 5)
    endless = _Response()  # no Content-Length
    opened = _serve(monkeypatch, endless)
    with pytest.raises(UpdateError, match="more than the 3 MiB limit"):
        update(url="https://mirror.example/enterprise-attack-19.0.json")
    assert opened == ["https://mirror.example/enterprise-attack-19.0.json"]
    assert max(endless.requested) <= MiB
    assert sum(endless.requested) == 3 * MiB + 6
    assert endless.closed
    assert load_attack().source.origin == "bundled"
    assert _leftovers() == []


def test_declared_oversize_download_is_refused_before_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    declared = _Response(length=_update.MAX_BUNDLE_BYTES + 1)
    _serve(monkeypatch, declared)
    with pytest.raises(UpdateError, match="more than the 128 MiB limit"):
        update(url="https://mirror.example/enterprise-attack-19.0.json")
    assert declared.requested == [] and declared.closed
    assert _leftovers() == []


def test_gzip_bomb_is_refused_before_decompressing_it_whole(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_first(release)
    monkeypatch.setattr(_update, "MAX_BUNDLE_BYTES", MiB)
    bomb = tmp_path / "enterprise-attack-20.0.json.gz"
    bomb.write_bytes(gzip.compress(bytes(2 * MiB)))  # 2 KB that expand to twice the limit
    with pytest.raises(UpdateError, match="decompresses to more than the 1 MiB limit"):
        update(url=bomb.as_uri())
    assert load_attack().version == "19.0"
    assert _leftovers() == []


def test_interrupted_download_leaves_nothing(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_first(release)
    _serve(monkeypatch, _Response(interrupt_at=3))  # Ctrl-C during the third read
    with pytest.raises(KeyboardInterrupt):
        update(url="https://mirror.example/enterprise-attack-20.0.json")
    assert load_attack().version == "19.0"
    assert _leftovers() == []
    # the fetcher on its own cleans up its partial file too
    _serve(monkeypatch, _Response(interrupt_at=2))
    target = tmp_path / "fetched"
    target.mkdir()
    with pytest.raises(KeyboardInterrupt):
        _update._default_fetch("https://mirror.example/x.json", target / "x.json", None)
    assert list(target.iterdir()) == []


def test_staging_left_by_a_killed_update_is_removed(release: Path) -> None:
    root = cache_dir()
    killed, running = root / ".update-killed", root / ".update-running"
    for staging in (killed, running):
        staging.mkdir(parents=True)
        (staging / "download.json.part").write_bytes(b"{")
    long_ago = time.time() - _update.STALE_STAGING_SECONDS - 60
    os.utime(killed, (long_ago, long_ago))
    update(url=release.as_uri())
    assert _leftovers() == [".update-running"]  # a concurrent update's is left alone


def test_plain_http_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: CaptureStr) -> None:
    opened = _serve(monkeypatch, _Response())
    url = "http://mirror.example/enterprise-attack-19.0.json"
    with pytest.raises(UpdateError, match=r"plain http:// is refused") as err:
        update(url=url)
    assert "use https://" in (err.value.hint or "")
    assert main(["attack", "update", "--from", url]) == 2
    out, err_text = capsys.readouterr()
    assert out == ""
    assert err_text.startswith(f"error: {url}: plain http:// is refused")
    assert "Traceback" not in err_text
    assert opened == []
    assert not cache_dir().exists()  # refused before anything was created


def test_https_redirect_to_plain_http_is_refused() -> None:
    handler = _update._HttpsOnlyRedirects()
    request = urllib.request.Request("https://mirror.example/a.json")
    with pytest.raises(UpdateError, match=r"redirected to http://mirror\.example/b\.json"):
        handler.redirect_request(
            request, io.BytesIO(), 302, "Found", HTTPMessage(), "http://mirror.example/b.json"
        )
    followed = handler.redirect_request(
        request, io.BytesIO(), 302, "Found", HTTPMessage(), "https://cdn.example/b.json"
    )
    assert followed is not None and followed.full_url == "https://cdn.example/b.json"


def test_from_with_a_wrong_sha256_is_refused_and_leaves_nothing(
    release: Path, slice_objects: Objects, write_bundle: Any, capsys: CaptureStr
) -> None:
    _install_first(release)
    newer = write_bundle(slice_objects, "enterprise-attack-20.0.json", collection="20.0")
    digest = hashlib.sha256(newer.read_bytes()).hexdigest()
    with pytest.raises(UpdateError, match=f"sha256 mismatch: expected {'0' * 64}, got {digest}"):
        update(url=newer.as_uri(), sha256="0" * 64)
    assert load_attack().version == "19.0"
    assert _leftovers() == []
    assert main(["attack", "update", "--from", newer.as_uri(), "--sha256", "f" * 64]) == 2
    err = capsys.readouterr().err
    assert "sha256 mismatch" in err and "previous release 19.0 kept" in err
    assert load_attack().version == "19.0"
    # the right digest (as sha256sum prints it, or in capitals) installs it
    assert main(["attack", "update", "--from", newer.as_uri(), "--sha256", digest.upper()]) == 0
    assert f"sha256 {digest}" in capsys.readouterr().out
    assert load_attack().version == "20.0"
    assert _leftovers() == []


def test_malformed_sha256_or_sha256_without_from_is_refused(
    release: Path, capsys: CaptureStr
) -> None:
    with pytest.raises(UpdateError, match="not a sha256 digest: 'abc'") as err:
        update(url=release.as_uri(), sha256="abc")
    assert err.value.field == "sha256"
    with pytest.raises(UpdateError, match="only taken with a URL"):
        update(version="18.1", sha256="0" * 64)
    assert main(["attack", "update", "--sha256", "0" * 64]) == 2
    assert "only taken with a URL" in capsys.readouterr().err
    assert not cache_dir().exists()


def test_update_help_states_the_limit_and_the_digest(capsys: CaptureStr) -> None:
    assert main(["attack", "update", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"{_update.MAX_BUNDLE_BYTES // MiB} MiB" in text
    assert "--sha256 HEX" in text and "plain http:// is refused" in text

"""``update``: fetch, verify, install atomically, become the default; failures change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from attack_helpers import find

from attackmap.attack import cache_dir, load_attack, update
from attackmap.errors import UpdateError

Objects = list[dict[str, Any]]


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
    from attackmap.attack._update import _default_fetch

    with pytest.raises(ValueError, match="sha256 mismatch"):
        _default_fetch(release.as_uri(), release.parent / "x.json", "0" * 64)
    with pytest.raises(ValueError, match="unsupported URL scheme"):
        _default_fetch("ftp://example.org/x.json", release.parent / "x.json", None)

"""``attackmap attack``: the ATT&CK and ATLAS releases in use, release diffs, updates, slice
builds."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from attackmap.cli._output import (
    TABLE_OR_JSON,
    ExamplesFormatter,
    add_out_dir,
    add_output,
    output_format,
    print_table,
    write_text,
)
from attackmap.errors import AttackmapError

if TYPE_CHECKING:
    from attackmap.attack import AtlasKB, AttackDiff, AttackKB


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "attack",
        help="the ATT&CK and ATLAS knowledge bases: info, diff, update, build-slice",
        description=(
            "Inspect, compare, update and slice the MITRE ATT&CK knowledge base, and the MITRE "
            "ATLAS one (AI systems) beside it."
        ),
        epilog=(
            "examples:\n"
            "  attackmap attack info                          the releases in use, by tactic\n"
            "  attackmap attack diff old.json new.json        what changed between releases\n"
            "  attackmap attack update --version 18.1         install a release as the default\n"
            "  attackmap attack build-slice --from enterprise-attack.json --out-dir slice/\n"
            "  attackmap attack build-slice --from ATLAS.yaml --out-dir data/atlas/"
        ),
        formatter_class=ExamplesFormatter,
    )
    sub = parser.add_subparsers(dest="attack_command", metavar="ACTION", required=True)

    info = sub.add_parser("info", help="the ATT&CK and ATLAS releases in use and counts by tactic")
    info.add_argument(
        "--bundle",
        metavar="PATH",
        help="a slice directory or STIX bundle instead of the default source",
    )
    info.add_argument(
        "--atlas",
        metavar="PATH",
        help="an ATLAS slice directory or ATLAS.yaml instead of the bundled ATLAS slice",
    )
    info.add_argument(
        "--platform", default="Containers", help="platform counted (default: Containers)"
    )
    info.add_argument("--format", choices=("table", "json"), default=None)
    add_output(info)
    info.set_defaults(run=run_info)

    diff = sub.add_parser("diff", help="what changed between two releases")
    diff.add_argument("old", metavar="OLD", help="older bundle or slice directory")
    diff.add_argument("new", metavar="NEW", help="newer bundle or slice directory")
    diff.add_argument(
        "--platform",
        default="Containers",
        help="platform in view (default: Containers; 'all' for every one)",
    )
    diff.add_argument("--format", choices=("table", "json"), default=None)
    add_output(diff)
    diff.set_defaults(run=run_diff)

    update = sub.add_parser(
        "update",
        help="install an official ATT&CK release as the default",
        description=(
            "Fetch an Enterprise ATT&CK release from MITRE's published locations (or --from), "
            "verify it, slice it into the user cache and make it the default. An official "
            "release is checked against the sha256 in mitreattack-python's release table; a "
            "--from download against --sha256 when given. A download over 128 MiB (also once "
            "decompressed) is refused. On any failure nothing changes."
        ),
        epilog=(
            "examples:\n"
            "  attackmap attack update --version 18.1\n"
            "  attackmap attack update --from https://mirror.example/attack-18.1.json --sha256 HEX\n"
            "  attackmap attack update --from file:///srv/enterprise-attack-18.1.json"
        ),
        formatter_class=ExamplesFormatter,
    )
    update.add_argument(
        "--version", dest="release", metavar="X", help="release, e.g. 18.1 (default: latest)"
    )
    update.add_argument("--stix21", action="store_true", help="take the STIX 2.1 edition")
    update.add_argument(
        "--from",
        dest="url",
        metavar="URL",
        help="fetch from this https:// or file:// URL instead (plain http:// is refused, "
        "redirects included)",
    )
    update.add_argument(
        "--sha256",
        metavar="HEX",
        help="with --from: refuse the download unless its sha256 is HEX (without it, a --from "
        "download is not verified; the digest installed is printed)",
    )
    update.set_defaults(run=run_update)

    build = sub.add_parser(
        "build-slice",
        help="write the facts-only slice of an ATT&CK bundle (as in data/attack/) or of "
        "ATLAS.yaml (as in data/atlas/)",
        description=(
            "Write a facts-only slice with its licence and a checksummed MANIFEST.json. An "
            "Enterprise ATT&CK STIX bundle gives the platform slice bundled in data/attack/; "
            "an ATLAS distribution file (.yaml/.yml, mitre-atlas/atlas-data dist/ATLAS.yaml) "
            "gives the ATLAS slice bundled in data/atlas/ (every tactic, technique and "
            "mitigation; --platform and --extra do not apply)."
        ),
    )
    build.add_argument(
        "--from",
        dest="bundle",
        metavar="BUNDLE",
        required=True,
        help="Enterprise STIX bundle, or ATLAS.yaml",
    )
    build.add_argument(
        "--platform", default="Containers", help="platform kept (default: Containers)"
    )
    add_out_dir(build, "output directory (required)")
    build.add_argument(
        "--license",
        metavar="FILE",
        help="the licence to ship with the slice (default: LICENSE.txt beside BUNDLE; for "
        "ATLAS.yaml, LICENSE or LICENSE.txt beside it)",
    )
    build.add_argument(
        "--extra",
        metavar="IDS",
        default=None,
        help="comma-separated ATT&CK ids of other platforms' techniques to keep (default: "
        "those the catalogue cites outside the Containers matrix; MANIFEST.json lists them)",
    )
    build.set_defaults(run=run_build_slice)


def _platform(value: str) -> str | None:
    return None if value.lower() == "all" else value


def run_info(args: argparse.Namespace) -> int:
    from attackmap.attack import load_atlas, load_attack

    kb = load_attack(args.bundle)
    atlas = load_atlas(args.atlas)
    platform = _platform(args.platform)
    summary = _info(kb, platform)
    atlas_summary = _atlas_info(atlas)
    if output_format(args.format, args.output, TABLE_OR_JSON, "table") == "json":
        text = json.dumps({**summary, "atlas": atlas_summary}, indent=2, sort_keys=True)
        write_text(text, args.output)
        return 0
    source = summary["source"]
    head = (
        f"ATT&CK {kb.version} ({source['kind']}, {source['origin']}): {source['path']}\n"
        f"sha256 {source['sha256']}\n"
        f"{summary['techniques']} techniques ({summary['subtechniques']} sub-techniques) "
        f"for {platform or 'all platforms'}, {summary['mitigations']} mitigations"
    )
    atlas_source = atlas_summary["source"]
    atlas_head = (
        f"ATLAS {atlas.version} ({atlas_source['kind']}, {atlas_source['origin']}): "
        f"{atlas_source['path']}\n"
        f"sha256 {atlas_source['sha256']}\n"
        f"{atlas_summary['techniques']} techniques ({atlas_summary['subtechniques']} "
        f"sub-techniques), {atlas_summary['mitigations']} mitigations"
    )
    if args.output:
        rows = [f"{t['shortname']}\t{t['id']}\t{t['techniques']}" for t in summary["tactics"]]
        atlas_rows = [
            f"{t['shortname']}\t{t['id']}\t{t['techniques']}" for t in atlas_summary["tactics"]
        ]
        lines = [head, "tactic\tid\ttechniques", *rows, "", atlas_head]
        write_text("\n".join([*lines, "tactic\tid\ttechniques", *atlas_rows]), args.output)
        return 0
    write_text(head)
    print_table(
        ("tactic", "id", "techniques"),
        ((t["shortname"], t["id"], str(t["techniques"])) for t in summary["tactics"]),
        title=f"{platform or 'All'} techniques by tactic",
    )
    write_text("\n" + atlas_head)
    print_table(
        ("tactic", "id", "techniques"),
        ((t["shortname"], t["id"], str(t["techniques"])) for t in atlas_summary["tactics"]),
        title="ATLAS techniques by tactic",
    )
    return 0


def _atlas_info(atlas: AtlasKB) -> dict[str, Any]:
    techniques = atlas.techniques()
    return {
        "version": atlas.version,
        "source": atlas.source.model_dump(mode="json"),
        "techniques": len(techniques),
        "subtechniques": sum(t.is_subtechnique for t in techniques),
        "mitigations": len(atlas.mitigations()),
        "tactics": [
            {
                "id": tactic.id,
                "shortname": tactic.shortname,
                "name": tactic.name,
                "techniques": len(atlas.techniques_by_tactic(tactic.id)),
            }
            for tactic in atlas.tactics()
        ],
    }


def _info(kb: AttackKB, platform: str | None) -> dict[str, Any]:
    techniques = kb.techniques(platform=platform)
    ids = {t.id for t in techniques}
    return {
        "version": kb.version,
        "source": kb.source.model_dump(mode="json"),
        "platform": platform,
        "techniques": len(techniques),
        "subtechniques": sum(t.is_subtechnique for t in techniques),
        "mitigations": len({m.id for t in techniques for m in kb.mitigations_for(t.id)}),
        "tactics": [
            {
                "id": tactic.id,
                "shortname": tactic.shortname,
                "name": tactic.name,
                "techniques": sum(t.id in ids for t in kb.techniques_by_tactic(tactic.shortname)),
            }
            for tactic in kb.tactics()
        ],
    }


def run_diff(args: argparse.Namespace) -> int:
    from attackmap.attack import diff, load_attack

    platform = _platform(args.platform)
    result = diff(
        load_attack(args.old, platform=None), load_attack(args.new, platform=None), platform
    )
    if output_format(args.format, args.output, TABLE_OR_JSON, "table") == "json":
        write_text(
            json.dumps(result.model_dump(mode="json"), indent=2, sort_keys=True), args.output
        )
        return 0
    _print_diff(result, args.output)
    return 0


def _print_diff(result: AttackDiff, output: str | None) -> None:
    rows: list[tuple[str, str, str, str]] = []
    for change in result.added:
        rows.append(("added", change.id, change.name, ", ".join(change.new)))
    for change in result.removed:
        rows.append(("removed", change.id, change.name, ""))
    for change in result.revoked:
        rows.append(("revoked", change.id, change.name, f"use {change.replacement or '(none)'}"))
    for change in result.deprecated:
        rows.append(("deprecated", change.id, change.name, ""))
    for change in result.renamed:
        rows.append(("renamed", change.id, change.name, f"was {change.old[0]}"))
    for change in result.platform_changes:
        rows.append(("platforms", change.id, change.name, _moved(change.old, change.new)))
    for change in result.tactic_changes:
        rows.append(("tactics", change.id, change.name, _moved(change.old, change.new)))
    view = result.platform or "all platforms"
    title = f"ATT&CK {result.old_version} -> {result.new_version} ({view})"
    if not rows:
        write_text(f"{title}: no changes", output)
        return
    if output:
        write_text("\n".join([title, *("\t".join(r) for r in rows)]), output)
        return
    print_table(
        ("change", "id", "name", "detail"),
        rows,
        title=title,
    )


def _moved(old: tuple[str, ...], new: tuple[str, ...]) -> str:
    gained = [f"+{x}" for x in new if x not in old]
    lost = [f"-{x}" for x in old if x not in new]
    return " ".join(gained + lost) or f"{', '.join(old)} -> {', '.join(new)}"


def run_update(args: argparse.Namespace) -> int:
    from attackmap.attack import update

    result = update(version=args.release, stix21=args.stix21, url=args.url, sha256=args.sha256)
    before = f" (was {result.previous})" if result.previous else ""
    write_text(
        f"installed ATT&CK {result.version}{before} from {result.url}\n"
        f"sha256 {result.sha256}\n"
        f"{result.techniques} Containers techniques; now the default: {result.path}"
    )
    return 0


def run_build_slice(args: argparse.Namespace) -> int:
    from attackmap.attack import build_atlas_slice, build_slice
    from attackmap.attack._bundle import EXTRA_TECHNIQUES

    if not args.out_dir:
        raise AttackmapError(
            "say where to write the slice", field="--out-dir", hint="--out-dir DIR"
        )
    if args.bundle.lower().endswith((".yaml", ".yml")):
        atlas = build_atlas_slice(args.bundle, args.out_dir, license_file=args.license)
        write_text(
            f"wrote {args.out_dir}: ATLAS {atlas.atlas_version} slice, {atlas.tactics} tactics, "
            f"{atlas.techniques} techniques, {atlas.mitigations} mitigations"
        )
        return 0

    extra = (
        EXTRA_TECHNIQUES
        if args.extra is None
        else [t.strip() for t in args.extra.split(",") if t.strip()]
    )
    manifest = build_slice(
        args.bundle,
        args.out_dir,
        platform=_platform(args.platform),
        license_file=args.license,
        extra=extra,
    )
    write_text(
        f"wrote {args.out_dir}: ATT&CK {manifest.attack_version} {manifest.platform or 'all'} slice, "
        f"{manifest.slice_object_count} of {manifest.source.object_count} objects"
    )
    return 0

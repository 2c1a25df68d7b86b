"""The image holds what the package reads: every file a link inside the package points to is
copied by the Dockerfile (the package serves the changelog through
src/worksible_api/CHANGELOG.md, a link to docs/CHANGELOG.md)."""

from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]


def _copied() -> list[PurePosixPath]:
    sources: list[PurePosixPath] = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(word.startswith("--from") for word in words):
            sources += [PurePosixPath(word) for word in words[1:-1] if not word.startswith("--")]
    return sources


def _is_within(path: PurePosixPath, source: PurePosixPath) -> bool:
    return path == source or source in path.parents


def test_every_file_the_package_links_to_is_in_the_image() -> None:
    links = [path for path in (ROOT / "src").rglob("*") if path.is_symlink()]
    assert links, "the package's CHANGELOG.md is a link"
    copied = _copied()
    for link in links:
        target = PurePosixPath(link.resolve().relative_to(ROOT).as_posix())
        assert any(_is_within(target, source) for source in copied), f"{link} → {target}"

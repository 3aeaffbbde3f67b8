"""Every `docs/<name>.md` named in the code or the docs exists (a renamed page leaves no dangling pointer)."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC_REFERENCE = re.compile(r"\bdocs/[\w.-]+\.md\b")


def test_every_named_doc_page_exists():
    tracked = subprocess.run(["git", "ls-files", "*.py", "*.md", "*.yaml", "*.yml", "Makefile"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    dangling = sorted({(name, page) for name in tracked
                       for page in DOC_REFERENCE.findall((REPO / name).read_text(encoding="utf-8", errors="replace"))
                       if not (REPO / page).is_file()})
    assert tracked and not dangling, dangling


# What the code, docs and tests must not lean on: a team guide and the document the project started
# from (both outside the repository), the judge's former folder, and the folder beside the checkout
# (it only holds the BPE files' offline copy, the one place it may be named). The guide and the old
# folder are spelled with a character class, so this file does not hold them and is checked as well.
OUTSIDE_REFERENCE = re.compile(r"DESIG[N](\.md|\s*§)|\bthe seed('s)? (document|Table|augmentation|transform)|"
                               r"\.\./shared(?!/gpt2_bpe)|mm_assets/fairseq[_]judge", re.IGNORECASE)


def test_nothing_points_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files", "mm_assets", "mm_assets_tests", "docs", "README.md", "scripts",
                              "benchmarks", "Makefile"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    found = [f"{name}:{number}: {line.strip()}" for name in tracked if not name.endswith(".png")
             for number, line in enumerate((REPO / name).read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if OUTSIDE_REFERENCE.search(line)]
    assert tracked and not found, "\n".join(found)


# --- links and repository paths in the docs ---------------------------------------------------------

DOC_PAGES = ["README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md"))]
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`([^`]+)`")
# Names that start like a repository path but are not one.
NOT_PATHS = {"mm_assets/data_root_id": "a run tag", "mm_assets/0.1": "the crawler's User-Agent"}


def _tracked_top_level() -> set[str]:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return {name.split("/")[0] for name in names}


def heading_slugs(text: str) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces to hyphens,
    a repeated heading numbered -1, -2, ..."""
    slugs: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in slugs:
            n += 1
            candidate = f"{slug}-{n}"
        slugs.add(candidate)
    return slugs


def test_every_relative_link_in_the_docs_resolves():
    broken = []
    for page in DOC_PAGES:
        text = (REPO / page).read_text(encoding="utf-8")
        for target in MARKDOWN_LINK.findall(FENCE.sub("", text)):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, data:
                continue
            path, _, anchor = target.partition("#")
            resolved = ((REPO / page).parent / path).resolve() if path else REPO / page
            if not resolved.exists() or REPO not in resolved.parents:
                broken.append(f"{page}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in heading_slugs(resolved.read_text(encoding="utf-8")):
                broken.append(f"{page}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def repository_paths(text: str, top_level: set[str]) -> set[str]:
    """The repository paths a page names in code (inline or fenced): tokens that start with a
    top-level file or folder of the repository. Paths under the data root start otherwise."""
    code = " ".join(INLINE_CODE.findall(FENCE.sub("", text)) + [block.group(0) for block in FENCE.finditer(text)])
    found = set()
    for token in re.split(r"[\s\"'()=`|]+", code):
        token = token.rstrip(".,;:")
        if token.split("/")[0] in top_level and "..." not in token and token not in NOT_PATHS:
            found.add(token)
    return found


def _expand(token: str) -> list[str]:
    """`a/{b,c}.py` -> `a/b.py`, `a/c.py`; a `<placeholder>` matches any one name."""
    if match := re.search(r"\{([^{}]*)\}", token):
        return [path for part in match.group(1).split(",")
                for path in _expand(token[:match.start()] + part + token[match.end():])]
    return [re.sub(r"<[^>/]+>", "*", token)]


def test_every_repository_path_named_in_the_docs_exists():
    top_level = _tracked_top_level()
    missing = []
    for page in DOC_PAGES:
        for token in sorted(repository_paths((REPO / page).read_text(encoding="utf-8"), top_level)):
            for pattern in _expand(token):
                if not any(REPO.glob(pattern.rstrip("/"))) and not (REPO / pattern).exists():
                    missing.append(f"{page}: {token}")
    assert not missing, "\n".join(missing)


# --- settings ---------------------------------------------------------------------------------------

CODE_VARIABLE = re.compile(r"[\"'](MM_[A-Z0-9_]+)[\"']")
CONFIG_FILES = ["Makefile", "Dockerfile", "docker-compose.yml", "dagster.yaml", "celery_worker.yaml"]


def _variables_read_by_the_code() -> set[str]:
    return {name for path in (REPO / "mm_assets").rglob("*.py")
            for name in CODE_VARIABLE.findall(path.read_text(encoding="utf-8"))}


def _settings_table_names() -> list[str]:
    """The variables of docs/settings.md's table: the backticked names of each row's first cell."""
    rows = re.findall(r"^\|([^|\n]*)\|", (REPO / "docs" / "settings.md").read_text(encoding="utf-8"), re.M)
    return [name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)]


def test_settings_page_names_every_variable_the_code_reads():
    documented = set(_settings_table_names())
    assert _variables_read_by_the_code() - documented == set()


def test_settings_page_names_no_variable_nothing_reads():
    """Each variable of the table is read somewhere: by the package, a script, a benchmark, the test
    suite or a configuration file (the compose file, dagster.yaml)."""
    sources = [path for folder in ("mm_assets", "mm_assets_tests", "scripts", "benchmarks")
               for path in (REPO / folder).rglob("*.py") if path.name != Path(__file__).name]
    sources += [REPO / "scripts" / "demo.sh", *(REPO / name for name in CONFIG_FILES)]
    text = "\n".join(path.read_text(encoding="utf-8") for path in sources)
    names = _settings_table_names()
    assert len(names) > 40
    assert [name for name in names if not re.search(rf"(?<![A-Z0-9_]){name}(?![A-Z0-9_])", text)] == []

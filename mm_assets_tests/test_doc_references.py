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


# Files outside the repository that its code, docs and tests must not lean on: a team guide, the
# document the project started from, and the folder beside the checkout (which only holds the BPE
# files' offline copy, the one place it may be named).
OUTSIDE_REFERENCE = re.compile(r"DESIGN(\.md|\s*§)|\bthe seed('s)? (document|Table|augmentation|transform)|"
                               r"\.\./shared(?!/gpt2_bpe)|mm_assets/fairseq_judge", re.IGNORECASE)


def test_nothing_points_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files", "mm_assets", "mm_assets_tests", "docs", "README.md", "scripts",
                              "benchmarks", "Makefile"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    this_file = Path(__file__).resolve().relative_to(REPO).as_posix()
    found = [f"{name}:{number}: {line.strip()}" for name in tracked if name != this_file and not name.endswith(".png")
             for number, line in enumerate((REPO / name).read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if OUTSIDE_REFERENCE.search(line)]
    assert tracked and not found, "\n".join(found)

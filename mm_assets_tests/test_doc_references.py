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

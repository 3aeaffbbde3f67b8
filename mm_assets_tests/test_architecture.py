"""The architecture's rules: only `mm_assets/defs/` and `mm_assets/definitions.py` import Dagster, and
nothing of the library imports the sample generators (`mm_assets/samples/`).

Everything else is a plain library that a worker process, a loader or the fairseq environment can
import without Dagster. Checked on the source (every import statement) and at run time (importing
each plain module pulls in no `dagster` module). The samples are fixtures: they may import the
library, never the reverse, so the pipeline cannot come to depend on made-up data. And no test
imports a conftest: pytest loads those for their fixtures; what tests import is in a helpers module.
"""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mm_assets"
TESTS = Path(__file__).resolve().parent
DAGSTER_LAYER = ("defs/", "definitions.py")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _in_dagster_layer(path: Path) -> bool:
    relative = path.relative_to(PACKAGE).as_posix()
    return relative.startswith(DAGSTER_LAYER)


def test_only_the_dagster_layer_imports_dagster():
    offenders = [str(p.relative_to(PACKAGE)) for p in _modules()
                 if not _in_dagster_layer(p) and _imported_roots(p) & {"dagster", "dagster_webserver"}]
    assert offenders == []


def test_plain_modules_load_without_dagster():
    names = [".".join(("mm_assets", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
             for p in _modules() if not _in_dagster_layer(p)]
    code = (f"import importlib, sys\nfor n in {names!r}: importlib.import_module(n)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'dagster')\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_dagster_layer_imports_no_dataset_code_from_another_datasets_defs():
    """defs/<a>/ may use defs/shared/ and datasets/*, never defs/<b>/ internals."""
    for path in (PACKAGE / "defs").rglob("*.py"):
        own = path.relative_to(PACKAGE / "defs").parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mm_assets.defs."):
                other = node.module.split(".")[2]
                assert other in (own, "shared"), f"{path}: imports {node.module}"


def test_loading_the_definitions_imports_neither_torch_nor_matplotlib():
    """Every step, check and code-server reload loads the definitions: torch (~650 MB resident) and
    matplotlib are imported only by the steps that draw or transform images."""
    probe = ("import sys, mm_assets.definitions; "
             "print(sorted(m for m in ('torch', 'torchvision', 'matplotlib', 'datasets') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def _imported_modules(path: Path) -> set[str]:
    """Every module an import statement of `path` names, relative imports resolved, `from a import b` as a.b too."""
    package = ".".join(("mm_assets", *path.relative_to(PACKAGE).parent.parts))
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_the_library_never_imports_the_samples():
    offenders = {}
    for path in _modules():
        if path.relative_to(PACKAGE).parts[0] == "samples":
            continue
        found = sorted(n for n in _imported_modules(path) if n == "mm_assets.samples" or n.startswith("mm_assets.samples."))
        if found:
            offenders[path.relative_to(PACKAGE).as_posix()] = found
    assert offenders == {}


def test_no_test_imports_a_conftest():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(alias.name for alias in node.names)]
            else:
                continue
            if any("conftest" in name.split(".") for name in names):
                offenders.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert offenders == []

"""A plain clone carries every file its tests read (issue 20, section 1).

`.ci/run` runs the README's test command in a clone with nothing beside it; these checks
fail earlier, on any machine: a data file the tests read is in git and described in
tests/data/README.md, and no test reaches outside the project for one.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _data_files() -> list[str]:
    return sorted(
        str(path.relative_to(DATA))
        for path in DATA.rglob("*")
        if path.is_file() and path.name != "README.md" and "__pycache__" not in path.parts
    )


def test_every_data_file_has_its_source_and_license_in_the_readme():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    files = _data_files()
    assert files
    for name in files:
        assert Path(name).name in readme, f"tests/data/{name} is not described in its README"
    for named in re.findall(r"`([\w./-]+\.(?:csv|tsv|json|jsonl|bz2|parquet|txt))`", readme):
        assert any(Path(f).name == named for f in files), f"the README names {named}: absent"


def test_git_carries_every_data_file():
    try:
        listed = subprocess.run(
            ["git", "ls-files", "tests/data"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout (an unpacked sdist): nothing to compare")
    tracked = {str(Path(p).relative_to("tests/data")) for p in listed}
    missing = [f for f in _data_files() if f not in tracked]
    assert not missing, f"untracked (a clone would not have them): {missing}"


def _outside(text: str) -> bool:
    return bool(re.search(r"(^|[/\\])\.\.([/\\]|$)", text)) or text.startswith(("/home", "/work"))


READERS = {"Path", "open", "read_text", "read_bytes", "read_csv", "read_parquet", "read_json"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else ""


def _path_literals(node: ast.AST) -> list[ast.Constant]:
    """String literals used as a path: an argument of Path()/open()/read_*(), or a part
    joined with "/" onto a path."""
    parts: list[ast.AST] = []
    if isinstance(node, ast.Call) and _name(node.func) in READERS:
        parts = list(node.args)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        parts = [node.left, node.right]
    return [p for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str)]


def test_no_test_reads_a_file_outside_the_project():
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        where = path.relative_to(ROOT)
        depth = len(where.parts) - 1  # folders between the root and this file
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            found += [
                f"{where}:{c.lineno}: {c.value!r}"
                for c in _path_literals(node)
                if _outside(c.value)
            ]
            # Path(__file__).parents[n] with n past the project's root
            if (
                isinstance(node, ast.Subscript)
                and _name(node.value) == "parents"
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, int)
                and node.slice.value > depth
            ):
                found.append(f"{where}:{node.lineno}: parents[{node.slice.value}]")
    assert not found, "\n".join(found)


def test_the_check_finds_a_path_outside():
    assert _outside("../elsewhere/data/sms.csv") and _outside("data/../../x")
    assert not _outside("tests/data/sms-spam.csv") and not _outside("a..b")
    tree = ast.parse('Path("../elsewhere/x.csv"); DATA / ".." / "y"; open("ok.txt"); s = "../x"')
    found = [c.value for node in ast.walk(tree) for c in _path_literals(node)]
    assert sorted(v for v in found if _outside(v)) == ["..", "../elsewhere/x.csv"]


PINNED_EXTRAS = ("dev", "scale", "parquet", "client")


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not an exact pin"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_the_constraints_pin_every_dependency_within_its_bounds():
    """What the README and .ci/run install from: each requirement of the project and of
    the extras they install has one exact pin, and the pin is inside the bound
    pyproject.toml sets (e.g. pytest < 9)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in PINNED_EXTRAS:
        wanted += project["optional-dependencies"][extra]
    pins = _pins()
    problems = []
    for text in wanted:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name not in pins:
            problems.append(f"{requirement.name} is not pinned")
        elif not requirement.specifier.contains(Version(pins[name]), prereleases=True):
            problems.append(f"{requirement.name}=={pins[name]} is outside {requirement.specifier}")
    assert not problems, problems
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "-c constraints.txt" in ci
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -c constraints.txt -e ".[dev]"' in readme
    assert "Refreshing the pinned versions" in readme


def test_ci_first_runs_the_readmes_command_in_a_clone_with_nothing_beside_it():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r'pip install -c constraints.txt -e "\.\[dev\]" && (.+?)\s+#', readme)
    assert command, "the README's second command is gone"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    runs = [line for line in ci.splitlines() if "python -m pytest" in line]
    clone = re.search(r'git clone -q \. "(\$work/clone/[\w-]+)"', ci)
    assert clone, ".ci/run no longer clones the project"
    # the clone sits alone in a fresh folder, with no sibling folder of data beside it
    assert f'(cd "{clone.group(1)}" && {command.group(1).strip()})' in runs[0]

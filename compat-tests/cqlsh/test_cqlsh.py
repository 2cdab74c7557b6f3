"""cqlsh 6.2 scripts against strata: stdout must match, byte for byte, what cqlsh prints when
connected to Cassandra 5.0 (see render_expected.py for how the .expected files were made)."""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
SCRIPTS = sorted(HERE.glob("*.cql"))
CQLSH_TIMEOUT_S = 120


def cqlsh_command():
    """The `cqlsh` installed beside this python (PyPI cqlsh 6.2.0), else the module itself."""
    beside_python = pathlib.Path(sys.executable).parent / "cqlsh"
    if beside_python.is_file():
        return [str(beside_python)]
    on_path = shutil.which("cqlsh")
    return [on_path] if on_path else [sys.executable, "-m", "cqlshlib"]


def test_cqlsh_is_6_2():
    version = subprocess.run(cqlsh_command() + ["--version"], capture_output=True, text=True,
                             timeout=60, check=False)
    assert version.stdout.strip() == "cqlsh 6.2.0", version


@pytest.fixture
def isolated_home(tmp_path):
    """cqlsh reads ~/.cassandra/cqlshrc and honours TZ: give it an empty home and no TZ."""
    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("TZ", None)
    env.pop("CQLSH_HOST", None)
    env.pop("CQLSH_PORT", None)
    return env


NODETOOL_DIRECTIVE = "-- nodetool:"


def script_parts(script):
    """The script split at its `-- nodetool: VERB ARGS` lines: [(cql text, verb or None)]."""
    parts, current = [], []
    for line in script.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith(NODETOOL_DIRECTIVE):
            parts.append(("".join(current), line[len(NODETOOL_DIRECTIVE):].split()))
            current = []
        else:
            current.append(line)
    return parts + [("".join(current), None)]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_cqlsh_script_output(strata, isolated_home, tmp_path, script):
    """Each part of the script runs in its own cqlsh (named like the script, so error lines
    are portable); a nodetool verb between parts runs against the same node."""
    stdout = ""
    for number, (cql, verb) in enumerate(script_parts(script)):
        part_dir = tmp_path / str(number)
        part_dir.mkdir()
        (part_dir / script.name).write_text(cql, encoding="utf-8")
        run = subprocess.run(
            cqlsh_command() + [strata.host, str(strata.native_port), "-f", script.name],
            capture_output=True, text=True, timeout=CQLSH_TIMEOUT_S, env=isolated_home,
            cwd=part_dir, check=False)
        assert "version" not in run.stderr.lower(), run.stderr
        assert "cqlsh was built against" not in run.stdout, "server version mismatch warning"
        assert run.stderr == "", f"cqlsh reported errors:\n{run.stderr}"
        assert run.returncode == 0
        stdout += run.stdout
        if verb:
            done = strata.nodetool(*verb)
            assert done.returncode == 0, f"nodetool {' '.join(verb)}: {done.stdout}{done.stderr}"
    expected = script.with_suffix(".expected").read_text(encoding="utf-8")
    assert stdout == expected

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


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_cqlsh_script_output(strata, isolated_home, script):
    run = subprocess.run(
        cqlsh_command() + [strata.host, str(strata.native_port), "-f", script.name],
        capture_output=True, text=True, timeout=CQLSH_TIMEOUT_S, env=isolated_home,
        cwd=HERE, check=False)
    assert "version" not in run.stderr.lower(), run.stderr
    assert "cqlsh was built against" not in run.stdout, "server version mismatch warning"
    assert run.stderr == "", f"cqlsh reported errors:\n{run.stderr}"
    expected = script.with_suffix(".expected").read_text(encoding="utf-8")
    assert run.stdout == expected
    assert run.returncode == 0

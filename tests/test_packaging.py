"""The distribution a user installs: what the wheel carries."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_templates_static_files_and_type_marker(
    tmp_path: Path,
) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("flask_rocketpunch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "flask_rocketpunch/py.typed",
        "flask_rocketpunch/templates/rocketpunch/error.html",
        "flask_rocketpunch/sandbox/templates/rocketpunch_sandbox/consent.html",
        "flask_rocketpunch/sandbox/templates/rocketpunch_sandbox/error.html",
        "flask_rocketpunch/sandbox/static/sandbox.css",
        "flask_rocketpunch/sandbox/static/avatar-minji.svg",
    }
    assert expected <= names, sorted(expected - names)
    metadata = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        .decode()
    )
    requires = {
        line.split(":", 1)[1].strip().split(";")[0].split(">")[0].strip().lower()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    assert requires == {"flask", "requests", "urllib3", "itsdangerous", "cryptography"}
    # The server-side storages' drivers are opt-in extras.
    extras = {
        line.split(":", 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith("Provides-Extra:")
    }
    assert {"redis", "sqlalchemy", "postgresql", "dev"} <= extras, extras
    entry_points = (
        zipfile.ZipFile(wheel)
        .read(next(n for n in names if n.endswith(".dist-info/entry_points.txt")))
        .decode()
    )
    assert "rocketpunch = flask_rocketpunch.testing" in entry_points

"""The distribution a user installs: what the wheel carries."""

from __future__ import annotations

import gettext
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What a checkout holds that is not part of the sources: built, cached or
#: compiled files (the catalogs' .mo files among them, so that the build is
#: seen to compile them).
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "*.mo",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    "_build",
    "test-artifacts",
    "instance",
    ".*_cache",
    ".hypothesis",
    "htmlcov",
    ".coverage*",
)


def test_wheel_contains_templates_static_files_and_type_marker(
    tmp_path: Path,
) -> None:
    # Built from a copy of the sources without any compiled catalog.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("flask_rocketpunch-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "flask_rocketpunch/py.typed",
        "flask_rocketpunch/templates/rocketpunch/error.html",
        "flask_rocketpunch/sandbox/templates/rocketpunch_sandbox/consent.html",
        "flask_rocketpunch/sandbox/templates/rocketpunch_sandbox/error.html",
        "flask_rocketpunch/sandbox/static/sandbox.css",
        "flask_rocketpunch/sandbox/static/avatar-minji.svg",
        "flask_rocketpunch/translations/ko/LC_MESSAGES/flask_rocketpunch.mo",
        "flask_rocketpunch/translations/en/LC_MESSAGES/flask_rocketpunch.mo",
    }
    assert expected <= names, sorted(expected - names)
    # The compiled catalogs work with the standard library's gettext.
    korean = gettext.GNUTranslations(
        io.BytesIO(
            zipfile.ZipFile(wheel).read(
                "flask_rocketpunch/translations/ko/LC_MESSAGES/flask_rocketpunch.mo"
            )
        )
    )
    assert korean.gettext("Login cancelled") == "로그인이 취소되었습니다"
    assert korean.gettext("Approve") == "허용"
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

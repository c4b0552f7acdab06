"""Build hook: ship the device profiles inside the package.

The repository's ``profiles/*.json`` are the source of the shipped profiles (``costlab
calibrate --build`` writes them there). A wheel has no repository around it, so the build
copies them into ``costlab/profiles/``, where ``costlab.latency.profile.profiles_dir`` finds
them in a non-editable install. Everything else is configured in ``pyproject.toml``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class build_py_with_profiles(build_py):
    def run(self):
        super().run()
        src = HERE / "profiles"
        dst = Path(self.build_lib) / "costlab" / "profiles"
        dst.mkdir(parents=True, exist_ok=True)
        for p in sorted(src.glob("*.json")):
            shutil.copy2(p, dst / p.name)


setup(cmdclass={"build_py": build_py_with_profiles})

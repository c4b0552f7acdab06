"""Imports every model-family module in this package, so each registers its models."""
import importlib
import pkgutil

from . import __path__ as _pkg_path

for _mod in pkgutil.iter_modules(_pkg_path):
    if not _mod.name.startswith("_") and _mod.name != "registry":
        importlib.import_module(f"{__package__}.{_mod.name}")

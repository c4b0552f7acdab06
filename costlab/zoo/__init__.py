"""The model zoo: networks of the small-networks papers, built from their tables.

Importing the package registers every family: each module here except ``registry`` and
``common`` declares its models with ``@register_model`` (one file per family).
"""
import importlib as _importlib
import pkgutil as _pkgutil
from pathlib import Path as _Path

from .registry import (
    Knob,
    ModelEntry,
    PaperRow,
    SpecError,
    create_model,
    get_entry,
    list_models,
    list_paper_rows,
    paper_rows,
    parse_spec,
    register_model,
)

for _mod in _pkgutil.iter_modules([str(_Path(__file__).parent)]):
    if not _mod.name.startswith("_") and _mod.name not in ("registry", "common"):
        _importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ['Knob', 'ModelEntry', 'PaperRow', 'SpecError', 'create_model', 'get_entry', 'list_models', 'list_paper_rows', 'paper_rows', 'parse_spec', 'register_model']

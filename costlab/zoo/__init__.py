"""The model zoo: networks of the small-networks papers, built from their tables."""
from .registry import (  # noqa: F401
    Knob,
    PaperRow,
    list_paper_rows,
    paper_rows,
    ModelEntry,
    SpecError,
    create_model,
    get_entry,
    list_models,
    parse_spec,
    register_model,
)

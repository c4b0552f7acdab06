"""costlab: what a neural network really costs on a device, and why.

>>> import costlab
>>> report = costlab.analyze("mobilenet_v2")           # zoo spec, paper's resolution
>>> report.totals["macs"], report.layers.head()

Importing ``costlab`` (or any of its modules) loads only what that module needs: ``analyze``,
``Report`` and the subpackages (``costlab.zoo``, ``costlab.latency`` ...) load on first use
(PEP 562), so a plain result type or ``costlab.errors`` imports without the passes.
"""
__version__ = "0.1.0"

__all__ = ['analyze', 'analyze_memory', 'Report']


def __getattr__(name: str):
    if name in ("analyze", "analyze_memory"):
        from . import api

        return getattr(api, name)
    if name == "Report":
        from .report import Report

        return Report
    if name.startswith("__"):          # dunder probes (inspect, pickle, doctest) are no submodules
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    try:        # a subpackage or module, as `import costlab; costlab.zoo.list_models()` expects
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

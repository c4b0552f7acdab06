"""One error idiom for the whole package.

Every error a user can cause is a :class:`CostlabError` whose message is one line that says
what is wrong and how to fix it. The command line catches :class:`CostlabError` once, in
``costlab.cli.main``, prints ``costlab: error: <message>`` and exits 2. Each kind also
derives from the builtin it refines (``ValueError``, ``OSError``, ``RuntimeError``), so
library callers may catch either.
"""
from __future__ import annotations


class CostlabError(Exception):
    """Base of every user-facing costlab error; the message is one line with the fix."""


class SpecError(CostlabError, ValueError):
    """A model spec, knob or knob value that cannot be used."""


class InputError(CostlabError, ValueError):
    """Bad input shape, resolution, dtype or data file."""


class TraceError(CostlabError, RuntimeError):
    """The model could not be traced."""


class DataDependentError(TraceError):
    """The forward reads tensor values, so it cannot run on meta/fake tensors."""


class ProfileError(CostlabError, ValueError):
    """A device profile that cannot be used; the message names the profile and the wrong field."""


class GuidelineError(CostlabError, ValueError):
    """The report cannot be checked (rolled up, no IR, bad threshold)."""


class MeasureError(CostlabError, ValueError):
    """A measurement that cannot be made as asked."""


class OutputError(CostlabError, OSError):
    """The output file cannot be written; nothing was written."""


class PlotError(CostlabError, ValueError):
    """Bad plot input or output path."""


class UsageError(CostlabError, ValueError):
    """A combination of options that cannot be used together, or a bad option value."""


KINDS = (SpecError, InputError, TraceError, DataDependentError, ProfileError, GuidelineError,
         MeasureError, OutputError, PlotError, UsageError)


def reworded(exc: CostlabError, message: str, fallback: type = None) -> CostlabError:
    """An error of ``exc``'s kind with a new one-line ``message`` (a prefix naming the item,
    a hint); ``fallback`` (default :class:`InputError`) for a kind whose constructor takes
    other arguments."""
    try:
        return type(exc)(message)
    except TypeError:
        return (fallback or InputError)(message)

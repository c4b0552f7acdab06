"""The advisor: concrete rewrites per guideline finding and expensive layer, each applied and
re-predicted on a device (``costlab advise``).

* :mod:`costlab.advise.core`       - :func:`advise` -> :class:`Advice` (orchestration, JSON keys)
* :mod:`costlab.advise.candidates` - which rewrites to try for which finding / layer / knob
* :mod:`costlab.advise.rewrites`   - graph rewrites for G1-G4 (Graph -> new Graph)
* :mod:`costlab.advise.knobs`      - zoo knob rewrites (the model rebuilt)
* :mod:`costlab.advise.shapes`, :mod:`costlab.advise.graphedit` - IR editing and shape re-inference

Presentation lives in :mod:`costlab.present.advice`; the command in :mod:`costlab.cli.cmd_advise`.
"""
from .core import KEY_HELP, SCHEMA, SUGGESTION_KEYS, Advice, Suggestion, advise

__all__ = ["KEY_HELP", "SCHEMA", "SUGGESTION_KEYS", "Advice", "Suggestion", "advise"]

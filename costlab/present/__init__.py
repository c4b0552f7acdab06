"""Presentation: plain data in, text / tables / figures / files out. Imports no pass. Every
line a user reads is made here (passes return data; ``cli/cmd_*.py`` parse options, call the
facade or a feature, then one of these), one module per kind of result:

* :mod:`~costlab.present.tables`     text, markdown and CSV tables; the one number-format helper
                                     set (``pct``, ``ms``, ``count``, ``num``; a missing value is ``-``)
* :mod:`~costlab.present.output`     stdout or an atomic file write
* :mod:`~costlab.present.report`     a Report as table / csv / json / markdown, its sections' lines
* :mod:`~costlab.present.latency`    the latency section's summary (total, GPU bound)
* :mod:`~costlab.present.guidelines` guideline results as tables, the guidelines section's line
* :mod:`~costlab.present.validation` a profile's held-out accuracy (per-class, GPU, few-shot)
* :mod:`~costlab.present.profiles`   the profile listing, a fit's summary, a measuring run's notes
* :mod:`~costlab.present.compare`    models side by side
* :mod:`~costlab.present.compress`   compression reports as tables
* :mod:`~costlab.present.crosscheck` costlab beside fvcore and torch
* :mod:`~costlab.present.search`     a search's Pareto front and choice
* :mod:`~costlab.present.advice`     the advisor's rewrites
* :mod:`~costlab.present.zoo`        the model zoo's listing
* :mod:`~costlab.present.plots`      matplotlib figures
"""

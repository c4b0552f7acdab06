"""Presentation: plain data in, text / tables / figures / files out. Imports no pass.

* :mod:`~costlab.present.tables`     text, markdown and CSV tables; human numbers
* :mod:`~costlab.present.output`     stdout or an atomic file write
* :mod:`~costlab.present.report`     a Report as table / csv / json / markdown
* :mod:`~costlab.present.guidelines` guideline results as tables
* :mod:`~costlab.present.compress`   compression reports as tables
* :mod:`~costlab.present.plots`      matplotlib figures
"""

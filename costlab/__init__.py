"""costlab: what a neural network really costs on a device, and why.

>>> import costlab
>>> report = costlab.analyze("mobilenet_v2")           # zoo spec, paper's resolution
>>> report.totals["macs"], report.layers.head()
"""
__version__ = "0.1.0"

from .api import analyze, analyze_memory
from .report import Report

__all__ = ['analyze', 'analyze_memory', 'Report']

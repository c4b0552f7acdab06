"""costlab: what a neural network really costs on a device, and why."""
__version__ = "0.1.0"

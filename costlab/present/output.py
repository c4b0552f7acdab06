"""Writing results: stdout, or an atomic file write (a temporary file renamed into place)."""
from ..io import atomic_write, no_folder, write_output  # noqa: F401  (costlab.io, re-exported here)

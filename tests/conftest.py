"""Test isolation: the user profile folder (costlab.latency.profile.user_profiles_dir) points
to an empty temporary folder, so profiles a developer measured or refitted never change what
the tests see (and the tests never write into the developer's folder)."""
from __future__ import annotations

import os
import tempfile

os.environ["COSTLAB_PROFILES"] = tempfile.mkdtemp(prefix="costlab-test-user-profiles-")

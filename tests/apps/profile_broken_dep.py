"""Installed, but importing it fails: a dependency of its own is missing."""

import profile_dependency_that_is_not_installed

"""The version of function-tau; the release workflow sets it from the git tag."""

__version__ = "0.1.0"

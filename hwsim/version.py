"""The package version (one home: pyproject reads it too)."""
__version__ = "0.1.0"

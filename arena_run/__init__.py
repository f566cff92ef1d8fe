"""arena-run: declarative training experiments on Kubernetes."""

# A plain constant, not importlib.metadata: reading package metadata costs
# milliseconds on every start, and `validate` runs in editors and hooks.
# Bumped by the rule in CHANGELOG.md: a release that renders any object differently
# raises at least the minor version (the parent records the version that wrote it).
__version__ = "0.2.0"

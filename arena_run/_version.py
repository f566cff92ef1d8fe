"""arena-run's version, the one place it is written: a leaf module, so every layer may read it without
importing the package's others. `arena-run version`, the ApplySet parent's record and the refusal to
write over a newer version's record all read it from here."""

# A plain constant, not importlib.metadata: reading package metadata costs
# milliseconds on every start, and `validate` runs in editors and hooks.
# Bumped by the rule in CHANGELOG.md: a release that renders any object differently
# raises at least the minor version (the parent records the version that wrote it).
__version__ = "0.2.0"

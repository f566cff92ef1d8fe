"""arena-run: declarative training experiments on Kubernetes."""

# A plain constant, not importlib.metadata: reading package metadata costs
# milliseconds on every start, and `validate` runs in editors and hooks.
__version__ = "0.1.0"

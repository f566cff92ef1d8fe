"""arena-run: declarative training experiments on Kubernetes.

    from arena_run import Client

    c = Client(local=True)                      # or Client(kubeconfig=..., context=..., namespace=...)
    c.apply("examples/tf-git", wait=True)
    c.status()
"""

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .api.client import Client as Client

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported when first asked for: `arena-run validate` loads none of the
    # cluster layers, and `import arena_run` stays as cheap.
    if name == "Client":
        from .api.client import Client

        return Client
    raise AttributeError(f"module 'arena_run' has no attribute {name!r}")

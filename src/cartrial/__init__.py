"""cartrial: design, run and analyse first-in-human CAR-T cell therapy trials in autoimmune disease."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cartrial")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

"""The federation gateway. Importing it first decides whether the hot modules load compiled (mypyc)
or as pure Python: see gateway.native."""

from .native import SELECTED as NATIVE_SELECTED

__all__ = ["NATIVE_SELECTED"]

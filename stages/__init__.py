"""Stage scripts, run by dvc.yaml as modules of the checkout: python -m stages.NAME.

``singaffect`` is imported here, before any stage module's own imports, so its set-up
(numba's cache, CPU-kernel pinning: ``singaffect/__init__.py``) precedes every NumPy import.
"""
import singaffect  # noqa: F401

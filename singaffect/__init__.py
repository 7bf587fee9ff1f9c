"""singaffect: score the expression of sung recordings (enthusiasm and emotion).

The package holds the concepts; the DVC stage scripts in ``stages/`` only read
params, call these modules and write outputs.
"""
__version__ = "0.1.0"

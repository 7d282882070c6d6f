"""tinmatch: answer agreement-bound address requests against a tax master file.

Only certain, unique matches are disclosed; every disclosure is accounted for.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

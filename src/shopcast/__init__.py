"""shopcast: a market-sizing forecasting workbench.

The public surface is small: :func:`publish` for notebooks, the exception base, and the version.
Analysis functions live in their own modules (``shopcast.gmv.goals``, ``shopcast.sellers``, ...).
"""

from shopcast.exceptions import ShopcastError
from shopcast.publish import publish

__version__ = "0.1.0"
__all__ = ["ShopcastError", "__version__", "publish"]

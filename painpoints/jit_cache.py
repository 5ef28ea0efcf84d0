"""Keep UMAP's numba-compiled functions on disk, so that each new process skips compiling them.

umap-learn 0.5 compiles most of its numba functions without ``cache=True``, which
costs about 10 s of CPU at the first fit of every process (measured on 1,000
texts: 11.8 CPU-s for the first fit, 1.8 for the next; docs/benchmarks.md). Numba's
``Dispatcher.enable_caching`` is what ``@njit(cache=True)`` calls, so calling it on
those functions before their first use gives the same on-disk cache: next to the
package's source in ``__pycache__``, or numba's user cache folder when that is read-only.
Cached and freshly compiled functions give identical UMAP output for a fixed seed.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Final

logger = logging.getLogger(__name__)

# Packages whose numba functions are cached; pynndescent already caches most of its own.
PACKAGES: Final = ("umap", "pynndescent")
_enabled = False


def enable_numba_caching() -> int:
    """Turn on numba's disk cache for the functions of UMAP and pynndescent imported so far.

    Call it after importing ``umap`` and before the first fit; later calls do nothing.

    Returns
    -------
    int
        Number of functions whose caching was turned on by this call.
    """
    global _enabled
    if _enabled:
        return 0
    try:
        from numba.core.caching import NullCache
        from numba.core.errors import NumbaWarning
        from numba.core.registry import CPUDispatcher
    except ImportError:
        return 0
    # Numba cannot cache nn_descent because it uses global arrays. It warns once per
    # such function and compiles it as before.
    warnings.filterwarnings("ignore", message="Cannot cache compiled function", category=NumbaWarning)
    count = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in PACKAGES:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, CPUDispatcher) and isinstance(value._cache, NullCache):
                value.enable_caching()
                count += 1
    _enabled = True
    logger.debug("numba disk cache turned on for %d functions", count)
    return count

"""masterbias: the science of the bias workflow, free of Snakemake.

Pure functions on arrays (sections, overscan, combination) and thin fitsio I/O.  Modules
import only what they need, so that a per-frame job does not pay for dask or astropy.
"""

__version__ = "0.1.0"
SOFTWARE = f"masterbias {__version__}"

"""gmm_desktop: fit Gaussian mixture models by EM while you watch."""

__version__ = "0.1.0"

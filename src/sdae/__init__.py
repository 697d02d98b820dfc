"""sdae: denoising and stacked autoencoders on Fashion-MNIST.

A tested reproduction of Yaramsetty, Gade and Adusumilli, "Image Reconstruction using
Denoising Autoencoder and Classification of Fashion MNIST Data using Stacked Autoencoders".
The command line (``sdae``) is a thin layer over this library.
"""

from sdae.errors import SdaeError

__version__ = "0.1.0"
__all__ = ["SdaeError", "__version__"]

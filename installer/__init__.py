"""Torch Setup: installs a working PyTorch for the machine it runs on."""

__version__ = "0.1.0"

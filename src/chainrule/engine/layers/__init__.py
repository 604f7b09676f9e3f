"""Typed layers for shaped networks; see `base` for the interface every layer implements."""

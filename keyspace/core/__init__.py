"""The pure core: declarations, templates, codec, crypto, scripts, slots, registry, programs.

Nothing in this package performs I/O or imports a module that does (a test checks it).
"""

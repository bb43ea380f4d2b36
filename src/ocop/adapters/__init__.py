"""Adapters: implementations of the ports, and the ``ocop`` command line."""

"""Weak signals."""

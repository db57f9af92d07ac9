"""Analyses on a prepared dataset: tidy result objects, no text, no printing."""

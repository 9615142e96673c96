"""Precis's engine: parsing, digesting, indexing and searching news articles.

Code only: the on-disk index lives in a data directory (default `instance/index`).
"""

"""Corpus loaders: manifest CSV, EmoDB, RAVDESS, the built-in synthetic corpus, FEELTRACE mapping."""

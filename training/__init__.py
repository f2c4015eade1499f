"""Corpus, splits, training, thresholds, evaluation and baselines for redflag."""

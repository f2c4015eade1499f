"""redflag scoring core: taxonomy, normalization, features, the Scorer and artifact handling."""

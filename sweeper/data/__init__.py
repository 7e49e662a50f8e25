"""Task data: sources (hub, local, synthetic sample), normalisation, tokenized features."""

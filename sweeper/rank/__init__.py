"""Predicting before training: candidate intermediate tasks ranked by cheap signals
(`ranking`, `signals`, `uriel`), the ranking as a sweep's prior (`prior`, `order`), and
graded against what a sweep measured (`grade`)."""

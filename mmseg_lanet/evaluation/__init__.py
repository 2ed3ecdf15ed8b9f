"""Evaluation: the ISPRS metric (registered as ``ISPRSMetric``)."""
from .functional import confusion_matrix, isprs_scores
from .metrics import ISPRSMetric

__all__ = ['ISPRSMetric', 'confusion_matrix', 'isprs_scores']

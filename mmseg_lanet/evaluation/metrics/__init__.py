from .isprs_metric import ISPRSMetric

__all__ = ['ISPRSMetric']

from .isprs_scores import confusion_matrix, isprs_scores

__all__ = ['confusion_matrix', 'isprs_scores']

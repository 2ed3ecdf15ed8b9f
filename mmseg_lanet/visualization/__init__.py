"""Pictures: LANet's branch predictions (the paper's figures 5 and 6) and
confusion matrices."""
from .figures import (branch_predictions, draw_branch_figure,
                      plot_branch_figure, plot_confusion_matrix)

__all__ = [
    'branch_predictions', 'draw_branch_figure', 'plot_branch_figure',
    'plot_confusion_matrix'
]

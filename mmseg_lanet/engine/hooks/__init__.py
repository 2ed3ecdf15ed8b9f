from .branch_loss_decay_hook import BranchLossDecayHook, poly_decay

__all__ = ['BranchLossDecayHook', 'poly_decay']

from .hooks import BranchLossDecayHook

__all__ = ['BranchLossDecayHook']

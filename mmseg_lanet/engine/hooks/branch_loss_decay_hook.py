"""Decay the branch losses of a LANet head over training."""
from operator import attrgetter
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS


def poly_decay(cur_iter: int, max_iters: int, power: float) -> float:
    """``(1 - t / T) ** power`` with ``t = cur_iter + 1`` counted from 1, as
    the authors' training script does; 0 once ``t >= T``."""
    if max_iters <= 0:
        raise ValueError(f'max_iters must be positive, got {max_iters}')
    return max(0., 1. - (cur_iter + 1) / max_iters)**power


@HOOKS.register_module()
class BranchLossDecayHook(Hook):
    """Scale the per-branch losses of :class:`LANetHead` by a poly decay.

    The later version of the LANet authors' code weights the high-level
    branch loss by ``(1 - t / T) ** power``, t the training iteration
    counted from 1 and T the total. Before every training iteration this
    hook sets ``branch_loss_scale`` of the head to that value; the head
    multiplies its ``branch_loss_weights`` by it (1 without the hook).
    Use it as::

        custom_hooks = [dict(type='BranchLossDecayHook', power=2.)]

    Args:
        power (float): Exponent of the decay. Default: 2.0.
        head (str): Attribute path of the head in the model.
            Default: 'decode_head'.
    """

    priority = 'NORMAL'

    def __init__(self, power: float = 2., head: str = 'decode_head'):
        if power < 0:
            raise ValueError(f'power must be >= 0, got {power}')
        self.power = power
        self.head = head

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch: Optional[Sequence[dict]] = None) -> None:
        """Set the head's ``branch_loss_scale`` for iteration
        ``runner.iter`` of ``runner.max_iters``."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        try:
            head = attrgetter(self.head)(model)
        except AttributeError:
            raise AttributeError(
                f'BranchLossDecayHook: {type(model).__name__} has no '
                f'{self.head!r}; set the hook\'s head to the attribute path '
                'of a LANetHead') from None
        if not hasattr(head, 'branch_loss_scale'):
            raise TypeError(
                f'BranchLossDecayHook: model.{self.head} is a '
                f'{type(head).__name__}, which has no branch losses '
                '(branch_loss_scale); use it with a LANetHead')
        head.branch_loss_scale = poly_decay(runner.iter, runner.max_iters,
                                            self.power)

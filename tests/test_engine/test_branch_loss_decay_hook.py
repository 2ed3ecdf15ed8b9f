"""BranchLossDecayHook: the authors' poly decay of the branch losses."""
from types import SimpleNamespace

import pytest
from torch import nn

import mmseg_lanet  # noqa: F401
from mmseg.registry import HOOKS
from mmseg_lanet.engine.hooks import BranchLossDecayHook, poly_decay


class FakeHead(nn.Module):
    branch_loss_scale = 1.


def fake_runner(iteration, max_iters=100, model=None):
    if model is None:
        model = nn.Module()
        model.decode_head = FakeHead()
    return SimpleNamespace(model=model, iter=iteration, max_iters=max_iters)


@pytest.mark.parametrize('iteration, expected', [
    (0, (1 - 1 / 100)**2),  # t counts from 1: never the full weight
    (24, (1 - 25 / 100)**2),
    (98, (1 - 99 / 100)**2),
    (99, 0.),  # the last iteration
    (150, 0.),  # past the end (a longer resumed run)
])
def test_hook_sets_the_scale_before_each_iteration(iteration, expected):
    hook = HOOKS.build(dict(type='BranchLossDecayHook', power=2.))
    runner = fake_runner(iteration)
    hook.before_train_iter(runner, batch_idx=iteration)
    assert runner.model.decode_head.branch_loss_scale == pytest.approx(
        expected, abs=1e-12)


def test_hook_finds_the_head_by_path():
    segmentor = nn.Module()
    segmentor.auxiliary = FakeHead()
    runner = fake_runner(49, model=segmentor)
    BranchLossDecayHook(power=1., head='auxiliary').before_train_iter(
        runner, batch_idx=49)
    assert segmentor.auxiliary.branch_loss_scale == pytest.approx(0.5)


def test_hook_names_a_missing_or_wrong_head():
    model = nn.Module()
    model.decode_head = nn.Conv2d(1, 1, 1)
    with pytest.raises(TypeError, match='model.decode_head is a Conv2d, '
                       'which has no branch losses'):
        BranchLossDecayHook().before_train_iter(
            fake_runner(0, model=model), batch_idx=0)
    with pytest.raises(AttributeError, match="Module has no 'head'"):
        BranchLossDecayHook(head='head').before_train_iter(
            fake_runner(0), batch_idx=0)
    with pytest.raises(ValueError, match='power must be >= 0, got -1'):
        BranchLossDecayHook(power=-1)


def test_poly_decay():
    assert poly_decay(0, 4, 1.) == pytest.approx(0.75)
    assert poly_decay(3, 4, 2.) == 0.
    with pytest.raises(ValueError, match='max_iters must be positive, got 0'):
        poly_decay(0, 0, 2.)

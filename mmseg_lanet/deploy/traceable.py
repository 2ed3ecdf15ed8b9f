"""Layers whose forward freezes sizes into a trace, swapped in place for
subclasses that keep them symbolic while exporting (eager outputs
unchanged)."""
from torch import Tensor, nn

from mmseg.models.utils import Upsample, resize
from ..models.layers.traced_pooling import (exporting,
                                            make_adaptive_pools_exportable)


class ExportableUpsample(Upsample):
    """MMSeg's ``Upsample`` (HRNet's fuse layers): its output size
    ``int(size * scale_factor)`` is computed on the traced sizes instead
    of being frozen by ``int()``."""

    def forward(self, x: Tensor) -> Tensor:
        if self.size or not exporting():
            return super().forward(x)
        size = [(side * self.scale_factor).long() for side in x.shape[-2:]]
        return resize(x, size, None, self.mode, self.align_corners)


def make_traceable(model: nn.Module) -> int:
    """Swap, in place, the layers of ``model`` that would freeze sizes
    under tracing: ``nn.AdaptiveAvgPool2d`` (PSPNet) and MMSeg's
    ``Upsample`` (HRNet).

    Returns:
        int: How many layers were swapped.
    """
    upsamples = [m for m in model.modules() if type(m) is Upsample]
    for layer in upsamples:
        layer.__class__ = ExportableUpsample
    return len(upsamples) + make_adaptive_pools_exportable(model)

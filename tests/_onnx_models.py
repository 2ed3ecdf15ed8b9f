"""Small ONNX models with our metadata, exported from torch modules in the
tests (the contract of ``tools/deployment/export_onnx.py``: raw bands in,
``logits`` out at the input size, ``mmseg_lanet`` metadata)."""
import json


def raw_bands_model(module, mean, std):
    """``module`` wrapped to take raw bands, ``(x - mean) / std`` first, as
    an exported graph does (eval mode)."""
    import torch

    class RawBands(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.module = module
            self.register_buffer(
                'mean', torch.tensor(mean, dtype=torch.float32)[:, None, None])
            self.register_buffer(
                'std', torch.tensor(std, dtype=torch.float32)[:, None, None])

        def forward(self, bands):
            return self.module((bands - self.mean) / self.std)

    return RawBands().eval()


def export_onnx(path, module, metadata, shape, dynamic=True, opset=17):
    """Export ``module`` (raw bands (N, C, H, W) -> logits) to ``path``
    with ``metadata`` (a dict, None for none) under ``mmseg_lanet``;
    ``shape`` is the example input's (N, C, H, W), every axis fixed but
    with ``dynamic`` batch, height and width."""
    import onnx
    import torch
    axes = {0: 'batch', 2: 'height', 3: 'width'} if dynamic else {}
    with torch.no_grad():
        torch.onnx.export(module, torch.zeros(*shape), str(path),
                          input_names=['bands'], output_names=['logits'],
                          dynamic_axes=dict(bands=axes, logits=axes),
                          opset_version=opset, dynamo=False)
    if metadata is not None:
        model = onnx.load(str(path))
        onnx.helper.set_model_props(model,
                                    {'mmseg_lanet': json.dumps(metadata)})
        onnx.save(model, str(path))
    return str(path)


def conv_model(bands=4, classes=3, seed=0):
    """A 3 x 3 convolution from ``bands`` to ``classes``."""
    import torch
    torch.manual_seed(seed)
    return torch.nn.Conv2d(bands, classes, 3, padding=1).eval()


def metadata(bands, mean, std, num_classes, **extra):
    """Version-1 metadata (:mod:`mmseg_lanet.deploy.metadata`) of a model
    taking ``bands`` with raw ``mean`` and ``std``; ``extra`` overrides."""
    return dict(dict(format_version=1, bands=list(bands), mean=list(mean),
                     std=list(std), ndsm=None, num_classes=num_classes,
                     classes=None, palette=None, test_mode='whole',
                     window=None, stride=None, input_size='dynamic',
                     output_size='input'), **extra)

"""The metadata reader: torch-free, and one line naming the file for each
file it cannot use."""
import json

import onnx
import pytest
from onnx import TensorProto, helper

from _without_torch import run_without_torch
from mmseg_lanet.deploy.metadata import (FORMAT_VERSION, METADATA_KEY,
                                         dump_metadata, read_metadata)

METADATA = dict(
    format_version=FORMAT_VERSION, bands=['R', 'G', 'B'],
    mean=[1., 2., 3.], std=[4., 5., 6.], ndsm=None, num_classes=2,
    classes=['a', 'b'], palette=[[0, 0, 0], [9, 9, 9]], test_mode='whole',
    window=[512, 512], stride=None, input_size='dynamic',
    output_size='input')


def relu_model(path, opset=17, props=None) -> str:
    """A one-node ONNX model (someone else's), with metadata ``props``."""
    graph = helper.make_graph(
        [helper.make_node('Relu', ['bands'], ['logits'])], 'g',
        [helper.make_tensor_value_info('bands', TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1])])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', opset)])
    model.ir_version = 8
    if props:
        helper.set_model_props(model, props)
    onnx.save(model, str(path))
    return str(path)


def test_round_trip_without_torch(tmp_path):
    path = relu_model(tmp_path / 'ours.onnx',
                      props={METADATA_KEY: dump_metadata(METADATA)})
    assert read_metadata(path) == METADATA
    process = run_without_torch(
        'import sys, json\n'
        'from mmseg_lanet.deploy import read_metadata\n'
        'print(json.dumps(read_metadata(sys.argv[1])))\n'
        'print(sorted(m for m in sys.modules if m.split(".")[0] in '
        '("torch", "mmcv", "mmengine", "mmseg") and sys.modules[m]))',
        path)
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert json.loads(lines[-2]) == METADATA
    assert lines[-1] == '[]'


def test_dump_refuses_incomplete_metadata():
    with pytest.raises(KeyError, match=r"lacks \['palette'\]"):
        dump_metadata({k: v for k, v in METADATA.items() if k != 'palette'})


@pytest.mark.parametrize('case, error, message', [
    ('missing', FileNotFoundError, 'ONNX model not found: {path}'),
    ('text', ValueError, '{path}: not an ONNX model (Protobuf parsing '
     'failed.)'),
    ('foreign', ValueError, '{path}: an ONNX model without mmseg_lanet '
     'metadata (not exported by tools/deployment/export_onnx.py); metadata '
     "keys: ['author']"),
    ('version', ValueError, '{path}: mmseg_lanet metadata format version 2, '
     'this mmseg_lanet reads version 1; export the model again with this '
     'version, or predict with the version that exported it'),
    ('json', ValueError, '{path}: mmseg_lanet metadata is not JSON '
     '(Expecting value: line 1 column 1 (char 0))'),
    ('opset', ValueError, '{path}: onnxruntime {ort} cannot load this model: '
     'ONNX Runtime only *guarantees* support for models stamped with '
     'official released onnx opset versions. Opset 40 is under '
     'development'),
])
def test_files_it_cannot_use(tmp_path, case, error, message):
    import onnxruntime
    path = str(tmp_path / f'{case}.onnx')
    if case == 'text':
        with open(path, 'w') as f:
            f.write('a text file, not a model\n')
    elif case == 'foreign':
        relu_model(path, props=dict(author='someone'))
    elif case == 'version':
        relu_model(path, props={
            METADATA_KEY: json.dumps(dict(METADATA, format_version=2))})
    elif case == 'json':
        relu_model(path, props={METADATA_KEY: 'not json'})
    elif case == 'opset':
        relu_model(path, opset=40,
                   props={METADATA_KEY: dump_metadata(METADATA)})
    with pytest.raises(error) as raised:
        read_metadata(path)
    text = str(raised.value)
    assert '\n' not in text
    assert text.startswith(
        message.format(path=path, ort=onnxruntime.__version__))

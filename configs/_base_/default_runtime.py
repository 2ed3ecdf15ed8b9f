# Runtime shared by every mmseg-lanet config. The plugin import registers
# LANet's modules, data sets and metrics, and makes mmengine checkpoints
# loadable under torch's safe unpickling (torch >= 2.6).
custom_imports = dict(imports=['mmseg_lanet'], allow_failed_imports=False)
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # mmseg_lanet's launcher switches this to gloo on a CPU-only machine.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
tta_model = dict(type='SegTTAModel')

# The LANet authors' optimisation recipe over 80k iterations: SGD with
# Nesterov momentum, lr 0.1, momentum 0.9, weight decay 5e-4, poly decay
# (power 1.5) updated every iteration. Batch 8 is set by the model configs.
optimizer = dict(
    type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.,
        power=1.5,
        begin=0,
        end=80000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))

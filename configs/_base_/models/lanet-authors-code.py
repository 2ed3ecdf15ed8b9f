# Changes that turn the paper's LANet (lanet_r50-d32.py) into what the
# authors' public code builds; see configs/lanet/README.md, "Paper and code".
# Use in a config that inherits a LANet config as
#   _base_ = ['./lanet_..._<data set>.py', '<this file>']
#   model = _base_.lanet_authors_code
# New BN layers use PyTorch momentum 0.95: running statistics follow the
# latest batch almost entirely.
lanet_authors_norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.95)
lanet_authors_pam = dict(
    pool_mode='adaptive',
    upsample_mode='bilinear',
    norm_cfg=lanet_authors_norm_cfg)
lanet_authors_code = dict(
    backbone=dict(
        # torchvision's ResNet-50 (7x7 stem); stride 16 without dilation.
        deep_stem=False,
        dilations=(1, 1, 1, 1),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    decode_head=dict(
        norm_cfg=lanet_authors_norm_cfg,
        dropout_ratio=0.,
        high_pam=lanet_authors_pam,
        low_pam=lanet_authors_pam,
        aem=dict(
            window=7,
            pool_mode='sliding',
            upsample_mode='bilinear',
            norm_cfg=lanet_authors_norm_cfg,
            residual=False),
        detach_aem_input=True,
        # Their later version: dict(high=1.0), decayed by (1 - t/T)^2 with
        # custom_hooks = [dict(type='BranchLossDecayHook', power=2.)]
        branch_loss_weights=dict(high=0.3, low=0.3)))

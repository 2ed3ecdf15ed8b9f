# SE (Hu et al., CVPR 2018) on LANet's FCN baseline:
# ResNet-50 at output stride 16, Vaihingen NIR-R-G-DSM, as the LANet config.
_base_ = ['../lanet/lanet_r50-d16_1xb8-80k_vaihingen-irrg-dsm-512x512.py',
          '../_base_/models/comparison_heads.py']
model = dict(
    decode_head=dict(
        _base_.decode_head_common, _delete_=True, **_base_.se_head))

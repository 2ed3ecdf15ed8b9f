# CBAM (Woo et al., ECCV 2018) on LANet's FCN baseline:
# ResNet-50 at output stride 32, Potsdam R-G-B-NIR-nDSM, as the LANet config.
_base_ = ['../lanet/lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py',
          '../_base_/models/comparison_heads.py']
model = dict(
    decode_head=dict(
        _base_.decode_head_common, _delete_=True, **_base_.cbam_head))

# LANet as the authors' public code builds it, where it differs from the
# paper (see README.md, "Paper and code"): output stride 16 with the last
# stage at stride 1 and no dilation.
_base_ = [
    './lanet_r50-d16_1xb8-80k_vaihingen-irrg-dsm-512x512.py',
    '../_base_/models/lanet-authors-code.py'
]
model = _base_.lanet_authors_code

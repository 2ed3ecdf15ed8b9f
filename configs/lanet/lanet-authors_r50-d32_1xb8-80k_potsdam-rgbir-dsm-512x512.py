# LANet as the authors' public code builds it, where it differs from the
# paper (see README.md, "Paper and code").
_base_ = [
    './lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py',
    '../_base_/models/lanet-authors-code.py'
]
model = _base_.lanet_authors_code

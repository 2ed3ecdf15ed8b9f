# Ablation "FCN + low-level features + 2 PAM": a PAM on each branch, no AEM.
_base_ = './lanet_r50-d16_1xb8-80k_vaihingen-irrg-dsm-512x512.py'
model = dict(decode_head=dict(aem=None))

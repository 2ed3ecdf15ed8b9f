# Ablation "FCN + PAM": the baseline with a PAM on the high-level features.
_base_ = './lanet_r50-d16_1xb8-80k_vaihingen-irrg-dsm-512x512.py'
model = dict(decode_head=dict(with_low_level=False, low_pam=None, aem=None))

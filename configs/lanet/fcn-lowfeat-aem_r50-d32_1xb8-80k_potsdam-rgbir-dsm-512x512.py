# Ablation "FCN + low-level features + AEM": no PAM.
_base_ = './lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py'
model = dict(decode_head=dict(high_pam=None, low_pam=None))

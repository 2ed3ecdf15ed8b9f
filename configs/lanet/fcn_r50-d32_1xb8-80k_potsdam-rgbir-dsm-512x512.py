# Ablation baseline "FCN": 1x1 reduction of the last stage and a classifier.
_base_ = './lanet_r50-d32_1xb8-80k_potsdam-rgbir-dsm-512x512.py'
model = dict(
    decode_head=dict(
        with_low_level=False, high_pam=None, low_pam=None, aem=None))

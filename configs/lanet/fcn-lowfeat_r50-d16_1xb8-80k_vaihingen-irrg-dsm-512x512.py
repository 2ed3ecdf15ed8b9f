# Ablation "FCN + low-level features": stage-1 features concatenated with the
# upsampled high-level ones, one classifier.
_base_ = './lanet_r50-d16_1xb8-80k_vaihingen-irrg-dsm-512x512.py'
model = dict(
    decode_head=dict(fusion='concat', high_pam=None, low_pam=None, aem=None))

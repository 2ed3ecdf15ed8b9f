# Model input for Vaihingen NIR, R, G, DSM (4 bands): normalisation and the
# stem's band mapping. Use as
#   _base_ = [..., '../_base_/models/input_vaihingen_irrg_dsm.py']
#   model = {{_base_.vaihingen_irrg_dsm_input}}
vaihingen_irrg_dsm_input = dict(
    data_preprocessor=dict(
        size=(512, 512),
        # The authors' Potsdam statistics in NIR, R, G, DSM order (they
        # publish none for Vaihingen).
        mean=[96.6, 85.8, 91.7, 47.0],
        std=[37.0, 35.8, 35.2, 55.0]),
    backbone=dict(
        band_names=('NIR', 'R', 'G', 'DSM'),
        # R and G keep their pretrained filter, NIR starts from the red one
        # (nearest wavelength), DSM from the mean of the three.
        band_filters=('R', 'R', 'G', 'mean')))

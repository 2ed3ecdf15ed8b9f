# Model input for Potsdam R, G, B, NIR, nDSM (5 bands, raw 0-255 values):
# the authors' normalisation statistics and the stem's band mapping. Use as
#   _base_ = [..., '../_base_/models/input_potsdam_rgbir_dsm.py']
#   model = {{_base_.potsdam_rgbir_dsm_input}}
potsdam_rgbir_dsm_input = dict(
    data_preprocessor=dict(
        size=(512, 512),
        mean=[85.8, 91.7, 84.9, 96.6, 47.0],
        std=[35.8, 35.2, 36.5, 37.0, 55.0]),
    backbone=dict(
        band_names=('R', 'G', 'B', 'NIR', 'nDSM'),
        # The RGB bands keep their pretrained filter, NIR starts from the
        # red one (nearest wavelength), nDSM from the mean of the three.
        band_filters=('R', 'G', 'B', 'R', 'mean')))

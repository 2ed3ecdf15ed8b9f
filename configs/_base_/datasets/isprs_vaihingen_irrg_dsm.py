# ISPRS Vaihingen as in the LANet paper: NIR, R, G + DSM (4 bands). Data
# from tools/dataset_converters/vaihingen.py (whole tiles).
_base_ = ['./isprs_multiband.py']
dataset_type = 'VaihingenMultiBandDataset'
data_root = 'data/vaihingen'
bands = ('NIR', 'R', 'G', 'DSM')
# SegDataPreProcessor mean/std, in band order. NIR, R, G: NOT Vaihingen's
# own yet but the LANet authors' Potsdam values of those bands (none are
# published for Vaihingen, and the data is not available here). The
# converter prints Vaihingen's training-tile statistics ("optical bands over
# the training tiles (NIR, R, G): mean [...], std [...]"): paste them here
# (configs/lanet/README.md, "Normalisation"). The height band arrives
# standardised per tile by NormalizeDSM (the DSM is absolute, ~260 m; the
# whole tile's statistics come from conversion.json).
band_mean = [96.6, 85.8, 91.7, 0.0]
band_std = [37.0, 35.8, 35.2, 1.0]
isprs_dataset = dict(type=dataset_type, data_root=data_root, bands=bands)
train_dataloader = dict(dataset=isprs_dataset)
val_dataloader = dict(dataset=isprs_dataset)
test_dataloader = val_dataloader

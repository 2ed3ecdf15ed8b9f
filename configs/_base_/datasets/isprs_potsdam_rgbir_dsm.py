# ISPRS Potsdam as in the LANet paper: R, G, B, NIR + normalised DSM (5
# bands). Data from tools/dataset_converters/potsdam.py (whole tiles).
_base_ = ['./isprs_multiband.py']
dataset_type = 'PotsdamMultiBandDataset'
data_root = 'data/potsdam'
bands = ('R', 'G', 'B', 'NIR', 'nDSM')
# SegDataPreProcessor mean/std, in band order: optical bands arrive as raw
# 0-255 values (the LANet authors' Potsdam statistics), the height band
# already standardised by NormalizeDSM.
band_mean = [85.8, 91.7, 84.9, 96.6, 0.0]
band_std = [35.8, 35.2, 36.5, 37.0, 1.0]
# The nDSM is height above ground: one fixed scale for every tile, so that
# a 3 m tree reads the same in a flat tile and among tall buildings. These
# are the LANet authors' values for the nDSM's 8-bit levels (their code,
# not measured here); the converter prints the training tiles' own ("heights
# over the training tiles: mean ..., std ..."), see configs/lanet/README.md.
# For Potsdam's absolute DSM (--dsm dsm) use NormalizeDSM(mode='per_tile').
dsm_mean = 47.0
dsm_std = 55.0
dsm_normalization = dict(
    type='NormalizeDSM', mode='global', mean=dsm_mean, std=dsm_std)
# The same three pipelines as isprs_multiband.py, with this normalisation.
train_pipeline, test_pipeline, tta_pipeline = (
    [dsm_normalization if step['type'] == 'NormalizeDSM' else step
     for step in pipeline] for pipeline in
    (_base_.train_pipeline, _base_.test_pipeline, _base_.tta_pipeline))
isprs_dataset = dict(type=dataset_type, data_root=data_root, bands=bands)
train_dataloader = dict(dataset=dict(isprs_dataset, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(isprs_dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader

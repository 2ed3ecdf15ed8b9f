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
isprs_dataset = dict(type=dataset_type, data_root=data_root, bands=bands)
train_dataloader = dict(dataset=isprs_dataset)
val_dataloader = dict(dataset=isprs_dataset)
test_dataloader = val_dataloader

# ISPRS Vaihingen as in the LANet paper: NIR, R, G + DSM (4 bands). Data
# from tools/dataset_converters/vaihingen.py (whole tiles).
_base_ = ['./isprs_multiband.py']
dataset_type = 'VaihingenMultiBandDataset'
data_root = 'data/vaihingen'
bands = ('NIR', 'R', 'G', 'DSM')
# SegDataPreProcessor mean/std, in band order: the Potsdam statistics of
# NIR, R, G (none are published for Vaihingen); the height band arrives
# standardised per tile by NormalizeDSM (the DSM is absolute, ~260 m).
band_mean = [96.6, 85.8, 91.7, 0.0]
band_std = [37.0, 35.8, 35.2, 1.0]
isprs_dataset = dict(type=dataset_type, data_root=data_root, bands=bands)
train_dataloader = dict(dataset=isprs_dataset)
val_dataloader = dict(dataset=isprs_dataset)
test_dataloader = val_dataloader

# The SYNTHETIC Potsdam-like sample (no download), written and converted by
#   python tools/make_sample_data.py --dataset potsdam --out data/sample
# Same data path as isprs_potsdam_rgbir_dsm.py; 320 x 320 tiles, so 256
# crops and small loaders.
_base_ = ['./isprs_potsdam_rgbir_dsm.py']
data_root = 'data/sample/potsdam'
# Marks data_root as the synthetic sample: tools/train.py and tools/test.py
# write it there when the folder is missing (and say so in the log).
synthetic_sample = dict(dataset='potsdam', data_root=data_root, seed=0)
crop_size = (256, 256)
# Statistics of the synthetic training tiles, as printed by the converter
# (tools/make_sample_data.py, seed 0): optical bands, and the nDSM for
# NormalizeDSM(mode='global').
band_mean = [112.90, 132.86, 93.52, 152.34, 0.0]
band_std = [34.91, 31.19, 37.64, 44.59, 1.0]
dsm_mean = 21.1649
dsm_std = 46.8134
# Potsdam's pipelines with this normalisation and the smaller crop.
train_pipeline, test_pipeline, tta_pipeline = (
    [dict(step, mean=dsm_mean, std=dsm_std) if step['type'] == 'NormalizeDSM'
     else dict(step, crop_size=crop_size)
     if step['type'] == 'LoadMultiBandCrop' else step for step in pipeline]
    for pipeline in
    (_base_.train_pipeline, _base_.test_pipeline, _base_.tta_pipeline))
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
slide_inference = dict(mode='slide', crop_size=crop_size, stride=(171, 171))

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
# Statistics of the synthetic training tiles (optical), as above otherwise.
band_mean = [121.0, 134.0, 106.0, 149.0, 0.0]
band_std = [29.0, 27.0, 31.0, 45.0, 1.0]
train_pipeline = [
    dict(step, crop_size=crop_size) if step['type'] == 'RandomCrop' else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(num_workers=2, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
slide_inference = dict(mode='slide', crop_size=crop_size, stride=(171, 171))

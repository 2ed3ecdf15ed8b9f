# Shared by the LANet model bases: the decode head in the paper's form (the
# including base sets in_channels/in_index for its backbone) and the band
# mapping of the multi-band stems.
# What LANet's head shares with the heads it is compared with
# (configs/_base_/models/comparison_heads.py).
decode_head_common = dict(
    dropout_ratio=0.1,
    num_classes=6,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    align_corners=False,
    # Mean over the pixels that count (boundary pixels are ignored), as
    # PyTorch's and the authors' cross-entropy.
    loss_decode=dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        loss_weight=1.0,
        avg_non_ignore=True))
lanet_head = dict(
    decode_head_common,
    type='LANetHead',
    in_channels=(256, 2048),  # (low level: stride 4, high level)
    in_index=(0, 3),
    input_transform='multiple_select',
    channels=128,
    low_channels=64,
    with_low_level=True,
    fusion='sum',
    high_pam=dict(type='PatchAttention', reduction=16, window=4),
    low_pam=dict(type='PatchAttention', reduction=8, window=20),
    aem=dict(type='AttentionEmbedding', reduction=16, window=4))
# The pretrained RGB filter each input band starts from, by band name: the
# RGB bands keep theirs, NIR the red one (nearest wavelength), the height
# bands the mean of the three.
rgb_filter_of_band = dict(
    R='R', G='G', B='B', NIR='R', DSM='mean', nDSM='mean')

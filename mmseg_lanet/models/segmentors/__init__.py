from .blend_encoder_decoder import BlendEncoderDecoder

__all__ = ['BlendEncoderDecoder']

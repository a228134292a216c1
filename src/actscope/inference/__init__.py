"""Using trained models: clip -> class scores, and the jobs built on it."""

from actscope.inference.recognizer import Recognizer, load_model

__all__ = ["Recognizer", "load_model"]

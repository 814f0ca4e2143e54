"""The inference stage: a checkpoint or ONNX model on arrays, files, folders and long recordings (forward passes,
windows, decoding any file), ONNX export, the web page. Never imports training or evaluation."""

from hf_ser._exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hf_ser.inference.forward": ("forward_arrays", "length_sorted_batches", "model_inputs", "padding_sensitive"),
        "hf_ser.inference.predict": ("EmotionPredictor", "FileResult", "Segment", "expand_inputs"),
        "hf_ser.inference.export": ("ExportError", "export_onnx"),
    },
)

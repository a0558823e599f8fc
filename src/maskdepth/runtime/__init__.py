"""Running a model on numpy arrays, whatever the engine: the runner contract and ONNX Runtime's
runner (onnx_runner.py, torch-free), PyTorch's runner (torch_runner.py), the ONNX export
(export.py) and the one loader from a model reference to a runner (loader.py)."""

"""The scene engine's compiled kernels (Numba): rooms and furniture (room.py, furniture.py,
kernels/room_tables.py), capture conditions (capture.py), photo compositing (photo.py), and what they
share (compiled.py). Each is tested against its PyTorch or OpenCV definition (tests/parity.py)."""

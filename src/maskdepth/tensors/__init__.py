"""Between numpy images and torch tensors: the one conversion (convert.py) and the contact sheet
of a batch (sheet.py). io/ below stays torch-free, so that prediction runs on the light install."""

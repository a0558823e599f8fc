"""Data for training and evaluation: dataset readers, paired transforms, batch sources."""

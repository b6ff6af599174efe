"""MNIST data, one job per module; the public names are gathered in ``glassgrad.models.mnist``.

digits.py    the ``Digits`` container and ``DataError``
files.py     reading a file whole, gunzipping it when its first bytes say gzip
idx.py       the IDX format of the official files
csvfile.py   CSV files, one digit per row
embedded.py  the MNIST sample that ships with glassgrad (the folder sample/)
make_sample.py  how that sample is made from the official IDX files
folder.py    a folder holding the official IDX files or a CSV file
download.py  the official files from a mirror, SHA-256 verified, written atomically
batches.py   one-vs-rest targets, train/validation split, shuffled minibatches
"""

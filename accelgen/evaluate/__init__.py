"""`accelgen evaluate`: accuracy of the integer design and of the Brevitas float reference on a labelled set,
computed in chunks on Dask workers (local processes or an existing cluster), resumable.

    tasks.py    what a worker runs: one chunk of images through the simulator and the float reference
    store.py    the results folder: a manifest of the inputs and one file per finished chunk
    metrics.py  accuracies, top-1 agreement, per-class accuracy, confusion matrix
    runner.py   plans the chunks, runs the missing ones on a dask.distributed client, totals them
    page.py     evaluation.html (per-class accuracy and confusion matrix as plots)
    command.py  the command line
"""

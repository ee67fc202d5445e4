"""Batched inference whose output for a row never depends on the other rows of the call.

float32 matrix products and convolutions choose their kernel, and with it the
order in which they add up products, by the shapes of their operands; which
kernels exist depends on the CPU (AVX-512, AVX2, ARM) and the library (MKL,
oneDNN, OpenBLAS, cuBLAS). Run on 1,000 rows, a row's code could then differ
in its last bits from the same row's code in a call of 7 rows (measured: up to
2.5e-7 relative), which fails scikit-learn's subset- and order-invariance
checks on some machines and not on others.

So every forward pass here has exactly :data:`CHUNK_ROWS` rows: the last chunk
is padded with zero rows whose outputs are dropped. The same shapes run the
same kernels, and a kernel treats the rows of its operand alike (rows are the
independent dimension of a matrix product or a convolution; only the order of
each row's own sums could differ, and that is fixed by the shape). A row's
output is then bitwise the same whatever rows share the call and in whatever
order: ``tests/test_row_invariance.py`` checks it for every architecture, and it
held on an AVX-512 CPU with MKL and oneDNN at full speed, limited to AVX2, and
limited to SSE4.2.

The chunk size is a measured compromise (10,000 MNIST rows, 2-core AVX-512
CPU, ``benchmarks/speed.py``): 128 rows encode as fast as the 4,096-row batches
used before for the default MLP and twice as fast for the conv network, while a
single row costs one padded chunk (about 2 ms instead of 0.5 ms).
"""

import numpy as np
import torch
from torch.nn.functional import pad

# Rows of every forward pass at inference (see the module docstring).
CHUNK_ROWS = 128


def padded_to_chunk(rows):
    """``rows`` with zero rows appended up to CHUNK_ROWS.

    Examples
    --------
    >>> padded_to_chunk(torch.ones(3, 2)).shape
    torch.Size([128, 2])
    """
    return pad(rows, (0, 0) * (rows.dim() - 1) + (0, CHUNK_ROWS - len(rows)))


def map_row_chunks(fn, A, condition=None, device="cpu", dtype=np.float32, pad_rows=True):
    """Apply ``fn(rows, condition_rows)`` to fixed-size chunks of A.

    Parameters
    ----------
    fn : callable
        Maps a (CHUNK_ROWS, n_features) tensor and the matching condition rows
        (or None) to one tensor, or a tuple of tensors, whose first axis is the
        rows. It must treat rows independently (a module in eval mode does).
    A : ndarray of shape (n_samples, n_features)
        Float rows.
    condition : ndarray of shape (n_samples, n_conditions) or None, default=None
        Per-row extra input (one-hot labels of a conditional model).
    device : str or torch.device, default="cpu"
        Where ``fn`` runs.
    dtype : numpy dtype, default=numpy.float32
        The float dtype ``fn`` receives A's rows in.
    pad_rows : bool, default=True
        Pad the last chunk to CHUNK_ROWS rows. Without padding, ``fn`` runs on
        fewer rows there, and a row's output may differ in its last bits with
        the number of rows of the call: only for outputs that are random draws
        anyway, where a pass per feature makes the padding expensive.

    Returns
    -------
    outputs : ndarray or tuple of ndarrays
        ``fn``'s outputs for the rows of A: float outputs in A's float dtype,
        others (e.g. indices) as ``fn`` returns them.

    Examples
    --------
    >>> import numpy as np
    >>> out = map_row_chunks(lambda x, c: 2 * x, np.ones((300, 3)))
    >>> out.shape, out.dtype, float(out.max())
    ((300, 3), dtype('float64'), 2.0)
    """
    # Torch wraps only writable arrays with positive strides (not X[::-1] or a read-only memmap).
    X, C = (
        None if a is None else torch.from_numpy(np.require(a, dtype, ["C", "W"]))
        for a in (A, condition)
    )
    chunk = padded_to_chunk if pad_rows else (lambda rows: rows)
    outputs = []
    with torch.no_grad():
        for start in range(0, len(X), CHUNK_ROWS):
            rows = X[start : start + CHUNK_ROWS]
            cond = None if C is None else chunk(C[start : start + CHUNK_ROWS]).to(device)
            out = fn(chunk(rows).to(device), cond)
            out = out if isinstance(out, tuple) else (out,)
            outputs.append(tuple(o[: len(rows)] for o in out))
    arrays = tuple(torch.cat(parts).cpu().numpy() for parts in zip(*outputs, strict=True))
    arrays = tuple(a.astype(A.dtype, copy=False) if a.dtype.kind == "f" else a for a in arrays)
    return arrays if len(arrays) > 1 else arrays[0]

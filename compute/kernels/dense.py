"""A whole training step of a small chain of Dense layers in one compiled call.

For a playground network (2-8-8-1, batch 32) a step is a few thousand multiply-adds: the
cost is the Python around them, so forward, loss and backward run here in one call
(compute/chain.py prepares it). All arrays are flat (no reshape, which costs compile
time) and the layer geometry comes in a table, so one compiled signature per float type
serves every chain. Inner loops run over row slices from index 0: Numba tests a signed
index computed at run time for wraparound on every access, which stops vectorisation.

``meta[l]`` = (fan_in, units, W offset, b offset or -1, activation code, y offset): W and
b in ``params``/``grads``, the layer's output y (n × units) in ``work``. ``work`` also holds
the output probabilities at ``p_off`` and two delta buffers of n × widest at ``d_off``.
"""
from . import kernel
from .arrays import copy_row
from .activations import backward, forward, sigmoid_bce, softmax_ce, squared_error
from .stats import sum_squares

MSE, BCE, CE = range(3)


@kernel
def chain_forward(x, n, params, work, meta, alphas, fast):
    """Every layer's output into `work` (x is the flat n × fan_in input)."""
    a, a_off = x, 0
    for l in range(meta.shape[0]):
        fan_in, units, w_off, b_off, code, y_off = (meta[l, 0], meta[l, 1], meta[l, 2],
                                                    meta[l, 3], meta[l, 4], meta[l, 5])
        for r in range(n):
            y = work[y_off + r * units:y_off + (r + 1) * units]
            if b_off >= 0:
                copy_row(y, params[b_off:b_off + units])
            else:
                y[:] = 0.0
            row = a[a_off + r * fan_in:a_off + (r + 1) * fan_in]
            for i in range(fan_in):
                v = row[i]
                w = params[w_off + i * units:w_off + (i + 1) * units]
                for o in range(units):
                    y[o] += v * w[o]
        out = work[y_off:y_off + n * units]
        forward(out, code, alphas[l], out, fast)
        a, a_off = work, y_off


@kernel
def chain_loss_grads(x, n, labels, target, loss, m, params, grads, work, meta, alphas,
                     p_off, d_off, fast, norms):
    """(summed loss, first bad class index or -1); every W and b gradient into `grads`, and
    into norms[l] the squared norm of d loss / d (layer l's output), for the diagnostics.

    `loss` is MSE, BCE or CE (class indices in `labels` when it has n entries, else one-hot
    or soft `target`, which MSE and BCE take too); `m` is n as a float of the arrays' type;
    `fast` picks float32 approximations (see `activations.forward`).
    """
    chain_forward(x, n, params, work, meta, alphas, fast)
    last = meta.shape[0] - 1
    k, y_off = meta[last, 1], meta[last, 5]
    z = work[y_off:y_off + n * k]
    delta = work[d_off:d_off + n * k]
    prob = work[p_off:p_off + n * k]
    bad = -1
    if loss == MSE:
        total = squared_error(z, target, m, delta)
    elif loss == BCE:
        total = sigmoid_bce(z, target, m, prob, delta)
    else:
        total, bad = softmax_ce(z, labels, target, n, k, m, prob, delta)
    if bad < 0:
        chain_backward(x, n, params, grads, work, meta, alphas, d_off,
                       (work.size - d_off) // 2, norms)
    return total, bad


@kernel
def chain_backward(x, n, params, grads, work, meta, alphas, d_off, half, norms):
    """Back from d loss / d (last output), held in the first delta buffer."""
    cur, other = d_off, d_off + half
    for l in range(meta.shape[0] - 1, -1, -1):
        fan_in, units, w_off, b_off, code, y_off = (meta[l, 0], meta[l, 1], meta[l, 2],
                                                    meta[l, 3], meta[l, 4], meta[l, 5])
        y = work[y_off:y_off + n * units]
        dz = work[cur:cur + n * units]
        norms[l] = sum_squares(dz)
        backward(y, y, dz, code, alphas[l], dz)     # y alone gives f' (no abs here)
        if l > 0:
            a, a_off = work, meta[l - 1, 5]
        else:
            a, a_off = x, 0
        gw = grads[w_off:w_off + fan_in * units]
        gw[:] = 0.0
        gb = grads[b_off:b_off + units] if b_off >= 0 else grads[:0]
        gb[:] = 0.0
        for r in range(n):
            d = dz[r * units:(r + 1) * units]
            row = a[a_off + r * fan_in:a_off + (r + 1) * fan_in]
            for i in range(fan_in):
                v = row[i]
                g = gw[i * units:(i + 1) * units]
                for o in range(units):
                    g[o] += v * d[o]
            for o in range(gb.size):
                gb[o] += d[o]
        if l > 0:
            for r in range(n):
                d = dz[r * units:(r + 1) * units]
                dx = work[other + r * fan_in:other + (r + 1) * fan_in]
                for i in range(fan_in):
                    w = params[w_off + i * units:w_off + (i + 1) * units]
                    s = d[0] * w[0]
                    for o in range(1, units):
                        s += d[o] * w[o]
                    dx[i] = s
            cur, other = other, cur

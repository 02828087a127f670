"""Recurrent cells (SimpleRNN, LSTM, GRU): one fused time loop per cell and direction.

The layer does the input projection ``xp = x Wx + b`` for all time steps in one GEMM
before calling these kernels, and the weight gradients (``dWx``, ``dWh``, ``db``) with one
GEMM each over all steps afterwards. What stays sequential lives here: per step one GEMM
``h @ Wh`` (two for GRU) and the gate math of the whole batch, fused.

Layout, batch-first like the rest of the engine: ``xp (N, T, G·H)`` with the gates side by
side along the last axis; ``hprev (N, T, H)`` holds the state each step started from, so
``dWh = hprev.reshape(N·T, H).T @ dz.reshape(N·T, G·H)``. Outputs ``ys`` are ``(N, T, H)``
for many-to-many and ``(N, 1, H)`` (the last step) for many-to-one; the backward kernels
tell the two apart by ``dy.shape[1]`` (the same thing when T = 1).

The kernels fill arrays that the layer allocates, so that the layer can run them over
slices of the batch on several threads at once (`Recurrent.time_loop`): each sample's
time loop is independent of the others'. Their small per-step GEMMs (32×128 by 128×512
on a thread: too small to share) take the recurrent weights packed once for the whole
loop (`packed.product`; the layer passes `packed.weights`), which ran them 1.8-2x as
fast as BLAS.

In float32 the gates use a rational approximation of tanh (a few ulp off, clamped where
float32 tanh rounds to ±1) that LLVM vectorises; libm's tanhf is scalar and was the cost
of a prototype. float64 keeps ``np.tanh`` exactly, for gradient checks.
"""
import numpy as np
from numba import types
from numba.extending import overload

from . import kernel
from .arrays import add_rows, copy_row, copy_rows
from .packed import product

# the odd/even minimax coefficients of Eigen's and MLAS's float tanh, tanh ≈ x·p(x²)/q(x²)
_A1, _A3, _A5, _A7 = (np.float32(4.89352455891786e-03), np.float32(6.37261928875436e-04),
                      np.float32(1.48572235717979e-05), np.float32(5.12229709037114e-08))
_A9, _A11, _A13 = (np.float32(-8.60467152213735e-11), np.float32(2.00018790482477e-13),
                   np.float32(-2.76076847742355e-16))
_B0, _B2, _B4, _B6 = (np.float32(4.89352518554385e-03), np.float32(2.26843463243900e-03),
                      np.float32(1.18534705686654e-04), np.float32(1.19825839466702e-06))
_CLAMP = np.float32(7.90531110763549805)
_HALF = np.float32(0.5)
_MATH = dict(fastmath=True, error_model="numpy")   # error_model: no zero-division branch


def _tanh32(v):
    x = min(max(v, -_CLAMP), _CLAMP)
    x2 = x * x
    p = ((((((_A13 * x2 + _A11) * x2 + _A9) * x2 + _A7) * x2 + _A5) * x2 + _A3) * x2 + _A1) * x
    q = ((_B6 * x2 + _B4) * x2 + _B2) * x2 + _B0
    return p / q


def _sigmoid32(v):
    return _HALF + _HALF * tanh(_HALF * v)


def tanh(v):
    """tanh of a scalar: the fast approximation for float32, exact otherwise."""
    return _tanh32(v) if isinstance(v, np.float32) else np.tanh(v)


def sigmoid(v):
    """Logistic sigmoid of a scalar, as ½ + ½·tanh(v/2): no overflow for any v."""
    return _sigmoid32(v) if isinstance(v, np.float32) else 0.5 + 0.5 * np.tanh(0.5 * v)


@overload(tanh, jit_options=_MATH)
def _tanh_jit(v):
    if v == types.float32:
        return _tanh32
    return lambda v: np.tanh(v)


@overload(sigmoid, jit_options=_MATH)
def _sigmoid_jit(v):
    if v == types.float32:
        return _sigmoid32
    return lambda v: 0.5 + 0.5 * np.tanh(0.5 * v)


@kernel
def _add_dy(dh, dy, t, T):
    """Add the outside gradient reaching h_t (every step's, or only the last step's)."""
    if dy.shape[1] == T:
        add_rows(dh, dy[:, t, :])
    elif t == T - 1:
        add_rows(dh, dy[:, 0, :])


# Inner loops run over one row (a 1-D view) at a time: with few arrays in play and unit
# strides LLVM vectorises them; the same math over (n, t, j) indices was 15x slower.

# -- SimpleRNN: h_t = tanh(xp_t + h_{t-1} Wh) ----------------------------------------------
@kernel(error_model="numpy")
def rnn_forward(xp, Wh, ys, hprev):
    """Fill ys and hprev (N, T, H) for xp (N, T, H), Wh (H, H) as `packed.weights`."""
    N, T, H = xp.shape
    seq = ys.shape[1] == T
    h = np.zeros((N, H), xp.dtype)
    z = np.empty((N, H), xp.dtype)
    for t in range(T):
        copy_rows(hprev[:, t, :], h)
        product(h, Wh, z)
        for n in range(N):
            zr, xr, hr = z[n], xp[n, t], h[n]
            for j in range(H):
                hr[j] = tanh(zr[j] + xr[j])
        if seq:
            copy_rows(ys[:, t, :], h)
    if not seq:
        copy_rows(ys[:, 0, :], h)


@kernel(error_model="numpy")
def rnn_backward(dy, ys, hprev, WhT, dz):
    """Fill dz (N, T, H), the gradient at each step's pre-activation."""
    N, T, H = hprev.shape
    one = hprev.dtype.type(1)
    dzt = np.empty((N, H), hprev.dtype)
    dh = np.zeros((N, H), hprev.dtype)
    for t in range(T - 1, -1, -1):
        _add_dy(dh, dy, t, T)
        for n in range(N):
            hr = hprev[n, t + 1] if t + 1 < T else ys[n, ys.shape[1] - 1]
            dhr, dzr = dh[n], dzt[n]
            for j in range(H):
                dzr[j] = dhr[j] * (one - hr[j] * hr[j])
        copy_rows(dz[:, t, :], dzt)
        if t > 0:
            product(dzt, WhT, dh)


# -- LSTM, gates (i, f, g, o): c_t = f c_{t-1} + i g, h_t = o tanh(c_t) ---------------------
@kernel(error_model="numpy")
def lstm_forward(xp, Wh, ys, hprev, gates, cs):
    """Fill ys, hprev, gates (N, T, 4H, after their activations) and cs (the cells)."""
    N, T, G = xp.shape
    H = G // 4
    seq = ys.shape[1] == T
    h = np.zeros((N, H), xp.dtype)
    c = np.zeros((N, H), xp.dtype)
    z = np.empty((N, G), xp.dtype)
    for t in range(T):
        copy_rows(hprev[:, t, :], h)
        product(h, Wh, z)
        for n in range(N):
            zr, xr, gr = z[n], xp[n, t], gates[n, t]
            for j in range(2 * H):
                gr[j] = sigmoid(zr[j] + xr[j])
            for j in range(2 * H, 3 * H):
                gr[j] = tanh(zr[j] + xr[j])
            for j in range(3 * H, G):
                gr[j] = sigmoid(zr[j] + xr[j])
            cr, hr, csr = c[n], h[n], cs[n, t]
            for j in range(H):
                cn = gr[H + j] * cr[j] + gr[j] * gr[2 * H + j]
                cr[j] = cn
                csr[j] = cn
                hr[j] = gr[3 * H + j] * tanh(cn)
        if seq:
            copy_rows(ys[:, t, :], h)
    if not seq:
        copy_rows(ys[:, 0, :], h)


@kernel(error_model="numpy")
def lstm_backward(dy, gates, cs, WhT, dz):
    """Fill dz (N, T, 4H), the gradient at each gate's pre-activation."""
    N, T, G = gates.shape
    H = G // 4
    one = gates.dtype.type(1)
    dzt = np.empty((N, G), gates.dtype)
    dh = np.zeros((N, H), gates.dtype)
    dc = np.zeros((N, H), gates.dtype)
    c0 = np.zeros(H, gates.dtype)
    for t in range(T - 1, -1, -1):
        _add_dy(dh, dy, t, T)
        for n in range(N):
            gr, cr, dhr, dcr, dzr = gates[n, t], cs[n, t], dh[n], dc[n], dzt[n]
            cpr = cs[n, t - 1] if t > 0 else c0
            for j in range(H):
                i, f, g, o = gr[j], gr[H + j], gr[2 * H + j], gr[3 * H + j]
                tc = tanh(cr[j])
                gc = dcr[j] + dhr[j] * o * (one - tc * tc)
                dcr[j] = gc * f
                dzr[j] = gc * g * i * (one - i)
                dzr[H + j] = gc * cpr[j] * f * (one - f)
                dzr[2 * H + j] = gc * i * (one - g * g)
                dzr[3 * H + j] = dhr[j] * tc * o * (one - o)
            copy_row(dz[n, t], dzr)
        if t > 0:
            product(dzt, WhT, dh)


# -- GRU, gates (r, u, c): h_t = u c̃ + (1 - u) h_{t-1}, c̃ = tanh(xp_c + (r h_{t-1}) Whc) -----
# Without the reset gate (r ≡ 1) xp has only the (u, c) columns and Wru only u's.
@kernel(error_model="numpy")
def gru_forward(xp, Wru, Wc, ys, hprev, gates, rh):
    """Fill ys, hprev, gates and rh for xp (N, T, (2|3)H), Wru (H, (1|2)H), Wc (H, H).

    gates hold (r,) u, c̃ after their activations; rh the products r·h_{t-1} ((N, 0, H)
    without a reset gate, where they equal hprev)."""
    N, T, G = xp.shape
    H = Wc[0].shape[0]
    nr = G // H - 2                  # 1 with a reset gate, 0 without
    U, C = nr * H, (nr + 1) * H      # where u and c start along the gate axis
    one = xp.dtype.type(1)
    seq = ys.shape[1] == T
    h = np.zeros((N, H), xp.dtype)
    zru = np.empty((N, Wru[0].shape[1]), xp.dtype)
    rht = np.empty((N, H), xp.dtype)
    zc = np.empty((N, H), xp.dtype)
    for t in range(T):
        copy_rows(hprev[:, t, :], h)
        product(h, Wru, zru)
        for n in range(N):
            zr, xr, gr, hr, rhr = zru[n], xp[n, t], gates[n, t], h[n], rht[n]
            for j in range(nr * H):
                gr[j] = sigmoid(zr[j] + xr[j])
                rhr[j] = gr[j] * hr[j]
            if nr:
                copy_row(rh[n, t], rhr)
            else:
                copy_row(rhr, hr)
            for j in range(U, C):
                gr[j] = sigmoid(zr[j] + xr[j])
        product(rht, Wc, zc)
        for n in range(N):
            zr, xr, gr, hr = zc[n], xp[n, t], gates[n, t], h[n]
            for j in range(H):
                c = tanh(zr[j] + xr[C + j])
                u = gr[U + j]
                gr[C + j] = c
                hr[j] = u * c + (one - u) * hr[j]
        if seq:
            copy_rows(ys[:, t, :], h)
    if not seq:
        copy_rows(ys[:, 0, :], h)


@kernel(error_model="numpy")
def gru_backward(dy, hprev, gates, WruT, WcT, dz):
    """Fill dz (N, T, (2|3)H), the gradient at each gate's pre-activation."""
    N, T, G = gates.shape
    H = WcT[0].shape[0]
    nr = G // H - 2
    U, C = nr * H, (nr + 1) * H
    one = gates.dtype.type(1)
    dzru = np.empty((N, WruT[0].shape[0]), gates.dtype)
    dzc = np.empty((N, H), gates.dtype)
    drh = np.empty((N, H), gates.dtype)
    dh = np.zeros((N, H), gates.dtype)
    tmp = np.empty((N, H), gates.dtype)
    for t in range(T - 1, -1, -1):
        _add_dy(dh, dy, t, T)
        for n in range(N):
            gr, hp, dhr, dcr, dur = gates[n, t], hprev[n, t], dh[n], dzc[n], dzru[n]
            for j in range(H):
                u, c = gr[U + j], gr[C + j]
                dcr[j] = dhr[j] * u * (one - c * c)
                dur[U + j] = dhr[j] * (c - hp[j]) * u * (one - u)
                dhr[j] = dhr[j] * (one - u)        # from here on: the gradient at h_{t-1}
        product(dzc, WcT, drh)                      # at r·h_{t-1}
        for n in range(N):
            gr, hp, dhr, drr, dur = gates[n, t], hprev[n, t], dh[n], drh[n], dzru[n]
            if nr:
                for j in range(H):
                    r = gr[j]
                    dur[j] = drr[j] * hp[j] * r * (one - r)
                    dhr[j] += drr[j] * r
            else:
                for j in range(H):
                    dhr[j] += drr[j]
            copy_row(dz[n, t, :C], dur)
            copy_row(dz[n, t, C:], dzc[n])
        if t > 0:
            product(dzru, WruT, tmp)
            dh += tmp

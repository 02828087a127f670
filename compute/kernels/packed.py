"""The recurrent cells' per-step product ``a @ w``, with ``w`` packed once per call.

A time loop multiplies by the same recurrent weights at every step (50-100 products per
training step, each about 32×128 by 128×512 on a thread). BLAS packs ``w`` again for
each of them and ran these small products at half of a core's peak (51 GFLOP/s here).
Packed once into panels of 16 columns (`pack`), a register tile of 4 rows × 16 columns
(8 AVX accumulators over the whole inner dimension) runs them at 90-98 GFLOP/s. Numba
keeps no array in registers (the same loops with an accumulator array ran at 23), so the
tile is written in LLVM IR (`_tile`); LLVM allocates the registers and picks the
instructions for the machine.

Float32 only, where the speed matters; other dtypes (float64 for gradient checks) call
``np.dot``. Columns past the last full panel are summed by a plain loop.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from . import kernel

PANEL = 16          # columns per panel: two 8-wide vectors
ROWS = 4            # rows per register tile (ROWS × 2 accumulators)


def weights(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What `product` takes for w: (w contiguous, its packed panels)."""
    w = np.ascontiguousarray(w)
    return w, pack(w)


def pack(w: np.ndarray) -> np.ndarray:
    """w (K, N)'s full panels of 16 columns, (N // 16, K, 16), each contiguous."""
    k, n = w.shape
    full = n // PANEL
    return np.ascontiguousarray(w[:, :full * PANEL].reshape(k, full, PANEL).transpose(1, 0, 2))


def _tile(rows: int):
    """An intrinsic ``tile(out, a, wp, m, p)``: out[m:m+rows, 16p:16p+16] = a[m:m+rows] @
    panel p, for contiguous float32 arrays with a.shape[1] >= 1 (unchecked: the caller
    keeps every index in bounds)."""
    @intrinsic
    def tile(typingctx, out, a, wp, m, p):
        if not (all(isinstance(t, types.Array) and t.dtype == types.float32 and t.layout == "C"
                    for t in (out, a, wp)) and all(isinstance(t, types.Integer) for t in (m, p))):
            return None
        return types.void(out, a, wp, m, p), _tile_code(rows)
    return tile


def _tile_code(rows: int):
    def codegen(context, builder, sig, args):
        m_t, p_t = sig.args[3:]
        out, a, wp = (context.make_array(t)(context, builder, v)
                      for t, v in zip(sig.args[:3], args[:3]))
        m = context.cast(builder, args[3], m_t, types.intp)
        p = context.cast(builder, args[4], p_t, types.intp)
        i64 = m.type
        vec = ir.VectorType(ir.FloatType(), 8)

        def const(v):
            return ir.Constant(i64, v)

        def at(array, index):            # pointer to element `index` (in floats) of array
            return builder.gep(array.data, [index])

        def vload(ptr):
            return builder.load(builder.bitcast(ptr, vec.as_pointer()), align=4)

        # leading dimensions in elements; a row of `a` is K long
        ld_out = builder.udiv(cgutils.unpack_tuple(builder, out.strides)[0], const(4))
        ld_a = builder.udiv(cgutils.unpack_tuple(builder, a.strides)[0], const(4))
        k_len = cgutils.unpack_tuple(builder, a.shape)[1]
        a_rows = [builder.mul(builder.add(m, const(r)), ld_a) for r in range(rows)]
        panel = builder.mul(p, builder.mul(k_len, const(PANEL)))
        fma = cgutils.get_or_insert_function(builder.module,
                                             ir.FunctionType(vec, [vec] * 3), "llvm.fma.v8f32")
        zero = ir.Constant(vec, [0.0] * 8)
        undef = ir.Constant(vec, ir.Undefined)
        broadcast = ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8)

        before = builder.block
        loop = builder.append_basic_block("tile.k")
        done = builder.append_basic_block("tile.done")
        builder.branch(loop)
        builder.position_at_end(loop)
        k = builder.phi(i64)
        acc = [[builder.phi(vec) for _ in range(2)] for _ in range(rows)]
        row_of_w = builder.add(panel, builder.mul(k, const(PANEL)))
        w = [vload(at(wp, builder.add(row_of_w, const(8 * v)))) for v in range(2)]
        new = []
        for r in range(rows):
            x = builder.load(at(a, builder.add(a_rows[r], k)))
            xs = builder.shuffle_vector(builder.insert_element(undef, x, ir.Constant(
                ir.IntType(32), 0)), undef, broadcast)
            new.append([builder.call(fma, [xs, w[v], acc[r][v]]) for v in range(2)])
        k_next = builder.add(k, const(1))
        k.add_incoming(const(0), before)
        k.add_incoming(k_next, builder.block)
        for r in range(rows):
            for v in range(2):
                acc[r][v].add_incoming(zero, before)
                acc[r][v].add_incoming(new[r][v], builder.block)
        builder.cbranch(builder.icmp_signed("<", k_next, k_len), loop, done)

        builder.position_at_end(done)
        col = builder.mul(p, const(PANEL))
        for r in range(rows):
            row = builder.add(builder.mul(builder.add(m, const(r)), ld_out), col)
            for v in range(2):
                ptr = builder.bitcast(at(out, builder.add(row, const(8 * v))), vec.as_pointer())
                builder.store(new[r][v], ptr, align=4)
        return context.get_dummy_value()
    return codegen


_tile_rows, _tile_row = _tile(ROWS), _tile(1)


@kernel
def _packed_product(a, w, wp, out):
    M, K = a.shape
    N = w.shape[1]
    P = wp.shape[0]
    if not (w.shape[0] == K and out.shape[0] == M and out.shape[1] == N and P == N // PANEL
            and wp.shape[1] == K and wp.shape[2] == PANEL):
        raise ValueError("packed product: the shapes of a, w, its panels and out differ")
    if K == 0:
        for m in range(M):
            for j in range(N):
                out[m, j] = 0
        return
    whole = M - M % ROWS
    for p in range(P):
        for m in range(0, whole, ROWS):
            _tile_rows(out, a, wp, m, p)
        for m in range(whole, M):
            _tile_row(out, a, wp, m, p)
    for m in range(M):                          # the columns past the last full panel
        ar, o = a[m], out[m]
        for j in range(P * PANEL, N):
            s = np.float32(0)
            for k in range(K):
                s += ar[k] * w[k, j]
            o[j] = s


def product(a, w, out):
    """out = a @ w for 2-D a (M, K) and w = `weights` of a (K, N) array. Contiguous
    float32 arrays take the packed tiles, anything else ``np.dot``."""
    np.dot(a, w[0], out)


@overload(product)
def _product_jit(a, w, out):
    if all(isinstance(t, types.Array) and t.dtype == types.float32 and t.layout == "C"
           for t in (a, *w, out)):
        return lambda a, w, out: _packed_product(a, w[0], w[1], out)
    return lambda a, w, out: np.dot(a, w[0], out)

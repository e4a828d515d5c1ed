"""Fused multiply-add for the Numba kernels: ``fma(a, b, c) = a * b + c`` with one rounding.

The kernels give up ``fastmath`` so that no sum is reordered (docs/performance.md,
"Reproducibility"), and with it LLVM's freedom to fuse ``a * b + c``. Calling the
``llvm.fma`` intrinsic instead fuses exactly where the code says so: one rounding, the same
result on every machine and in every compile (a CPU without FMA computes it in software), and
the loop vectoriser still turns it into SIMD FMA instructions.
"""
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic


@intrinsic
def fma(typingctx, a, b, c):
    """a * b + c rounded once; float32 or float64, all three of the same type."""
    if not (isinstance(a, types.Float) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        ty = context.get_value_type(signature.return_type)
        name = "llvm.fma.f32" if signature.return_type.bitwidth == 32 else "llvm.fma.f64"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty] * 3), name)
        return builder.call(fn, args)

    return a(a, b, c), codegen

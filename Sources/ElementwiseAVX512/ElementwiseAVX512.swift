import Elementwise

// The evaluation's elementwise hot loops (module Elementwise) specialised here,
// so that they are compiled for AVX-512 and run 16 floats to a register: LLVM
// vectorises plain loops 8 wide even for AVX-512 CPUs, so these loops are written
// with SIMD16. The same steps in the same order as the AVX2 build of the same
// code: the same bits. Only call on a CPU with AVX-512 (F, DQ, BW, VL, CD).

/// row[t] = GELU(row[t]·scale + shift) for t < L (`affineGELU16`).
@inline(never)
public func affineGELUAVX512(_ row: UnsafeMutablePointer<Float>, length L: Int, scale: Float, shift: Float) {
    affineGELU16(row, length: L, scale: scale, shift: shift)
}


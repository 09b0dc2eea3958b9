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

/// One input row of a Winograd evaluation into V (`winogradInputRow`).
@inline(never)
public func winogradInputRowAVX512(_ x: UnsafePointer<Float>, length L: Int, padLeft: Int, stride m: Int,
                                   phases ph: UnsafeMutablePointer<Float>, rowLength: Int, terms: WinogradInputTerms,
                                   into v: UnsafeMutablePointer<Float>, channel c: Int, channels C: Int,
                                   rowStride ldn: Int, sample q: Int, tiles T: Int, sampleColumns Ts: Int,
                                   packed packsV: Bool) {
    winogradInputRow(x, length: L, padLeft: padLeft, stride: m, phases: ph, rowLength: rowLength, terms: terms,
                     into: v, channel: c, channels: C, rowStride: ldn, sample: q, tiles: T, sampleColumns: Ts,
                     packed: packsV)
}

/// One output row of a Winograd evaluation from its products (`winogradOutputRow`).
@inline(never)
public func winogradOutputRowAVX512(_ products: UnsafePointer<Float>, pointStride: Int, tiles T: Int, m: Int,
                                    terms: WinogradOutputTerms, tile: UnsafeMutablePointer<Float>, tileStride: Int,
                                    bias: Float, into y: UnsafeMutablePointer<Float>, length Lo: Int) {
    winogradOutputRow(products, pointStride: pointStride, tiles: T, m: m, terms: terms, tile: tile,
                      tileStride: tileStride, bias: bias, into: y, length: Lo)
}

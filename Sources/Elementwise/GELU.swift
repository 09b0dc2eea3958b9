// GELU's evaluation form, one float and 16 of them: the same steps in the same
// order, so the two give the same bits for the same input (each lane is its own
// float). `@inlinable` so that each module compiles them for its CPU (SleepNet:
// x86-64-v3; ElementwiseAVX512: AVX-512).

/// GELU value only (evaluation): erf as a rational function of x/√2 clamped to
/// [−4, 4] (Eigen's and XLA's float erf, a few ulp), no exponential. Horner
/// steps as fused multiply-adds: half the instructions of multiply-then-add in
/// the vectorised loops.
@inlinable @inline(__always)
public func geluValue(_ x: Float) -> Float {
    let z = min(max(x * 0.7071067811865476, -4), 4)
    let z2 = z * z
    var p: Float = -2.72614225801306e-10
    p = Float(2.77068142495902e-08).addingProduct(p, z2)
    p = Float(-2.10102402082508e-06).addingProduct(p, z2)
    p = Float(-5.69250639462346e-05).addingProduct(p, z2)
    p = Float(-7.34990630326855e-04).addingProduct(p, z2)
    p = Float(-2.95459980854025e-03).addingProduct(p, z2)
    p = Float(-1.60960333262415e-02).addingProduct(p, z2)
    var q: Float = -1.45660718464996e-05
    q = Float(-2.13374055278905e-04).addingProduct(q, z2)
    q = Float(-1.68282697438203e-03).addingProduct(q, z2)
    q = Float(-7.37332916720468e-03).addingProduct(q, z2)
    q = Float(-1.42647390514189e-02).addingProduct(q, z2)
    let erf = z * p / q
    return 0.5 * x * (1 + erf)
}

/// `geluValue` on 16 lanes. Concrete SIMD16 (generic SIMD code and SIMDMask
/// selects compile to lane-by-lane loops); the clamp to [−4, 4] is an integer
/// min on the magnitude's bits (ordered as the floats are) with the sign put
/// back: the scalar min and max's values for every non-NaN input (NaN gives NaN
/// either way, through the last product with x).
@inlinable @inline(__always)
public func geluValue(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let bits = unsafeBitCast(x * 0.7071067811865476, to: SIMD16<Int32>.self)
    let four = SIMD16<Int32>(repeating: Int32(bitPattern: Float(4).bitPattern))
    let excess = (bits & 0x7fff_ffff) &- four               // |z| − 4 in bits: both below 2³¹
    let magnitude = four &+ (excess & (excess &>> 31))      // min(|z|, 4)
    let z = unsafeBitCast(magnitude | (bits & Int32(bitPattern: 0x8000_0000)), to: SIMD16<Float>.self)
    let z2 = z * z
    var p = SIMD16<Float>(repeating: -2.72614225801306e-10)
    p = SIMD16(repeating: 2.77068142495902e-08).addingProduct(p, z2)
    p = SIMD16(repeating: -2.10102402082508e-06).addingProduct(p, z2)
    p = SIMD16(repeating: -5.69250639462346e-05).addingProduct(p, z2)
    p = SIMD16(repeating: -7.34990630326855e-04).addingProduct(p, z2)
    p = SIMD16(repeating: -2.95459980854025e-03).addingProduct(p, z2)
    p = SIMD16(repeating: -1.60960333262415e-02).addingProduct(p, z2)
    var q = SIMD16<Float>(repeating: -1.45660718464996e-05)
    q = SIMD16(repeating: -2.13374055278905e-04).addingProduct(q, z2)
    q = SIMD16(repeating: -1.68282697438203e-03).addingProduct(q, z2)
    q = SIMD16(repeating: -7.37332916720468e-03).addingProduct(q, z2)
    q = SIMD16(repeating: -1.42647390514189e-02).addingProduct(q, z2)
    let erf = z * p / q
    return 0.5 * x * (1 + erf)
}

/// row[t] = GELU(row[t]·scale + shift) for t < L, 16 lanes at a time; a row of
/// at least 16 ends with one vector over its last 16, read before any store (so
/// lanes it shares with the one before are computed twice from the same
/// inputs), and a shorter row goes one float at a time.
@inlinable @inline(__always)
public func affineGELU16(_ row: UnsafeMutablePointer<Float>, length L: Int, scale: Float, shift: Float) {
    guard L >= 16 else {
        for t in 0..<L { row[t] = geluValue(row[t] * scale + shift) }
        return
    }
    let raw = UnsafeMutableRawPointer(row)
    let s = SIMD16<Float>(repeating: scale), h = SIMD16<Float>(repeating: shift)
    let last = geluValue(raw.loadUnaligned(fromByteOffset: 4 * (L - 16), as: SIMD16<Float>.self) * s + h)
    var t = 0
    while t + 16 <= L {
        let x = raw.loadUnaligned(fromByteOffset: 4 * t, as: SIMD16<Float>.self)
        raw.storeBytes(of: geluValue(x * s + h), toByteOffset: 4 * t, as: SIMD16<Float>.self)
        t += 16
    }
    raw.storeBytes(of: last, toByteOffset: 4 * (L - 16), as: SIMD16<Float>.self)
}

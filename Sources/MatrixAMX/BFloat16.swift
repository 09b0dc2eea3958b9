/// Float32 → bfloat16 (the upper 16 bits of a float), rounded to nearest, ties
/// to even, as PyTorch's `tensor.to(torch.bfloat16)` rounds finite values.
/// (NaN is not kept a NaN: evaluation inputs are finite.)
@inline(__always)
public func bfloat16Bits(_ x: Float) -> UInt16 {
    let u = x.bitPattern
    return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
}

/// The float a bfloat16 stands for (exact).
@inline(__always)
public func floatFromBFloat16(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// 16 floats rounded to bfloat16, each in the low half of a 32-bit lane.
@inline(__always)
func bfloat16Lanes(_ x: SIMD16<Float>) -> SIMD16<UInt32> {
    let u = unsafeBitCast(x, to: SIMD16<UInt32>.self)
    return (u &+ 0x7FFF &+ ((u &>> 16) & 1)) &>> 16
}

/// Two rows as bf16 pairs: word t = bf16(a[t]) | bf16(b[t]) << 16 (a in the low
/// half, which AMX reads first), for t in 0 ..< n.
@inline(__always)
func packPairs(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int,
               into out: UnsafeMutablePointer<UInt32>) {
    var t = 0
    let raw = UnsafeMutableRawPointer(out)
    while t + 16 <= n {
        let lo = bfloat16Lanes(UnsafeRawPointer(a + t).loadUnaligned(as: SIMD16<Float>.self))
        let hi = bfloat16Lanes(UnsafeRawPointer(b + t).loadUnaligned(as: SIMD16<Float>.self))
        raw.storeBytes(of: lo | (hi &<< 16), toByteOffset: 4 * t, as: SIMD16<UInt32>.self)
        t += 16
    }
    while t < n {
        out[t] = UInt32(bfloat16Bits(a[t])) | UInt32(bfloat16Bits(b[t])) << 16
        t += 1
    }
}

/// One row as bf16 pairs with a zero partner (the last channel of an odd count).
@inline(__always)
func packPairs(_ a: UnsafePointer<Float>, count n: Int, into out: UnsafeMutablePointer<UInt32>) {
    for t in 0..<n { out[t] = UInt32(bfloat16Bits(a[t])) }
}

/// n floats rounded to bfloat16.
@inline(__always)
func toBFloat16(_ a: UnsafePointer<Float>, count n: Int, into out: UnsafeMutablePointer<UInt16>) {
    var t = 0
    let raw = UnsafeMutableRawPointer(out)
    while t + 16 <= n {
        let v = bfloat16Lanes(UnsafeRawPointer(a + t).loadUnaligned(as: SIMD16<Float>.self))
        raw.storeBytes(of: SIMD16<UInt16>(truncatingIfNeeded: v), toByteOffset: 2 * t, as: SIMD16<UInt16>.self)
        t += 16
    }
    while t < n {
        out[t] = bfloat16Bits(a[t])
        t += 1
    }
}

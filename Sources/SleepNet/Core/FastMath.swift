/// Branch-free float32 exp and erf for the elementwise hot loops (the compiler
/// can vectorise them, unlike calls into libm). GELU's evaluation form,
/// `geluValue`, is in module Elementwise with its vector form.

/// e^x, relative error < 3e-7 over [−87, 88] (inputs are clamped to that range).
@inline(__always)
func fastExp(_ x: Float) -> Float {
    let xc = min(max(x, -87.3), 88.3)
    // x = n·ln2 + f, |f| ≤ ln2/2; n rounded with the 1.5·2^23 trick (no libm call).
    let t = xc * 1.442695041
    let n = (t + 12_582_912) - 12_582_912
    let f = (xc - n * 0.693359375) + n * 2.12194440e-4    // Cephes' two-part ln 2
    var p: Float = 1.0 / 720
    p = p * f + 1.0 / 120
    p = p * f + 1.0 / 24
    p = p * f + 1.0 / 6
    p = p * f + 0.5
    p = p * f + 1
    p = p * f + 1
    let scale = Float(bitPattern: UInt32(bitPattern: Int32(n) + 127) << 23)
    return p * scale
}

/// GELU (erf form) and, from the same exponential, its derivative.
///
/// erf uses Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7), the same formula as
/// PyTorch's vectorised CPU erf.
@inline(__always)
func geluAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
    let z = x * 0.7071067811865476          // x/√2
    let az = abs(z)
    let t = 1 / (1 + 0.3275911 * az)
    var poly: Float = 1.061405429
    poly = poly * t - 1.453152027
    poly = poly * t + 1.421413741
    poly = poly * t - 0.284496736
    poly = poly * t + 0.254829592
    let e = fastExp(-z * z)                 // exp(−x²/2)
    let erfAbs = 1 - poly * t * e
    let erf = z < 0 ? -erfAbs : erfAbs
    let cdf = 0.5 * (1 + erf)
    return (x * cdf, cdf + x * e * 0.3989422804014327)
}

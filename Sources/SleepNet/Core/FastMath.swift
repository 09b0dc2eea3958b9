/// Branch-free float32 exp and erf for the elementwise hot loops (the compiler
/// can vectorise them, unlike calls into libm).

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

/// GELU value only (evaluation): erf as a rational function of x/√2 clamped to
/// [−4, 4] (Eigen's and XLA's float erf, a few ulp), no exponential. Horner
/// steps as fused multiply-adds: half the instructions of multiply-then-add in
/// the vectorised loops (the one division is what bounds them).
@inline(__always)
func geluValue(_ x: Float) -> Float {
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

import Foundation

/// An iterative radix-2 complex FFT of one fixed power-of-two size, with its
/// twiddle factors and bit-reversal table computed once.
///
/// Small and exact enough for spectra of EEG segments (a few hundred to a few
/// thousand points); not tuned for speed beyond avoiding per-call allocation.
public struct FFT: Sendable {
    /// Number of points; a power of two, at least 2.
    public let size: Int
    private let cosTable: [Double]
    private let sinTable: [Double]
    private let bitReversed: [Int]

    /// Returns nil unless `size` is a power of two ≥ 2.
    public init?(size: Int) {
        guard size >= 2, size & (size - 1) == 0 else { return nil }
        self.size = size
        let half = size / 2
        cosTable = (0..<half).map { cos(2 * Double.pi * Double($0) / Double(size)) }
        sinTable = (0..<half).map { -sin(2 * Double.pi * Double($0) / Double(size)) }
        let bits = size.trailingZeroBitCount
        bitReversed = (0..<size).map { i in
            var r = 0, v = i
            for _ in 0..<bits { r = (r << 1) | (v & 1); v >>= 1 }
            return r
        }
    }

    /// In-place forward transform X[k] = Σ x[n] e^{-2πikn/N} of (`real`, `imag`),
    /// both of length `size` (calls with other lengths leave the input unchanged).
    public func forward(real: inout [Double], imag: inout [Double]) {
        guard real.count == size, imag.count == size else { return }
        real.withUnsafeMutableBufferPointer { re in
            imag.withUnsafeMutableBufferPointer { im in
                forward(re.baseAddress!, im.baseAddress!)
            }
        }
    }

    /// The transform on raw buffers of `size` values each.
    public func forward(_ re: UnsafeMutablePointer<Double>, _ im: UnsafeMutablePointer<Double>) {
        bitReversed.withUnsafeBufferPointer { rev in
            for i in 0..<size {
                let j = rev[i]
                if j > i { swap(&re[i], &re[j]); swap(&im[i], &im[j]) }
            }
        }
        cosTable.withUnsafeBufferPointer { cosT in
            sinTable.withUnsafeBufferPointer { sinT in
                var length = 2
                while length <= size {
                    let halfLength = length / 2
                    let step = size / length
                    var start = 0
                    while start < size {
                        for k in 0..<halfLength {
                            let wr = cosT[k * step], wi = sinT[k * step]
                            let a = start + k, b = a + halfLength
                            let tr = re[b] * wr - im[b] * wi
                            let ti = re[b] * wi + im[b] * wr
                            re[b] = re[a] - tr; im[b] = im[a] - ti
                            re[a] += tr; im[a] += ti
                        }
                        start += length
                    }
                    length *= 2
                }
            }
        }
    }
}

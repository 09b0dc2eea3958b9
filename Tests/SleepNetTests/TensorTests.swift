import SleepNet
import Testing

/// Tensor storage starts on a 64-byte boundary (a cache line), as the AVX-512
/// loops' aligned rows and panels assume for speed (not for their results),
/// after every resize that reallocates, small or large (malloc gives large
/// blocks from mmap 16 bytes into a page).
@Suite struct TensorTests {
    @Test func storageStartsOnACacheLine() {
        let t = Tensor()
        #expect(UInt(bitPattern: t.data) % 64 == 0)
        for count in [1, 3, 17, 1000, 40_000, 1 << 20] {
            t.resize(Shape(count))
            #expect(UInt(bitPattern: t.data) % 64 == 0, "\(count) floats")
            t.zero()
        }
        #expect(UInt(bitPattern: Tensor(shape: Shape(5, 7), values: Array(repeating: 1, count: 35)).data) % 64 == 0)
    }
}

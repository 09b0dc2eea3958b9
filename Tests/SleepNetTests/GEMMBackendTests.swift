import SleepNet
import Testing
import Basics
import Evaluation

struct GEMMBackendTests {
    static let avx512Flags = "fpu sse2 avx avx2 fma bmi1 bmi2 f16c abm movbe popcnt avx512f avx512dq avx512cd avx512bw avx512vl"
    static let avx512 = CPUFeatures(cpuinfo: "processor\t: 0\nflags\t\t: \(avx512Flags)\nbugs\t\t: none\n")
    static let avx2Only = CPUFeatures(cpuinfo: "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma bmi1 bmi2 f16c abm movbe popcnt\n")
    static let sse = CPUFeatures(cpuinfo: "processor\t: 0\nflags\t\t: fpu sse2 popcnt\n")

    @Test func automaticChoiceFollowsTheCPU() {
        #if arch(x86_64)
        #expect(GEMMBackend.choose(requested: nil, cpu: Self.avx512) == .avx512)
        #expect(GEMMBackend.choose(requested: "auto", cpu: Self.avx512) == .avx512)
        #expect(GEMMBackend.choose(requested: nil, cpu: Self.avx2Only) == .avx2)
        #else
        #expect(GEMMBackend.choose(requested: nil, cpu: Self.avx512) == .openBLAS)
        #endif
        #expect(GEMMBackend.choose(requested: nil, cpu: Self.sse) == .openBLAS)
    }

    @Test func environmentOverridesButNeverPicksAnUnsupportedKernel() {
        #expect(GEMMBackend.choose(requested: "openblas", cpu: Self.avx512) == .openBLAS)
        #expect(GEMMBackend.choose(requested: "OpenBLAS", cpu: Self.avx512) == .openBLAS)
        #expect(GEMMBackend.choose(requested: "avx512", cpu: Self.sse) == .openBLAS)
        #expect(GEMMBackend.choose(requested: "avx2", cpu: Self.sse) == .openBLAS)
        #expect(GEMMBackend.choose(requested: "mkl", cpu: Self.sse) == .openBLAS)
        #if arch(x86_64)
        #expect(GEMMBackend.choose(requested: "avx2", cpu: Self.avx512) == .avx2)
        #expect(GEMMBackend.choose(requested: "avx512", cpu: Self.avx2Only) == .avx2)
        #expect(GEMMBackend.choose(requested: "mkl", cpu: Self.avx2Only) == .avx2)
        #endif
    }
}

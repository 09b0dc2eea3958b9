import Testing
import Basics

struct CPUFeaturesTests {
    static let zen4 = "fpu sse2 avx avx2 fma bmi1 bmi2 f16c abm movbe popcnt avx512f avx512dq avx512cd avx512bw avx512vl"

    @Test func flagsLineOfCpuinfoIsRead() {
        let cpu = CPUFeatures(cpuinfo: "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: \(Self.zen4)\nbugs\t\t: none\n")
        #expect(cpu.flags.contains("avx512bw"))
        #expect(cpu.hasAVX512)
        // One missing AVX-512 subset is enough to refuse it.
        #expect(!CPUFeatures(flags: cpu.flags.subtracting(["avx512vl"])).hasAVX512)
        #expect(CPUFeatures(cpuinfo: "").flags.isEmpty)
        #expect(CPUFeatures(cpuinfo: "no flags here").flags.isEmpty)
    }

    @Test func modelCoreRequirementNamesWhatIsMissing() throws {
        let zen4 = CPUFeatures(flags: Set(Self.zen4.split(separator: " ").map(String.init)))
        try zen4.requireModelCore()
        #if arch(x86_64)
        let sandyBridge = CPUFeatures(flags: ["fpu", "sse2", "avx", "popcnt"])
        #expect(sandyBridge.missingForModelCore == ["avx2", "fma", "bmi1", "bmi2", "f16c", "abm", "movbe"])
        let error = try #require(throws: SleepfoldError.self) { try sandyBridge.requireModelCore() }
        #expect(error.code == .unsupportedCPU && error.file == "/proc/cpuinfo" && error.field == "flags")
        #expect(error.message.hasPrefix("this CPU lacks avx2, fma, bmi1, bmi2, f16c, abm, movbe, expected "), "\(error)")
        #expect(error.description.hasPrefix("/proc/cpuinfo: flags: this CPU lacks avx2, fma"))
        #endif
        // The machine running the tests runs the model core.
        try CPUFeatures.current.requireModelCore()
    }
}

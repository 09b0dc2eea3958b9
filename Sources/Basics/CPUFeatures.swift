import Foundation

/// What the CPU can run, read once from /proc/cpuinfo (Linux lists a feature
/// there only when the kernel also saves its registers, so a listed AVX-512 is usable).
///
/// Lives in Basics, which is compiled for baseline x86-64, so the check can run
/// before any code built for more (SleepNet: x86-64-v3; SgemmAVX512: AVX-512).
public struct CPUFeatures: Sendable {
    /// Lower-case flag names of the first processor entry.
    public let flags: Set<String>

    /// AVX-512 as the SgemmAVX512 module is compiled for it (LLVM's skylake-avx512:
    /// F, DQ, CD, BW, VL, with AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE, POPCNT), on x86-64.
    public var hasAVX512: Bool {
        #if arch(x86_64)
        let needed = ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl",
                      "avx2", "fma", "bmi1", "bmi2", "f16c", "abm", "movbe", "popcnt"]
        return needed.allSatisfy(flags.contains)
        #else
        return false
        #endif
    }

    /// Intel AMX with bf16 tiles (Sapphire Rapids and later) on top of AVX-512, for
    /// the opt-in bf16 evaluation (MatrixAMX). Linux lists amx_tile only when
    /// the kernel saves the tile state; a process must still ask for it
    /// (`AMX.isUsable` does).
    public var hasAMXBF16: Bool {
        #if arch(x86_64)
        return hasAVX512 && flags.contains("amx_tile") && flags.contains("amx_bf16")
        #else
        return false
        #endif
    }

    /// AVX2 and FMA with the rest of x86-64-v3, as SleepNet and SgemmAVX2 are
    /// compiled for them, on x86-64.
    public var hasAVX2: Bool {
        #if arch(x86_64)
        return missingForModelCore.isEmpty
        #else
        return false
        #endif
    }

    /// What SleepNet is compiled for on x86-64 (x86-64-v3: AVX2, FMA, BMI1/2, F16C,
    /// LZCNT, MOVBE): the flags of those that this CPU lacks (empty elsewhere).
    public var missingForModelCore: [String] {
        #if arch(x86_64)
        return ["avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "abm", "movbe", "popcnt"].filter { !flags.contains($0) }
        #else
        return []
        #endif
    }

    /// Throws `.unsupportedCPU`, naming the missing instructions, when this CPU cannot
    /// run the model core.
    public func requireModelCore() throws(SleepfoldError) {
        let missing = missingForModelCore
        guard missing.isEmpty else {
            throw SleepfoldError(.unsupportedCPU, file: "/proc/cpuinfo", field: "flags", """
                this CPU lacks \(missing.joined(separator: ", ")), expected the instructions the model core is \
                built for (x86-64-v3: Haswell, Zen 1 or newer); train and run workers on such a machine
                """)
        }
    }

    public init(flags: Set<String>) { self.flags = flags }

    /// Parses the `flags` line of /proc/cpuinfo text (the first one).
    public init(cpuinfo: String) {
        var found: Set<String> = []
        for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
            if let colon = line.firstIndex(of: ":") {
                found = Set(line[line.index(after: colon)...].split(separator: " ").map { $0.lowercased() })
            }
            break
        }
        self.init(flags: found)
    }

    /// This machine's features (none if /proc/cpuinfo cannot be read).
    public static let current = CPUFeatures(
        cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
}

import Foundation

/// What the CPU can run, read once from /proc/cpuinfo (Linux lists a feature
/// there only when the kernel also saves its registers, so a listed AVX-512 is usable).
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

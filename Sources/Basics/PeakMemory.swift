import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The largest resident set size this process has had, in bytes: VmHWM of
/// /proc/self/status (getrusage's ru_maxrss elsewhere, which Linux carries over
/// from the parent through fork and exec, so a child of a big process would
/// report the parent's size).
public func peakResidentBytes() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
        return kib * 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024  // Linux reports KiB
}

import Foundation
import Synchronization

/// VmHWM of process `pid` from /proc/<pid>/status: the largest resident set it has
/// had, in bytes; nil when it has exited (an exited process has no memory left to report).
func peakResidentBytes(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else {
        return nil
    }
    return kib * 1024
}

/// A child process's peak resident memory, measured from outside: its VmHWM sampled
/// every `interval` on a thread of its own until the process exits. VmHWM never
/// decreases, so the last sample is the process's peak up to `interval` before its end
/// (getrusage's ru_maxrss would not do: Linux carries it over from the test process
/// through fork and exec).
final class MemoryWatch: Sendable {
    static let interval = 0.005   // s between samples
    let pid: Int32
    private let peak = Mutex(0)

    init(pid: Int32) {
        self.pid = pid
        let thread = Thread { [self] in
            while let bytes = peakResidentBytes(pid: pid) {
                peak.withLock { $0 = max($0, bytes) }
                Thread.sleep(forTimeInterval: Self.interval)
            }
        }
        thread.start()
    }

    /// The largest VmHWM sampled so far, in bytes (0 before the first sample).
    var peakBytes: Int { peak.withLock { $0 } }
}

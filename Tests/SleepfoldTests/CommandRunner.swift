import Foundation
import Basics
import Recordings
import Cohorts
import EDF
import Synthesis
import Reports
import TestSupport

/// Runs the built `sleepfold` executable as a real process, as users and the
/// cluster scripts do.
struct CommandRunner {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
        /// Its peak resident memory (VmHWM), sampled from outside while it ran, in bytes
        /// (nil when not measured).
        var peakResidentBytes: Int? = nil
    }

    /// The sleepfold binary next to the test bundle (same build configuration).
    static var executable: URL {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = testBinary.deletingLastPathComponent()
        // swift test runs .build/<config>/<Package>PackageTests.xctest (a file on Linux).
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("sleepfold").path),
              dir.pathComponents.count > 1 {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("sleepfold")
    }

    /// `run`, again (up to `attempts` times) while its memory went unmeasured: a process
    /// that ends before the watching thread first runs (a loaded machine) leaves no sample.
    /// The command must be deterministic; the last run's output is returned.
    static func runMeasuringMemory(_ arguments: [String], timeout: Double = 300, attempts: Int = 5) throws -> Output {
        var output = try run(arguments, timeout: timeout)
        for _ in 1..<attempts where (output.peakResidentBytes ?? 0) == 0 {
            output = try run(arguments, timeout: timeout)
        }
        return output
    }

    /// Runs the program with `arguments`; `environment` adds to (or replaces in) this process's.
    static func run(_ arguments: [String], timeout: Double = 300, environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let memory = MemoryWatch(pid: process.processIdentifier)
        // Read both pipes while the process runs so neither fills up.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            // SIGKILL: a child spawned from a test thread may inherit a mask that blocks SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            throw TimedOut(arguments: arguments)
        }
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), peakResidentBytes: memory.peakBytes)
    }

    struct TimedOut: Error { let arguments: [String] }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sleepfold-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

import Foundation
import Testing
import Basics
import Recordings

/// Access to the committed fixtures (Tests/Fixtures: NPY/NPZ files written by
/// scripts/make-npz-fixtures.py, EDF files, metric values from scikit-learn) and
/// scratch directories for tests that write files. Every test target that reads
/// fixtures depends on this one; the files are found beside the sources, as
/// `swift test` runs from a checkout.
public enum TestFixtures {
    /// Tests/Fixtures in this checkout.
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// URL of a file or folder under Tests/Fixtures, e.g. "npz/v1.npy"; records an
    /// issue when it does not exist.
    public static func url(_ relative: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> URL {
        let url = root.appendingPathComponent(relative)
        try #require(FileManager.default.fileExists(atPath: url.path), "missing fixture Tests/Fixtures/\(relative)",
                     sourceLocation: sourceLocation)
        return url
    }

    /// A JSON object from Fixtures/ (the expected values numpy computed).
    public static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(relative))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A new empty directory under the system's temporary folder; callers remove it.
    public static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sleepfold-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Where tests also export the files they write, for scripts/make-npz-fixtures.py
    /// --verify to load them in numpy; nil unless SLEEPFOLD_EXPORT_NPZ is set.
    public static var exportDirectory: URL? {
        guard let path = ProcessInfo.processInfo.environment["SLEEPFOLD_EXPORT_NPZ"], !path.isEmpty else { return nil }
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Floats from JSON, which the fixture script writes as decimal strings (Python's
/// `repr`): JSONSerialization on Linux rounds long decimal numbers, `Double(String)` does not.
public func jsonDoubles(_ value: Any?) throws -> [Double] {
    let items = try #require(value as? [Any])
    return try items.map { try jsonDouble($0) }
}

/// One float written by the fixture script as a decimal string.
public func jsonDouble(_ value: Any?) throws -> Double {
    let text = try #require(value as? String, "expected a float written as a string, found \(String(describing: value))")
    return try #require(Double(text))
}

/// Integers from JSON as Int64 (exact: JSONSerialization keeps integers as integers).
public func jsonIntegers(_ value: Any?) throws -> [Int64] {
    let items = try #require(value as? [Any])
    return try items.map { try #require(($0 as? NSNumber)?.int64Value) }
}

/// Runs `body`, expects it to throw a `SleepfoldError` with `code` (and, when given,
/// `file` and `field`), and returns the error so callers can check the rest of it.
@discardableResult
public func expectError(_ code: SleepfoldError.Code, file: String? = nil, field: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation,
                        _ body: () throws -> Void) -> SleepfoldError? {
    do {
        try body()
        Issue.record("expected SleepfoldError \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as SleepfoldError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let file { #expect(error.file == file, "\(error)", sourceLocation: sourceLocation) }
        if let field { #expect(error.field == field, "\(error)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("expected SleepfoldError \(code), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

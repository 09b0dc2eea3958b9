import Foundation
import Testing
import Shared

/// Access to the committed fixtures (Tests/SharedTests/Fixtures, written by
/// scripts/make-npz-fixtures.py) and scratch directories for tests that write files.
enum TestFixtures {
    /// URL of a file or folder under Fixtures/, e.g. "npz/v1.npy".
    static func url(_ relative: String) throws -> URL {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil),
                                "the Fixtures folder is missing from the test bundle")
        return root.appendingPathComponent(relative)
    }

    /// A JSON object from Fixtures/ (the expected values numpy computed).
    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(relative))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A new empty directory under the system's temporary folder; callers remove it.
    static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sleepfold-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Where tests also export the files they write, for scripts/make-npz-fixtures.py
    /// --verify to load them in numpy; nil unless SLEEPFOLD_EXPORT_NPZ is set.
    static var exportDirectory: URL? {
        guard let path = ProcessInfo.processInfo.environment["SLEEPFOLD_EXPORT_NPZ"], !path.isEmpty else { return nil }
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Floats from JSON, which the fixture script writes as decimal strings (Python's
/// `repr`): JSONSerialization on Linux rounds long decimal numbers, `Double(String)` does not.
func jsonDoubles(_ value: Any?) throws -> [Double] {
    let items = try #require(value as? [Any])
    return try items.map { try jsonDouble($0) }
}

/// One float written by the fixture script as a decimal string.
func jsonDouble(_ value: Any?) throws -> Double {
    let text = try #require(value as? String, "expected a float written as a string, found \(String(describing: value))")
    return try #require(Double(text))
}

/// Integers from JSON as Int64 (exact: JSONSerialization keeps integers as integers).
func jsonIntegers(_ value: Any?) throws -> [Int64] {
    let items = try #require(value as? [Any])
    return try items.map { try #require(($0 as? NSNumber)?.int64Value) }
}

/// Runs `body`, expects it to throw a `DataError` with `code`, and returns the error
/// so callers can check where it points.
@discardableResult
func expectDataError(_ code: DataError.Code, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) -> DataError? {
    do {
        try body()
        Issue.record("expected DataError \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DataError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected DataError \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

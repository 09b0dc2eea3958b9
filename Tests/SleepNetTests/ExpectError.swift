import Basics
import Testing

/// Runs `body` and expects it to throw a `SleepfoldError` with `code` and, where
/// given, `file` and `field`; returns the error (nil, with an issue recorded, if
/// `body` threw nothing or something else).
@discardableResult
func expectError(_ code: SleepfoldError.Code, file: String? = nil, field: String? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> SleepfoldError? {
    do {
        try body()
        Issue.record("expected a SleepfoldError \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as SleepfoldError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let file { #expect(error.file == file, "\(error)", sourceLocation: sourceLocation) }
        if let field { #expect(error.field == field, "\(error)", sourceLocation: sourceLocation) }
        return error
    } catch {
        Issue.record("expected a SleepfoldError \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
